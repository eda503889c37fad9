// Data plane: PutRecord, PutRecordBatch, and the admin flush and read.
#include <algorithm>
#include <cstdint>
#include <limits>

#include "common/base64.h"
#include "server/firehose/firehose_api.h"
#include "server/model/service_model.h"

namespace sluice::firehose {
namespace {

// Records can be put only while the stream is ACTIVE; a stream still
// CREATING, or already DELETING, is not found for the data plane.
Result<catalog::DeliveryStreamRecord> Writable(const LiveDeliveryStream& stream,
                                               const DeliveryStreamKey& key) {
  std::lock_guard lock(stream.mu);
  if (stream.record.status != "ACTIVE") return DeliveryStreamNotFound(key);
  if (stream.record.type != "DirectPut") {
    return Status(ErrorCode::kInvalidArgument,
                  "This operation is not permitted on " + stream.record.type +
                      " delivery stream type.");
  }
  return stream.record;
}

// Firehose's throttle: 503, as AWS answers it.
Status SlowDown() {
  return Status(ErrorCode::kServiceUnavailable, "Slow down.");
}

bool IsEncrypted(const catalog::DeliveryStreamRecord& record) {
  return record.encryption.find("\"ENABLED\"") != std::string::npos;
}

// The admin operations are not in the service model: their one required
// member is checked here.
Status RequireName(const json::Value& input) {
  if (model::GetString(input, "DeliveryStreamName")) return Status::Ok();
  return Status(ErrorCode::kValidation,
                "DeliveryStreamName must be a string naming a delivery "
                "stream.");
}

}  // namespace

// Opaque and unique forever: the delivery stream's catalog id is never
// reused and offsets in its log are never reused.
std::string RecordIdFor(const catalog::DeliveryStreamRecord& record,
                        uint64_t offset) {
  std::string bytes;
  auto append = [&bytes](uint64_t value) {
    for (int shift = 56; shift >= 0; shift -= 8) {
      bytes += static_cast<char>((value >> shift) & 0xFF);
    }
  };
  append(static_cast<uint64_t>(record.delivery_stream_id));
  append(static_cast<uint64_t>(record.created_at));
  append(offset);
  return Base64Encode(bytes);
}

Status FirehoseApi::PutRecord(const Context& context, const json::Value& input,
                              Encoder& output) {
  const DeliveryStreamKey key = KeyFor(context, input);
  auto stream = streams_.Find(key);
  if (!stream.ok()) return stream.status();
  auto record = Writable(**stream, key);
  if (!record.ok()) return record.status();
  const json::Value& entry = input["Record"];
  std::string data =
      Base64Decode(model::GetString(entry, "Data").value_or("")).value_or("");
  if (DirectPutQuota* quota = (*stream)->quota.get()) {
    const EpochMillis now = streams_.clock().NowMillis();
    if (!quota->AdmitRequest(now) || !quota->AdmitRecord(data.size(), now)) {
      return SlowDown();
    }
  }
  auto offsets = streams_.Put(**stream, {&data, 1});
  if (!offsets.ok()) {
    return offsets.status();
  }
  output.StartObject();
  output.Key("RecordId");
  output.String(RecordIdFor(*record, offsets->front()));
  output.Key("Encrypted");
  output.Bool(IsEncrypted(*record));
  output.EndObject();
  return Status::Ok();
}

Result<std::vector<FirehoseApi::AppendOutcome>> FirehoseApi::AppendRecords(
    const DeliveryStreamKey& key, std::vector<std::string> data,
    bool* encrypted) {
  auto stream = streams_.Find(key);
  if (!stream.ok()) return stream.status();
  auto record = Writable(**stream, key);
  if (!record.ok()) return record.status();
  if (encrypted != nullptr) *encrypted = IsEncrypted(*record);
  // Over the Direct PUT quota, a record fails on its own ("Slow down.")
  // and the others are stored.
  std::vector<bool> admitted(data.size(), true);
  if (DirectPutQuota* quota = (*stream)->quota.get()) {
    const EpochMillis now = streams_.clock().NowMillis();
    if (!quota->AdmitRequest(now)) return SlowDown();
    for (size_t i = 0; i < data.size(); ++i) {
      admitted[i] = quota->AdmitRecord(data[i].size(), now);
    }
  }
  std::vector<std::string> stored;
  for (size_t i = 0; i < data.size(); ++i) {
    if (admitted[i]) stored.push_back(std::move(data[i]));
  }
  // One append for the admitted records: they are stored together or not
  // at all, so a failure fails each of them, reported as AWS reports a
  // record it could not take.
  Result<std::vector<uint64_t>> offsets = std::vector<uint64_t>();
  if (!stored.empty()) offsets = streams_.Put(**stream, stored);
  std::vector<AppendOutcome> outcomes(admitted.size());
  size_t next_stored = 0;
  for (size_t i = 0; i < admitted.size(); ++i) {
    if (admitted[i] && offsets.ok()) {
      outcomes[i].record_id = RecordIdFor(*record, (*offsets)[next_stored++]);
    } else {
      outcomes[i].status = SlowDown();
    }
  }
  return outcomes;
}

Status FirehoseApi::PutRecordBatch(const Context& context,
                                   const json::Value& input, Encoder& output) {
  const DeliveryStreamKey key = KeyFor(context, input);
  std::vector<std::string> data;
  size_t total = 0;
  for (const json::Value& entry : input["Records"].GetArray()) {
    data.push_back(Base64Decode(model::GetString(entry, "Data").value_or(""))
                       .value_or(""));
    total += data.back().size();
  }
  // The stream's state is checked before the size, as before.
  auto stream = streams_.Find(key);
  if (!stream.ok()) return stream.status();
  if (auto writable = Writable(**stream, key); !writable.ok())
    return writable.status();
  if (total > kMaxBatchBytes) {
    return Status(ErrorCode::kInvalidArgument,
                  "Records size exceeds the 4 MiB limit of PutRecordBatch: " +
                      std::to_string(total) + " bytes.");
  }
  bool encrypted = false;
  auto outcomes = AppendRecords(key, std::move(data), &encrypted);
  if (!outcomes.ok()) return outcomes.status();
  int64_t failed = 0;
  for (const AppendOutcome& outcome : *outcomes) failed += !outcome.status.ok();
  output.StartObject();
  output.Key("FailedPutCount");
  output.Int(failed);
  output.Key("Encrypted");
  output.Bool(encrypted);
  output.Key("RequestResponses");
  output.StartArray();
  for (const AppendOutcome& outcome : *outcomes) {
    output.StartObject();
    if (outcome.status.ok()) {
      output.Key("RecordId");
      output.String(outcome.record_id);
    } else {
      output.Key("ErrorCode");
      output.String("ServiceUnavailableException");
      output.Key("ErrorMessage");
      output.String(outcome.status.message());
    }
    output.EndObject();
  }
  output.EndArray();
  output.EndObject();
  return Status::Ok();
}

Status FirehoseApi::FlushDeliveryStream(const Context& context,
                                        const json::Value& input,
                                        Encoder& output) {
  if (Status s = RequireName(input); !s.ok()) return s;
  auto stream = Find(context, input);
  if (!stream.ok()) return stream.status();
  auto delivered = engine_.Flush(**stream);
  if (!delivered.ok()) return delivered.status();
  output.StartObject();
  output.Key("Objects");
  output.StartArray();
  for (const DeliveredObject& object : *delivered) {
    output.StartObject();
    output.Key("Bucket");
    output.String(object.bucket);
    output.Key("Key");
    output.String(object.key);
    output.Key("Records");
    output.Int(static_cast<int64_t>(object.records));
    if (object.error_output) {
      output.Key("ErrorOutputType");
      output.String(kProcessingFailedOutputType);
    }
    output.EndObject();
  }
  output.EndArray();
  output.EndObject();
  return Status::Ok();
}

// What the log holds is read as the consumer runtime reads a delivery
// stream source (consumer_runtime.cc): ShardLog::Read from a position.
Status FirehoseApi::ReadDeliveryStream(const Context& context,
                                       const json::Value& input,
                                       Encoder& output) {
  if (Status s = RequireName(input); !s.ok()) return s;
  auto whole_number = [&](const char* member, uint64_t max,
                          uint64_t& out) -> Status {
    auto it = input.FindMember(member);
    if (it == input.MemberEnd() || it->value.IsNull()) return Status::Ok();
    if (!it->value.IsUint64() || it->value.GetUint64() > max) {
      return Status(ErrorCode::kValidation,
                    std::string(member) + " must be an integer from 0 to " +
                        std::to_string(max) + ".");
    }
    out = it->value.GetUint64();
    return Status::Ok();
  };
  uint64_t limit = kDefaultReadRecords;
  if (Status s = whole_number("Limit", kMaxReadRecords, limit); !s.ok()) {
    return s;
  }
  constexpr uint64_t kAbsent = std::numeric_limits<uint64_t>::max();
  uint64_t position = kAbsent;
  if (Status s = whole_number("Position", std::numeric_limits<int64_t>::max(),
                              position);
      !s.ok()) {
    return s;
  }
  auto stream = Find(context, input);
  if (!stream.ok()) return stream.status();
  storage::ShardLog& log = *(*stream)->log;
  if (position == kAbsent) position = log.TrimHorizon();
  catalog::DeliveryStreamRecord record;
  {
    std::lock_guard lock((*stream)->mu);
    record = (*stream)->record;
  }
  storage::ReadResult read;
  read.next_offset = std::max(position, log.TrimHorizon());
  if (limit > 0) {
    auto result = log.Read(position, limit, kMaxReadBytes);
    if (!result.ok()) return result.status();
    read = std::move(*result);
  }
  output.StartObject();
  output.Key("Records");
  output.StartArray();
  for (const storage::StoredRecord& stored : read.records) {
    output.StartObject();
    output.Key("RecordId");
    output.String(RecordIdFor(record, stored.offset));
    output.Key("Position");
    output.Int(static_cast<int64_t>(stored.offset));
    output.Key("ApproximateArrivalTimestamp");
    output.Timestamp(stored.arrival_millis);
    output.Key("Data");
    output.Blob(stored.data);
    output.EndObject();
  }
  output.EndArray();
  output.Key("NextPosition");
  output.Int(static_cast<int64_t>(read.next_offset));
  output.Key("Tip");
  output.Int(static_cast<int64_t>(log.Tip()));
  output.Key("TrimHorizon");
  output.Int(static_cast<int64_t>(log.TrimHorizon()));
  output.EndObject();
  return Status::Ok();
}

}  // namespace sluice::firehose
