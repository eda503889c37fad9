#include "server/kinesis/subscriptions.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "common/event_stream.h"
#include "common/json.h"
#include "common/json_codec.h"
#include "common/sequence_number.h"
#include "server/kinesis/kinesis_api.h"

namespace sluice::kinesis {
namespace {

constexpr EpochMillis kStart = 1'700'000'000'000;
const StreamKey kOrders{"000000000000", "us-east-1", "orders"};
constexpr std::string_view kArn =
    "arn:aws:kinesis:us-east-1:000000000000:stream/orders/consumer/c:1";
// Long enough that an event in a test comes from a put, never the idle timer.
constexpr std::chrono::hours kNever{1};

// Reads a ResponseStream the way a connection does, one event-stream
// message at a time.
class EventReader {
 public:
  explicit EventReader(std::shared_ptr<http::ResponseStream> stream)
      : stream_(std::move(stream)) {
    // The producer may signal after this reader is gone: shared state.
    stream_->OnReady([signal = signal_] {
      std::lock_guard lock(signal->mu);
      ++signal->count;
      signal->changed.notify_all();
    });
  }
  ~EventReader() { stream_->Cancel(); }

  // The next message; nullopt once the stream has ended. Waits as long as
  // it takes: the test's own timeout is the deadline.
  std::optional<EventStreamMessage> Next() {
    while (true) {
      std::string_view view = buffer_;
      if (auto message = DecodeEventStreamMessage(view)) {
        buffer_.erase(0, buffer_.size() - view.size());
        return message;
      }
      if (ended_) return std::nullopt;
      std::unique_lock lock(signal_->mu);
      signal_->changed.wait(lock, [&] { return signal_->count > seen_; });
      seen_ = signal_->count;
      lock.unlock();
      http::ResponseStream::Taken taken = stream_->Take();
      buffer_ += taken.bytes;
      ended_ = taken.ended;
    }
  }

  // The next SubscribeToShardEvent's payload.
  json::Document NextEvent() {
    json::Document doc;
    auto message = Next();
    EXPECT_TRUE(message.has_value());
    if (!message) return doc;
    EXPECT_EQ(message->Header(":event-type"), "SubscribeToShardEvent");
    EXPECT_EQ(message->Header(":content-type"), kJsonContentType);
    doc.Parse(message->payload.c_str());
    return doc;
  }

 private:
  struct Signal {
    std::mutex mu;
    std::condition_variable changed;
    uint64_t count = 0;  // guarded by mu
  };
  std::shared_ptr<http::ResponseStream> stream_;
  std::shared_ptr<Signal> signal_ = std::make_shared<Signal>();
  uint64_t seen_ = 0;
  std::string buffer_;
  bool ended_ = false;
};

class SubscriptionsTest : public ::testing::Test {
 protected:
  SubscriptionsTest() : clock_(kStart) {
    auto catalog = catalog::Catalog::Open(":memory:");
    EXPECT_TRUE(catalog.ok());
    catalog_ = std::move(*catalog);
    StreamManagerOptions options;
    options.maintenance_interval = std::chrono::hours(1);
    manager_ = std::make_unique<StreamManager>(*catalog_, NewMemoryLogFactory(),
                                               clock_, options);
    EXPECT_TRUE(manager_->Start().ok());
    StreamManager::NewStream request;
    request.key = kOrders;
    request.shard_count = 1;
    EXPECT_TRUE(manager_->CreateStream(request).ok());
    stream_ = *manager_->Find(kOrders);
  }

  std::unique_ptr<SubscriptionHub> NewHub(SubscriptionOptions options = {}) {
    if (options.idle_event_interval ==
        SubscriptionOptions{}.idle_event_interval)
      options.idle_event_interval = kNever;
    return std::make_unique<SubscriptionHub>(*manager_, options);
  }

  SubscriptionRequest Request(uint64_t offset, uint32_t shard = 0) {
    return {std::string(kArn),
            stream_,
            shard,
            offset,
            std::string(kJsonContentType),
            NewJsonEncoder};
  }

  std::string Put(std::string_view data) {
    storage::RecordToAppend record;
    record.partition_key = "key";
    record.data = data;
    auto outcome = manager_->Put(*stream_, {&record, 1});
    EXPECT_TRUE(outcome[0].status.ok());
    return outcome[0].sequence_number;
  }

  static std::string Data(const json::Value& record) {
    return record["Data"].GetString();  // base64 in JSON
  }

  ManualClock clock_;
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<StreamManager> manager_;
  std::shared_ptr<LiveStream> stream_;
};

TEST_F(SubscriptionsTest, StartsWithTheInitialResponse) {
  auto hub = NewHub();
  auto body = hub->Subscribe(Request(0));
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  EventReader reader(*body);
  auto first = reader.Next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->Header(":message-type"), "event");
  EXPECT_EQ(first->Header(":event-type"), "initial-response");
  EXPECT_EQ(first->payload, "{}");
}

TEST_F(SubscriptionsTest, APutWakesTheSubscriptionWithTheRecord) {
  auto hub = NewHub();
  auto body = hub->Subscribe(Request(0));
  ASSERT_TRUE(body.ok());
  EventReader reader(*body);
  reader.Next();                              // initial-response
  json::Document empty = reader.NextEvent();  // the first event is at once
  EXPECT_EQ(empty["Records"].Size(), 0u);
  std::string sequence = Put("hello");
  // The idle interval is an hour: only the put can bring this event.
  json::Document event = reader.NextEvent();
  ASSERT_EQ(event["Records"].Size(), 1u);
  EXPECT_EQ(Data(event["Records"][0]), "aGVsbG8=");
  EXPECT_EQ(event["Records"][0]["SequenceNumber"].GetString(), sequence);
  EXPECT_EQ(event["ContinuationSequenceNumber"].GetString(), sequence);
  EXPECT_EQ(event["MillisBehindLatest"].GetInt64(), 0);
  EXPECT_FALSE(event.HasMember("ChildShards"));
}

TEST_F(SubscriptionsTest, StartsAtItsOffsetAndDeliversEachRecordOnce) {
  std::vector<std::string> sequences = {Put("a"), Put("b"), Put("c")};
  auto hub = NewHub();
  auto body = hub->Subscribe(Request(1));
  ASSERT_TRUE(body.ok());
  EventReader reader(*body);
  reader.Next();
  json::Document event = reader.NextEvent();
  ASSERT_EQ(event["Records"].Size(), 2u);
  EXPECT_EQ(event["Records"][0]["SequenceNumber"].GetString(), sequences[1]);
  EXPECT_EQ(event["Records"][1]["SequenceNumber"].GetString(), sequences[2]);
  EXPECT_EQ(event["ContinuationSequenceNumber"].GetString(), sequences[2]);
  std::string d = Put("d");
  event = reader.NextEvent();
  ASSERT_EQ(event["Records"].Size(), 1u);
  EXPECT_EQ(event["Records"][0]["SequenceNumber"].GetString(), d);
}

TEST_F(SubscriptionsTest, AContinuationBeforeAnyRecordResumesAtThatRecord) {
  auto hub = NewHub();
  auto body = hub->Subscribe(Request(0));
  ASSERT_TRUE(body.ok());
  EventReader reader(*body);
  reader.Next();
  json::Document event = reader.NextEvent();
  std::string continuation = event["ContinuationSequenceNumber"].GetString();
  auto parts = DecodeSequenceNumber(continuation);
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->offset, 0u);
  std::string first = Put("first");
  // Below the first record's number, as decimal numbers.
  EXPECT_TRUE(continuation.size() < first.size() ||
              (continuation.size() == first.size() && continuation < first));
  std::shared_lock lock(stream_->mu);
  auto offset = StartingOffset(stream_->shards[0], kOrders, "SubscribeToShard",
                               {"AFTER_SEQUENCE_NUMBER", continuation, {}});
  ASSERT_TRUE(offset.ok()) << offset.status().ToString();
  EXPECT_EQ(*offset, 0u);  // the first record is not skipped
  offset = StartingOffset(stream_->shards[0], kOrders, "SubscribeToShard",
                          {"AFTER_SEQUENCE_NUMBER", first, {}});
  EXPECT_EQ(*offset, 1u);
}

TEST_F(SubscriptionsTest, AClosedShardEndsWithItsChildrenAndNoContinuation) {
  std::string before = Put("before");
  auto hub = NewHub();
  auto body = hub->Subscribe(Request(0));
  ASSERT_TRUE(body.ok());
  EventReader reader(*body);
  reader.Next();
  json::Document event = reader.NextEvent();
  ASSERT_EQ(event["Records"].Size(), 1u);
  ASSERT_TRUE(manager_->SplitShard(kOrders, 0, "100").ok());
  event = reader.NextEvent();  // woken by the split
  EXPECT_EQ(event["Records"].Size(), 0u);
  EXPECT_FALSE(event.HasMember("ContinuationSequenceNumber"));
  ASSERT_TRUE(event.HasMember("ChildShards"));
  ASSERT_EQ(event["ChildShards"].Size(), 2u);
  EXPECT_STREQ(event["ChildShards"][0]["ShardId"].GetString(),
               "shardId-000000000001");
  EXPECT_STREQ(event["ChildShards"][0]["ParentShards"][0].GetString(),
               "shardId-000000000000");
  EXPECT_STREQ(
      event["ChildShards"][1]["HashKeyRange"]["StartingHashKey"].GetString(),
      "100");
  EXPECT_FALSE(reader.Next().has_value());  // and the stream ends
}

TEST_F(SubscriptionsTest, ASecondSubscriptionWithinFiveSecondsIsRefused) {
  auto hub = NewHub();
  auto first = hub->Subscribe(Request(0));
  ASSERT_TRUE(first.ok());
  EventReader first_reader(*first);
  clock_.Advance(4999);
  auto again = hub->Subscribe(Request(0));
  EXPECT_EQ(again.status().code(), ErrorCode::kResourceInUse);
  SubscriptionRequest other_consumer = Request(0);
  other_consumer.consumer_arn += "2";
  EXPECT_TRUE(hub->Subscribe(std::move(other_consumer)).ok());
}

TEST_F(SubscriptionsTest, ALaterSubscriptionTakesOverAndEndsTheOldOne) {
  auto hub = NewHub();
  auto first = hub->Subscribe(Request(0));
  ASSERT_TRUE(first.ok());
  EventReader first_reader(*first);
  first_reader.Next();
  clock_.Advance(5000);
  auto second = hub->Subscribe(Request(0));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EventReader second_reader(*second);
  // The old one: maybe its first event, then the exception, then the end.
  std::optional<EventStreamMessage> message = first_reader.Next();
  while (message && message->Header(":message-type") == "event") {
    message = first_reader.Next();
  }
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(message->Header(":message-type"), "exception");
  EXPECT_EQ(message->Header(":exception-type"), "ResourceInUseException");
  EXPECT_FALSE(first_reader.Next().has_value());
  EXPECT_EQ(second_reader.Next()->Header(":event-type"), "initial-response");
}

TEST_F(SubscriptionsTest, EndsWhenItsLifetimeIsOver) {
  SubscriptionOptions options;
  options.lifetime = std::chrono::milliseconds(50);
  auto hub = NewHub(options);
  auto body = hub->Subscribe(Request(0));
  ASSERT_TRUE(body.ok());
  EventReader reader(*body);
  std::optional<EventStreamMessage> message;
  while ((message = reader.Next())) {
    EXPECT_EQ(message->Header(":message-type"), "event");  // no exception
  }
}

TEST_F(SubscriptionsTest, EndConsumerSendsTheReasonAndEnds) {
  auto hub = NewHub();
  auto body = hub->Subscribe(Request(0));
  ASSERT_TRUE(body.ok());
  EventReader reader(*body);
  reader.Next();
  hub->EndConsumer(kArn, Status(ErrorCode::kResourceNotFound, "gone"));
  std::optional<EventStreamMessage> message = reader.Next();
  while (message && message->Header(":message-type") == "event") {
    message = reader.Next();
  }
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(message->Header(":exception-type"), "ResourceNotFoundException");
  EXPECT_EQ(message->payload, R"({"message":"gone"})");
  EXPECT_FALSE(reader.Next().has_value());
}

TEST_F(SubscriptionsTest, ACancelledStreamStopsItsThread) {
  auto hub = NewHub();
  auto body = hub->Subscribe(Request(0));
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(hub->LiveCount(), 1u);
  (*body)->Cancel();  // the client went away
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (hub->LiveCount() != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_EQ(hub->LiveCount(), 0u);
}

TEST_F(SubscriptionsTest, RefusesSubscriptionsBeyondTheLimit) {
  SubscriptionOptions options;
  options.max_live = 1;
  auto hub = NewHub(options);
  auto first = hub->Subscribe(Request(0));
  ASSERT_TRUE(first.ok());
  SubscriptionRequest other = Request(0);
  other.consumer_arn += "0";
  EXPECT_EQ(hub->Subscribe(std::move(other)).status().code(),
            ErrorCode::kLimitExceeded);
}

}  // namespace
}  // namespace sluice::kinesis
