#include "server/kinesis/shard_filter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sluice::kinesis {
namespace {

constexpr EpochMillis kHour = 3600 * 1000;
constexpr EpochMillis kCreated = 1'700'000'000'000;  // the stream's birth

catalog::ShardRecord Shard(uint32_t index, EpochMillis created,
                           std::optional<EpochMillis> closed = std::nullopt) {
  catalog::ShardRecord shard;
  shard.shard_index = index;
  shard.created_at = created;
  if (closed) {
    shard.closed_at = closed;
    shard.ending_sequence_number = "1";
  }
  return shard;
}

// A stream resharded twice: 0 split at +10 h into 1 and 2; 2 split at +30 h
// into 3 and 4. At +40 h with 24 h retention the trim horizon is +16 h, so
// shard 0 (closed at +10 h) has expired.
class ShardFilterTest : public ::testing::Test {
 protected:
  ShardFilterTest()
      : shards_{Shard(0, kCreated, kCreated + 10 * kHour),
                Shard(1, kCreated + 10 * kHour),
                Shard(2, kCreated + 10 * kHour, kCreated + 30 * kHour),
                Shard(3, kCreated + 30 * kHour),
                Shard(4, kCreated + 30 * kHour)} {}

  std::vector<uint32_t> Select(const ShardFilter& filter,
                               std::string_view start = "",
                               EpochMillis now = kCreated + 40 * kHour,
                               int retention_hours = 24) const {
    std::vector<const catalog::ShardRecord*> all;
    for (const catalog::ShardRecord& shard : shards_) all.push_back(&shard);
    std::vector<uint32_t> out;
    for (const catalog::ShardRecord* shard :
         SelectShards(all, filter, start, {now, kCreated, retention_hours})) {
      out.push_back(shard->shard_index);
    }
    return out;
  }

  std::vector<catalog::ShardRecord> shards_;
};

using Indexes = std::vector<uint32_t>;

ShardFilter Filter(ShardFilterType type, std::string shard_id = "",
                   EpochMillis timestamp = 0) {
  return {type, std::move(shard_id), timestamp};
}

TEST_F(ShardFilterTest, ParsesEveryWireNameAndNothingElse) {
  for (std::string_view name :
       {"AFTER_SHARD_ID", "AT_TRIM_HORIZON", "FROM_TRIM_HORIZON", "AT_LATEST",
        "AT_TIMESTAMP", "FROM_TIMESTAMP"}) {
    std::optional<ShardFilterType> type = ParseShardFilterType(name);
    ASSERT_TRUE(type) << name;
    EXPECT_EQ(ToString(*type), name);
  }
  EXPECT_FALSE(ParseShardFilterType("at_latest"));
  EXPECT_FALSE(ParseShardFilterType(""));
}

TEST_F(ShardFilterTest, TrimHorizonIsNowMinusRetentionButNotBeforeCreation) {
  EXPECT_EQ(TrimHorizonOf({kCreated + 40 * kHour, kCreated, 24}),
            kCreated + 16 * kHour);
  EXPECT_EQ(TrimHorizonOf({kCreated + 5 * kHour, kCreated, 24}), kCreated);
}

TEST_F(ShardFilterTest, FromTrimHorizonListsEveryUnexpiredShard) {
  EXPECT_EQ(Select({}), (Indexes{1, 2, 3, 4}));
  // With a week of retention shard 0 still holds data.
  EXPECT_EQ(Select({}, "", kCreated + 40 * kHour, 168),
            (Indexes{0, 1, 2, 3, 4}));
}

TEST_F(ShardFilterTest, AtTrimHorizonListsShardsOpenThen) {
  ShardFilter filter = Filter(ShardFilterType::kAtTrimHorizon);
  EXPECT_EQ(Select(filter), (Indexes{1, 2}));
  // A young stream's trim horizon is its creation: only the first shards.
  EXPECT_EQ(Select(filter, "", kCreated + 5 * kHour), (Indexes{0}));
}

TEST_F(ShardFilterTest, AtLatestListsOpenShards) {
  EXPECT_EQ(Select(Filter(ShardFilterType::kAtLatest)), (Indexes{1, 3, 4}));
}

TEST_F(ShardFilterTest, AfterShardIdListsLaterIds) {
  EXPECT_EQ(
      Select(Filter(ShardFilterType::kAfterShardId, "shardId-000000000002")),
      (Indexes{3, 4}));
  EXPECT_EQ(
      Select(Filter(ShardFilterType::kAfterShardId, "shardId-000000000004")),
      (Indexes{}));
}

TEST_F(ShardFilterTest, AtTimestampListsShardsOpenAtThatInstant) {
  auto at = [&](EpochMillis t) {
    return Select(Filter(ShardFilterType::kAtTimestamp, "", t));
  };
  EXPECT_EQ(at(kCreated + 20 * kHour), (Indexes{1, 2}));
  // At the instant of a split both the parent (its end >= t) and the
  // children (their start <= t) count.
  EXPECT_EQ(at(kCreated + 30 * kHour), (Indexes{1, 2, 3, 4}));
  EXPECT_EQ(at(kCreated + 35 * kHour), (Indexes{1, 3, 4}));
  // Before the trim horizon shard 0 was open, but it has expired.
  EXPECT_EQ(at(kCreated + 1 * kHour), (Indexes{}));
}

TEST_F(ShardFilterTest, FromTimestampListsOpenShardsAndThoseClosedSince) {
  auto from = [&](EpochMillis t) {
    return Select(Filter(ShardFilterType::kFromTimestamp, "", t));
  };
  EXPECT_EQ(from(kCreated + 31 * kHour), (Indexes{1, 3, 4}));
  EXPECT_EQ(from(kCreated + 30 * kHour), (Indexes{1, 2, 3, 4}));
  // Older than the trim horizon: raised to it, so shard 0 stays out.
  EXPECT_EQ(from(kCreated), (Indexes{1, 2, 3, 4}));
}

TEST_F(ShardFilterTest, ExclusiveStartCombinesWithTheFilter) {
  EXPECT_EQ(Select({}, "shardId-000000000001"), (Indexes{2, 3, 4}));
  EXPECT_EQ(Select(Filter(ShardFilterType::kAtLatest), "shardId-000000000001"),
            (Indexes{3, 4}));
}

TEST_F(ShardFilterTest, ResultIsInShardIdOrderWhateverTheInputOrder) {
  std::swap(shards_[1], shards_[4]);
  EXPECT_EQ(Select({}), (Indexes{1, 2, 3, 4}));
}

}  // namespace
}  // namespace sluice::kinesis
