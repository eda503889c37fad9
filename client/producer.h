// A batching producer for one Kinesis stream: Put() queues a record and
// returns; sender threads gather queued records into PutRecords calls by
// count, bytes and linger time, send the entries a partial failure refused
// again (with backoff), and report each record's outcome to a callback.
//
// Order per partition key is kept strictly, retries included: a key has at
// most one record in flight at a time, so a key's next record is sent only
// once the previous one is stored. Records of different keys fill a batch.
// (A stream with a single hot key therefore gets one record per round trip
// for that key: the price of the guarantee, and below what a shard takes.)
//
// Back-pressure: Put() blocks while `max_buffered_records` records wait, so
// a producer faster than the server (which throttles) slows down instead of
// growing without bound.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "client/api_client.h"

namespace sluice::client {

struct ProducerOptions {
  size_t max_batch_records = 500;  // PutRecords' limit
  size_t max_batch_bytes = 5u << 20;
  // How long a batch that is not full waits for more records.
  std::chrono::milliseconds linger{20};
  size_t max_buffered_records = 100000;
  // Sender threads, each with its own connection.
  int connections = 2;
  // Attempts per record (a refused entry is sent again up to this often).
  int max_record_attempts = 20;
};

// What became of one record.
struct PutOutcome {
  std::string partition_key;
  Status status;  // OK, or why the record was given up on
  std::string shard_id;
  std::string sequence_number;
  int attempts = 0;
  // From Put() to the answer that stored it (or gave it up).
  std::chrono::steady_clock::duration latency{};
};

using OutcomeCallback = std::function<void(const PutOutcome&)>;

// Thread-safe. The callback runs on a sender thread; it must not call Put().
class Producer {
 public:
  Producer(ClientOptions client_options, std::string stream,
           ProducerOptions options, OutcomeCallback on_outcome);
  ~Producer();  // Close()

  // Queues a record; blocks while the buffer is full. kInvalidArgument after
  // Close().
  Status Put(std::string partition_key, std::string data);
  // Waits until every record queued so far has an outcome.
  void Flush();
  // Flushes, then stops the senders. Idempotent.
  void Close();

  // Totals so far.
  uint64_t stored() const;
  uint64_t failed() const;
  uint64_t retried_entries() const;

 private:
  struct Pending {
    std::string partition_key;
    std::string data;
    std::chrono::steady_clock::time_point queued;
    int attempts = 0;
    std::chrono::steady_clock::time_point not_before{};  // backoff
  };

  void Send(int sender);
  // Takes up to a batch of sendable records (at most one per key, none of a
  // key in flight, none still backing off). REQUIRES: mu_ held.
  std::vector<Pending> TakeBatchLocked(
      std::chrono::steady_clock::time_point now);
  // Whether a batch is worth sending now: full, lingered long enough, or
  // asked for by Flush()/Close(). REQUIRES: mu_ held.
  bool ReadyLocked(std::chrono::steady_clock::time_point now) const;
  // Sends one batch; returns the outcomes of the records it finished and
  // puts the others back in their queues.
  std::vector<PutOutcome> SendBatch(ApiClient* client,
                                    std::vector<Pending>& batch);
  // A record sent back to the front of its key's queue, after a backoff.
  // REQUIRES: mu_ held.
  void RequeueLocked(Pending record);
  // The key is no longer in flight. REQUIRES: mu_ held.
  void ReleaseKeyLocked(const std::string& key);

  const ClientOptions client_options_;
  const std::string stream_;
  const ProducerOptions options_;
  const OutcomeCallback on_outcome_;

  mutable std::mutex mu_;
  std::condition_variable changed_;
  // Per key, its records in the order Put() received them.
  std::map<std::string, std::deque<Pending>, std::less<>> queues_;
  // Keys whose queues may be sendable, oldest first (a key with records is
  // in it exactly once unless in flight).
  std::deque<std::string> ready_keys_;
  std::unordered_set<std::string> in_flight_;
  size_t buffered_ = 0;  // records queued or in flight
  int flushing_ = 0;     // Flush() calls waiting
  bool closing_ = false;
  uint64_t stored_ = 0;
  uint64_t failed_ = 0;
  uint64_t retried_ = 0;
  std::vector<std::thread> senders_;
};

}  // namespace sluice::client
