// The file-backed shard log: one directory per shard holding segment files,
// their sparse indexes and a clean-shutdown marker. The on-disk format,
// recovery rules and fsync modes are specified in docs/storage-format.md.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/sequence_number.h"
#include "server/storage/file_ops.h"
#include "server/storage/periodic_syncer.h"
#include "server/storage/segment.h"
#include "server/storage/shard_log.h"

namespace sluice::storage {

inline constexpr uint64_t kDefaultSegmentBytes = 64u << 20;
inline constexpr uint64_t kDefaultIndexIntervalBytes = 4096;

struct FileShardLogOptions {
  std::filesystem::path directory;  // created if missing
  ShardIdentity identity;
  FsyncMode fsync_mode = kDefaultFsyncMode;
  std::chrono::milliseconds fsync_interval = kDefaultFsyncInterval;
  uint64_t segment_bytes = kDefaultSegmentBytes;
  uint64_t index_interval_bytes = kDefaultIndexIntervalBytes;
  FileOps* file_ops = &FileOps::Posix();  // must outlive the log
  // With FsyncMode::kInterval: the shared thread that syncs this log, or null
  // for a flusher thread of its own. Must outlive the log; its interval
  // overrides fsync_interval.
  PeriodicSyncer* syncer = nullptr;
};

// Owned by the stream store, one per shard; thread-safe (see ShardLog).
// Open() runs recovery; Close() records a clean shutdown. With
// FsyncMode::kInterval the tail is fsynced every interval by the shared
// PeriodicSyncer if one is given, else by a thread of the log's own; either
// stops touching the log in Close() or the destructor.
// After a failed write or fsync every later append returns that same Status.
class FileShardLog final : public ShardLog {
 public:
  static Result<std::unique_ptr<FileShardLog>> Open(
      FileShardLogOptions options);
  ~FileShardLog() override;
  FileShardLog(const FileShardLog&) = delete;
  FileShardLog& operator=(const FileShardLog&) = delete;

  Result<std::vector<AppendedRecord>> AppendBatch(
      std::span<const RecordToAppend> records) override;
  Result<ReadResult> Read(uint64_t from_offset, size_t max_records,
                          size_t max_bytes) override;
  Result<uint64_t> SeekTime(EpochMillis time) override;
  uint64_t TrimHorizon() const override;
  uint64_t Tip() const override { return tip_.load(std::memory_order_acquire); }
  Status Sync() override;
  Status ApplyRetention(EpochMillis now,
                        std::chrono::milliseconds retention) override;
  Status Close() override;
  std::vector<std::string> CorruptSegments() const override {
    return corrupt_segments_;
  }
  const ShardIdentity& identity() const override { return options_.identity; }

 private:
  explicit FileShardLog(FileShardLogOptions options);

  Status Recover();
  void MoveAside(const Segment& segment, const std::string& problem);
  Status SyncDirectory();
  Status WriteCleanMarker();

  Status Roll();  // REQUIRES: append_mu_ held
  // Blocks until every record below `tip` is fsynced (group commit).
  Status WaitDurable(uint64_t tip);
  // Records `status` as the sticky failure (the first one wins); returns it.
  Status Fail(const Status& status);
  Status CurrentFailure();
  void StartFlusher();
  void RunFlusher();
  void StopFlusher();

  std::shared_ptr<Segment> Tail() const;
  std::vector<std::shared_ptr<Segment>> SnapshotSegments() const;

  const FileShardLogOptions options_;
  FileOps& ops_;
  std::vector<std::string> corrupt_segments_;  // written only by Open()

  // Serialises appends, rolls, retention and Close.
  std::mutex append_mu_;
  bool closed_ = false;                              // guarded by append_mu_
  EpochMillis last_arrival_millis_ = 0;              // guarded by append_mu_
  std::string encode_buffer_;                        // guarded by append_mu_
  std::vector<uint64_t> frame_positions_;            // guarded by append_mu_
  SequenceNumberFormatter append_sequence_numbers_;  // guarded by append_mu_

  // Readers copy what they need under segments_mu_ and read without it.
  // Changed only with append_mu_ also held, so the writer may read it bare.
  mutable std::mutex segments_mu_;
  std::vector<std::shared_ptr<Segment>> segments_;  // guarded by segments_mu_

  // Published after the bytes are written and the tail's size is published:
  // every record below it is whole and readable.
  std::atomic<uint64_t> tip_{0};

  // Group commit and the sticky failure.
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  uint64_t synced_tip_ = 0;          // guarded by sync_mu_
  bool sync_in_progress_ = false;    // guarded by sync_mu_
  Status failure_;                   // guarded by sync_mu_
  std::atomic<bool> failed_{false};  // failure_ is set; checked without lock

  bool stop_flusher_ = false;  // guarded by sync_mu_
  std::condition_variable flusher_cv_;
  std::thread flusher_;
};

}  // namespace sluice::storage
