// The shard log interface: one append-only log of records per shard, the only
// place a record accepted by Kinesis or Firehose is stored. GetRecords,
// Firehose delivery and in-process consumers all read it at their own offsets.
// FileShardLog (server/storage/file_shard_log.h) keeps it in segment files;
// MemoryShardLog (server/storage/memory_shard_log.h) serves --in-memory.
//
// Vocabulary (docs/storage-format.md): an *offset* is a record's index in its
// shard (0, 1, 2, ...; never reused); the *tip* is the offset the next record
// will get; the *trim horizon* is the oldest offset still stored.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace sluice::storage {

// --fsync=never|interval|always; see docs/storage-format.md for what each
// acknowledgement means.
enum class FsyncMode { kNever, kInterval, kAlways };
inline constexpr FsyncMode kDefaultFsyncMode = FsyncMode::kInterval;
inline constexpr std::chrono::milliseconds kDefaultFsyncInterval{1000};

std::optional<FsyncMode> ParseFsyncMode(std::string_view name);
std::string_view FsyncModeName(FsyncMode mode);

// Who a log belongs to; the catalog owns both numbers. They go into every
// sequence number the log hands out.
struct ShardIdentity {
  uint32_t shard_index = 0;       // as in shardId-000000000007
  uint64_t creation_seconds = 0;  // epoch seconds the shard was created
};

// A record to append. The views need only live for the Append call.
// REQUIRES: passed the Kinesis/Firehose Validate() (partition key 1-256
// characters, explicit hash key a decimal < 2^128, record size limits).
struct RecordToAppend {
  std::string_view partition_key{};
  std::optional<std::string_view> explicit_hash_key{};
  std::string_view data{};
  EpochMillis arrival_millis = 0;  // from the server's Clock
};

struct AppendedRecord {
  uint64_t offset = 0;
  std::string sequence_number;
  // As stored: never older than the previous record of the shard.
  EpochMillis arrival_millis = 0;
};

struct StoredRecord {
  uint64_t offset = 0;
  std::string sequence_number;
  EpochMillis arrival_millis = 0;
  std::string partition_key;
  std::optional<std::string> explicit_hash_key;
  std::string data;
};

struct ReadResult {
  std::vector<StoredRecord> records;
  uint64_t next_offset = 0;  // where the next Read should start
  bool at_tip = false;       // true when next_offset reached the tip
};

// Thread-safe: any number of threads may append and read concurrently.
// Appends to one shard are serialised; reads never wait for appends. Calls may
// block on disk I/O, so they must not run on an HTTP I/O thread.
class ShardLog {
 public:
  virtual ~ShardLog() = default;

  // Appends `records` (a PutRecords batch: one write) in order, with
  // consecutive offsets. Returns after the records are written to the OS, or
  // with --fsync=always after they are fsynced. All or nothing: on error no
  // record of the batch is acknowledged.
  virtual Result<std::vector<AppendedRecord>> AppendBatch(
      std::span<const RecordToAppend> records) = 0;
  Result<AppendedRecord> Append(const RecordToAppend& record);

  // Up to `max_records` records from `from_offset` on, stopping before the
  // record that would take partition key + data bytes past `max_bytes` (the
  // first record is always returned). An offset below the trim horizon starts
  // at the trim horizon, as TRIM_HORIZON does on AWS.
  virtual Result<ReadResult> Read(uint64_t from_offset, size_t max_records,
                                  size_t max_bytes) = 0;

  // The offset of the first record that arrived at or after `time`
  // (AT_TIMESTAMP); the tip if none did.
  virtual Result<uint64_t> SeekTime(EpochMillis time) = 0;

  virtual uint64_t TrimHorizon() const = 0;
  virtual uint64_t Tip() const = 0;

  // Makes every record appended so far durable (fsync), whatever the mode.
  virtual Status Sync() = 0;

  // Drops stored records older than `now - retention` (whole segments for the
  // file backend). `now` comes from the server's Clock.
  virtual Status ApplyRetention(EpochMillis now,
                                std::chrono::milliseconds retention) = 0;

  // Flushes everything and records a clean shutdown. Appends fail afterwards;
  // reads still work. Destroying a log without Close() is, for the disk, a
  // crash: the next open runs full recovery.
  virtual Status Close() = 0;

  // Segments recovery found damaged and moved aside (paths and reasons).
  virtual std::vector<std::string> CorruptSegments() const = 0;

  virtual const ShardIdentity& identity() const = 0;
};

// The sequence number of the record at `offset` that arrived at `arrival`.
std::string SequenceNumberFor(const ShardIdentity& identity, uint64_t offset,
                              EpochMillis arrival_millis);

// Whole epoch seconds of an arrival time, as sequence numbers carry it.
inline uint64_t ArrivalSeconds(EpochMillis arrival_millis) {
  return arrival_millis > 0 ? static_cast<uint64_t>(arrival_millis / 1000) : 0;
}

}  // namespace sluice::storage
