#include "server/kinesis/stream_manager.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <thread>

#include "common/sequence_number.h"

namespace sluice::kinesis {
namespace {

constexpr EpochMillis kStart = 1'700'000'000'000;

class StreamManagerTest : public ::testing::Test {
 protected:
  StreamManagerTest() : clock_(kStart) {
    auto catalog = catalog::Catalog::Open(":memory:");
    EXPECT_TRUE(catalog.ok());
    catalog_ = std::move(*catalog);
  }

  std::unique_ptr<StreamManager> NewManager(
      StreamManagerOptions options = {},
      std::unique_ptr<LogFactory> logs = nullptr) {
    options.maintenance_interval = std::chrono::hours(1);  // tests drive it
    auto manager = std::make_unique<StreamManager>(
        *catalog_, logs ? std::move(logs) : NewMemoryLogFactory(), clock_,
        options);
    EXPECT_TRUE(manager->Start().ok());
    return manager;
  }

  static StreamManager::NewStream Provisioned(std::string name,
                                              uint32_t shards) {
    StreamManager::NewStream request;
    request.key = {"000000000000", "us-east-1", std::move(name)};
    request.shard_count = shards;
    return request;
  }

  static storage::RecordToAppend Record(std::string_view key,
                                        std::string_view data) {
    storage::RecordToAppend record;
    record.partition_key = key;
    record.data = data;
    return record;
  }

  ManualClock clock_;
  std::unique_ptr<catalog::Catalog> catalog_;
};

TEST_F(StreamManagerTest, CreatesShardsThatTileTheKeySpace) {
  auto manager = NewManager();
  auto created = manager->CreateStream(Provisioned("orders", 4));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->status, catalog::StreamStatus::kActive);
  auto stream = manager->Find({"000000000000", "us-east-1", "orders"});
  ASSERT_TRUE(stream.ok());
  ASSERT_EQ((*stream)->shards.size(), 4u);
  EXPECT_EQ((*stream)->shards[0].record.hash_key_start, "0");
  EXPECT_EQ((*stream)->shards[3].record.hash_key_end,
            "340282366920938463463374607431768211455");
  for (uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ((*stream)->shards[i].record.shard_index, i);
  }
}

TEST_F(StreamManagerTest, ADuplicateNameIsResourceInUse) {
  auto manager = NewManager();
  ASSERT_TRUE(manager->CreateStream(Provisioned("orders", 1)).ok());
  auto again = manager->CreateStream(Provisioned("orders", 1));
  EXPECT_EQ(again.status(), Status(ErrorCode::kResourceInUse,
                                   "Stream orders under account 000000000000 "
                                   "already exists."));
}

TEST_F(StreamManagerTest, AccountsAndRegionsDoNotSeeEachOther) {
  auto manager = NewManager();
  auto other = Provisioned("orders", 1);
  other.key.account_id = "111111111111";
  ASSERT_TRUE(manager->CreateStream(Provisioned("orders", 1)).ok());
  ASSERT_TRUE(manager->CreateStream(other).ok());
  EXPECT_EQ(manager->List("000000000000", "us-east-1", "", 10).size(), 1u);
  EXPECT_EQ(manager->List("111111111111", "us-east-1", "", 10).size(), 1u);
  EXPECT_TRUE(manager->List("000000000000", "eu-west-1", "", 10).empty());
  EXPECT_EQ(manager->Find({"000000000000", "eu-west-1", "orders"}).status(),
            Status(ErrorCode::kResourceNotFound,
                   "Stream orders under account 000000000000 not found."));
}

TEST_F(StreamManagerTest, TheShardLimitCountsOpenShardsOfTheAccount) {
  StreamManagerOptions options;
  options.shard_limit = 5;
  auto manager = NewManager(options);
  ASSERT_TRUE(manager->CreateStream(Provisioned("a", 3)).ok());
  auto refused = manager->CreateStream(Provisioned("b", 3));
  EXPECT_EQ(
      refused.status(),
      Status(ErrorCode::kLimitExceeded,
             "This request would exceed the shard limit for the account "
             "000000000000 in us-east-1. Current shard count for the "
             "account: 3. Limit: 5. Number of additional shards that would "
             "have resulted from this request: 3. Refer to the AWS Service "
             "Limits page "
             "(http://docs.aws.amazon.com/general/latest/gr/"
             "aws_service_limits.html) for current limits and how to "
             "request higher limits."));
  EXPECT_TRUE(manager->CreateStream(Provisioned("b", 2)).ok());
}

TEST_F(StreamManagerTest, CreatingBecomesActiveOnceTheDelayHasPassed) {
  StreamManagerOptions options;
  options.create_delay = std::chrono::milliseconds(500);
  auto manager = NewManager(options);
  auto created = manager->CreateStream(Provisioned("orders", 1));
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->status, catalog::StreamStatus::kCreating);
  StreamKey key{"000000000000", "us-east-1", "orders"};
  clock_.Advance(499);
  EXPECT_EQ((*manager->Find(key))->record.status,
            catalog::StreamStatus::kCreating);
  clock_.Advance(1);
  EXPECT_EQ((*manager->Find(key))->record.status,
            catalog::StreamStatus::kActive);
  // And the catalog knows it too.
  auto stored = catalog_->FindStream("000000000000", "us-east-1", "orders");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->status, catalog::StreamStatus::kActive);
}

TEST_F(StreamManagerTest, DeletingStreamsVanishAfterTheDelayAndFreeTheName) {
  StreamManagerOptions options;
  options.delete_delay = std::chrono::milliseconds(300);
  auto manager = NewManager(options);
  StreamKey key{"000000000000", "us-east-1", "orders"};
  ASSERT_TRUE(manager->CreateStream(Provisioned("orders", 1)).ok());
  ASSERT_TRUE(manager->DeleteStream(key).ok());
  EXPECT_EQ((*manager->Find(key))->record.status,
            catalog::StreamStatus::kDeleting);
  EXPECT_EQ(manager->CreateStream(Provisioned("orders", 1)).status().code(),
            ErrorCode::kResourceInUse);
  clock_.Advance(300);
  EXPECT_EQ(manager->Find(key).status().code(), ErrorCode::kResourceNotFound);
  EXPECT_TRUE(manager->List("000000000000", "us-east-1", "", 10).empty());
  EXPECT_TRUE(manager->CreateStream(Provisioned("orders", 1)).ok());
}

TEST_F(StreamManagerTest, PutRoutesByPartitionKeyHashAndExplicitHashKey) {
  auto manager = NewManager();
  ASSERT_TRUE(manager->CreateStream(Provisioned("orders", 4)).ok());
  auto stream = manager->Find({"000000000000", "us-east-1", "orders"});
  ASSERT_TRUE(stream.ok());
  // MD5("a") = 16955237001963240173058271559858726497: the first quarter.
  storage::RecordToAppend by_key = Record("a", "x");
  storage::RecordToAppend explicit_last = Record("a", "y");
  std::string last_key = "340282366920938463463374607431768211455";
  explicit_last.explicit_hash_key = last_key;
  std::vector<storage::RecordToAppend> records{by_key, explicit_last};
  std::vector<PutOutcome> outcomes = manager->Put(**stream, records);
  ASSERT_EQ(outcomes.size(), 2u);
  ASSERT_TRUE(outcomes[0].status.ok());
  EXPECT_EQ(outcomes[0].shard_index, 0u);
  EXPECT_EQ(outcomes[1].shard_index, 3u);
  auto parts = DecodeSequenceNumber(outcomes[1].sequence_number);
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->shard_index, 3u);
  EXPECT_EQ(parts->offset, 0u);
}

TEST_F(StreamManagerTest, SequenceNumbersIncreaseWithinAShard) {
  auto manager = NewManager();
  ASSERT_TRUE(manager->CreateStream(Provisioned("orders", 1)).ok());
  auto stream = manager->Find({"000000000000", "us-east-1", "orders"});
  std::string previous;
  for (int i = 0; i < 50; ++i) {
    std::string key = "key" + std::to_string(i % 7);  // outlives the view
    storage::RecordToAppend record = Record(key, "data");
    auto outcome = manager->Put(**stream, {&record, 1});
    ASSERT_TRUE(outcome[0].status.ok());
    const std::string& seq = outcome[0].sequence_number;
    if (!previous.empty()) {
      EXPECT_TRUE(seq.size() > previous.size() ||
                  (seq.size() == previous.size() && seq > previous));
    }
    previous = seq;
  }
}

TEST_F(StreamManagerTest, StreamsShardsAndRecordsSurviveARestart) {
  auto dir = std::filesystem::temp_directory_path() /
             ("sluice-manager-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string catalog_path = (dir / "catalog.db").string();
  std::vector<std::string> sequence_numbers;
  {
    auto catalog = catalog::Catalog::Open(catalog_path);
    ASSERT_TRUE(catalog.ok());
    StreamManager manager(
        **catalog, NewFileLogFactory(dir.string(), storage::FsyncMode::kNever),
        clock_, {});
    ASSERT_TRUE(manager.Start().ok());
    ASSERT_TRUE(manager.CreateStream(Provisioned("orders", 2)).ok());
    auto stream = manager.Find({"000000000000", "us-east-1", "orders"});
    for (int i = 0; i < 20; ++i) {
      std::string key = "k" + std::to_string(i);  // outlives the view
      storage::RecordToAppend record = Record(key, "v");
      auto outcome = manager.Put(**stream, {&record, 1});
      ASSERT_TRUE(outcome[0].status.ok());
      sequence_numbers.push_back(outcome[0].sequence_number);
    }
  }
  std::set<std::string> found;
  {
    auto catalog = catalog::Catalog::Open(catalog_path);
    ASSERT_TRUE(catalog.ok());
    StreamManager manager(
        **catalog, NewFileLogFactory(dir.string(), storage::FsyncMode::kNever),
        clock_, {});
    ASSERT_TRUE(manager.Start().ok());
    auto stream = manager.Find({"000000000000", "us-east-1", "orders"});
    ASSERT_TRUE(stream.ok());
    for (const LiveShard& shard : (*stream)->shards) {
      auto read = shard.log->Read(0, 1000, 1 << 20);
      ASSERT_TRUE(read.ok());
      for (const auto& record : read->records)
        found.insert(record.sequence_number);
    }
  }
  EXPECT_EQ(found, std::set<std::string>(sequence_numbers.begin(),
                                         sequence_numbers.end()));
  std::filesystem::remove_all(dir);
}

TEST_F(StreamManagerTest, UpdatesCanRefuseAndPassThroughUpdating) {
  StreamManagerOptions options;
  options.update_delay = std::chrono::milliseconds(100);
  auto manager = NewManager(options);
  StreamKey key{"000000000000", "us-east-1", "orders"};
  ASSERT_TRUE(manager->CreateStream(Provisioned("orders", 1)).ok());
  Status refused = manager->UpdateStream(key, true, [](catalog::StreamRecord&) {
    return Status(ErrorCode::kInvalidArgument, "no");
  });
  EXPECT_EQ(refused.code(), ErrorCode::kInvalidArgument);
  ASSERT_TRUE(manager
                  ->UpdateStream(key, true,
                                 [](catalog::StreamRecord& r) {
                                   r.retention_hours = 48;
                                   return Status::Ok();
                                 })
                  .ok());
  EXPECT_EQ((*manager->Find(key))->record.status,
            catalog::StreamStatus::kUpdating);
  EXPECT_EQ((*manager->Find(key))->record.retention_hours, 48);
  clock_.Advance(100);
  EXPECT_EQ((*manager->Find(key))->record.status,
            catalog::StreamStatus::kActive);
}

TEST_F(StreamManagerTest, ConcurrentProducersLoseAndDuplicateNothing) {
  auto manager = NewManager();
  ASSERT_TRUE(manager->CreateStream(Provisioned("orders", 3)).ok());
  auto stream = *manager->Find({"000000000000", "us-east-1", "orders"});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string data = std::to_string(t) + ":" + std::to_string(i);
        storage::RecordToAppend record = Record(data, data);
        auto outcome = manager->Put(*stream, {&record, 1});
        EXPECT_TRUE(outcome[0].status.ok());
      }
    });
  }
  for (auto& producer : producers) producer.join();
  std::set<std::string> seen;
  size_t total = 0;
  for (const LiveShard& shard : stream->shards) {
    auto read = shard.log->Read(0, 100000, size_t{1} << 30);
    ASSERT_TRUE(read.ok());
    for (const auto& record : read->records) {
      seen.insert(record.data);
      ++total;
    }
  }
  EXPECT_EQ(total, size_t{kThreads * kPerThread});
  EXPECT_EQ(seen.size(), size_t{kThreads * kPerThread});
}

}  // namespace
}  // namespace sluice::kinesis

namespace sluice::kinesis {
namespace {

TEST_F(StreamManagerTest, EnforcedLimitsThrottleRecordsPerShard) {
  StreamManagerOptions options;
  options.enforce_limits = true;
  auto manager = NewManager(options);
  ASSERT_TRUE(manager->CreateStream(Provisioned("orders", 1)).ok());
  auto stream = *manager->Find({"000000000000", "us-east-1", "orders"});
  std::vector<storage::RecordToAppend> records(1001, Record("k", "v"));
  std::vector<PutOutcome> outcomes = manager->Put(*stream, records);
  for (size_t i = 0; i < 1000; ++i) ASSERT_TRUE(outcomes[i].status.ok()) << i;
  EXPECT_EQ(
      outcomes[1000].status,
      Status(ErrorCode::kProvisionedThroughputExceeded,
             "Rate exceeded for shard shardId-000000000000 in stream orders "
             "under account 000000000000."));
  clock_.Advance(1000);
  storage::RecordToAppend one = Record("k", "v");
  EXPECT_TRUE(manager->Put(*stream, {&one, 1})[0].status.ok());
}

}  // namespace
}  // namespace sluice::kinesis
