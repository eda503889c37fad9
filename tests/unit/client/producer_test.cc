// The producer against a real in-process server (in memory, port 0), with
// Kinesis limits enforced so that PutRecords refuses entries and the
// producer must send them again.
#include "client/producer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "client/stream_reader.h"
#include "tests/unit/client/in_process_server.h"

namespace sluice::client {
namespace {

class ProducerTest : public InProcessServerTest {
 protected:
  void SetUp() override { StartServer(/*enforce_limits=*/true); }

  // Every record of the stream, per partition key in the order stored, KPL
  // aggregates as their user records; `stored` counts Kinesis records.
  std::map<std::string, std::vector<std::string>> ReadBack(
      const std::string& name, size_t* stored = nullptr) {
    std::map<std::string, std::vector<std::string>> by_key;
    ReaderOptions options;
    options.deaggregate = true;
    StreamReader reader(*client_, name, options);
    Status status = reader.Run([&](const ReadRecord& record) {
      by_key[record.partition_key].push_back(record.data);
      return true;
    });
    EXPECT_TRUE(status.ok()) << status.ToString();
    if (stored != nullptr) *stored = reader.stats().records;
    return by_key;
  }
};

TEST_F(ProducerTest, EveryRecordIsStoredOnceInOrderPerKeyDespiteThrottling) {
  // The server's clock stands still, so its shards take 1,000 records each
  // and then refuse every entry however fast or slow this test runs; once
  // the producer has had entries refused, the clock moves a second at a
  // time and the rest go in.
  server_.reset();
  StartServer(/*enforce_limits=*/true, /*test_clock=*/true);
  CreateStream("orders", 2);
  constexpr int kKeys = 50;
  constexpr int kPerKey = 60;  // 3,000 records: over 2 shards' 2,000
  std::atomic<int> stored{0};
  std::atomic<int> failed{0};
  ProducerOptions options;
  options.max_buffered_records = 1000;
  {
    Producer producer(options_, "orders", options,
                      [&](const PutOutcome& outcome) {
                        (outcome.status.ok() ? stored : failed)++;
                      });
    // Stopped and joined on every way out of this scope.
    std::jthread clock_mover([&](std::stop_token stop) {
      auto mover = ApiClient::Create(options_);
      ASSERT_TRUE(mover.ok());
      while (!stop.stop_requested()) {
        if (producer.retried_entries() > 0) {
          auto moved = (*mover)->Call(Api::kSluiceAdmin, "SetClock",
                                      R"({"AdvanceMillis":1000})");
          EXPECT_TRUE(moved.ok()) << moved.status().ToString();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
    for (int i = 0; i < kPerKey; ++i) {
      for (int key = 0; key < kKeys; ++key) {
        ASSERT_TRUE(
            producer.Put(Named("user-", key), Named(Named("", key) + ":", i))
                .ok());
      }
    }
    producer.Flush();
    clock_mover.request_stop();
    clock_mover.join();
    EXPECT_GT(producer.retried_entries(), 0u)
        << "the limits should have refused some entries";
    EXPECT_EQ(producer.stored(), static_cast<uint64_t>(kKeys * kPerKey));
  }
  EXPECT_EQ(stored.load(), kKeys * kPerKey);
  EXPECT_EQ(failed.load(), 0);

  auto by_key = ReadBack("orders");
  ASSERT_EQ(by_key.size(), static_cast<size_t>(kKeys));
  for (int key = 0; key < kKeys; ++key) {
    std::vector<std::string> expected;
    for (int i = 0; i < kPerKey; ++i) {
      expected.push_back(Named(Named("", key) + ":", i));
    }
    EXPECT_EQ(by_key[Named("user-", key)], expected);
  }
}

TEST_F(ProducerTest, AggregationKeepsAHotKeysOrderInFewRecords) {
  CreateStream("hot", 1);
  constexpr int kRecords = 3000;  // one key, over the shard's 1,000/s
  ProducerOptions options;
  options.aggregate = true;
  std::vector<PutOutcome> outcomes;
  std::mutex mu;
  {
    Producer producer(options_, "hot", options, [&](const PutOutcome& outcome) {
      std::lock_guard lock(mu);
      outcomes.push_back(outcome);
    });
    for (int i = 0; i < kRecords; ++i) {
      ASSERT_TRUE(producer.Put("sensor-1", Named("reading-", i)).ok());
    }
  }
  ASSERT_EQ(outcomes.size(), static_cast<size_t>(kRecords));
  bool some_aggregated = false;
  for (const PutOutcome& outcome : outcomes) {
    EXPECT_TRUE(outcome.status.ok()) << outcome.status.ToString();
    some_aggregated |= outcome.subsequence_number > 0;
  }
  EXPECT_TRUE(some_aggregated);
  size_t stored = 0;
  auto by_key = ReadBack("hot", &stored);
  std::vector<std::string> expected;
  for (int i = 0; i < kRecords; ++i) expected.push_back(Named("reading-", i));
  EXPECT_EQ(by_key["sensor-1"], expected);
  EXPECT_LT(stored, static_cast<size_t>(kRecords) / 10)
      << "aggregation should pack many records into each Kinesis record";
}

TEST_F(ProducerTest, BackPressureBoundsWhatIsBuffered) {
  CreateStream("narrow", 1);
  ProducerOptions options;
  options.max_buffered_records = 8;
  std::atomic<int> outcomes{0};
  Producer producer(options_, "narrow", options,
                    [&](const PutOutcome&) { outcomes++; });
  for (int i = 0; i < 400; ++i) {
    ASSERT_TRUE(producer.Put(Named("k", i % 20), "x").ok());
    // Put() returned, so at most the bound is waiting (this one included).
    EXPECT_LE(i + 1 - outcomes.load(), 8);
  }
  producer.Close();
  EXPECT_EQ(outcomes.load(), 400);
  EXPECT_EQ(producer.stored(), 400u);
  EXPECT_FALSE(producer.Put("k", "late").ok());
}

TEST_F(ProducerTest, APermanentErrorIsReportedWithoutRetries) {
  std::vector<PutOutcome> outcomes;
  std::mutex mu;
  {
    Producer producer(options_, "no-such-stream", ProducerOptions{},
                      [&](const PutOutcome& outcome) {
                        std::lock_guard lock(mu);
                        outcomes.push_back(outcome);
                      });
    ASSERT_TRUE(producer.Put("a", "1").ok());
    ASSERT_TRUE(producer.Put("b", "2").ok());
  }
  ASSERT_EQ(outcomes.size(), 2u);
  for (const PutOutcome& outcome : outcomes) {
    EXPECT_EQ(outcome.status.code(), ErrorCode::kResourceNotFound);
    EXPECT_EQ(outcome.attempts, 1);
  }
}

}  // namespace
}  // namespace sluice::client
