// Hands one batch to a handler the way Lambda's event-source mapping does
// (aws-behaviour.md section 4) and decides what happens next: success, a
// retry of the whole batch, a retry from the lowest failed item
// (ReportBatchItemFailures), a split in two (BisectBatchOnFunctionError), or
// giving up once retries or record age run out, which reports the batch to
// the on-failure destination and moves on. Pure logic over a Handler, a
// Clock and a DeliveryContext, so unit tests drive it with fakes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/clock.h"
#include "server/consumers/handler.h"

namespace sluice::consumers {

struct DeliveryPolicy {
  int64_t maximum_retry_attempts = -1;      // -1: no limit
  int64_t maximum_record_age_seconds = -1;  // -1: no limit
  bool bisect_on_function_error = false;
  bool report_batch_item_failures = false;
};

// Why a batch was given up on, for its on-failure record.
struct DiscardedBatch {
  std::string condition;  // "RetryAttemptsExhausted" or "RecordAgeExceeded"
  int64_t invoke_count = 0;
  std::optional<std::string> function_error;  // of the last call, if any
};

// The consumer side of a delivery. Called from the thread delivering.
class DeliveryContext {
 public:
  virtual ~DeliveryContext() = default;
  // Before each call: waits while the consumer is paused. False when it is
  // stopping (the batch is then left where it is, unacknowledged).
  virtual bool WaitUntilRunning() = 0;
  // Before retry number `retry` (1, 2, ...): the backoff. False when the
  // consumer is stopping.
  virtual bool WaitBeforeRetry(int64_t retry) = 0;
  // After each call, for statistics and the iterator age.
  virtual void Called(const Batch& batch, const HandlerResult& result,
                      EpochMillis handed_over_at) = 0;
  // The batch (a part of the original when bisected or partly failed) is
  // given up on. Returns false when the consumer stopped before the report
  // was stored; the batch then counts as not delivered.
  virtual bool Discard(const Batch& batch, const DiscardedBatch& why) = 0;
};

enum class DeliveryOutcome {
  kDone,     // every record was handled or given up on: move past the batch
  kStopped,  // the consumer is stopping: the batch stays unacknowledged
};

// REQUIRES: batch.records is not empty.
DeliveryOutcome DeliverBatch(Handler& handler, const Batch& batch,
                             const DeliveryPolicy& policy, const Clock& clock,
                             DeliveryContext& context);

// The lane of a partition key under ParallelizationFactor `lanes`: FNV-1a
// of its bytes modulo `lanes`, so a key always has the same lane (across
// restarts too) and its records stay in order.
uint32_t LaneOf(std::string_view partition_key, uint32_t lanes);

// Splits `records` (of one shard and lane, in order) into batches shaped
// like `shape` (its consumer, stream, shard and lane; its records are
// ignored) of at most `max_records` records and `max_bytes` of data and
// partition keys; a record larger than `max_bytes` is a batch of its own.
std::vector<Batch> SplitIntoBatches(const Batch& shape,
                                    std::vector<ConsumerRecord> records,
                                    size_t max_records, size_t max_bytes);

// MaximumBatchingWindowInSeconds: how much longer to gather when `waiting`
// records (fewer than `full`) have waited since `gathering_since`; 0 means
// call now. A window of 0 never waits.
EpochMillis BatchingWindowLeft(uint64_t waiting, uint64_t full,
                               EpochMillis window_millis,
                               EpochMillis gathering_since, EpochMillis now);

// AWS's on-failure record for a Kinesis event source, one JSON object:
// {"requestContext": {"requestId", "functionArn", "condition",
// "approximateInvokeCount"}, "responseContext": {"statusCode",
// "executedVersion", "functionError"}, "version": "1.0", "timestamp",
// "KinesisBatchInfo": {"shardId", "startSequenceNumber",
// "endSequenceNumber", "approximateArrivalOfFirstRecord",
// "approximateArrivalOfLastRecord", "batchSize", "streamArn"}}.
// functionError is left out when the last call did not fail as a whole.
std::string OnFailureRecord(const Batch& batch, const DiscardedBatch& why,
                            std::string_view function_arn,
                            std::string_view request_id, EpochMillis now);

// "2019-11-14T00:38:06.021Z"
std::string Iso8601Millis(EpochMillis millis);

}  // namespace sluice::consumers
