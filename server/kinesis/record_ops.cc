// The data plane: PutRecord, PutRecords, GetShardIterator, GetRecords.
#include <charconv>

#include "common/base64.h"
#include "common/hash_key.h"
#include "common/sequence_number.h"
#include "server/kinesis/kinesis_api.h"
#include "server/model/service_model.h"

namespace sluice::kinesis {
namespace {

inline constexpr int64_t kGetRecordsDefaultLimit = 10000;
inline constexpr size_t kGetRecordsMaxBytes = 10 * 1024 * 1024;

std::string ShardNotFoundMessage(std::string_view shard_id,
                                 const StreamKey& key) {
  return "Shard " + std::string(shard_id) + " in stream " + key.name +
         " under account " + key.account_id + " does not exist";
}

// Records can be written and read while the stream is ACTIVE or UPDATING
// (and for a moment while DELETING); a CREATING stream does not exist yet
// for the data plane.
Status CheckReadable(const catalog::StreamRecord& stream) {
  if (stream.status == catalog::StreamStatus::kCreating) {
    return StreamNotFound({stream.account_id, stream.region, stream.name});
  }
  return Status::Ok();
}

// A record as the client sent it, checked against the stream's limits.
struct IncomingRecord {
  std::string data;
  std::string_view partition_key;
  std::optional<std::string_view> explicit_hash_key;
};

// Reads Data, PartitionKey and ExplicitHashKey of one (model-validated)
// record; the ExplicitHashKey must be below 2^128.
Result<IncomingRecord> ReadRecord(const json::Value& entry) {
  IncomingRecord record;
  record.data =
      Base64Decode(model::GetString(entry, "Data").value_or("")).value_or("");
  record.partition_key = model::GetString(entry, "PartitionKey").value_or("");
  record.explicit_hash_key = model::GetString(entry, "ExplicitHashKey");
  if (record.explicit_hash_key && !ParseHashKey(*record.explicit_hash_key)) {
    return InvalidExplicitHashKey(*record.explicit_hash_key);
  }
  return record;
}

storage::RecordToAppend ToAppend(const IncomingRecord& record) {
  storage::RecordToAppend out;
  out.partition_key = record.partition_key;
  out.explicit_hash_key = record.explicit_hash_key;
  out.data = record.data;
  return out;
}

// Data plus partition key may not exceed the stream's maximum record size.
Status CheckRecordSize(size_t data_bytes, size_t key_bytes,
                       const catalog::StreamRecord& stream,
                       std::string_view path) {
  size_t limit = static_cast<size_t>(stream.max_record_size_kib) * 1024;
  if (data_bytes + key_bytes <= limit) return Status::Ok();
  return Status(
      ErrorCode::kValidation,
      "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=" +
          std::to_string(data_bytes) + " cap=" + std::to_string(data_bytes) +
          "]' at '" + std::string(path) +
          "' failed to satisfy constraint: Member must have length less than "
          "or equal to " +
          std::to_string(limit - key_bytes));
}

Status CheckRecordSize(const IncomingRecord& record,
                       const catalog::StreamRecord& stream,
                       std::string_view path) {
  return CheckRecordSize(record.data.size(), record.partition_key.size(),
                         stream, path);
}

void WriteEncryptionType(Encoder& out, const catalog::StreamRecord& stream) {
  if (stream.encryption_type != "NONE") {
    out.Key("EncryptionType");
    out.String(stream.encryption_type);
  }
}

}  // namespace

std::optional<double> TimestampSeconds(const json::Value& object,
                                       std::string_view member) {
  auto it = object.FindMember(rapidjson::StringRef(
      member.data(), static_cast<rapidjson::SizeType>(member.size())));
  if (it == object.MemberEnd() || !it->value.IsNumber()) return std::nullopt;
  return it->value.GetDouble();
}

std::string SequenceNumberBefore(const storage::ShardIdentity& identity,
                                 uint64_t offset) {
  return EncodeSequenceNumber(
      {identity.creation_seconds, identity.shard_index, offset, 0});
}

Result<uint64_t> StartingOffset(const LiveShard& shard, const StreamKey& key,
                                std::string_view operation,
                                const StartingPoint& start) {
  std::string_view type = start.type;
  const std::optional<std::string_view>& starting = start.sequence_number;
  std::string canonical_id = shard.record.ShardId();
  uint32_t index = shard.record.shard_index;
  bool by_sequence =
      type == "AT_SEQUENCE_NUMBER" || type == "AFTER_SEQUENCE_NUMBER";
  if (starting && !by_sequence && type != "AT_TIMESTAMP") {
    return Status(ErrorCode::kInvalidArgument,
                  "Must either specify (1) AT_SEQUENCE_NUMBER or "
                  "AFTER_SEQUENCE_NUMBER and "
                  "StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no "
                  "StartingSequenceNumber. Request specified " +
                      std::string(type) +
                      " and also a StartingSequenceNumber.");
  }
  if (!starting && by_sequence) {
    return Status(ErrorCode::kInvalidArgument,
                  "Must either specify (1) AT_SEQUENCE_NUMBER or "
                  "AFTER_SEQUENCE_NUMBER and "
                  "StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no "
                  "StartingSequenceNumber. Request specified " +
                      std::string(type) + " and no StartingSequenceNumber.");
  }

  uint64_t offset = 0;
  if (type == "TRIM_HORIZON") {
    offset = shard.log->TrimHorizon();
  } else if (type == "LATEST") {
    offset = shard.log->Tip();
  } else if (by_sequence) {
    std::optional<SequenceNumberParts> parts = DecodeSequenceNumber(*starting);
    if (!parts) {
      return Status(ErrorCode::kInvalidArgument,
                    "StartingSequenceNumber " + std::string(*starting) +
                        " used in " + std::string(operation) + " on shard " +
                        canonical_id + " in stream " + key.name +
                        " under account " + key.account_id + " is invalid.");
    }
    if (parts->shard_index != index) {
      return Status(ErrorCode::kInvalidArgument,
                    "Invalid StartingSequenceNumber. It encodes " +
                        catalog::ShardIdFor(parts->shard_index) +
                        ", while it was used in a call to a shard with " +
                        canonical_id);
    }
    if (parts->shard_creation_seconds !=
        shard.log->identity().creation_seconds) {
      return Status(
          ErrorCode::kInvalidArgument,
          "StartingSequenceNumber " + std::string(*starting) + " used in " +
              std::string(operation) + " on shard " + canonical_id +
              " in stream " + key.name + " under account " + key.account_id +
              " is invalid because it did not come from this stream.");
    }
    // A number with arrival 0 is SequenceNumberBefore(): the position just
    // before the record at its offset, which AFTER_SEQUENCE_NUMBER resumes
    // at. Every real record has a later arrival.
    bool after_record =
        type == "AFTER_SEQUENCE_NUMBER" && parts->arrival_seconds != 0;
    offset = parts->offset + (after_record ? 1 : 0);
  } else {  // AT_TIMESTAMP; the model has already checked the enum
    if (!start.timestamp_seconds) {
      return Status(
          ErrorCode::kInvalidArgument,
          "Must specify timestampInMillis parameter for iterator of type "
          "AT_TIMESTAMP. Current request has no timestamp parameter.");
    }
    auto millis = EpochMillisFromSeconds(*start.timestamp_seconds);
    auto found = shard.log->SeekTime(millis);
    if (!found.ok()) return found.status();
    offset = *found;
  }

  return offset;
}

void WriteRecord(Encoder& out, const storage::StoredRecord& record,
                 const catalog::StreamRecord& stream) {
  out.StartObject();
  out.Key("SequenceNumber");
  out.String(record.sequence_number);
  out.Key("ApproximateArrivalTimestamp");
  out.Timestamp(record.arrival_millis);
  out.Key("Data");
  out.Blob(record.data);
  out.Key("PartitionKey");
  out.String(record.partition_key);
  if (stream.encryption_type != "NONE") {
    out.Key("EncryptionType");
    out.String(stream.encryption_type);
  }
  out.EndObject();
}

void WriteChildShards(Encoder& out, const LiveStream& stream,
                      uint32_t parent_index) {
  out.Key("ChildShards");
  out.StartArray();
  for (const LiveShard& child : stream.shards) {
    const catalog::ShardRecord& c = child.record;
    bool is_child = c.parent_index == parent_index ||
                    c.adjacent_parent_index == parent_index;
    if (!is_child) continue;
    out.StartObject();
    out.Key("ShardId");
    out.String(c.ShardId());
    out.Key("ParentShards");
    out.StartArray();
    if (c.parent_index) out.String(catalog::ShardIdFor(*c.parent_index));
    if (c.adjacent_parent_index)
      out.String(catalog::ShardIdFor(*c.adjacent_parent_index));
    out.EndArray();
    out.Key("HashKeyRange");
    out.StartObject();
    out.Key("StartingHashKey");
    out.String(c.hash_key_start);
    out.Key("EndingHashKey");
    out.String(c.hash_key_end);
    out.EndObject();
    out.EndObject();
  }
  out.EndArray();
}

Status KinesisApi::PutRecord(const Context& context, const json::Value& input,
                             Encoder& output) {
  auto key = ResolveStream(context, input);
  if (!key.ok()) return key.status();
  auto stream = streams_.Find(*key);
  if (!stream.ok()) return stream.status();
  catalog::StreamRecord record_of_stream;
  {
    std::shared_lock lock((*stream)->mu);
    record_of_stream = (*stream)->record;
  }
  if (Status s = CheckReadable(record_of_stream); !s.ok()) return s;

  auto record = ReadRecord(input);
  if (!record.ok()) return record.status();
  if (Status s = CheckRecordSize(*record, record_of_stream, "data"); !s.ok())
    return s;
  if (auto ordering = model::GetString(input, "SequenceNumberForOrdering")) {
    // Records of a shard are numbered in arrival order, so any number this
    // stream handed out is already below the next one; a foreign one is an
    // error, as on AWS.
    if (!DecodeSequenceNumber(*ordering)) {
      return Status(ErrorCode::kInvalidArgument,
                    "ExclusiveMinimumSequenceNumber " + std::string(*ordering) +
                        " used in PutRecord on stream " + key->name +
                        " under account " + key->account_id + " is invalid.");
    }
  }

  storage::RecordToAppend append = ToAppend(*record);
  std::vector<PutOutcome> outcome = streams_.Put(**stream, {&append, 1});
  if (!outcome[0].status.ok()) return outcome[0].status;

  output.StartObject();
  output.Key("ShardId");
  output.String(catalog::ShardIdFor(outcome[0].shard_index));
  output.Key("SequenceNumber");
  output.String(outcome[0].sequence_number);
  WriteEncryptionType(output, record_of_stream);
  output.EndObject();
  return Status::Ok();
}

Result<std::vector<PutOutcome>> KinesisApi::AppendRecords(
    const StreamKey& key, std::span<const storage::RecordToAppend> records) {
  auto stream = streams_.Find(key);
  if (!stream.ok()) return stream.status();
  catalog::StreamRecord record_of_stream;
  {
    std::shared_lock lock((*stream)->mu);
    record_of_stream = (*stream)->record;
  }
  if (Status s = CheckReadable(record_of_stream); !s.ok()) return s;

  std::vector<PutOutcome> outcomes(records.size());
  std::vector<storage::RecordToAppend> fitting;
  std::vector<size_t> fitting_index;
  for (size_t i = 0; i < records.size(); ++i) {
    outcomes[i].status =
        CheckRecordSize(records[i].data.size(), records[i].partition_key.size(),
                        record_of_stream, "data");
    if (!outcomes[i].status.ok()) continue;
    fitting.push_back(records[i]);
    fitting_index.push_back(i);
  }
  if (fitting.empty()) return outcomes;
  std::vector<PutOutcome> stored = streams_.Put(**stream, fitting);
  for (size_t i = 0; i < stored.size(); ++i) {
    outcomes[fitting_index[i]] = std::move(stored[i]);
  }
  return outcomes;
}

Status KinesisApi::PutRecords(const Context& context, const json::Value& input,
                              Encoder& output) {
  auto key = ResolveStream(context, input);
  if (!key.ok()) return key.status();
  auto stream = streams_.Find(*key);
  if (!stream.ok()) return stream.status();
  catalog::StreamRecord record_of_stream;
  {
    std::shared_lock lock((*stream)->mu);
    record_of_stream = (*stream)->record;
  }
  if (Status s = CheckReadable(record_of_stream); !s.ok()) return s;

  // Size and shape problems fail the whole request, before anything is
  // stored.
  const json::Value& entries = input["Records"];
  std::vector<IncomingRecord> records;
  records.reserve(entries.Size());
  size_t total_bytes = 0;
  for (rapidjson::SizeType i = 0; i < entries.Size(); ++i) {
    auto record = ReadRecord(entries[i]);
    if (!record.ok()) return record.status();
    std::string path = "records." + std::to_string(i + 1) + ".member.data";
    if (Status s = CheckRecordSize(*record, record_of_stream, path); !s.ok())
      return s;
    total_bytes += record->data.size() + record->partition_key.size();
    records.push_back(std::move(*record));
  }
  if (total_bytes > limits_.put_records_max_bytes) {
    return Status(
        ErrorCode::kInvalidArgument,
        "Records size exceeds " +
            std::to_string(limits_.put_records_max_bytes / (1024 * 1024)) +
            " MB limit");
  }

  std::vector<storage::RecordToAppend> appends;
  appends.reserve(records.size());
  for (const IncomingRecord& record : records)
    appends.push_back(ToAppend(record));
  std::vector<PutOutcome> outcomes = streams_.Put(**stream, appends);

  int64_t failed = 0;
  for (const PutOutcome& outcome : outcomes) failed += !outcome.status.ok();
  output.StartObject();
  output.Key("FailedRecordCount");
  output.Int(failed);
  output.Key("Records");
  output.StartArray();
  for (const PutOutcome& outcome : outcomes) {
    output.StartObject();
    if (outcome.status.ok()) {
      output.Key("SequenceNumber");
      output.String(outcome.sequence_number);
      output.Key("ShardId");
      output.String(catalog::ShardIdFor(outcome.shard_index));
    } else {
      // Throttling and storage failures are reported per entry; retrying
      // them is the client's job, as on AWS.
      bool throttled =
          outcome.status.code() == ErrorCode::kProvisionedThroughputExceeded;
      output.Key("ErrorCode");
      output.String(throttled ? "ProvisionedThroughputExceededException"
                              : "InternalFailure");
      output.Key("ErrorMessage");
      output.String(throttled ? outcome.status.message()
                              : "Internal service failure.");
    }
    output.EndObject();
  }
  output.EndArray();
  WriteEncryptionType(output, record_of_stream);
  output.EndObject();
  return Status::Ok();
}

Status KinesisApi::GetShardIterator(const Context& context,
                                    const json::Value& input, Encoder& output) {
  auto key = ResolveStream(context, input);
  if (!key.ok()) return key.status();
  std::string_view shard_id = model::GetString(input, "ShardId").value_or("");
  std::string_view type =
      model::GetString(input, "ShardIteratorType").value_or("");
  std::optional<std::string_view> starting =
      model::GetString(input, "StartingSequenceNumber");

  auto stream = streams_.Find(*key);
  if (!stream.ok()) return stream.status();
  std::shared_lock lock((*stream)->mu);
  const catalog::StreamRecord& record_of_stream = (*stream)->record;
  if (Status s = CheckReadable(record_of_stream); !s.ok()) return s;
  std::optional<uint32_t> index = catalog::ParseShardIndex(shard_id);
  if (!index || *index >= (*stream)->shards.size()) {
    return Status(ErrorCode::kResourceNotFound,
                  ShardNotFoundMessage(
                      index ? catalog::ShardIdFor(*index) : shard_id, *key));
  }
  const LiveShard& shard = (*stream)->shards[*index];

  auto offset =
      StartingOffset(shard, *key, "GetShardIterator",
                     {type, starting, TimestampSeconds(input, "Timestamp")});
  if (!offset.ok()) return offset.status();

  output.StartObject();
  output.Key("ShardIterator");
  output.String(iterators_.Encode({record_of_stream.stream_id, *index, *offset,
                                   streams_.clock().NowMillis()}));
  output.EndObject();
  return Status::Ok();
}

Status KinesisApi::GetRecords(const Context& context, const json::Value& input,
                              Encoder& output) {
  auto position =
      iterators_.Decode(model::GetString(input, "ShardIterator").value_or(""));
  if (!position.ok()) return position.status();
  int64_t limit =
      model::GetInteger(input, "Limit").value_or(kGetRecordsDefaultLimit);

  std::shared_ptr<LiveStream> stream = streams_.FindById(position->stream_id);
  if (!stream) {
    return Status(ErrorCode::kResourceNotFound,
                  "Shard " + catalog::ShardIdFor(position->shard_index) +
                      " in stream under account " + context.account_id +
                      " does not exist");
  }
  std::shared_lock lock(stream->mu);
  const catalog::StreamRecord& record_of_stream = stream->record;
  if (record_of_stream.account_id != context.account_id ||
      record_of_stream.region != context.region ||
      position->shard_index >= stream->shards.size()) {
    return Status(ErrorCode::kInvalidArgument, "Invalid ShardIterator.");
  }
  if (Status s = CheckReadable(record_of_stream); !s.ok()) return s;
  const LiveShard& shard = stream->shards[position->shard_index];
  EpochMillis now = streams_.clock().NowMillis();
  bool enforce = streams_.options().enforce_limits;
  if (enforce && !shard.throughput->AdmitRead(now)) {
    return RateExceeded(record_of_stream, shard.record);
  }

  auto read = shard.log->Read(position->offset, static_cast<size_t>(limit),
                              kGetRecordsMaxBytes);
  if (!read.ok()) return read.status();
  if (enforce) {
    size_t bytes = 0;
    for (const storage::StoredRecord& record : read->records) {
      bytes += record.data.size() + record.partition_key.size();
    }
    shard.throughput->ChargeRead(bytes, now);
  }
  // Whole segments are trimmed in the background; a record past retention
  // inside a kept segment is skipped here, as AWS no longer has it.
  EpochMillis oldest_kept =
      now -
      static_cast<EpochMillis>(record_of_stream.retention_hours) * 3600 * 1000;

  output.StartObject();
  output.Key("Records");
  output.StartArray();
  EpochMillis last_arrival = 0;
  for (const storage::StoredRecord& record : read->records) {
    if (record.arrival_millis < oldest_kept) continue;
    WriteRecord(output, record, record_of_stream);
    last_arrival = record.arrival_millis;
  }
  output.EndArray();

  bool shard_finished = !shard.record.IsOpen() && read->at_tip;
  if (!shard_finished) {
    output.Key("NextShardIterator");
    output.String(
        iterators_.Encode({record_of_stream.stream_id, position->shard_index,
                           read->next_offset, now}));
  }
  output.Key("MillisBehindLatest");
  output.Int(read->at_tip || last_arrival == 0
                 ? 0
                 : std::max<EpochMillis>(0, now - last_arrival));
  if (shard_finished) {
    // The end of a closed shard: name its children, as KCL needs to go on.
    WriteChildShards(output, *stream, position->shard_index);
  }
  output.EndObject();
  return Status::Ok();
}

}  // namespace sluice::kinesis
