#include "server/consumers/stream_writer.h"

#include <algorithm>
#include <shared_mutex>

#include "server/firehose/firehose_api.h"

namespace sluice::consumers {

Result<std::string> ServerStreamWriter::PutToStream(
    std::string_view stream, std::string_view partition_key,
    std::string_view data) {
  return PutTo({account_id_, region_, std::string(stream)}, partition_key,
               data);
}

Result<std::string> ServerStreamWriter::PutTo(const kinesis::StreamKey& key,
                                              std::string_view partition_key,
                                              std::string_view data) {
  if (partition_key.empty() || partition_key.size() > 256) {
    return Status(ErrorCode::kInvalidArgument,
                  "A partition key must have 1 to 256 characters.");
  }
  auto stream = streams_.Find(key);
  if (!stream.ok()) return stream.status();
  size_t max_bytes = 0;
  {
    std::shared_lock lock((*stream)->mu);
    const catalog::StreamRecord& record = (*stream)->record;
    if (record.status != catalog::StreamStatus::kActive &&
        record.status != catalog::StreamStatus::kUpdating) {
      return kinesis::StreamNotActive(record);
    }
    max_bytes = static_cast<size_t>(record.max_record_size_kib) * 1024;
  }
  if (partition_key.size() + data.size() > max_bytes) {
    return Status(ErrorCode::kInvalidArgument,
                  "A record of " + std::to_string(data.size()) +
                      " bytes is larger than stream " + key.name + " takes.");
  }
  storage::RecordToAppend record;
  record.partition_key = partition_key;
  record.data = data;
  std::vector<kinesis::PutOutcome> outcomes =
      streams_.Put(**stream, {&record, 1});
  if (!outcomes.front().status.ok()) return outcomes.front().status;
  return outcomes.front().sequence_number;
}

namespace {

struct ShardLogRef {
  std::string shard_id;
  storage::ShardLog* log;  // lives as long as the LiveStream
};

std::vector<ShardLogRef> LogsOf(const kinesis::LiveStream& stream) {
  std::shared_lock lock(stream.mu);
  std::vector<ShardLogRef> logs;
  for (const kinesis::LiveShard& shard : stream.shards) {
    logs.push_back(
        {catalog::ShardIdFor(shard.record.shard_index), shard.log.get()});
  }
  return logs;
}

}  // namespace

Result<StreamWriter::ShardTips> ServerStreamWriter::StreamTips(
    std::string_view stream) {
  auto live = streams_.Find({account_id_, region_, std::string(stream)});
  if (!live.ok()) return live.status();
  ShardTips tips;
  for (const ShardLogRef& shard : LogsOf(**live)) {
    tips.emplace_back(shard.shard_id, shard.log->Tip());
  }
  return tips;
}

Result<std::vector<std::string>> ServerStreamWriter::PartitionKeysSince(
    std::string_view stream, const ShardTips& tips) {
  auto live = streams_.Find({account_id_, region_, std::string(stream)});
  if (!live.ok()) return live.status();
  std::vector<std::string> keys;
  for (const ShardLogRef& shard : LogsOf(**live)) {
    uint64_t from = 0;
    for (const auto& [shard_id, tip] : tips) {
      if (shard_id == shard.shard_id) from = tip;
    }
    from = std::max(from, shard.log->TrimHorizon());
    const uint64_t end = shard.log->Tip();
    while (from < end) {
      auto read = shard.log->Read(from, 10000, 64u << 20);
      if (!read.ok()) return read.status();
      for (const storage::StoredRecord& record : read->records) {
        keys.push_back(record.partition_key);
      }
      if (read->next_offset <= from) break;
      from = read->next_offset;
    }
  }
  return keys;
}

Result<std::string> ServerStreamWriter::PutToDeliveryStream(
    std::string_view delivery_stream, std::string_view data) {
  firehose::DeliveryStreamKey key{account_id_, region_,
                                  std::string(delivery_stream)};
  if (delivery_streams_ == nullptr) {
    return firehose::DeliveryStreamNotFound(key);
  }
  auto stream = delivery_streams_->Find(key);
  if (!stream.ok()) return stream.status();
  catalog::DeliveryStreamRecord record;
  {
    std::lock_guard lock((*stream)->mu);
    record = (*stream)->record;
  }
  if (record.status != "ACTIVE") return firehose::DeliveryStreamNotFound(key);
  std::string copy(data);
  auto offsets = delivery_streams_->Put(**stream, {&copy, 1});
  if (!offsets.ok()) return offsets.status();
  return firehose::RecordIdFor(record, offsets->front());
}

}  // namespace sluice::consumers
