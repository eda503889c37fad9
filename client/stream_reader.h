// Reads every shard of a Kinesis stream over GetRecords, the way the KCL
// does without leases: shards are found with ListShards, a child shard is
// read only once all its parents are read to their end (so one partition
// key's records come out in the order they were stored, across resharding),
// and KPL aggregated records can be handed over as their user records.
//
// Calls are paced: a shard at its tip is asked again only after
// `poll_interval`, a throttled shard (ProvisionedThroughputExceeded, after
// ApiClient's own retries) backs off with jittered exponential waits while
// the other shards go on, and an expired iterator is renewed after the last
// record handed over, so a slow callback loses nothing. sluice-cli's `tail`
// is this class with a printer for a callback.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/api_client.h"

namespace sluice::client {

enum class StartPosition { kTrimHorizon, kLatest, kAtTimestamp };

struct ReaderOptions {
  // Where the shards open when reading begins start. kLatest skips the
  // shards already closed (they hold only the past); shards made by a
  // reshard later always start at their first record.
  StartPosition start = StartPosition::kTrimHorizon;
  // For kAtTimestamp: seconds since the epoch (the first record that
  // arrived at or after it).
  double timestamp = 0;
  // Hand over each user record of a KPL aggregated record on its own.
  bool deaggregate = false;
  // Keep reading at the tip; without it Run() returns once every shard
  // has been read up to its tip (or its end).
  bool follow = false;
  // GetRecords' Limit (1 to 10,000).
  int limit = 10000;
  // How long a shard found at its tip waits before it is asked again.
  std::chrono::milliseconds poll_interval{250};
  // The least time between two GetRecords calls on one shard. 0 asks again
  // at once while a shard is behind; 200 ms keeps within AWS's 5 calls per
  // second per shard without relying on throttling.
  std::chrono::milliseconds min_call_interval{0};
  // Backoff of a throttled shard: a random wait below base * 2^n, capped.
  std::chrono::milliseconds throttle_base_backoff{100};
  std::chrono::milliseconds throttle_max_backoff{5000};
};

// One record as read: a Kinesis record, or one user record of an aggregate.
struct ReadRecord {
  std::string shard_id;
  std::string sequence_number;
  // The user record's place in its aggregate (0-based), when de-aggregated;
  // empty for an ordinary record.
  std::optional<uint32_t> subsequence_number;
  std::string partition_key;
  // Given for a user record that carried one.
  std::optional<std::string> explicit_hash_key;
  double approximate_arrival_timestamp = 0;  // seconds since the epoch
  std::string data;
};

// Whether to go on: false stops Run() before the next record.
using RecordCallback = std::function<bool(const ReadRecord&)>;

// How the reader calls the API: ApiClient::Call, or (in tests) a wrapper
// that injects failures.
using CallFunction = std::function<Result<json::Document>(
    Api, std::string_view operation, std::string_view body)>;

// Counts since construction.
struct ReaderStats {
  uint64_t records = 0;       // Kinesis records received
  uint64_t user_records = 0;  // records handed over to the callback
  uint64_t get_records_calls = 0;
  uint64_t throttled = 0;          // GetRecords calls refused for throughput
  uint64_t renewed_iterators = 0;  // after ExpiredIteratorException
  uint64_t shards_finished = 0;    // closed shards read to their end
};

// Run() comes from one thread, which also runs the callback; Stop() may
// come from any thread. The ApiClient must outlive the reader. Run() may
// be called again after it returned: reading goes on where it stopped.
class StreamReader {
 public:
  StreamReader(ApiClient& client, std::string stream, ReaderOptions options);
  StreamReader(CallFunction call, std::string stream, ReaderOptions options);
  ~StreamReader();

  // Reads and hands records to `on_record` until it returns false, Stop()
  // is called, or (without `follow`) every shard is read to its tip.
  // Returns the first failure that waiting cannot cure (a missing stream,
  // a refused call); throttling and expired iterators are handled here.
  Status Run(const RecordCallback& on_record);

  // Makes the running Run() return soon: after the record being handed
  // over, or at once from a wait (called before Run(), it makes the next
  // one return at once). Used up by the Run() it ends. Thread-safe.
  void Stop();

  const ReaderStats& stats() const { return stats_; }

 private:
  using Clock = std::chrono::steady_clock;

  struct Shard {
    std::vector<std::string> parents;  // those still listed
    StartPosition start = StartPosition::kTrimHorizon;
    bool started = false;
    bool finished = false;  // closed and read to its end
    bool at_tip = false;    // the last call found nothing more
    // The iterator is to be made again (from the positions below) before
    // the next call: it expired, or Run() stopped inside a page.
    bool renew = false;
    std::string iterator;
    // The last Kinesis record handed over whole, and one handed over in
    // part (Run() stopped inside an aggregate) with how many of its user
    // records were.
    std::string last_sequence;
    std::string partial_sequence;
    uint32_t partial_done = 0;
    Clock::time_point not_before{};
    int throttle_streak = 0;
    int expired_streak = 0;
  };

  // Adds the shards ListShards names that are not known yet; returns
  // whether there were any.
  Result<bool> ListShards();
  // Gets `shard`'s iterator: where it starts, or after what was handed
  // over.
  Status MakeIterator(const std::string& id, Shard& shard);
  // One GetRecords call on `shard`, its records handed over. Sets `stopped`
  // when reading is to stop (the callback said so, or Stop()).
  Status ReadOnce(const std::string& id, Shard& shard,
                  const RecordCallback& on_record, bool& stopped);
  // A throttled shard waits longer each time in a row.
  void BackOff(Shard& shard);
  // Whether `shard` is to be read (now or after its wait): not finished,
  // every listed parent finished, and with `follow` or not yet at its tip.
  bool Pending(const Shard& shard) const;
  // Waits until `until` or Stop(); false when stopped.
  bool WaitUntil(Clock::time_point until);
  bool stopping() const { return stop_.load(); }

  const CallFunction call_;
  const std::string stream_;
  const ReaderOptions options_;
  std::map<std::string, Shard> shards_;  // by shard id, so in id order
  bool listed_ = false;
  ReaderStats stats_;

  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable wake_;
};

}  // namespace sluice::client
