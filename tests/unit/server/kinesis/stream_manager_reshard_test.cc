// StreamManager's SplitShard, MergeShards and UpdateShardCount.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server/kinesis/stream_manager.h"

namespace sluice::kinesis {
namespace {

constexpr EpochMillis kStart = 1'700'000'000'000;
const StreamKey kOrders{"000000000000", "us-east-1", "orders"};
constexpr const char* kMax = "340282366920938463463374607431768211455";

// Sequence numbers are decimal numbers without leading zeros.
bool Below(const std::string& a, const std::string& b) {
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

class ReshardTest : public ::testing::Test {
 protected:
  ReshardTest() : clock_(kStart) {
    auto catalog = catalog::Catalog::Open(":memory:");
    EXPECT_TRUE(catalog.ok());
    catalog_ = std::move(*catalog);
  }

  void Start(StreamManagerOptions options = {}, uint32_t shards = 1,
             catalog::StreamMode mode = catalog::StreamMode::kProvisioned) {
    options.maintenance_interval = std::chrono::hours(1);
    manager_ = std::make_unique<StreamManager>(*catalog_, NewMemoryLogFactory(),
                                               clock_, options);
    ASSERT_TRUE(manager_->Start().ok());
    StreamManager::NewStream request;
    request.key = kOrders;
    request.shard_count = shards;
    request.mode = mode;
    ASSERT_TRUE(manager_->CreateStream(request).ok());
  }

  LiveStream& Stream() { return **manager_->Find(kOrders); }

  PutOutcome PutExplicit(const std::string& hash_key) {
    storage::RecordToAppend record;
    record.partition_key = "k";
    record.explicit_hash_key = hash_key;
    record.data = "v";
    return manager_->Put(Stream(), {&record, 1})[0];
  }

  // The open shards' ranges in key order, as "start-end".
  std::vector<std::string> OpenRanges() {
    std::vector<std::pair<std::string, std::string>> open;
    for (const LiveShard& shard : Stream().shards) {
      if (!shard.record.IsOpen()) continue;
      open.push_back({shard.record.hash_key_start, shard.record.hash_key_end});
    }
    std::sort(open.begin(), open.end(), [](const auto& a, const auto& b) {
      return Below(a.first, b.first);
    });
    std::vector<std::string> out;
    for (auto& [start, end] : open) out.push_back(start + "-" + end);
    return out;
  }

  std::vector<std::string> EvenRanges(uint32_t n) {
    std::vector<std::string> out;
    for (const HashKeyRange& r : EvenHashKeyRanges(n))
      out.push_back(ToDecimal(r.start) + "-" + ToDecimal(r.end));
    return out;
  }

  ManualClock clock_;
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<StreamManager> manager_;
};

TEST_F(ReshardTest, SplitClosesTheParentAndOpensTwoChildren) {
  Start();
  auto before = PutExplicit("5");
  ASSERT_TRUE(before.status.ok());
  ASSERT_TRUE(manager_->SplitShard(kOrders, 0, "100").ok());

  LiveStream& stream = Stream();
  ASSERT_EQ(stream.shards.size(), 3u);
  EXPECT_EQ(stream.record.next_shard_index, 3u);
  const catalog::ShardRecord& parent = stream.shards[0].record;
  EXPECT_FALSE(parent.IsOpen());
  EXPECT_EQ(parent.ending_sequence_number, before.sequence_number);
  const catalog::ShardRecord& low = stream.shards[1].record;
  const catalog::ShardRecord& high = stream.shards[2].record;
  EXPECT_EQ(low.hash_key_start, "0");
  EXPECT_EQ(low.hash_key_end, "99");
  EXPECT_EQ(high.hash_key_start, "100");
  EXPECT_EQ(high.hash_key_end, kMax);
  for (const catalog::ShardRecord* child : {&low, &high}) {
    EXPECT_EQ(child->parent_index, 0u);
    EXPECT_EQ(child->adjacent_parent_index, std::nullopt);
    EXPECT_TRUE(child->IsOpen());
    EXPECT_TRUE(
        Below(*parent.ending_sequence_number, child->starting_sequence_number));
    EXPECT_EQ(parent.closed_at, child->created_at);
  }

  // Writes go to the children only, and sort above the parent's.
  auto low_put = PutExplicit("99");
  auto high_put = PutExplicit("100");
  EXPECT_EQ(low_put.shard_index, 1u);
  EXPECT_EQ(high_put.shard_index, 2u);
  EXPECT_TRUE(Below(before.sequence_number, low_put.sequence_number));
  EXPECT_TRUE(Below(before.sequence_number, high_put.sequence_number));
  // The parent's log stays readable.
  auto read = stream.shards[0].log->Read(0, 10, 1 << 20);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->records.size(), 1u);
  EXPECT_TRUE(read->at_tip);
}

TEST_F(ReshardTest, AnEmptyParentEndsAtItsStartingSequenceNumber) {
  Start();
  ASSERT_TRUE(manager_->SplitShard(kOrders, 0, "100").ok());
  const catalog::ShardRecord& parent = Stream().shards[0].record;
  EXPECT_EQ(parent.ending_sequence_number, parent.starting_sequence_number);
}

TEST_F(ReshardTest, MergeJoinsAdjacentShardsIntoOneChild) {
  Start({}, 2);
  ASSERT_TRUE(manager_->MergeShards(kOrders, 1, 0).ok());
  LiveStream& stream = Stream();
  ASSERT_EQ(stream.shards.size(), 3u);
  EXPECT_FALSE(stream.shards[0].record.IsOpen());
  EXPECT_FALSE(stream.shards[1].record.IsOpen());
  const catalog::ShardRecord& child = stream.shards[2].record;
  EXPECT_EQ(child.parent_index, 1u);
  EXPECT_EQ(child.adjacent_parent_index, 0u);
  EXPECT_EQ(child.hash_key_start, "0");
  EXPECT_EQ(child.hash_key_end, kMax);
  EXPECT_TRUE(Below(stream.shards[1].record.starting_sequence_number,
                    child.starting_sequence_number));
  EXPECT_EQ(PutExplicit("0").shard_index, 2u);
  EXPECT_EQ(PutExplicit(kMax).shard_index, 2u);
}

TEST_F(ReshardTest, SplitRefusesKeysOutsideTheShardWithAwsWording) {
  Start();
  EXPECT_EQ(manager_->SplitShard(kOrders, 0, "1"),
            Status(ErrorCode::kInvalidArgument,
                   "NewStartingHashKey 1 used in SplitShard() on shard "
                   "shardId-000000000000 in stream orders under account "
                   "000000000000 is not both greater than one plus the "
                   "shard's StartingHashKey 0 and less than the shard's "
                   "EndingHashKey " +
                       std::string(kMax) + "."));
  EXPECT_EQ(manager_->SplitShard(kOrders, 0, kMax).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_TRUE(manager_->SplitShard(kOrders, 0, "2").ok());
}

TEST_F(ReshardTest, ClosedUnknownAndNonAdjacentShardsAreRefused) {
  Start({}, 3);
  EXPECT_EQ(manager_->MergeShards(kOrders, 0, 2),
            Status(ErrorCode::kInvalidArgument,
                   "Shards shardId-000000000000 and shardId-000000000002 in "
                   "stream orders under account 000000000000 are not an "
                   "adjacent pair of shards eligible for merging"));
  EXPECT_EQ(manager_->MergeShards(kOrders, 0, 0).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(manager_->SplitShard(kOrders, 7, "100"),
            Status(ErrorCode::kResourceNotFound,
                   "Could not find shard shardId-000000000007 in stream "
                   "orders under account 000000000000."));
  ASSERT_TRUE(manager_->MergeShards(kOrders, 0, 1).ok());
  EXPECT_EQ(manager_->SplitShard(kOrders, 0, "100"),
            Status(ErrorCode::kInvalidArgument,
                   "Shard shardId-000000000000 in stream orders under account "
                   "000000000000 has already been merged or split, and thus "
                   "is not eligible for merging or splitting."));
  EXPECT_EQ(manager_->MergeShards(kOrders, 3, 1).code(),
            ErrorCode::kInvalidArgument);
}

TEST_F(ReshardTest, ReshardingPassesThroughUpdating) {
  StreamManagerOptions options;
  options.update_delay = std::chrono::milliseconds(100);
  Start(options, 2);
  ASSERT_TRUE(manager_->MergeShards(kOrders, 0, 1).ok());
  EXPECT_EQ(Stream().record.status, catalog::StreamStatus::kUpdating);
  EXPECT_EQ(manager_->SplitShard(kOrders, 2, "100"),
            Status(ErrorCode::kResourceInUse,
                   "Stream orders under account 000000000000 not ACTIVE, "
                   "instead in state UPDATING"));
  EXPECT_EQ(manager_->UpdateShardCount(kOrders, 2).status().code(),
            ErrorCode::kResourceInUse);
  clock_.Advance(100);
  EXPECT_EQ(Stream().record.status, catalog::StreamStatus::kActive);
  EXPECT_TRUE(manager_->SplitShard(kOrders, 2, "100").ok());
}

TEST_F(ReshardTest, OnDemandStreamsCannotBeResharded) {
  Start({}, 4, catalog::StreamMode::kOnDemand);
  EXPECT_EQ(manager_->SplitShard(kOrders, 0, "100").code(),
            ErrorCode::kValidation);
  EXPECT_EQ(manager_->UpdateShardCount(kOrders, 2).status().code(),
            ErrorCode::kValidation);
}

TEST_F(ReshardTest, SplitsCountAgainstTheShardLimit) {
  StreamManagerOptions options;
  options.shard_limit = 1;
  Start(options);
  EXPECT_EQ(manager_->SplitShard(kOrders, 0, "100").code(),
            ErrorCode::kLimitExceeded);
}

TEST_F(ReshardTest, UpdateShardCountReachesEvenRangesUpAndDown) {
  Start({}, 2);
  for (uint32_t target : {4u, 3u, 5u, 7u, 4u, 2u, 1u, 2u}) {
    uint32_t open_before = static_cast<uint32_t>(OpenRanges().size());
    auto current = manager_->UpdateShardCount(kOrders, target);
    ASSERT_TRUE(current.ok()) << target << ": " << current.status().ToString();
    EXPECT_EQ(*current, open_before);
    EXPECT_EQ(OpenRanges(), EvenRanges(target)) << target;
  }
  // Every child names parents that exist and are closed, and starts above
  // them.
  LiveStream& stream = Stream();
  EXPECT_EQ(stream.record.next_shard_index, stream.shards.size());
  for (const LiveShard& shard : stream.shards) {
    for (std::optional<uint32_t> p :
         {shard.record.parent_index, shard.record.adjacent_parent_index}) {
      if (!p) continue;
      const catalog::ShardRecord& parent = stream.shards[*p].record;
      EXPECT_FALSE(parent.IsOpen());
      EXPECT_TRUE(Below(*parent.ending_sequence_number,
                        shard.record.starting_sequence_number));
    }
  }
}

TEST_F(ReshardTest, UpdateShardCountKeepsToHalfAndDouble) {
  Start({}, 4);
  EXPECT_EQ(manager_->UpdateShardCount(kOrders, 9).status(),
            Status(ErrorCode::kLimitExceeded,
                   "UpdateShardCount cannot scale up over double your current "
                   "open shard count. Current open shard count: 4, Target "
                   "shard count: 9"));
  EXPECT_EQ(manager_->UpdateShardCount(kOrders, 1).status(),
            Status(ErrorCode::kLimitExceeded,
                   "UpdateShardCount cannot scale down below half your "
                   "current open shard count. Current open shard count: 4, "
                   "Target shard count: 1"));
  EXPECT_EQ(manager_->UpdateShardCount(kOrders, 10001).status().code(),
            ErrorCode::kLimitExceeded);
  EXPECT_TRUE(manager_->UpdateShardCount(kOrders, 8).ok());
}

TEST_F(ReshardTest, RecordsPutDuringReshardingLandInExactlyOneShard) {
  Start({}, 2);
  constexpr int kProducers = 4;
  constexpr int kEach = 300;
  std::vector<std::vector<PutOutcome>> acked(kProducers);
  std::vector<std::thread> producers;
  LiveStream& stream = Stream();
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kEach; ++i) {
        std::string key = std::to_string(p) + "-" + std::to_string(i);
        storage::RecordToAppend record;
        record.partition_key = key;
        record.data = key;
        acked[p].push_back(manager_->Put(stream, {&record, 1})[0]);
      }
    });
  }
  for (uint32_t target : {4u, 3u, 6u, 3u}) {
    EXPECT_TRUE(manager_->UpdateShardCount(kOrders, target).ok());
  }
  for (std::thread& t : producers) t.join();

  std::map<std::string, uint32_t> stored;  // sequence number -> shard
  for (const LiveShard& shard : stream.shards) {
    auto read = shard.log->Read(0, 100000, size_t{1} << 30);
    ASSERT_TRUE(read.ok());
    for (const storage::StoredRecord& record : read->records) {
      EXPECT_TRUE(
          stored.emplace(record.sequence_number, shard.record.shard_index)
              .second);
      if (!shard.record.IsOpen()) {
        EXPECT_FALSE(Below(*shard.record.ending_sequence_number,
                           record.sequence_number));
      }
    }
  }
  size_t count = 0;
  for (const auto& outcomes : acked) {
    for (const PutOutcome& outcome : outcomes) {
      ASSERT_TRUE(outcome.status.ok());
      EXPECT_EQ(stored.at(outcome.sequence_number), outcome.shard_index);
      ++count;
    }
  }
  EXPECT_EQ(stored.size(), count);
}

TEST_F(ReshardTest, ClosedShardLineageSurvivesARestart) {
  Start({}, 2);
  ASSERT_TRUE(manager_->SplitShard(kOrders, 0, "100").ok());
  ASSERT_TRUE(manager_->MergeShards(kOrders, 3, 1).ok());
  std::vector<catalog::ShardRecord> before;
  for (const LiveShard& shard : Stream().shards) before.push_back(shard.record);
  manager_.reset();
  manager_ = std::make_unique<StreamManager>(*catalog_, NewMemoryLogFactory(),
                                             clock_, StreamManagerOptions{});
  ASSERT_TRUE(manager_->Start().ok());
  std::vector<catalog::ShardRecord> after;
  for (const LiveShard& shard : Stream().shards) after.push_back(shard.record);
  EXPECT_EQ(after, before);
  EXPECT_EQ(Stream().record.next_shard_index, 5u);
  EXPECT_EQ(PutExplicit("99").shard_index, 2u);
  EXPECT_EQ(PutExplicit(kMax).shard_index, 4u);
}

}  // namespace
}  // namespace sluice::kinesis
