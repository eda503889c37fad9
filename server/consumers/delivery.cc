#include "server/consumers/delivery.h"

#include <algorithm>
#include <ctime>
#include <exception>

#include "common/json.h"

namespace sluice::consumers {
namespace {

// Records [begin, end) of `batch`, with its shard and lane.
Batch Part(const Batch& batch, size_t begin, size_t end) {
  Batch part;
  part.consumer = batch.consumer;
  part.stream_arn = batch.stream_arn;
  part.shard_id = batch.shard_id;
  part.lane = batch.lane;
  part.lane_count = batch.lane_count;
  part.records.assign(batch.records.begin() + static_cast<ptrdiff_t>(begin),
                      batch.records.begin() + static_cast<ptrdiff_t>(end));
  return part;
}

// The index of the lowest failed item, or nullopt when an identifier is
// empty or names no record of the batch: Lambda then fails the whole batch.
std::optional<size_t> LowestFailedItem(const Batch& batch,
                                       const std::vector<std::string>& items) {
  size_t lowest = batch.records.size();
  for (const std::string& item : items) {
    size_t found = batch.records.size();
    for (size_t i = 0; i < batch.records.size(); ++i) {
      if (batch.records[i].sequence_number == item) {
        found = i;
        break;
      }
    }
    if (item.empty() || found == batch.records.size()) return std::nullopt;
    lowest = std::min(lowest, found);
  }
  return lowest;
}

// Exceptions do not cross our functions: one escaping a handler (a
// bad_alloc, a library's error) is a function error, like a crash.
HandlerResult CallHandler(Handler& handler, const Batch& batch) {
  try {
    return handler.Handle(batch);
  } catch (...) {
    return HandlerResult::FunctionError("Unhandled");
  }
}

}  // namespace

DeliveryOutcome DeliverBatch(Handler& handler, const Batch& original,
                             const DeliveryPolicy& policy, const Clock& clock,
                             DeliveryContext& context) {
  Batch batch = Part(original, 0, original.records.size());
  int64_t invokes = 0;
  int64_t retries = 0;
  std::optional<std::string> last_error;
  auto discard = [&](std::string condition) {
    return context.Discard(batch, {std::move(condition), invokes, last_error})
               ? DeliveryOutcome::kDone
               : DeliveryOutcome::kStopped;
  };
  while (true) {
    if (policy.maximum_record_age_seconds >= 0 &&
        clock.NowMillis() - batch.records.front().arrival_millis >
            policy.maximum_record_age_seconds * 1000) {
      return discard("RecordAgeExceeded");
    }
    if (!context.WaitUntilRunning()) return DeliveryOutcome::kStopped;
    const EpochMillis handed_over_at = clock.NowMillis();
    HandlerResult result = CallHandler(handler, batch);
    ++invokes;
    context.Called(batch, result, handed_over_at);

    bool whole_batch_failed = false;
    size_t retry_from = 0;
    if (result.function_error) {
      whole_batch_failed = true;
      last_error = result.function_error;
    } else if (policy.report_batch_item_failures &&
               !result.failed_items.empty()) {
      std::optional<size_t> lowest =
          LowestFailedItem(batch, result.failed_items);
      if (lowest) {
        retry_from = *lowest;
        last_error.reset();
      } else {
        whole_batch_failed = true;
      }
    } else {
      return DeliveryOutcome::kDone;
    }

    if (whole_batch_failed && policy.bisect_on_function_error &&
        batch.records.size() > 1) {
      // Each half starts afresh: bisecting uses up no retries.
      size_t half = batch.records.size() / 2;
      if (DeliverBatch(handler, Part(batch, 0, half), policy, clock, context) ==
          DeliveryOutcome::kStopped) {
        return DeliveryOutcome::kStopped;
      }
      return DeliverBatch(handler, Part(batch, half, batch.records.size()),
                          policy, clock, context);
    }
    // Records before the lowest failed item are done; the rest is retried.
    if (retry_from > 0) batch = Part(batch, retry_from, batch.records.size());
    if (policy.maximum_retry_attempts >= 0 &&
        retries >= policy.maximum_retry_attempts) {
      return discard("RetryAttemptsExhausted");
    }
    ++retries;
    if (!context.WaitBeforeRetry(retries)) return DeliveryOutcome::kStopped;
  }
}

uint32_t LaneOf(std::string_view partition_key, uint32_t lanes) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : partition_key) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return static_cast<uint32_t>(hash % lanes);
}

std::vector<Batch> SplitIntoBatches(const Batch& shape,
                                    std::vector<ConsumerRecord> records,
                                    size_t max_records, size_t max_bytes) {
  std::vector<Batch> batches;
  size_t bytes = 0;
  for (ConsumerRecord& record : records) {
    size_t size = record.data.size() + record.partition_key.size();
    if (batches.empty() || batches.back().records.size() >= max_records ||
        bytes + size > max_bytes) {
      batches.push_back(Part(shape, 0, 0));
      bytes = 0;
    }
    bytes += size;
    batches.back().records.push_back(std::move(record));
  }
  return batches;
}

EpochMillis BatchingWindowLeft(uint64_t waiting, uint64_t full,
                               EpochMillis window_millis,
                               EpochMillis gathering_since, EpochMillis now) {
  if (window_millis <= 0 || waiting >= full) return 0;
  return std::max<EpochMillis>(0, gathering_since + window_millis - now);
}

std::string Iso8601Millis(EpochMillis millis) {
  std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  int64_t fraction = millis % 1000;
  if (fraction < 0) {
    fraction += 1000;
    --seconds;
  }
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", text, static_cast<int>(fraction));
  return out;
}

std::string OnFailureRecord(const Batch& batch, const DiscardedBatch& why,
                            std::string_view function_arn,
                            std::string_view request_id, EpochMillis now) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  auto string = [&w](std::string_view text) {
    w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  };
  w.StartObject();
  w.Key("requestContext");
  w.StartObject();
  w.Key("requestId");
  string(request_id);
  w.Key("functionArn");
  string(function_arn);
  w.Key("condition");
  string(why.condition);
  w.Key("approximateInvokeCount");
  w.Int64(why.invoke_count);
  w.EndObject();
  w.Key("responseContext");
  w.StartObject();
  w.Key("statusCode");
  w.Int(200);
  w.Key("executedVersion");
  w.String("$LATEST");
  if (why.function_error) {
    w.Key("functionError");
    string(*why.function_error);
  }
  w.EndObject();
  w.Key("version");
  w.String("1.0");
  w.Key("timestamp");
  string(Iso8601Millis(now));
  w.Key("KinesisBatchInfo");
  w.StartObject();
  w.Key("shardId");
  string(batch.shard_id);
  w.Key("startSequenceNumber");
  string(batch.records.front().sequence_number);
  w.Key("endSequenceNumber");
  string(batch.records.back().sequence_number);
  w.Key("approximateArrivalOfFirstRecord");
  string(Iso8601Millis(batch.records.front().arrival_millis));
  w.Key("approximateArrivalOfLastRecord");
  string(Iso8601Millis(batch.records.back().arrival_millis));
  w.Key("batchSize");
  w.Uint64(batch.records.size());
  w.Key("streamArn");
  string(batch.stream_arn);
  w.EndObject();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace sluice::consumers
