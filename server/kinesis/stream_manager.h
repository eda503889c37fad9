// The live state of every Kinesis stream: the catalog's records held in memory,
// each shard's hash-key range and its shard log, and the state machine
// CREATING -> ACTIVE <-> UPDATING, any -> DELETING -> gone. Handlers ask it for
// streams and append to and read from their logs through it; the catalog is
// its durable copy and is written before a change is acknowledged.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/hash_key.h"
#include "common/status.h"
#include "server/catalog/catalog.h"
#include "server/kinesis/throughput.h"
#include "server/storage/append_notifier.h"
#include "server/storage/shard_log.h"

namespace sluice::kinesis {

// Who owns a stream name: streams are unique per account and region.
struct StreamKey {
  std::string account_id;
  std::string region;
  std::string name;

  friend auto operator<=>(const StreamKey&, const StreamKey&) = default;
};

// Shards of a new on-demand stream: AWS starts one at 4 MB/s in.
inline constexpr uint32_t kOnDemandShardCount = 4;
// UpdateShardCount's largest target (and largest open count) for a stream.
inline constexpr uint32_t kMaxShardCountTarget = 10000;

struct StreamManagerOptions {
  // How long a stream stays CREATING, UPDATING or DELETING. 0 makes SDK
  // waiters return at once; ~500 ms mimics AWS.
  std::chrono::milliseconds create_delay{0};
  std::chrono::milliseconds update_delay{0};
  std::chrono::milliseconds delete_delay{0};
  // Open shards per account and region (AWS: 500 in the big regions, else
  // 200).
  uint32_t shard_limit = 500;
  // Per-shard throughput limits (throughput.h); off by default so tests and
  // CI never see throttling they did not ask for.
  bool enforce_limits = false;
  // How often retention and due state changes run in the background.
  std::chrono::milliseconds maintenance_interval{1000};

  friend bool operator==(const StreamManagerOptions&,
                         const StreamManagerOptions&) = default;
};

// Opens and removes the shard logs of streams. The file-backed factory keeps
// them under <data dir>/streams/<stream id>/<shard index>/, named by numbers
// only so no user input ever becomes a path.
class LogFactory {
 public:
  virtual ~LogFactory() = default;
  virtual Result<std::unique_ptr<storage::ShardLog>> Open(
      int64_t stream_id, const storage::ShardIdentity& identity) = 0;
  // Deletes every log of the stream; its logs are closed already.
  virtual Status Remove(int64_t stream_id) = 0;
};

std::unique_ptr<LogFactory> NewMemoryLogFactory();
std::unique_ptr<LogFactory> NewFileLogFactory(std::string data_dir,
                                              storage::FsyncMode fsync_mode);

// One shard of a live stream. The log and the throughput gate are
// thread-safe on their own.
struct LiveShard {
  catalog::ShardRecord record;
  HashKeyRange range;
  std::unique_ptr<storage::ShardLog> log;
  std::unique_ptr<ShardThroughput> throughput =
      std::make_unique<ShardThroughput>();
  // Notified after every append to `log` and when the shard closes; push
  // readers (SubscribeToShard) wait on it.
  std::shared_ptr<storage::AppendNotifier> appended =
      std::make_shared<storage::AppendNotifier>();
};

// One enhanced fan-out consumer of a live stream; ConsumerRegistry
// (consumer_registry.h) manages them.
struct LiveConsumer {
  catalog::ConsumerRecord record;
  // When CREATING moves on to ACTIVE, or DELETING to gone; 0 when settled.
  EpochMillis transition_due_at = 0;
};

// One live stream. `mu` guards `record` and the shard list's shape; shard
// logs are appended to and read under a shared lock, so only resharding and
// state changes take it exclusively.
struct LiveStream {
  mutable std::shared_mutex mu;
  catalog::StreamRecord record;  // guarded by mu
  // Guarded by mu. Position i holds the shard with index i: indexes count up
  // from 0 and a stream keeps every shard it ever had.
  std::vector<LiveShard> shards;
  EpochMillis transition_due_at = 0;  // guarded by mu; when the state moves on
  // Warm throughput of an on-demand stream (UpdateStreamWarmThroughput), in
  // MiB/s; guarded by mu. Kept in memory only: a restart forgets it, as it
  // forgets the account's billing commitment that warm throughput needs.
  // `current` catches up with `target` when the stream leaves UPDATING.
  std::optional<int64_t> warm_target_mibps;
  std::optional<int64_t> warm_current_mibps;
  // Guarded by mu. Enhanced fan-out consumers by name. They belong to this
  // incarnation of the stream and go with it.
  std::map<std::string, LiveConsumer> consumers;
};

// Where a record went, or why it could not be stored.
struct PutOutcome {
  Status status;  // not OK: the record was not stored
  uint32_t shard_index = 0;
  std::string sequence_number;
};

// Owned by Server; shared by the Kinesis (and later Firehose and consumer)
// code. Thread-safe. Every call may block on SQLite or disk, so callers run on
// worker threads.
class StreamManager {
 public:
  StreamManager(catalog::Catalog& catalog, std::unique_ptr<LogFactory> logs,
                const Clock& clock, StreamManagerOptions options);
  ~StreamManager();  // stops maintenance and closes every log cleanly

  // Loads every stream from the catalog and opens its logs. Streams caught
  // mid-transition by a restart finish it: CREATING and UPDATING become
  // ACTIVE, DELETING ones are removed. Then starts background maintenance.
  Status Start();

  const StreamManagerOptions& options() const { return options_; }
  const Clock& clock() const { return clock_; }

  // --- Streams --------------------------------------------------------------

  struct NewStream {
    StreamKey key;
    catalog::StreamMode mode = catalog::StreamMode::kProvisioned;
    uint32_t shard_count = 1;
    int max_record_size_kib = 1024;
  };
  // kResourceInUse if the name is taken; kLimitExceeded past the shard limit.
  Result<catalog::StreamRecord> CreateStream(const NewStream& request);

  // The stream, or kResourceNotFound "Stream <name> under account <account>
  // not found.". Streams whose deletion is due are gone.
  Result<std::shared_ptr<LiveStream>> Find(const StreamKey& key);

  // Sorted by name, strictly after `exclusive_start`, at most `limit`.
  std::vector<catalog::StreamRecord> List(std::string_view account_id,
                                          std::string_view region,
                                          std::string_view exclusive_start,
                                          size_t limit);

  // Moves the stream to DELETING; it disappears once the delete delay passes
  // (at once with delay 0). `before`, if given, runs first under the stream's
  // exclusive lock and may refuse with a non-OK Status (ConsumerRegistry uses
  // it for consumers still registered).
  Status DeleteStream(
      const StreamKey& key,
      const std::function<Status(LiveStream&)>& before = nullptr);

  // Applies `change` to the stream's record under its lock and writes it to
  // the catalog; with `through_updating` the stream passes through UPDATING
  // for the update delay. `change` returns a non-OK Status to refuse.
  Status UpdateStream(
      const StreamKey& key, bool through_updating,
      const std::function<Status(catalog::StreamRecord&)>& change);

  // Open shards of the account in the region, for DescribeLimits and the
  // shard limit.
  uint32_t OpenShardCount(std::string_view account_id, std::string_view region);
  uint32_t OnDemandStreamCount(std::string_view account_id,
                               std::string_view region);

  // Trims every shard log of the stream to its retention period now, rather
  // than at the next maintenance run: DecreaseStreamRetentionPeriod makes
  // older data unreadable at once.
  Status ApplyRetention(const StreamKey& key);

  // --- Resharding -----------------------------------------------------------
  // Each closes its parent shard(s) and opens children under the stream's
  // exclusive lock, so a concurrent Put lands in a parent before it closes or
  // in a child. The catalog is written (one transaction) before the child logs
  // open. A parent's EndingSequenceNumber is its last record's number, or its
  // StartingSequenceNumber when it never held one; its log stays readable.
  // Children take the next indexes and a creation time (also the parents'
  // closed_at) at least one second above every parent's, so their sequence
  // numbers sort above their parents'. The stream passes through UPDATING for
  // the update delay. Checks, in AWS's order: on-demand kValidation, unknown
  // shard kResourceNotFound, closed shard or bad key/pair kInvalidArgument,
  // not ACTIVE kResourceInUse, shard limit kLimitExceeded. UpdateShardCount
  // checks the state first, then its own limits (kLimitExceeded).

  // Children [start, key-1] and [key, end]. AWS needs start+1 < key < end;
  // `new_starting_hash_key` is decimal text matching the model's pattern
  // (it may still be 2^128 or more, which is out of every range).
  Status SplitShard(const StreamKey& key, uint32_t shard_index,
                    std::string_view new_starting_hash_key);
  // The child covers both ranges; its parent is `shard_index`, its adjacent
  // parent `adjacent_index`. The ranges must touch, in either order.
  Status MergeShards(const StreamKey& key, uint32_t shard_index,
                     uint32_t adjacent_index);
  // UNIFORM_SCALING to `target` open shards, ½x to 2x the open count: splits
  // each open shard at every boundary of EvenHashKeyRanges(target) inside it,
  // then merges, left to right, the shards inside each target range into one.
  // Returns the open shard count before the change.
  Result<uint32_t> UpdateShardCount(const StreamKey& key, uint32_t target);

  // --- Records --------------------------------------------------------------

  // Routes each record to the open shard whose range holds its hash key and
  // appends it, stamped with the clock's time, then wakes the shard's push
  // readers (LiveShard::appended); outcomes in request order. A
  // shard whose log fails fails its records only (PutRecords reports them
  // one by one).
  // REQUIRES: records passed validation.
  std::vector<PutOutcome> Put(LiveStream& stream,
                              std::span<const storage::RecordToAppend> records);

  // The stream incarnation with this catalog id (shard iterators carry it),
  // or nullptr once it is gone.
  std::shared_ptr<LiveStream> FindById(int64_t stream_id);

  // Runs retention on every shard log and carries out due state changes.
  // Called by the background thread; tests call it directly with a moved
  // clock.
  void RunMaintenance();

 private:
  // REQUIRES: stream.mu held exclusively. Moves CREATING/UPDATING on to
  // ACTIVE when due. Returns true when the stream's deletion is due.
  bool AdvanceLocked(LiveStream& stream, EpochMillis now);
  // REQUIRES: stream.mu held (shared is enough; logs trim themselves).
  void RetainLocked(const LiveStream& stream, EpochMillis now);
  Status RemoveStream(const StreamKey& key, int64_t stream_id);
  // Plans a reshard with `plan` (which edits copies of the shard records:
  // closing parents, appending children), then writes it to the catalog, opens
  // the new logs and moves the stream to UPDATING. The growth in open shards
  // is checked against the account's shard limit.
  class Reshard;
  Status ApplyReshard(const StreamKey& key,
                      const std::function<Status(Reshard&)>& plan);
  void MaintenanceLoop();

  catalog::Catalog& catalog_;
  std::unique_ptr<LogFactory> logs_;
  const Clock& clock_;
  const StreamManagerOptions options_;

  std::shared_mutex mu_;
  std::map<StreamKey, std::shared_ptr<LiveStream>> streams_;  // guarded by mu_
  std::map<int64_t, std::shared_ptr<LiveStream>> by_id_;      // guarded by mu_
  // Serialises control-plane changes (create, delete), so checks such as the
  // shard limit see a stable picture while a stream's logs are created.
  std::mutex control_mu_;

  std::mutex maintenance_mu_;
  std::condition_variable maintenance_wake_;
  bool stopping_ = false;  // guarded by maintenance_mu_
  std::thread maintenance_;
};

// "Stream <name> under account <account> not found."
Status StreamNotFound(const StreamKey& key);
// "Rate exceeded for shard <id> in stream <name> under account <account>."
Status RateExceeded(const catalog::StreamRecord& stream,
                    const catalog::ShardRecord& shard);
// "Stream <name> under account <account> not ACTIVE, instead in state <S>"
Status StreamNotActive(const catalog::StreamRecord& stream);

}  // namespace sluice::kinesis
