#include "server/firehose/http_delivery.h"

#include <algorithm>

#include "common/json.h"
#include "common/uuid.h"
#include "server/firehose/delivery_batch.h"
#include "server/firehose/http_endpoint_client.h"

namespace sluice::firehose {
namespace {

void WriteString(rapidjson::Writer<rapidjson::StringBuffer>& out,
                 std::string_view text) {
  out.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

}  // namespace

HttpDeliveryState HttpDeliveryState::New() {
  HttpDeliveryState state;
  state.request_id = NewUuid();
  return state;
}

std::string HttpDeliveryState::ToJson() const {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> out(buffer);
  out.StartObject();
  out.Key("requestId");
  WriteString(out, request_id);
  out.Key("firstAttempt");
  out.Int64(first_attempt);
  out.Key("attempts");
  out.Int64(attempts);
  if (failure) {
    out.Key("errorCode");
    WriteString(out, failure->error_code);
    out.Key("errorMessage");
    WriteString(out, failure->message);
    out.Key("attemptEnding");
    out.Int64(attempt_ending);
    out.Key("errorKey");
    WriteString(out, error_key);
  }
  out.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

Result<HttpDeliveryState> HttpDeliveryState::FromJson(std::string_view json) {
  json::Document doc;
  doc.Parse(json.data(), json.size());
  auto bad = [&] {
    return Status(
        ErrorCode::kInternalFailure,
        "catalog holds a damaged HTTP delivery state: " + std::string(json));
  };
  if (doc.HasParseError() || !doc.IsObject()) return bad();
  auto string = [&](const char* name) -> const json::Value* {
    auto it = doc.FindMember(name);
    return it != doc.MemberEnd() && it->value.IsString() ? &it->value : nullptr;
  };
  auto integer = [&](const char* name) -> const json::Value* {
    auto it = doc.FindMember(name);
    return it != doc.MemberEnd() && it->value.IsInt64() ? &it->value : nullptr;
  };
  if (!string("requestId") || !integer("firstAttempt") ||
      !integer("attempts")) {
    return bad();
  }
  HttpDeliveryState state;
  state.request_id = json::AsView(*string("requestId"));
  state.first_attempt = integer("firstAttempt")->GetInt64();
  state.attempts = integer("attempts")->GetInt64();
  if (doc.HasMember("errorCode")) {
    if (!string("errorCode") || !string("errorMessage") ||
        !integer("attemptEnding") || !string("errorKey")) {
      return bad();
    }
    state.failure =
        HttpEndpointFailure{std::string(json::AsView(*string("errorCode"))),
                            std::string(json::AsView(*string("errorMessage")))};
    state.attempt_ending = integer("attemptEnding")->GetInt64();
    state.error_key = json::AsView(*string("errorKey"));
  }
  return state;
}

std::chrono::milliseconds HttpRetryDelay(int64_t attempts,
                                         std::chrono::milliseconds base) {
  std::chrono::milliseconds delay = base;
  for (int64_t i = 1; i < attempts && delay < kMaxHttpRetryDelay; ++i) {
    delay *= 2;
  }
  return std::min(delay, kMaxHttpRetryDelay);
}

Result<HttpBatchOutcome> DeliverHttpBatch(const HttpBatch& batch,
                                          const HttpDeliveryEnv& env,
                                          HttpDeliveryState& state) {
  const S3Destination& dest = batch.destination;
  const HttpEndpointDestination& http = *dest.http_endpoint;
  // The records as sent: with a newline each under AppendDelimiterToRecord.
  std::vector<std::string> sent;
  sent.reserve(batch.records.size());
  for (const storage::StoredRecord& record : batch.records) {
    sent.push_back(dest.append_delimiter ? record.data + '\n' : record.data);
  }

  HttpBatchOutcome outcome;
  if (!state.failure) {
    const EpochMillis started = env.clock.NowMillis();
    auto request = BuildHttpEndpointRequest(http, batch.stream_arn,
                                            state.request_id, started, sent);
    if (!request.ok()) return request.status();
    HttpExchange exchange =
        PostToHttpEndpoint(http.endpoint, *request, env.timeout);
    std::optional<HttpEndpointFailure> failure =
        exchange.failure
            ? exchange.failure
            : CheckHttpEndpointResponse(exchange.status, exchange.body,
                                        state.request_id);
    if (failure) {
      const EpochMillis ended = env.clock.NowMillis();
      state.attempts += 1;
      if (state.first_attempt == 0) state.first_attempt = started;
      const EpochMillis deadline =
          state.first_attempt + http.retry_seconds * 1000;
      if (ended < deadline) {
        if (Status s = env.save(state); !s.ok()) return s;
        outcome.retry_at = std::min(
            ended +
                HttpRetryDelay(state.attempts, env.base_retry_delay).count(),
            deadline);
        outcome.failure =
            Status(ErrorCode::kServiceUnavailable,
                   "delivery to " + http.url + " failed (attempt " +
                       std::to_string(state.attempts) + ", request " +
                       state.request_id + "): " + failure->error_code + ": " +
                       failure->message + "; retrying for up to " +
                       std::to_string(http.retry_seconds) + " s");
        return outcome;
      }
      // Retries are over: decide the error object's key once, durably.
      auto key = ErrorObjectKey(dest, kHttpEndpointErrorOutputType,
                                batch.stream_name, batch.version_id,
                                batch.records.front().arrival_millis);
      if (!key.ok()) return key.status();
      state.failure = std::move(failure);
      state.attempt_ending = ended;
      state.error_key = std::move(*key);
      if (Status s = env.save(state); !s.ok()) return s;
    }
  }

  if (state.failure) {
    std::vector<ErrorRecord> failed;
    failed.reserve(batch.records.size());
    for (const storage::StoredRecord& record : batch.records) {
      failed.push_back({state.attempts, record.arrival_millis,
                        state.failure->error_code, state.failure->message,
                        state.attempt_ending, record.data, std::nullopt});
    }
    if (Status s =
            WriteArchiveObject(batch.bucket_dir, dest, state.error_key,
                               ErrorRecordDocuments(failed), env.file_ops);
        !s.ok()) {
      return s;
    }
    outcome.backup_keys.push_back(state.error_key);
  }
  if (http.BackupAllData()) {
    std::string body;
    for (const std::string& data : sent) body += data;
    if (Status s =
            WriteArchiveObject(batch.bucket_dir, dest, batch.all_data_key,
                               std::move(body), env.file_ops);
        !s.ok()) {
      return s;
    }
    outcome.backup_keys.emplace_back(batch.all_data_key);
  }
  outcome.finished = true;
  return outcome;
}

}  // namespace sluice::firehose
