#include "common/hash_key.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice {
namespace {

constexpr std::string_view kMaxDecimal =
    "340282366920938463463374607431768211455";

std::string Parsed(std::string_view decimal) {
  std::optional<HashKey> key = ParseHashKey(decimal);
  return key ? ToDecimal(*key) : "nullopt";
}

TEST(HashKeyTest, ParsesEveryValueFromZeroToTwoTo128MinusOne) {
  EXPECT_EQ(Parsed("0"), "0");
  EXPECT_EQ(Parsed("1"), "1");
  EXPECT_EQ(Parsed("18446744073709551616"), "18446744073709551616");  // 2^64
  EXPECT_EQ(Parsed(kMaxDecimal), kMaxDecimal);
  EXPECT_EQ(ParseHashKey(kMaxDecimal), kMaxHashKey);
}

TEST(HashKeyTest, RejectsTwoTo128AndAbove) {
  EXPECT_EQ(Parsed("340282366920938463463374607431768211456"), "nullopt");
  EXPECT_EQ(Parsed("340282366920938463463374607431768211460"), "nullopt");
  EXPECT_EQ(Parsed("999999999999999999999999999999999999999"), "nullopt");
  EXPECT_EQ(Parsed("1000000000000000000000000000000000000000"), "nullopt");
}

TEST(HashKeyTest, RejectsAnythingButPlainDecimalDigits) {
  EXPECT_EQ(Parsed(""), "nullopt");
  EXPECT_EQ(Parsed("01"), "nullopt");
  EXPECT_EQ(Parsed("00"), "nullopt");
  EXPECT_EQ(Parsed("+1"), "nullopt");
  EXPECT_EQ(Parsed("-1"), "nullopt");
  EXPECT_EQ(Parsed(" 1"), "nullopt");
  EXPECT_EQ(Parsed("1 "), "nullopt");
  EXPECT_EQ(Parsed("1e3"), "nullopt");
  EXPECT_EQ(Parsed("0x10"), "nullopt");
  EXPECT_EQ(Parsed("1.0"), "nullopt");
  EXPECT_EQ(Parsed("١"), "nullopt");  // Arabic-Indic digit one
}

TEST(HashKeyTest, PrintsDecimalWithoutLeadingZeros) {
  EXPECT_EQ(ToDecimal(0), "0");
  EXPECT_EQ(ToDecimal(10), "10");
  EXPECT_EQ(ToDecimal(kMaxHashKey), kMaxDecimal);
}

TEST(HashKeyTest, RoutesPartitionKeyByBigEndianMd5) {
  // MD5("a") = 0cc175b9c0f1b6a831c399e269772661 (aws-behaviour.md 2.2).
  EXPECT_EQ(ToDecimal(HashKeyForPartitionKey("a")),
            "16955237001963240173058271559858726497");
  EXPECT_EQ(ToDecimal(HashKeyForPartitionKey("")),
            "281949768489412648962353822266799178366");
  // UTF-8 bytes of the euro sign, e2 82 ac; value from Python's hashlib.
  EXPECT_EQ(ToDecimal(HashKeyForPartitionKey("\xe2\x82\xac")),
            "250752887591472196339670448948845824634");
}

std::vector<std::pair<std::string, std::string>> Decimal(
    const std::vector<HashKeyRange>& ranges) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const HashKeyRange& range : ranges) {
    out.emplace_back(ToDecimal(range.start), ToDecimal(range.end));
  }
  return out;
}

TEST(EvenHashKeyRangesTest, SplitsFourShardsLikeAws) {
  std::vector<std::pair<std::string, std::string>> expected = {
      {"0", "85070591730234615865843651857942052863"},
      {"85070591730234615865843651857942052864",
       "170141183460469231731687303715884105727"},
      {"170141183460469231731687303715884105728",
       "255211775190703847597530955573826158591"},
      {"255211775190703847597530955573826158592",
       "340282366920938463463374607431768211455"}};
  EXPECT_EQ(Decimal(EvenHashKeyRanges(4)), expected);
}

TEST(EvenHashKeyRangesTest, GivesOneShardTheWholeSpace) {
  std::vector<std::pair<std::string, std::string>> expected = {
      {"0", "340282366920938463463374607431768211455"}};
  EXPECT_EQ(Decimal(EvenHashKeyRanges(1)), expected);
}

TEST(EvenHashKeyRangesTest, GivesTheRemainderToTheLastShard) {
  // floor(2^128 / 3) = 113427455640312821154458202477256070485; 2^128 leaves
  // remainder 1, which the last shard takes.
  std::vector<std::pair<std::string, std::string>> expected = {
      {"0", "113427455640312821154458202477256070484"},
      {"113427455640312821154458202477256070485",
       "226854911280625642308916404954512140969"},
      {"226854911280625642308916404954512140970",
       "340282366920938463463374607431768211455"}};
  EXPECT_EQ(Decimal(EvenHashKeyRanges(3)), expected);
}

TEST(EvenHashKeyRangesTest, IsEmptyForZeroShards) {
  EXPECT_TRUE(EvenHashKeyRanges(0).empty());
}

TEST(EvenHashKeyRangesTest, TilesTheKeySpaceWithoutGapsForUpTo1000Shards) {
  for (uint32_t n = 1; n <= 1000; ++n) {
    std::vector<HashKeyRange> ranges = EvenHashKeyRanges(n);
    ASSERT_EQ(ranges.size(), n);
    EXPECT_EQ(ranges.front().start, HashKey{0}) << n;
    EXPECT_EQ(ranges.back().end, kMaxHashKey) << n;
    // floor(2^128 / n) for every shard but the last, which may be longer by
    // the remainder (less than n).
    HashKey step = ranges.front().end + 1;
    for (uint32_t i = 0; i < n; ++i) {
      ASSERT_LE(ranges[i].start, ranges[i].end) << n << " " << i;
      if (i + 1 < n) {
        ASSERT_EQ(ranges[i + 1].start, ranges[i].end + 1) << n << " " << i;
        ASSERT_EQ(ranges[i].end - ranges[i].start + 1, step) << n << " " << i;
      } else if (n > 1) {
        HashKey extra = ranges[i].end - ranges[i].start + 1 - step;
        ASSERT_LT(extra, HashKey{n}) << n;
      }
    }
  }
}

TEST(HashKeyRangeTest, ContainsBothEnds) {
  HashKeyRange range{10, 20};
  EXPECT_FALSE(range.Contains(9));
  EXPECT_TRUE(range.Contains(10));
  EXPECT_TRUE(range.Contains(20));
  EXPECT_FALSE(range.Contains(21));
}

TEST(HashKeyTest, InvalidExplicitHashKeyQuotesTheValueAsSent) {
  Status s = InvalidExplicitHashKey("01");
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: "
            "[0, 2^128-1]. Specified value was 01");
}

}  // namespace
}  // namespace sluice
