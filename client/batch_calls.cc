#include "client/batch_calls.h"

#include "common/base64.h"

namespace sluice::client {
namespace {

// Reads the per-entry array `member` of a batch answer.
Result<std::vector<EntryOutcome>> ReadOutcomes(const json::Document& answer,
                                               const char* member,
                                               const char* id_member,
                                               size_t count) {
  auto it = answer.FindMember(member);
  if (it == answer.MemberEnd() || !it->value.IsArray() ||
      it->value.Size() != count) {
    return Status(
        ErrorCode::kInternalFailure,
        std::string("the answer has no ") + member + " entry for each record");
  }
  std::vector<EntryOutcome> outcomes(count);
  for (rapidjson::SizeType i = 0; i < it->value.Size(); ++i) {
    const json::Value& entry = it->value[i];
    EntryOutcome& outcome = outcomes[i];
    auto text = [&](const char* name) -> std::string {
      if (!entry.IsObject()) return "";
      auto found = entry.FindMember(name);
      return found != entry.MemberEnd() && found->value.IsString()
                 ? std::string(json::AsView(found->value))
                 : std::string();
    };
    if (std::string code = text("ErrorCode"); !code.empty()) {
      outcome.status = Status(ErrorCodeNamed(code, ErrorCode::kInternalFailure),
                              text("ErrorMessage"));
      continue;
    }
    outcome.shard_id = text("ShardId");
    outcome.id = text(id_member);
    if (outcome.id.empty()) {
      outcome.status =
          Status(ErrorCode::kInternalFailure,
                 std::string("an entry of the answer has no ") + id_member);
    }
  }
  return outcomes;
}

}  // namespace

Result<std::vector<EntryOutcome>> PutRecords(
    ApiClient& client, std::string_view stream,
    const std::vector<KinesisEntry>& entries) {
  std::string body =
      "{\"StreamName\":" + json::Quote(stream) + ",\"Records\":[";
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) body += ',';
    body += "{\"Data\":\"" + Base64Encode(entries[i].data) +
            "\",\"PartitionKey\":" + json::Quote(entries[i].partition_key) +
            "}";
  }
  body += "]}";
  auto answer = client.Call(Api::kKinesis, "PutRecords", body);
  if (!answer.ok()) return answer.status();
  return ReadOutcomes(*answer, "Records", "SequenceNumber", entries.size());
}

Result<std::vector<EntryOutcome>> PutRecordBatch(
    ApiClient& client, std::string_view delivery_stream,
    const std::vector<std::string_view>& records) {
  std::string body = "{\"DeliveryStreamName\":" + json::Quote(delivery_stream) +
                     ",\"Records\":[";
  for (size_t i = 0; i < records.size(); ++i) {
    if (i > 0) body += ',';
    body += "{\"Data\":\"" + Base64Encode(records[i]) + "\"}";
  }
  body += "]}";
  auto answer = client.Call(Api::kFirehose, "PutRecordBatch", body);
  if (!answer.ok()) return answer.status();
  return ReadOutcomes(*answer, "RequestResponses", "RecordId", records.size());
}

}  // namespace sluice::client
