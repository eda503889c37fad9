// The in-process consumer runtime: each consumer reads every shard of its
// source stream with the semantics of a Lambda event-source mapping
// (consumer_definition.h, delivery.h) and hands batches to its handler.
//
// Threads: each consumer has a coordinator thread, which starts one worker
// thread per shard once the shard's parents are read to their end (parents
// before children, as Lambda does after a reshard), and each worker runs its
// ParallelizationFactor lanes on threads of its own for each round. None of
// them is an HTTP I/O thread. A worker sleeps on the shard's AppendNotifier
// when it has read everything, so an append wakes it at once.
//
// Positions: a shard's position (the offset of the next record to hand
// over) is saved in the catalog as the checkpoint of reader
// "consumer/<name>" only after the handler answered success (or the records
// were given up on and reported) for every record before it. A restart
// resumes there: delivery is at least once. A consumer's first start saves a
// position for every shard there is, from its StartingPosition, so LATEST
// keeps meaning "from when the consumer was created"; shards created later
// (children of a reshard) are read from their start.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "server/catalog/catalog.h"
#include "server/consumers/consumer_definition.h"
#include "server/consumers/handler.h"
#include "server/kinesis/stream_manager.h"

namespace sluice::firehose {
class DeliveryStreamManager;
}

namespace sluice::consumers {

// "consumer/<name>": the catalog reader name of a consumer's checkpoints.
std::string ConsumerReaderName(std::string_view consumer);

// One shard as Describe shows it.
struct ShardView {
  std::string shard_id;
  // WAITING_FOR_PARENTS, READING or FINISHED (closed and read to its end).
  std::string state;
  uint64_t position = 0;  // the offset of the next record to hand over
  // The last record whose handling moved the checkpoint, if any since the
  // start.
  std::optional<std::string> checkpoint_sequence_number;
  // Hand-over time minus the arrival of the last record of the last batch
  // (Lambda's IteratorAge), in ms; nullopt before the first batch.
  std::optional<int64_t> iterator_age_millis;
  // How far behind the tip: now minus the arrival of the oldest record not
  // yet handed over (0 when at the tip), and the number of such records.
  int64_t millis_behind_latest = 0;
  uint64_t records_behind = 0;
};

struct ConsumerView {
  ConsumerDefinition definition;
  std::string account_id;
  std::string region;
  EpochMillis created_at = 0;
  // ACTIVE, PAUSED, STREAM_NOT_FOUND (the source stream was deleted) or
  // FAILED (the handler could not be built: see last_error).
  std::string state;
  std::string last_error;
  uint64_t batches = 0;          // handler calls
  uint64_t records = 0;          // records handed over, retries included
  uint64_t function_errors = 0;  // calls that failed as a whole
  uint64_t failed_items = 0;     // batchItemFailures reported
  uint64_t discarded_batches = 0;
  uint64_t discarded_records = 0;
  std::vector<ShardView> shards;  // empty in List()
  // The largest of the shards' figures (Describe only): what an operator
  // watches for the whole consumer.
  int64_t max_iterator_age_millis = 0;
  int64_t max_millis_behind_latest = 0;
};

struct RuntimeOptions {
  // Where consumers keep files: on-failure JSONL files and the handlers'
  // relative paths (HandlerEnvironment::data_dir). Empty: no file
  // destination can be used.
  std::string root;
  // Backoff before retry n: min(first_retry_delay * 2^(n-1), max).
  std::chrono::milliseconds first_retry_delay{100};
  std::chrono::milliseconds max_retry_delay{5000};
};

// Owned by the Server; Start() after the streams are loaded, Stop() before
// they close. Every method is thread-safe and may block on SQLite, so the
// admin API calls it from worker threads.
class ConsumerRuntime {
 public:
  ConsumerRuntime(kinesis::StreamManager& streams,
                  firehose::DeliveryStreamManager* delivery_streams,
                  catalog::Catalog& catalog, const Clock& clock,
                  RuntimeOptions options);
  ~ConsumerRuntime();  // Stop()

  // Starts every consumer the catalog holds.
  Status Start();
  // Stops every consumer: calls in flight finish (an exec handler's child
  // is waited for, up to its timeout), nothing new is handed over, and
  // positions stay at the last saved checkpoint.
  void Stop();

  // Creates, stores and starts a consumer. kResourceInUse if the name is
  // taken; kResourceNotFound if the stream (or a stream destination) does
  // not exist; kInvalidArgument for a handler's bad settings or a file
  // destination without a consumer root.
  Status Create(const ConsumerDefinition& definition,
                const std::string& account_id, const std::string& region);
  // Create, unless a consumer of that name exists: then it is left as it is
  // (a config file's consumers on every start).
  Status Declare(const ConsumerDefinition& definition,
                 const std::string& account_id, const std::string& region);
  // Stops the consumer and forgets it with its checkpoints.
  Status Delete(std::string_view name);
  // Paused consumers hand over nothing and keep their position, also across
  // a restart.
  Status Pause(std::string_view name);
  Status Resume(std::string_view name);

  Result<ConsumerView> Describe(std::string_view name);
  // The handler of a consumer, kept alive (with its consumer) while the
  // caller holds it: for reads a handler type offers beyond Handle(), such
  // as the metrics handler's Query(). kResourceNotFound for an unknown
  // consumer or one whose handler could not be built.
  Result<std::shared_ptr<Handler>> HandlerOf(std::string_view name);
  std::vector<ConsumerView> List();

  class Consumer;  // consumer_runtime.cc

 private:
  std::shared_ptr<Consumer> Build(catalog::EventConsumerRecord record);
  Result<std::shared_ptr<Consumer>> Find(std::string_view name);

  kinesis::StreamManager& streams_;
  firehose::DeliveryStreamManager* delivery_streams_;
  catalog::Catalog& catalog_;
  const Clock& clock_;
  const RuntimeOptions options_;

  // Serialises Create/Delete/Pause/Resume, so the catalog and the running
  // set agree.
  std::mutex control_mu_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Consumer>, std::less<>>
      consumers_;         // guarded by mu_
  bool stopped_ = false;  // guarded by mu_
};

}  // namespace sluice::consumers
