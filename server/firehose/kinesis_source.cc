#include "server/firehose/kinesis_source.h"

#include <charconv>
#include <mutex>
#include <shared_mutex>
#include <vector>

namespace sluice::firehose {
namespace {

// Records copied per read, and per pump call from one shard, so one busy
// shard cannot hold the delivery of its stream for long.
constexpr size_t kReadRecords = 10000;
constexpr size_t kReadBytes = 16u << 20;
constexpr uint64_t kMaxRecordsPerPump = 100000;

std::string ReaderName(const LiveDeliveryStream& stream) {
  std::lock_guard lock(stream.mu);
  return SourceReaderName(stream.record.delivery_stream_id);
}

// "<shard index>:<offset>" back into its numbers.
bool ParseOrigin(std::string_view text, uint32_t& shard, uint64_t& offset) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return false;
  const char* end = text.data() + colon;
  auto first = std::from_chars(text.data(), end, shard);
  auto second = std::from_chars(text.data() + colon + 1,
                                text.data() + text.size(), offset);
  return first.ec == std::errc() && first.ptr == end &&
         second.ec == std::errc() && second.ptr == text.data() + text.size();
}

// One shard as the pump sees it: copied out under the stream's lock. The
// log outlives the copy because the LiveStream is held.
struct SourceShard {
  catalog::ShardRecord record;
  storage::ShardLog* log = nullptr;
};

// Loads each shard's position: the saved checkpoint, then past anything the
// log holds beyond it (a crash between append and checkpoint).
Status LoadPositions(LiveDeliveryStream& stream, catalog::Catalog& catalog,
                     const std::string& reader, int64_t stream_id,
                     const std::vector<SourceShard>& shards) {
  stream.source_positions.clear();
  for (const SourceShard& shard : shards) {
    auto saved =
        catalog.LoadCheckpoint(reader, stream_id, shard.record.shard_index);
    if (!saved.ok()) return saved.status();
    if (!saved->has_value()) continue;
    uint64_t position = 0;
    const std::string& text = **saved;
    auto [ptr, ec] =
        std::from_chars(text.data(), text.data() + text.size(), position);
    if (ec != std::errc() || ptr != text.data() + text.size()) {
      return Status(ErrorCode::kInternalFailure,
                    "damaged checkpoint '" + text + "' of " + reader);
    }
    stream.source_positions[shard.record.shard_index] = position;
  }
  uint64_t at = 0;
  {
    std::lock_guard lock(stream.mu);
    at = stream.record.delivered_offset;
  }
  while (at < stream.log->Tip()) {
    auto read = stream.log->Read(at, kReadRecords, kReadBytes);
    if (!read.ok()) return read.status();
    if (read->records.empty()) break;
    for (const storage::StoredRecord& record : read->records) {
      uint32_t shard = 0;
      uint64_t offset = 0;
      if (ParseOrigin(record.partition_key, shard, offset)) {
        uint64_t& position = stream.source_positions[shard];
        position = std::max(position, offset + 1);
      }
    }
    at = read->next_offset;
  }
  stream.source_positions_loaded = true;
  return Status::Ok();
}

}  // namespace

std::string SourceReaderName(int64_t delivery_stream_id) {
  return "firehose/" + std::to_string(delivery_stream_id);
}

Status PumpKinesisSource(LiveDeliveryStream& stream,
                         kinesis::StreamManager& kinesis,
                         catalog::Catalog& catalog) {
  if (!stream.source) return Status::Ok();
  std::shared_ptr<kinesis::LiveStream> source =
      kinesis.FindById(stream.source->stream_id);
  if (source == nullptr) return Status::Ok();  // deleted: nothing more comes
  std::vector<SourceShard> shards;
  {
    std::shared_lock lock(source->mu);
    for (const kinesis::LiveShard& shard : source->shards) {
      shards.push_back({shard.record, shard.log.get()});
    }
  }
  const std::string reader = ReaderName(stream);
  const int64_t stream_id = stream.source->stream_id;
  if (!stream.source_positions_loaded) {
    if (Status s = LoadPositions(stream, catalog, reader, stream_id, shards);
        !s.ok()) {
      return s;
    }
  }
  auto position_of = [&](const SourceShard& shard) {
    auto it = stream.source_positions.find(shard.record.shard_index);
    return it != stream.source_positions.end() ? it->second
                                               : shard.log->TrimHorizon();
  };
  auto finished = [&](std::optional<uint32_t> index) {
    if (!index || *index >= shards.size()) return true;
    const SourceShard& shard = shards[*index];
    return !shard.record.IsOpen() && position_of(shard) >= shard.log->Tip();
  };

  // Parents before children: a pass copies every shard whose parents are
  // read to their end; a parent finishing lets its children go next pass.
  bool progress = true;
  while (progress) {
    progress = false;
    for (const SourceShard& shard : shards) {
      if (finished(shard.record.shard_index)) continue;
      if (!finished(shard.record.parent_index) ||
          !finished(shard.record.adjacent_parent_index)) {
        continue;
      }
      uint64_t position = position_of(shard);
      uint64_t copied = 0;
      while (position < shard.log->Tip() && copied < kMaxRecordsPerPump) {
        auto read = shard.log->Read(position, kReadRecords, kReadBytes);
        if (!read.ok()) return read.status();
        if (read->records.empty()) break;
        std::vector<std::string> origins;
        origins.reserve(read->records.size());
        std::vector<storage::RecordToAppend> appends;
        appends.reserve(read->records.size());
        uint64_t bytes = 0;
        for (const storage::StoredRecord& record : read->records) {
          origins.push_back(std::to_string(shard.record.shard_index) + ":" +
                            std::to_string(record.offset));
        }
        for (size_t i = 0; i < read->records.size(); ++i) {
          const storage::StoredRecord& record = read->records[i];
          storage::RecordToAppend append;
          append.partition_key = origins[i];
          append.data = record.data;
          append.arrival_millis = record.arrival_millis;
          appends.push_back(append);
          bytes += record.data.size();
        }
        stream.buffered_bytes.fetch_add(bytes);
        auto appended = stream.log->AppendBatch(appends);
        if (!appended.ok()) {
          stream.buffered_bytes.fetch_sub(bytes);
          return appended.status();
        }
        stream.appended->Notify();
        // The copies reach the disk before the checkpoint says so.
        if (Status s = stream.log->Sync(); !s.ok()) return s;
        position = read->next_offset;
        if (Status s = catalog.SaveCheckpoint(reader, stream_id,
                                              shard.record.shard_index,
                                              std::to_string(position));
            !s.ok()) {
          return s;
        }
        stream.source_positions[shard.record.shard_index] = position;
        copied += read->records.size();
        progress = true;
      }
    }
  }
  return Status::Ok();
}

}  // namespace sluice::firehose
