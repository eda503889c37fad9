// A consumer's handler: what the Lambda function is to an event-source
// mapping. The consumer runtime reads a shard, hands the handler a batch of
// the shard's records in sequence order, and acts on the answer as Lambda
// does (aws-behaviour.md section 4): success moves the shard's checkpoint
// past the batch; a function error retries the batch (or bisects it);
// failed items (ReportBatchItemFailures) restart reading at the lowest one.
//
// Delivery is at least once: after a retry or a crash a handler may be given
// records it has seen. A handler whose effect must happen exactly once makes
// it idempotent in its own store, in the transaction that applies it: the
// metrics handler keeps, per (shard, lane), the offset of the last record it
// applied, and skips records at or below it. Records of one lane arrive in
// offset order, so that mark is all it needs. Such a handler must not apply
// records after one it reports as failed.
//
// Adding a handler type is one file (a class deriving from Handler and a
// factory) and one line in handler_types.cc.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/json.h"
#include "common/status.h"

namespace sluice::consumers {

// One record of the source stream, as stored.
struct ConsumerRecord {
  uint64_t offset = 0;  // in its shard's log; increases with the sequence
  std::string sequence_number;
  std::string partition_key;
  std::string data;  // the bytes as put, not base64
  EpochMillis arrival_millis = 0;
};

// Records of one shard for one call, in offset order, never empty.
struct Batch {
  std::string consumer;    // the consumer's name
  std::string stream_arn;  // the eventSourceARN
  std::string shard_id;    // "shardId-000000000000"
  // With ParallelizationFactor > 1 a shard is read by several lanes, one
  // partition key always on the same lane; else 0 of 1.
  uint32_t lane = 0;
  uint32_t lane_count = 1;
  std::vector<ConsumerRecord> records;
};

// The answer to one call, in Lambda's terms.
struct HandlerResult {
  // Set when the whole call failed (Lambda's function error): the text
  // becomes responseContext.functionError in the on-failure record.
  std::optional<std::string> function_error;
  // With ReportBatchItemFailures, the batchItemFailures' itemIdentifiers:
  // sequence numbers of failed records. Empty means every record succeeded.
  std::vector<std::string> failed_items;

  static HandlerResult Success() { return {}; }
  static HandlerResult FunctionError(std::string why) {
    return {std::move(why), {}};
  }
};

// Thread-safe: the runtime may call Handle() for different shards, and lanes
// of one shard, at the same time; calls for one lane never overlap.
class Handler {
 public:
  virtual ~Handler() = default;
  virtual HandlerResult Handle(const Batch& batch) = 0;
  // True for a handler that itself skips records it has applied already (the
  // metrics handler's marks): records handed over again after a crash change
  // nothing, so the runtime may save its checkpoint less often than after
  // every batch.
  virtual bool SkipsRedeliveries() const { return false; }
};

// Appends records to a stream of this server, as a producer would: the
// forward and alerts handlers' way out. The consumer runtime provides it.
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  // PutRecord into a Kinesis stream; returns the sequence number.
  virtual Result<std::string> PutToStream(std::string_view stream,
                                          std::string_view partition_key,
                                          std::string_view data) = 0;
  // PutRecord into a Firehose delivery stream; returns the RecordId.
  virtual Result<std::string> PutToDeliveryStream(
      std::string_view delivery_stream, std::string_view data) = 0;

  // For a handler that must recognise its own puts after a crash (the SQL
  // applications' outbox): each shard of `stream` with the offset its next
  // record will get, and the partition keys of the records appended from
  // such tips on (a shard missing from `tips` from its start). By default
  // a writer cannot tell (kInternalFailure).
  using ShardTips = std::vector<std::pair<std::string, uint64_t>>;
  virtual Result<ShardTips> StreamTips(std::string_view stream) {
    return Unsupported(stream);
  }
  virtual Result<std::vector<std::string>> PartitionKeysSince(
      std::string_view stream, const ShardTips& tips) {
    (void)tips;
    return Unsupported(stream);
  }

 private:
  static Status Unsupported(std::string_view stream) {
    return Status(ErrorCode::kInternalFailure,
                  "this writer cannot read stream " + std::string(stream));
  }
};

// What a handler may use. Everything here outlives every handler.
struct HandlerEnvironment {
  const Clock* clock = nullptr;
  // Where a handler keeps files (its SQLite database, JSONL outputs) when
  // its settings name relative paths; empty with --in-memory, where a
  // handler keeps its state in memory or in a temporary directory.
  std::filesystem::path data_dir;
  std::string region;
  std::string account_id;
  StreamWriter* writer = nullptr;
  // The source stream's shards, each with the offset its next record will
  // get ("shardId-000000000000", tip), 0 when it holds nothing to read (no
  // record yet, or every one trimmed by retention); empty when the stream
  // is gone. For a
  // handler that must know it has read everything up to a time (the SQL
  // applications' windows). Null when the runtime offers none.
  std::function<std::vector<std::pair<std::string, uint64_t>>()> source_tips;
};

// A consumer's handler as declared: {"type": "...", ...settings}.
struct HandlerSpec {
  std::string consumer;                   // the consumer's name
  std::string type;                       // "metrics", "alerts", "exec", ...
  const json::Value* settings;            // the handler object; never null
  const HandlerEnvironment* environment;  // never null
};

// Checks the settings and builds the handler; a bad setting is
// kInvalidArgument naming it.
using HandlerFactory =
    std::function<Result<std::unique_ptr<Handler>>(const HandlerSpec& spec)>;

// The factory of a handler class with a
// `static Result<std::unique_ptr<T>> Create(const HandlerSpec&)`.
template <class T>
Result<std::unique_ptr<Handler>> CreateHandler(const HandlerSpec& spec) {
  Result<std::unique_ptr<T>> handler = T::Create(spec);
  if (!handler.ok()) return handler.status();
  return std::unique_ptr<Handler>(std::move(handler).value());
}

// The factory registered for `type` (handler_types.cc), or nullptr.
const HandlerFactory* FindHandlerType(std::string_view type);
// Every registered type name, sorted (for error messages and --help).
std::vector<std::string> HandlerTypeNames();

}  // namespace sluice::consumers
