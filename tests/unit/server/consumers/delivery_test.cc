#include "server/consumers/delivery.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <set>
#include <stdexcept>

#include "common/json.h"
#include "server/consumers/consumer_definition.h"

namespace sluice::consumers {
namespace {

constexpr EpochMillis kStart = 1'700'000'000'000;

Batch MakeBatch(size_t count, EpochMillis arrival = kStart) {
  Batch batch;
  batch.consumer = "c";
  batch.stream_arn = "arn:aws:kinesis:us-east-1:000000000000:stream/s";
  batch.shard_id = "shardId-000000000000";
  for (size_t i = 0; i < count; ++i) {
    batch.records.push_back({i, "seq" + std::to_string(i), "k",
                             "d" + std::to_string(i),
                             arrival + static_cast<EpochMillis>(i)});
  }
  return batch;
}

std::vector<std::string> Sequences(const Batch& batch) {
  std::vector<std::string> out;
  for (const ConsumerRecord& r : batch.records)
    out.push_back(r.sequence_number);
  return out;
}

// A handler answering with `answer` and remembering every call.
class ScriptedHandler : public Handler {
 public:
  explicit ScriptedHandler(std::function<HandlerResult(const Batch&)> answer)
      : answer_(std::move(answer)) {}
  HandlerResult Handle(const Batch& batch) override {
    calls.push_back(Sequences(batch));
    return answer_(batch);
  }
  std::vector<std::vector<std::string>> calls;

 private:
  std::function<HandlerResult(const Batch&)> answer_;
};

class RecordingContext : public DeliveryContext {
 public:
  bool WaitUntilRunning() override { return running; }
  bool WaitBeforeRetry(int64_t retry) override {
    retries.push_back(retry);
    if (clock) clock->Advance(advance_per_retry);
    return !stop_at_retry || retry < stop_at_retry;
  }
  void Called(const Batch&, const HandlerResult&, EpochMillis) override {}
  bool Discard(const Batch& batch, const DiscardedBatch& why) override {
    discarded.push_back({Sequences(batch), why});
    return true;
  }
  bool running = true;
  int64_t stop_at_retry = 0;
  ManualClock* clock = nullptr;
  EpochMillis advance_per_retry = 0;
  std::vector<int64_t> retries;
  std::vector<std::pair<std::vector<std::string>, DiscardedBatch>> discarded;
};

TEST(DeliveryTest, SuccessCallsOnce) {
  ManualClock clock(kStart);
  ScriptedHandler handler(
      [](const Batch&) { return HandlerResult::Success(); });
  RecordingContext context;
  EXPECT_EQ(DeliverBatch(handler, MakeBatch(3), {}, clock, context),
            DeliveryOutcome::kDone);
  EXPECT_EQ(handler.calls.size(), 1u);
  EXPECT_TRUE(context.discarded.empty());
}

TEST(DeliveryTest, FunctionErrorRetriesTheWholeBatchThenReportsIt) {
  ManualClock clock(kStart);
  ScriptedHandler handler(
      [](const Batch&) { return HandlerResult::FunctionError("Unhandled"); });
  RecordingContext context;
  DeliveryPolicy policy;
  policy.maximum_retry_attempts = 2;
  EXPECT_EQ(DeliverBatch(handler, MakeBatch(3), policy, clock, context),
            DeliveryOutcome::kDone);
  ASSERT_EQ(handler.calls.size(), 3u);  // the first call and two retries
  for (const auto& call : handler.calls) EXPECT_EQ(call.size(), 3u);
  EXPECT_EQ(context.retries, (std::vector<int64_t>{1, 2}));
  ASSERT_EQ(context.discarded.size(), 1u);
  EXPECT_EQ(context.discarded[0].second.condition, "RetryAttemptsExhausted");
  EXPECT_EQ(context.discarded[0].second.invoke_count, 3);
  EXPECT_EQ(context.discarded[0].second.function_error, "Unhandled");
}

TEST(DeliveryTest, AnExceptionFromTheHandlerIsAFunctionError) {
  ManualClock clock(kStart);
  ScriptedHandler handler(
      [](const Batch&) -> HandlerResult { throw std::runtime_error("boom"); });
  RecordingContext context;
  DeliveryPolicy policy;
  policy.maximum_retry_attempts = 0;
  DeliverBatch(handler, MakeBatch(1), policy, clock, context);
  ASSERT_EQ(context.discarded.size(), 1u);
  EXPECT_EQ(context.discarded[0].second.function_error, "Unhandled");
}

TEST(DeliveryTest, ZeroRetriesReportsAfterOneCall) {
  ManualClock clock(kStart);
  ScriptedHandler handler(
      [](const Batch&) { return HandlerResult::FunctionError("Unhandled"); });
  RecordingContext context;
  DeliveryPolicy policy;
  policy.maximum_retry_attempts = 0;
  DeliverBatch(handler, MakeBatch(2), policy, clock, context);
  EXPECT_EQ(handler.calls.size(), 1u);
  EXPECT_EQ(context.discarded.size(), 1u);
}

TEST(DeliveryTest, UnlimitedRetriesStopOnlyWhenTheConsumerStops) {
  ManualClock clock(kStart);
  ScriptedHandler handler(
      [](const Batch&) { return HandlerResult::FunctionError("Unhandled"); });
  RecordingContext context;
  context.stop_at_retry = 50;
  EXPECT_EQ(DeliverBatch(handler, MakeBatch(2), {}, clock, context),
            DeliveryOutcome::kStopped);
  EXPECT_EQ(handler.calls.size(), 50u);
  EXPECT_TRUE(context.discarded.empty());
}

TEST(DeliveryTest, RecordAgeEndsRetries) {
  ManualClock clock(kStart);
  ScriptedHandler handler(
      [](const Batch&) { return HandlerResult::FunctionError("Unhandled"); });
  RecordingContext context;
  context.clock = &clock;
  context.advance_per_retry = 25'000;
  DeliveryPolicy policy;
  policy.maximum_record_age_seconds = 60;
  DeliverBatch(handler, MakeBatch(2), policy, clock, context);
  // Ages after each call: 0, 25, 50 s; at 75 s the batch is too old.
  EXPECT_EQ(handler.calls.size(), 3u);
  ASSERT_EQ(context.discarded.size(), 1u);
  EXPECT_EQ(context.discarded[0].second.condition, "RecordAgeExceeded");
}

TEST(DeliveryTest, RecordsAlreadyTooOldAreNeverHandedOver) {
  ManualClock clock(kStart + 61'000);
  ScriptedHandler handler(
      [](const Batch&) { return HandlerResult::Success(); });
  RecordingContext context;
  DeliveryPolicy policy;
  policy.maximum_record_age_seconds = 60;
  DeliverBatch(handler, MakeBatch(2), policy, clock, context);
  EXPECT_TRUE(handler.calls.empty());
  EXPECT_EQ(context.discarded.size(), 1u);
}

TEST(DeliveryTest, BisectIsolatesThePoisonRecord) {
  ManualClock clock(kStart);
  ScriptedHandler handler([](const Batch& batch) {
    for (const ConsumerRecord& r : batch.records) {
      if (r.sequence_number == "seq5")
        return HandlerResult::FunctionError("Unhandled");
    }
    return HandlerResult::Success();
  });
  RecordingContext context;
  DeliveryPolicy policy;
  policy.bisect_on_function_error = true;
  policy.maximum_retry_attempts = 1;
  EXPECT_EQ(DeliverBatch(handler, MakeBatch(8), policy, clock, context),
            DeliveryOutcome::kDone);
  ASSERT_EQ(context.discarded.size(), 1u);
  EXPECT_EQ(context.discarded[0].first, (std::vector<std::string>{"seq5"}));
  // Every other record was handled successfully exactly once.
  std::multiset<std::string> succeeded;
  for (const auto& call : handler.calls) {
    if (std::find(call.begin(), call.end(), "seq5") == call.end()) {
      succeeded.insert(call.begin(), call.end());
    }
  }
  EXPECT_EQ(succeeded,
            (std::multiset<std::string>{"seq0", "seq1", "seq2", "seq3", "seq4",
                                        "seq6", "seq7"}));
}

TEST(DeliveryTest, ReportedItemFailureRetriesFromTheLowestFailedItem) {
  ManualClock clock(kStart);
  int call = 0;
  ScriptedHandler handler([&call](const Batch&) {
    HandlerResult result;
    if (call++ == 0) result.failed_items = {"seq4", "seq2"};
    return result;
  });
  RecordingContext context;
  DeliveryPolicy policy;
  policy.report_batch_item_failures = true;
  EXPECT_EQ(DeliverBatch(handler, MakeBatch(5), policy, clock, context),
            DeliveryOutcome::kDone);
  ASSERT_EQ(handler.calls.size(), 2u);
  EXPECT_EQ(handler.calls[1],
            (std::vector<std::string>{"seq2", "seq3", "seq4"}));
}

TEST(DeliveryTest, ItemFailuresAreIgnoredWithoutReportBatchItemFailures) {
  ManualClock clock(kStart);
  ScriptedHandler handler([](const Batch&) {
    HandlerResult result;
    result.failed_items = {"seq1"};
    return result;
  });
  RecordingContext context;
  DeliverBatch(handler, MakeBatch(3), {}, clock, context);
  EXPECT_EQ(handler.calls.size(), 1u);
}

TEST(DeliveryTest, AnUnknownItemIdentifierFailsTheWholeBatch) {
  ManualClock clock(kStart);
  int call = 0;
  ScriptedHandler handler([&call](const Batch&) {
    HandlerResult result;
    if (call++ == 0) result.failed_items = {""};
    return result;
  });
  RecordingContext context;
  DeliveryPolicy policy;
  policy.report_batch_item_failures = true;
  DeliverBatch(handler, MakeBatch(3), policy, clock, context);
  ASSERT_EQ(handler.calls.size(), 2u);
  EXPECT_EQ(handler.calls[1].size(), 3u);
}

TEST(DeliveryTest, PartialFailuresRunOutOfRetriesWithTheRestOfTheBatch) {
  ManualClock clock(kStart);
  ScriptedHandler handler([](const Batch&) {
    HandlerResult result;
    result.failed_items = {"seq1"};
    return result;
  });
  RecordingContext context;
  DeliveryPolicy policy;
  policy.report_batch_item_failures = true;
  policy.maximum_retry_attempts = 1;
  DeliverBatch(handler, MakeBatch(3), policy, clock, context);
  ASSERT_EQ(context.discarded.size(), 1u);
  EXPECT_EQ(context.discarded[0].first,
            (std::vector<std::string>{"seq1", "seq2"}));
  EXPECT_FALSE(context.discarded[0].second.function_error.has_value());
}

TEST(DeliveryTest, APausedStoppingConsumerCallsNothing) {
  ManualClock clock(kStart);
  ScriptedHandler handler(
      [](const Batch&) { return HandlerResult::Success(); });
  RecordingContext context;
  context.running = false;
  EXPECT_EQ(DeliverBatch(handler, MakeBatch(3), {}, clock, context),
            DeliveryOutcome::kStopped);
  EXPECT_TRUE(handler.calls.empty());
}

TEST(BatchingTest, SplitsByRecordCountKeepingOrder) {
  Batch shape = MakeBatch(0);
  shape.lane = 2;
  std::vector<Batch> batches =
      SplitIntoBatches(shape, MakeBatch(25).records, 10, kMaxBatchBytes);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].records.size(), 10u);
  EXPECT_EQ(batches[1].records.size(), 10u);
  EXPECT_EQ(batches[2].records.size(), 5u);
  EXPECT_EQ(batches[1].records.front().sequence_number, "seq10");
  EXPECT_EQ(batches[2].lane, 2u);
  EXPECT_EQ(batches[2].shard_id, "shardId-000000000000");
}

TEST(BatchingTest, SplitsBeforeTheRecordThatPassesTheByteLimit) {
  Batch records = MakeBatch(4);  // 1-byte key + 2-byte data: 3 bytes each
  std::vector<Batch> batches =
      SplitIntoBatches(MakeBatch(0), records.records, 100, 7);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].records.size(), 2u);
  EXPECT_EQ(batches[1].records.size(), 2u);
  // A record larger than the limit still goes, alone.
  records.records[1].data = std::string(50, 'x');
  batches = SplitIntoBatches(MakeBatch(0), records.records, 100, 7);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[1].records.size(), 1u);
  EXPECT_EQ(batches[1].records[0].sequence_number, "seq1");
}

TEST(BatchingTest, AKeyAlwaysHasTheSameLaneAndKeysSpread) {
  std::set<uint32_t> lanes;
  for (int i = 0; i < 100; ++i) {
    std::string key = "user-" + std::to_string(i);
    uint32_t lane = LaneOf(key, 4);
    EXPECT_LT(lane, 4u);
    EXPECT_EQ(LaneOf(key, 4), lane);
    lanes.insert(lane);
  }
  EXPECT_EQ(lanes.size(), 4u);
  EXPECT_EQ(LaneOf("anything", 1), 0u);
}

TEST(BatchingTest, WindowWaitsOnlyForAnIncompleteBatch) {
  // No window: call at once.
  EXPECT_EQ(BatchingWindowLeft(1, 100, 0, kStart, kStart), 0);
  // A full batch does not wait.
  EXPECT_EQ(BatchingWindowLeft(100, 100, 5000, kStart, kStart), 0);
  // Fewer records wait out the window from the first waiting record.
  EXPECT_EQ(BatchingWindowLeft(3, 100, 5000, kStart, kStart + 1200), 3800);
  EXPECT_EQ(BatchingWindowLeft(3, 100, 5000, kStart, kStart + 5000), 0);
  EXPECT_EQ(BatchingWindowLeft(3, 100, 5000, kStart, kStart + 9000), 0);
}

TEST(DeliveryTest, OnFailureRecordHasAwsShape) {
  Batch batch = MakeBatch(3);
  std::string text = OnFailureRecord(
      batch, {"RetryAttemptsExhausted", 4, std::string("Unhandled")},
      "arn:aws:lambda:us-east-1:000000000000:function:c", "req-1",
      kStart + 5000);
  json::Document doc;
  doc.Parse(text.c_str());
  ASSERT_FALSE(doc.HasParseError()) << text;
  EXPECT_STREQ(doc["requestContext"]["requestId"].GetString(), "req-1");
  EXPECT_STREQ(doc["requestContext"]["condition"].GetString(),
               "RetryAttemptsExhausted");
  EXPECT_EQ(doc["requestContext"]["approximateInvokeCount"].GetInt(), 4);
  EXPECT_STREQ(doc["requestContext"]["functionArn"].GetString(),
               "arn:aws:lambda:us-east-1:000000000000:function:c");
  EXPECT_EQ(doc["responseContext"]["statusCode"].GetInt(), 200);
  EXPECT_STREQ(doc["responseContext"]["executedVersion"].GetString(),
               "$LATEST");
  EXPECT_STREQ(doc["responseContext"]["functionError"].GetString(),
               "Unhandled");
  EXPECT_STREQ(doc["version"].GetString(), "1.0");
  EXPECT_STREQ(doc["timestamp"].GetString(), "2023-11-14T22:13:25.000Z");
  const json::Value& info = doc["KinesisBatchInfo"];
  EXPECT_STREQ(info["shardId"].GetString(), "shardId-000000000000");
  EXPECT_STREQ(info["startSequenceNumber"].GetString(), "seq0");
  EXPECT_STREQ(info["endSequenceNumber"].GetString(), "seq2");
  EXPECT_STREQ(info["approximateArrivalOfFirstRecord"].GetString(),
               "2023-11-14T22:13:20.000Z");
  EXPECT_STREQ(info["approximateArrivalOfLastRecord"].GetString(),
               "2023-11-14T22:13:20.002Z");
  EXPECT_EQ(info["batchSize"].GetInt(), 3);
  EXPECT_STREQ(info["streamArn"].GetString(),
               "arn:aws:kinesis:us-east-1:000000000000:stream/s");
  EXPECT_EQ(doc.MemberCount(), 5u);
}

}  // namespace
}  // namespace sluice::consumers
