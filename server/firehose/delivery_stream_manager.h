// The live state of every Firehose delivery stream: its catalog record, its
// parsed destination, and its own record log (one ShardLog per delivery
// stream: PutRecord(Batch) appends there and returns; the DeliveryEngine
// reads it). States CREATING -> ACTIVE, any -> DELETING -> gone, each after
// its configured delay, advanced when the stream is next looked at. The
// catalog is the durable copy and is written before a change is acknowledged.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "server/catalog/catalog.h"
#include "server/firehose/destination.h"
#include "server/kinesis/throughput.h"
#include "server/storage/append_notifier.h"
#include "server/storage/periodic_syncer.h"
#include "server/storage/shard_log.h"

namespace sluice::firehose {

// Delivery streams are unique per account and region.
struct DeliveryStreamKey {
  std::string account_id;
  std::string region;
  std::string name;

  friend auto operator<=>(const DeliveryStreamKey&,
                          const DeliveryStreamKey&) = default;
};

struct DeliveryStreamOptions {
  // How long a delivery stream stays CREATING or DELETING; 0 (the default)
  // makes waiters return at once.
  std::chrono::milliseconds create_delay{0};
  std::chrono::milliseconds delete_delay{0};
  // Delivery streams per account and region (AWS: 5000 by default).
  size_t stream_limit = 5000;
  // The Direct PUT quota per delivery stream (DirectPutQuota); off by
  // default, like the Kinesis shard limits (--enforce-limits turns both on).
  // The rates are what AWS grants by default in most regions; accounts get
  // them raised, so the config file can change them.
  bool enforce_limits = false;
  int64_t put_requests_per_second = 2000;
  int64_t put_records_per_second = 5000;
  int64_t put_bytes_per_second = 5 * 1024 * 1024;

  friend bool operator==(const DeliveryStreamOptions&,
                         const DeliveryStreamOptions&) = default;
};

// Where a KinesisStreamAsSource delivery stream reads: one incarnation of a
// Kinesis stream. Fixed at creation.
struct KinesisSource {
  std::string stream_arn;
  std::string role_arn;
  int64_t stream_id = 0;  // the catalog id of the Kinesis stream

  friend bool operator==(const KinesisSource&, const KinesisSource&) = default;
};
// The catalog's JSON form, and back.
std::string StoreSource(const KinesisSource& source);
Result<KinesisSource> LoadSource(std::string_view stored);

// Opens and removes delivery-stream logs. The file-backed factory keeps them
// under <data dir>/firehose/<delivery stream id>/, named by number only.
class DeliveryLogFactory {
 public:
  virtual ~DeliveryLogFactory() = default;
  virtual Result<std::unique_ptr<storage::ShardLog>> Open(
      int64_t delivery_stream_id, EpochMillis created_at) = 0;
  // REQUIRES: the log is closed.
  virtual Status Remove(int64_t delivery_stream_id) = 0;
};

std::unique_ptr<DeliveryLogFactory> NewMemoryDeliveryLogFactory();
std::unique_ptr<DeliveryLogFactory> NewFileDeliveryLogFactory(
    std::string data_dir, storage::FsyncMode fsync_mode);

// Direct PUT limits of one delivery stream: requests, records and bytes per
// second, each a token bucket that holds one second's worth (aws-behaviour.md
// §3: 2,000 requests/s, 5,000 records/s and 5 MiB/s by default).
// Thread-safe.
class DirectPutQuota {
 public:
  DirectPutQuota(double requests_per_second, double records_per_second,
                 double bytes_per_second)
      : requests_(requests_per_second, requests_per_second),
        records_(records_per_second, records_per_second),
        bytes_(bytes_per_second, bytes_per_second) {}

  // One request, or false when the stream is over its request rate.
  bool AdmitRequest(EpochMillis now) {
    std::lock_guard lock(mu_);
    return requests_.TryTake(1, now);
  }
  // One record of `bytes`, or false when over the record or byte rate.
  bool AdmitRecord(size_t bytes, EpochMillis now) {
    std::lock_guard lock(mu_);
    if (!records_.TryTake(1, now)) return false;
    if (bytes_.TryTake(static_cast<double>(bytes), now)) return true;
    records_.Charge(-1, now);  // give the record token back
    return false;
  }

 private:
  std::mutex mu_;
  kinesis::TokenBucket requests_;  // guarded by mu_
  kinesis::TokenBucket records_;   // guarded by mu_
  kinesis::TokenBucket bytes_;     // guarded by mu_
};

// One live delivery stream. Shared by handlers and the delivery engine.
struct LiveDeliveryStream {
  mutable std::mutex mu;
  catalog::DeliveryStreamRecord record;  // guarded by mu
  S3Destination destination;             // guarded by mu
  EpochMillis transition_due_at = 0;     // guarded by mu
  bool gone = false;                     // guarded by mu; deleted for good
  // Thread-safe on its own; set before the stream is published.
  std::unique_ptr<storage::ShardLog> log;
  // Notified after every append to `log`, for in-process consumers that
  // read it (a SQL application's KinesisFirehoseInput) and wait at its tip.
  std::shared_ptr<storage::AppendNotifier> appended =
      std::make_shared<storage::AppendNotifier>();
  // Set before the stream is published, for KinesisStreamAsSource.
  std::optional<KinesisSource> source;
  // Set before the stream is published when limits are enforced.
  std::unique_ptr<DirectPutQuota> quota;
  // Held by whoever writes this stream's objects (the engine's thread or a
  // flush), so objects are planned and written one at a time, in order.
  std::mutex delivery_mu;
  // Guarded by delivery_mu: no new attempt before this after a failure.
  EpochMillis retry_at = 0;
  // Guarded by delivery_mu (kinesis_source.h): the next offset to copy from
  // each source shard, once loaded from the catalog and the log.
  std::map<uint32_t, uint64_t> source_positions;
  bool source_positions_loaded = false;
  // Data bytes appended past the delivery checkpoint (SizeInMBs counts
  // these).
  std::atomic<uint64_t> buffered_bytes{0};
};

// Owned by Server; thread-safe. Calls may block on SQLite or disk, so they
// run on worker threads or the delivery engine's thread.
class DeliveryStreamManager {
 public:
  DeliveryStreamManager(catalog::Catalog& catalog,
                        std::unique_ptr<DeliveryLogFactory> logs,
                        const Clock& clock, DeliveryStreamOptions options);
  ~DeliveryStreamManager();  // closes every log cleanly

  // Loads every delivery stream from the catalog and opens its log. Streams
  // caught mid-transition by a restart finish it.
  Status Start();

  const Clock& clock() const { return clock_; }
  const DeliveryStreamOptions& options() const { return options_; }

  struct NewDeliveryStream {
    DeliveryStreamKey key;
    std::string type = "DirectPut";
    std::string destination;  // stored form (destination.h)
    S3Destination parsed;
    std::string encryption;  // JSON
    std::optional<KinesisSource> source;
  };
  // kResourceInUse if the name is taken; kLimitExceeded past the limit.
  Result<catalog::DeliveryStreamRecord> Create(
      const NewDeliveryStream& request);

  // kResourceNotFound "Firehose <name> under account <account> not found."
  Result<std::shared_ptr<LiveDeliveryStream>> Find(
      const DeliveryStreamKey& key);

  // Names sorted in byte order, strictly after `exclusive_start`, of the
  // given type (empty: any), at most `limit`.
  std::vector<std::string> List(std::string_view account_id,
                                std::string_view region, std::string_view type,
                                std::string_view exclusive_start, size_t limit);

  // Moves the stream to DELETING; it disappears once the delete delay passes
  // (at once with delay 0), taking its undelivered records with it.
  Status Delete(const DeliveryStreamKey& key);

  // Applies `change` to a copy of the record and destination under the
  // stream's lock, writes the record to the catalog and only then publishes
  // both. `change` returns a non-OK Status to refuse.
  Status Update(const DeliveryStreamKey& key,
                const std::function<Status(catalog::DeliveryStreamRecord&,
                                           S3Destination&)>& change);

  // Appends the records (one write) stamped with the clock's time; returns
  // their offsets in the stream's log.
  Result<std::vector<uint64_t>> Put(LiveDeliveryStream& stream,
                                    std::span<const std::string> records);

  // Every live stream, for the delivery engine.
  std::vector<std::shared_ptr<LiveDeliveryStream>> Snapshot();

  // Called after a Put that brought the stream's buffer to its size hint, so
  // the engine need not wait for its next poll. Set once, before Start().
  void SetOnBufferFull(std::function<void()> callback) {
    on_buffer_full_ = std::move(callback);
  }

 private:
  // REQUIRES: stream.mu held. Moves CREATING on to ACTIVE when due; returns
  // true when the stream's deletion is due.
  bool AdvanceLocked(LiveDeliveryStream& stream, EpochMillis now);
  Status Remove(const DeliveryStreamKey& key,
                const std::shared_ptr<LiveDeliveryStream>& stream);
  Result<std::shared_ptr<LiveDeliveryStream>> Open(
      catalog::DeliveryStreamRecord record, S3Destination destination);

  catalog::Catalog& catalog_;
  std::unique_ptr<DeliveryLogFactory> logs_;
  const Clock& clock_;
  const DeliveryStreamOptions options_;
  std::function<void()> on_buffer_full_;

  std::mutex mu_;
  // guarded by mu_
  std::map<DeliveryStreamKey, std::shared_ptr<LiveDeliveryStream>> streams_;
  // Serialises create and delete, so the limit check sees a stable picture.
  std::mutex control_mu_;
};

// "Firehose <name> under account <account> not found."
Status DeliveryStreamNotFound(const DeliveryStreamKey& key);

}  // namespace sluice::firehose
