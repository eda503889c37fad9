#include "server/storage/memory_shard_log.h"

#include <algorithm>

#include "common/sequence_number.h"

namespace sluice::storage {

Result<std::vector<AppendedRecord>> MemoryShardLog::AppendBatch(
    std::span<const RecordToAppend> records) {
  std::vector<AppendedRecord> appended(records.size());
  {
    std::lock_guard lock(mu_);
    if (closed_) {
      return Status(ErrorCode::kInternalFailure, "shard log is closed");
    }
    uint64_t offset = trim_horizon_ + entries_.size();
    for (size_t i = 0; i < records.size(); ++i) {
      const RecordToAppend& record = records[i];
      // Same rule as the file log: arrival times never go backwards.
      last_arrival_millis_ =
          std::max(last_arrival_millis_, record.arrival_millis);
      Entry& entry = entries_.emplace_back();
      entry.arrival_millis = last_arrival_millis_;
      entry.partition_key = record.partition_key;
      if (record.explicit_hash_key) {
        entry.explicit_hash_key = std::string(*record.explicit_hash_key);
      }
      entry.data = record.data;
      appended[i].offset = offset++;
      appended[i].arrival_millis = last_arrival_millis_;
    }
  }
  for (AppendedRecord& record : appended) {
    record.sequence_number =
        SequenceNumberFor(identity_, record.offset, record.arrival_millis);
  }
  return appended;
}

Result<ReadResult> MemoryShardLog::Read(uint64_t from_offset,
                                        size_t max_records, size_t max_bytes) {
  ReadResult result;
  std::lock_guard lock(mu_);
  const uint64_t tip = trim_horizon_ + entries_.size();
  uint64_t offset = std::max(from_offset, trim_horizon_);
  if (from_offset > tip) offset = from_offset;
  size_t total_bytes = 0;
  SequenceNumberFormatter sequence_numbers(identity_.creation_seconds,
                                           identity_.shard_index);
  while (offset < tip && result.records.size() < max_records) {
    const Entry& entry = entries_[offset - trim_horizon_];
    size_t record_bytes = entry.partition_key.size() + entry.data.size();
    if (!result.records.empty() && total_bytes + record_bytes > max_bytes) {
      break;
    }
    total_bytes += record_bytes;
    StoredRecord& record = result.records.emplace_back();
    record.offset = offset;
    record.sequence_number =
        sequence_numbers.Format(offset, ArrivalSeconds(entry.arrival_millis));
    record.arrival_millis = entry.arrival_millis;
    record.partition_key = entry.partition_key;
    record.explicit_hash_key = entry.explicit_hash_key;
    record.data = entry.data;
    ++offset;
  }
  result.next_offset = offset;
  result.at_tip = offset >= tip;
  return result;
}

Result<uint64_t> MemoryShardLog::SeekTime(EpochMillis time) {
  std::lock_guard lock(mu_);
  auto first = std::lower_bound(entries_.begin(), entries_.end(), time,
                                [](const Entry& entry, EpochMillis t) {
                                  return entry.arrival_millis < t;
                                });
  return trim_horizon_ + static_cast<uint64_t>(first - entries_.begin());
}

uint64_t MemoryShardLog::TrimHorizon() const {
  std::lock_guard lock(mu_);
  return trim_horizon_;
}

uint64_t MemoryShardLog::Tip() const {
  std::lock_guard lock(mu_);
  return trim_horizon_ + entries_.size();
}

Status MemoryShardLog::ApplyRetention(EpochMillis now,
                                      std::chrono::milliseconds retention) {
  const EpochMillis cutoff = now - retention.count();
  std::lock_guard lock(mu_);
  while (!entries_.empty() && entries_.front().arrival_millis < cutoff) {
    entries_.pop_front();
    ++trim_horizon_;
  }
  return Status::Ok();
}

Status MemoryShardLog::Close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  return Status::Ok();
}

}  // namespace sluice::storage
