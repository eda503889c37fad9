// The in-memory shard log behind --in-memory: the ShardLog interface with the
// same offsets, sequence numbers, read limits, time seeks and retention as
// FileShardLog, and no files. For CI and tests; everything is lost on exit.
#pragma once

#include <deque>
#include <mutex>

#include "server/storage/shard_log.h"

namespace sluice::storage {

// Owned by the stream store, one per shard; thread-safe. One mutex guards
// everything: appends and reads each hold it for a copy, never for I/O.
// Retention drops individual records rather than segments.
class MemoryShardLog final : public ShardLog {
 public:
  explicit MemoryShardLog(ShardIdentity identity) : identity_(identity) {}

  Result<std::vector<AppendedRecord>> AppendBatch(
      std::span<const RecordToAppend> records) override;
  Result<ReadResult> Read(uint64_t from_offset, size_t max_records,
                          size_t max_bytes) override;
  Result<uint64_t> SeekTime(EpochMillis time) override;
  uint64_t TrimHorizon() const override;
  uint64_t Tip() const override;
  Status Sync() override { return Status::Ok(); }
  Status ApplyRetention(EpochMillis now,
                        std::chrono::milliseconds retention) override;
  Status Close() override;
  std::vector<std::string> CorruptSegments() const override { return {}; }
  const ShardIdentity& identity() const override { return identity_; }

 private:
  struct Entry {
    EpochMillis arrival_millis;
    std::string partition_key;
    std::optional<std::string> explicit_hash_key;
    std::string data;
  };

  const ShardIdentity identity_;
  mutable std::mutex mu_;
  std::deque<Entry> entries_;  // guarded by mu_; entries_[i] is offset
                               // trim_horizon_ + i
  uint64_t trim_horizon_ = 0;  // guarded by mu_
  EpochMillis last_arrival_millis_ = 0;  // guarded by mu_
  bool closed_ = false;                  // guarded by mu_
};

}  // namespace sluice::storage
