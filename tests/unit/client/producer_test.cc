// The producer against a real in-process server (in memory, port 0), with
// Kinesis limits enforced so that PutRecords refuses entries and the
// producer must send them again.
#include "client/producer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "common/base64.h"
#include "server/server.h"

namespace sluice::client {
namespace {

// "prefix" + number, appended piecewise: GCC 12 raises a false -Wrestrict
// on `"literal" + std::to_string(n)`.
std::string Named(std::string prefix, int number) {
  prefix += std::to_string(number);
  return prefix;
}

class ProducerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerConfig config;
    config.in_memory = true;
    config.http.port = 0;
    config.http.io_threads = 1;
    config.kinesis.enforce_limits = true;
    auto server = Server::Start(config);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    options_.endpoint = "http://127.0.0.1:" + std::to_string(server_->port());
    auto client = ApiClient::Create(options_);
    ASSERT_TRUE(client.ok());
    client_ = std::move(*client);
  }

  void CreateStream(const std::string& name, int shards) {
    ASSERT_TRUE(client_
                    ->Call(Api::kKinesis, "CreateStream",
                           R"({"StreamName":")" + name + R"(","ShardCount":)" +
                               std::to_string(shards) + "}")
                    .ok());
    // The stream is CREATING for a moment; wait (with a deadline) for ACTIVE.
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (true) {
      auto summary = client_->Call(Api::kKinesis, "DescribeStreamSummary",
                                   R"({"StreamName":")" + name + R"("})");
      ASSERT_TRUE(summary.ok());
      if (json::AsView(
              (*summary)["StreamDescriptionSummary"]["StreamStatus"]) ==
          "ACTIVE") {
        return;
      }
      ASSERT_LT(std::chrono::steady_clock::now(), deadline);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  // Every record of the stream, per partition key in the order stored
  // (each key lives on one shard, whose order is its sequence order).
  std::map<std::string, std::vector<std::string>> ReadBack(
      const std::string& name) {
    std::map<std::string, std::vector<std::string>> by_key;
    auto shards = client_->Call(Api::kKinesis, "ListShards",
                                R"({"StreamName":")" + name + R"("})");
    EXPECT_TRUE(shards.ok());
    for (const json::Value& shard : (*shards)["Shards"].GetArray()) {
      auto iterator =
          client_->Call(Api::kKinesis, "GetShardIterator",
                        R"({"StreamName":")" + name + R"(","ShardId":")" +
                            std::string(json::AsView(shard["ShardId"])) +
                            R"(","ShardIteratorType":"TRIM_HORIZON"})");
      EXPECT_TRUE(iterator.ok());
      std::string at(json::AsView((*iterator)["ShardIterator"]));
      while (true) {
        auto page = client_->Call(Api::kKinesis, "GetRecords",
                                  R"({"ShardIterator":")" + at + R"("})");
        EXPECT_TRUE(page.ok()) << page.status().ToString();
        if (!page.ok()) break;
        const json::Value& records = (*page)["Records"];
        for (const json::Value& record : records.GetArray()) {
          by_key[std::string(json::AsView(record["PartitionKey"]))].push_back(
              Base64Decode(json::AsView(record["Data"])).value_or("?"));
        }
        if (records.Empty() && (*page)["MillisBehindLatest"].GetInt64() == 0) {
          break;
        }
        at = json::AsView((*page)["NextShardIterator"]);
      }
    }
    return by_key;
  }

  std::unique_ptr<Server> server_;
  ClientOptions options_;
  std::unique_ptr<ApiClient> client_;
};

TEST_F(ProducerTest, EveryRecordIsStoredOnceInOrderPerKeyDespiteThrottling) {
  CreateStream("orders", 2);
  constexpr int kKeys = 50;
  constexpr int kPerKey = 60;  // 3,000 records: over 2 shards' 2,000/s
  std::atomic<int> stored{0};
  std::atomic<int> failed{0};
  ProducerOptions options;
  options.max_buffered_records = 1000;
  {
    Producer producer(options_, "orders", options,
                      [&](const PutOutcome& outcome) {
                        (outcome.status.ok() ? stored : failed)++;
                      });
    for (int i = 0; i < kPerKey; ++i) {
      for (int key = 0; key < kKeys; ++key) {
        ASSERT_TRUE(
            producer.Put(Named("user-", key), Named(Named("", key) + ":", i))
                .ok());
      }
    }
    producer.Flush();
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
