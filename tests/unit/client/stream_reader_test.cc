// StreamReader against a real in-process server (in memory, port 0):
// every shard read, parents before children across SplitShard, MergeShards
// and UpdateShardCount made while it reads, KPL aggregates from the
// Producer de-aggregated in order per key, the start positions, throttled
// reads under --enforce-limits, expired iterators (injected) and stopping.
#include "client/stream_reader.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "client/batch_calls.h"
#include "client/producer.h"
#include "common/kpl_aggregation.h"
#include "tests/unit/client/in_process_server.h"

namespace sluice::client {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kDeadline = std::chrono::seconds(60);

// Records as read, per partition key in the order handed over.
using ByKey = std::map<std::string, std::vector<std::string>>;

class StreamReaderTest : public InProcessServerTest {
 protected:
  void SetUp() override { StartServer(/*enforce_limits=*/false); }

  // Puts `per_key` records for each of `keys` keys ("key-K" -> "K:N", N
  // counting from `first`), a batch per round; every entry must be stored.
  void Put(const std::string& stream, int keys, int first, int per_key) {
    for (int n = first; n < first + per_key; ++n) {
      std::vector<std::string> names;
      std::vector<std::string> values;
      for (int key = 0; key < keys; ++key) {
        names.push_back(Named("key-", key));
        values.push_back(Named(Named("", key) + ":", n));
      }
      std::vector<KinesisEntry> entries;
      for (int key = 0; key < keys; ++key) {
        entries.push_back({names[key], values[key]});
      }
      auto outcomes = PutRecords(*client_, stream, entries);
      ASSERT_TRUE(outcomes.ok()) << outcomes.status().ToString();
      for (const EntryOutcome& outcome : *outcomes) {
        ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
      }
    }
  }

  // What Put() stored for keys [0, keys) and numbers [0, per_key).
  static ByKey Expected(int keys, int per_key) {
    ByKey expected;
    for (int key = 0; key < keys; ++key) {
      for (int n = 0; n < per_key; ++n) {
        expected[Named("key-", key)].push_back(Named(Named("", key) + ":", n));
      }
    }
    return expected;
  }

  // Reads without following; every record by key.
  ByKey ReadAll(const std::string& stream, ReaderOptions options = {},
                std::vector<ReadRecord>* all = nullptr) {
    ByKey by_key;
    StreamReader reader(*client_, stream, options);
    Status status = reader.Run([&](const ReadRecord& record) {
      by_key[record.partition_key].push_back(record.data);
      if (all != nullptr) all->push_back(record);
      return true;
    });
    EXPECT_TRUE(status.ok()) << status.ToString();
    return by_key;
  }

  // Shard ids of the stream, open and closed.
  std::vector<std::string> ShardIds(const std::string& stream) {
    json::Document shards =
        Kinesis("ListShards", R"({"StreamName":")" + stream + R"("})");
    std::vector<std::string> ids;
    for (const json::Value& shard : shards["Shards"].GetArray()) {
      ids.emplace_back(json::AsView(shard["ShardId"]));
    }
    return ids;
  }

  // A reader following `stream` on a thread of its own (with a client of
  // its own) until it has `want` records or Stop() is called.
  class Follower {
   public:
    Follower(const ClientOptions& options, std::string stream,
             ReaderOptions reader_options, size_t want)
        : want_(want) {
      reader_options.follow = true;
      auto client = ApiClient::Create(options);
      EXPECT_TRUE(client.ok());
      client_ = std::move(*client);
      CallFunction counting = [this](Api api, std::string_view operation,
                                     std::string_view body) {
        calls_ += operation == "GetRecords";
        return client_->Call(api, operation, body);
      };
      reader_ = std::make_unique<StreamReader>(counting, std::move(stream),
                                               reader_options);
      thread_ = std::thread([this] {
        status_ = reader_->Run([this](const ReadRecord& record) {
          std::lock_guard lock(mu_);
          records_.push_back(record);
          return records_.size() < want_;
        });
        done_ = true;
      });
    }
    ~Follower() {
      reader_->Stop();
      if (thread_.joinable()) thread_.join();
    }

    // Waits (with a deadline) until the reader has called GetRecords `n`
    // times: at the tip, it then holds an iterator for each shard.
    bool WaitForCalls(int n) {
      const auto deadline = Clock::now() + kDeadline;
      while (calls_ < n) {
        if (Clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      return true;
    }
    size_t count() {
      std::lock_guard lock(mu_);
      return records_.size();
    }
    // Waits (with a deadline) for `n` records.
    bool WaitFor(size_t n) {
      const auto deadline = Clock::now() + kDeadline;
      while (count() < n && !done_) {
        if (Clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      return count() >= n;
    }
    // Waits for the reader to end by itself, then stops it in any case.
    Status Join() {
      const auto deadline = Clock::now() + kDeadline;
      while (!done_ && Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      reader_->Stop();
      if (thread_.joinable()) thread_.join();
      return status_;
    }
    std::vector<ReadRecord> records() {
      std::lock_guard lock(mu_);
      return records_;
    }
    StreamReader& reader() { return *reader_; }

   private:
    const size_t want_;
    std::unique_ptr<ApiClient> client_;
    std::unique_ptr<StreamReader> reader_;
    std::mutex mu_;
    std::vector<ReadRecord> records_;  // guarded by mu_
    std::atomic<bool> done_{false};
    std::atomic<int> calls_{0};
    Status status_;
    std::thread thread_;
  };
};

ByKey GroupByKey(const std::vector<ReadRecord>& records) {
  ByKey by_key;
  for (const ReadRecord& record : records) {
    by_key[record.partition_key].push_back(record.data);
  }
  return by_key;
}

TEST_F(StreamReaderTest, ReadsEveryShardToItsTipAndStops) {
  CreateStream("four", 4);
  Put("four", 40, 0, 25);
  std::vector<ReadRecord> all;
  EXPECT_EQ(ReadAll("four", {}, &all), Expected(40, 25));
  std::set<std::string> shards;
  for (const ReadRecord& record : all) {
    shards.insert(record.shard_id);
    EXPECT_FALSE(record.sequence_number.empty());
    EXPECT_FALSE(record.subsequence_number.has_value());
    EXPECT_GT(record.approximate_arrival_timestamp, 1.7e9);
  }
  EXPECT_EQ(shards.size(), 4u);
}

TEST_F(StreamReaderTest, ReadsParentsBeforeChildrenAfterASplitAndAMerge) {
  CreateStream("lineage", 2);
  Put("lineage", 10, 0, 5);
  Kinesis("SplitShard",
          R"({"StreamName":"lineage",)"
          R"("ShardToSplit":"shardId-000000000000",)"
          R"("NewStartingHashKey":"85070591730234615865843651857942052864"})");
  WaitActive("lineage");
  Put("lineage", 10, 5, 5);
  // The split's right child and the untouched shard 1 are adjacent.
  Kinesis("MergeShards", R"({"StreamName":"lineage",)"
                         R"("ShardToMerge":"shardId-000000000003",)"
                         R"("AdjacentShardToMerge":"shardId-000000000001"})");
  WaitActive("lineage");
  Put("lineage", 10, 10, 5);
  ASSERT_EQ(ShardIds("lineage").size(), 5u);
  EXPECT_EQ(ReadAll("lineage"), Expected(10, 15));
}

TEST_F(StreamReaderTest, FollowsReshardsMadeWhileReadingLosingNothing) {
  CreateStream("moving", 2);
  constexpr int kKeys = 30;
  constexpr int kRound = 20;  // records per key between reshards
  // Small pages keep the reader behind the writer, so shards are split and
  // merged with records in them still unread.
  ReaderOptions options;
  options.limit = 10;
  Follower follower(options_, "moving", options, size_t{kKeys} * kRound * 4);

  Put("moving", kKeys, 0, kRound);
  ASSERT_TRUE(follower.WaitFor(size_t{kKeys} * kRound / 2));
  Kinesis("SplitShard",
          R"({"StreamName":"moving",)"
          R"("ShardToSplit":"shardId-000000000000",)"
          R"("NewStartingHashKey":"42535295865117307932921825928971026432"})");
  WaitActive("moving");
  Put("moving", kKeys, kRound, kRound);
  ASSERT_TRUE(follower.WaitFor(size_t{kKeys} * kRound * 3 / 2));
  // 3 open shards to 6 and then back to 3: every step a real split or merge.
  Kinesis("UpdateShardCount", R"({"StreamName":"moving","TargetShardCount":6,)"
                              R"("ScalingType":"UNIFORM_SCALING"})");
  WaitActive("moving");
  Put("moving", kKeys, 2 * kRound, kRound);
  Kinesis("UpdateShardCount", R"({"StreamName":"moving","TargetShardCount":3,)"
                              R"("ScalingType":"UNIFORM_SCALING"})");
  WaitActive("moving");
  Put("moving", kKeys, 3 * kRound, kRound);

  ASSERT_TRUE(follower.Join().ok());
  std::vector<ReadRecord> records = follower.records();
  EXPECT_EQ(GroupByKey(records), Expected(kKeys, 4 * kRound));
  std::set<std::pair<std::string, std::string>> seen;
  for (const ReadRecord& record : records) {
    EXPECT_TRUE(seen.insert({record.shard_id, record.sequence_number}).second)
        << "read twice: " << record.shard_id << " " << record.sequence_number;
  }
  EXPECT_GT(ShardIds("moving").size(), 9u);
  EXPECT_GE(follower.reader().stats().shards_finished, 3u);
}

TEST_F(StreamReaderTest, DeaggregatesTheProducersAggregatesInOrderPerKey) {
  CreateStream("kpl", 2);
  constexpr int kKeys = 4;
  constexpr int kPerKey = 500;
  ProducerOptions producer_options;
  producer_options.aggregate = true;
  std::map<std::pair<std::string, uint32_t>, std::string> placed;
  std::mutex mu;
  {
    Producer producer(
        options_, "kpl", producer_options, [&](const PutOutcome& outcome) {
          ASSERT_TRUE(outcome.status.ok());
          std::lock_guard lock(mu);
          placed[{outcome.sequence_number, outcome.subsequence_number}] =
              outcome.partition_key;
        });
    for (int n = 0; n < kPerKey; ++n) {
      for (int key = 0; key < kKeys; ++key) {
        ASSERT_TRUE(
            producer.Put(Named("key-", key), Named(Named("", key) + ":", n))
                .ok());
      }
    }
  }
  ReaderOptions options;
  options.deaggregate = true;
  std::vector<ReadRecord> all;
  EXPECT_EQ(ReadAll("kpl", options, &all), Expected(kKeys, kPerKey));
  // Each user record is where the producer said it put it.
  ASSERT_EQ(all.size(), placed.size());
  bool some_aggregated = false;
  for (const ReadRecord& record : all) {
    ASSERT_TRUE(record.subsequence_number.has_value());
    some_aggregated |= *record.subsequence_number > 0;
    auto where =
        placed.find({record.sequence_number, *record.subsequence_number});
    ASSERT_NE(where, placed.end()) << record.sequence_number;
    EXPECT_EQ(where->second, record.partition_key);
  }
  EXPECT_TRUE(some_aggregated);
  // Without de-aggregation the aggregates come whole, far fewer of them.
  std::vector<ReadRecord> whole;
  ReadAll("kpl", {}, &whole);
  EXPECT_LT(whole.size(), all.size() / 10);
}

TEST_F(StreamReaderTest, HandsOverExplicitHashKeysOfUserRecords) {
  CreateStream("explicit", 1);
  const std::string aggregate = kpl::Aggregate(
      {{"a", std::string("1"), "first"}, {"b", std::nullopt, "second"}});
  auto outcomes = PutRecords(*client_, "explicit", {{"a", aggregate}});
  ASSERT_TRUE(outcomes.ok());
  ReaderOptions options;
  options.deaggregate = true;
  std::vector<ReadRecord> all;
  ReadAll("explicit", options, &all);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].partition_key, "a");
  EXPECT_EQ(all[0].explicit_hash_key, std::optional<std::string>("1"));
  EXPECT_EQ(all[0].data, "first");
  EXPECT_EQ(all[1].partition_key, "b");
  EXPECT_FALSE(all[1].explicit_hash_key.has_value());
  EXPECT_EQ(all[1].subsequence_number, std::optional<uint32_t>(1));
  EXPECT_EQ(all[0].sequence_number, all[1].sequence_number);
}

TEST_F(StreamReaderTest, StartsAtTheTipOrAtATimestamp) {
  CreateStream("times", 2);
  Put("times", 5, 0, 3);
  std::vector<ReadRecord> old;
  ReadAll("times", {}, &old);
  ASSERT_EQ(old.size(), 15u);
  double newest = 0;
  for (const ReadRecord& record : old) {
    newest = std::max(newest, record.approximate_arrival_timestamp);
  }

  ReaderOptions latest;
  latest.start = StartPosition::kLatest;
  EXPECT_TRUE(ReadAll("times", latest).empty());
  {
    Follower follower(options_, "times", latest, 10);
    // Its iterators exist once it has asked each shard once.
    ASSERT_TRUE(follower.WaitForCalls(2));
    // Records put from now on arrive after `newest` (millisecond clock).
    while (std::chrono::duration<double>(
               std::chrono::system_clock::now().time_since_epoch())
               .count() < newest + 0.002) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    Put("times", 5, 3, 2);
    ASSERT_TRUE(follower.Join().ok());
    EXPECT_EQ(GroupByKey(follower.records()).size(), 5u);
    for (const auto& [key, values] : GroupByKey(follower.records())) {
      EXPECT_EQ(values.size(), 2u) << key;
    }
  }

  ReaderOptions since;
  since.start = StartPosition::kAtTimestamp;
  since.timestamp = newest + 0.001;
  ByKey later = ReadAll("times", since);
  ASSERT_EQ(later.size(), 5u);
  for (const auto& [key, values] : later) {
    EXPECT_EQ(values.size(), 2u) << key;
    EXPECT_EQ(values.front().substr(values.front().find(':')), ":3");
  }
}

TEST_F(StreamReaderTest, BacksOffWhenGetRecordsIsThrottled) {
  server_.reset();
  StartServer(/*enforce_limits=*/true);
  CreateStream("narrow", 1);
  Put("narrow", 1, 0, 120);
  // No retries inside the client: each refusal reaches the reader. Small
  // pages make more calls than the shard's 5 per second.
  ClientOptions impatient = options_;
  impatient.max_attempts = 1;
  auto client = ApiClient::Create(impatient);
  ASSERT_TRUE(client.ok());
  ReaderOptions options;
  options.limit = 5;
  options.throttle_base_backoff = std::chrono::milliseconds(20);
  StreamReader reader(**client, "narrow", options);
  std::vector<std::string> values;
  Status status = reader.Run([&](const ReadRecord& record) {
    values.push_back(record.data);
    return true;
  });
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(values, Expected(1, 120)["key-0"]);
  EXPECT_GT(reader.stats().throttled, 0u);
}

TEST_F(StreamReaderTest, RenewsAnExpiredIteratorAfterTheLastRecordHandedOver) {
  CreateStream("slow", 1);
  Put("slow", 3, 0, 20);
  // Every third GetRecords is refused as if its iterator had aged past
  // five minutes.
  int get_records = 0;
  CallFunction expiring = [&](Api api, std::string_view operation,
                              std::string_view body) -> Result<json::Document> {
    if (operation == "GetRecords" && ++get_records % 3 == 0) {
      return Status(ErrorCode::kExpiredIterator, "Iterator expired.");
    }
    return client_->Call(api, operation, body);
  };
  ReaderOptions options;
  options.limit = 7;
  StreamReader reader(expiring, "slow", options);
  ByKey by_key;
  Status status = reader.Run([&](const ReadRecord& record) {
    by_key[record.partition_key].push_back(record.data);
    return true;
  });
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(by_key, Expected(3, 20));
  EXPECT_GT(reader.stats().renewed_iterators, 2u);
}

TEST_F(StreamReaderTest, AnIteratorThatKeepsExpiringIsAnError) {
  CreateStream("stale", 1);
  Put("stale", 1, 0, 1);
  CallFunction always = [&](Api api, std::string_view operation,
                            std::string_view body) -> Result<json::Document> {
    if (operation == "GetRecords") {
      return Status(ErrorCode::kExpiredIterator, "Iterator expired.");
    }
    return client_->Call(api, operation, body);
  };
  StreamReader reader(always, "stale", {});
  Status status = reader.Run([](const ReadRecord&) { return true; });
  EXPECT_EQ(status.code(), ErrorCode::kExpiredIterator);
}

TEST_F(StreamReaderTest, StoppingInsideAnAggregateResumesAtTheNextUserRecord) {
  CreateStream("parts", 1);
  std::vector<kpl::UserRecord> users;
  for (int i = 0; i < 10; ++i) {
    users.push_back({"k", std::nullopt, Named("u", i)});
  }
  const std::string aggregate = kpl::Aggregate(users);
  ASSERT_TRUE(PutRecords(*client_, "parts",
                         {{"k", aggregate}, {"k", "plain"}, {"k", aggregate}})
                  .ok());
  ReaderOptions options;
  options.deaggregate = true;
  StreamReader reader(*client_, "parts", options);
  std::vector<std::string> values;
  // Stops after 3, then 4 more, then reads the rest.
  for (size_t stop_at : {size_t{3}, size_t{7}, size_t{100}}) {
    Status status = reader.Run([&](const ReadRecord& record) {
      values.push_back(record.data);
      return values.size() < stop_at;
    });
    ASSERT_TRUE(status.ok()) << status.ToString();
  }
  std::vector<std::string> expected;
  for (int i = 0; i < 10; ++i) expected.push_back(Named("u", i));
  expected.push_back("plain");
  for (int i = 0; i < 10; ++i) expected.push_back(Named("u", i));
  EXPECT_EQ(values, expected);
}

TEST_F(StreamReaderTest, StopEndsAFollowingRun) {
  CreateStream("quiet", 1);
  Follower follower(options_, "quiet", {}, 1000);
  // Waiting at the tip, asking again every poll interval.
  ASSERT_TRUE(follower.WaitForCalls(2));
  follower.reader().Stop();
  EXPECT_TRUE(follower.Join().ok());
  EXPECT_EQ(follower.count(), 0u);
}

TEST_F(StreamReaderTest, AMissingStreamIsTheServersError) {
  StreamReader reader(*client_, "no-such-stream", {});
  Status status = reader.Run([](const ReadRecord&) { return true; });
  EXPECT_EQ(status.code(), ErrorCode::kResourceNotFound);
}

}  // namespace
}  // namespace sluice::client
