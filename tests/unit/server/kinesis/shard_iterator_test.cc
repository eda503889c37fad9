#include "server/kinesis/shard_iterator.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::kinesis {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr EpochMillis kCreated = 1421889722000;  // Thu Jan 22 01:22:02 UTC 2015

std::string Key(char fill) { return std::string(kShardIteratorKeyBytes, fill); }

IteratorPosition Position() {
  return {.stream_id = 42,
          .shard_index = 7,
          .offset = 123456789012,
          .created_at = kCreated};
}

// "InvalidArgumentException: Invalid ShardIterator." or "OK".
std::string Outcome(const Result<IteratorPosition>& result) {
  return result.ok() ? "OK" : result.status().ToString();
}

constexpr std::string_view kInvalid =
    "InvalidArgumentException: Invalid ShardIterator.";

class ShardIteratorTest : public ::testing::Test {
 protected:
  ManualClock clock_{kCreated};
  ShardIteratorCodec codec_{Key('k'), clock_};
};

TEST_F(ShardIteratorTest, DecodesWhatItEncoded) {
  Result<IteratorPosition> decoded = codec_.Decode(codec_.Encode(Position()));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, Position());
}

TEST_F(ShardIteratorTest, RoundTripsExtremeValues) {
  IteratorPosition low{.stream_id = INT64_MIN,
                       .shard_index = 0,
                       .offset = 0,
                       .created_at = kCreated};
  IteratorPosition high{.stream_id = INT64_MAX,
                        .shard_index = UINT32_MAX,
                        .offset = UINT64_MAX,
                        .created_at = kCreated};
  EXPECT_EQ(*codec_.Decode(codec_.Encode(low)), low);
  EXPECT_EQ(*codec_.Decode(codec_.Encode(high)), high);
}

TEST_F(ShardIteratorTest, IsShortStandardBase64LikeAws) {
  std::string iterator = codec_.Encode(Position());
  EXPECT_LE(iterator.size(), kMaxShardIteratorLength);
  EXPECT_EQ(iterator.size(), 64u);
  EXPECT_EQ(iterator.find_first_not_of(kAlphabet), std::string::npos);
  EXPECT_EQ(iterator.rfind("AAAAAAAAAA", 0), 0u);
}

TEST_F(ShardIteratorTest, DiffersForEveryBoundField) {
  std::string base = codec_.Encode(Position());
  IteratorPosition p = Position();
  p.stream_id = 43;
  EXPECT_NE(codec_.Encode(p), base);
  p = Position();
  p.shard_index = 8;
  EXPECT_NE(codec_.Encode(p), base);
  p = Position();
  p.offset = 123456789013;
  EXPECT_NE(codec_.Encode(p), base);
  p = Position();
  p.created_at = kCreated + 1;
  EXPECT_NE(codec_.Encode(p), base);
}

TEST_F(ShardIteratorTest, RejectsAnySingleChangedCharacter) {
  std::string iterator = codec_.Encode(Position());
  std::string replacements = std::string(kAlphabet) + "=-_ \"";
  for (size_t i = 0; i < iterator.size(); ++i) {
    for (char c : replacements) {
      if (c == iterator[i]) continue;
      std::string changed = iterator;
      changed[i] = c;
      ASSERT_EQ(Outcome(codec_.Decode(changed)), kInvalid)
          << "position " << i << " set to " << c;
    }
  }
}

TEST_F(ShardIteratorTest, RejectsTruncatedAndExtendedIterators) {
  std::string iterator = codec_.Encode(Position());
  for (size_t length = 0; length < iterator.size(); ++length) {
    ASSERT_EQ(Outcome(codec_.Decode(iterator.substr(0, length))), kInvalid)
        << length;
  }
  EXPECT_EQ(Outcome(codec_.Decode(iterator + "AAAA")), kInvalid);
  EXPECT_EQ(Outcome(codec_.Decode(iterator + "=")), kInvalid);
  EXPECT_EQ(Outcome(codec_.Decode(iterator.substr(4))), kInvalid);
}

TEST_F(ShardIteratorTest, RejectsIteratorsMadeUnderAnotherKey) {
  ShardIteratorCodec other(Key('o'), clock_);
  EXPECT_EQ(Outcome(codec_.Decode(other.Encode(Position()))), kInvalid);
  EXPECT_EQ(Outcome(other.Decode(codec_.Encode(Position()))), kInvalid);
}

TEST_F(ShardIteratorTest, SurvivesARestartThatKeepsTheKey) {
  std::string iterator = codec_.Encode(Position());
  ShardIteratorCodec restarted(Key('k'), clock_);
  EXPECT_EQ(Outcome(restarted.Decode(iterator)), "OK");
}

TEST_F(ShardIteratorTest, RejectsStringsThatAreNotIterators) {
  EXPECT_EQ(Outcome(codec_.Decode("")), kInvalid);
  EXPECT_EQ(Outcome(codec_.Decode("not an iterator")), kInvalid);
  EXPECT_EQ(Outcome(codec_.Decode(std::string(64, 'A'))), kInvalid);
  EXPECT_EQ(Outcome(codec_.Decode(std::string(512, 'A'))), kInvalid);
}

TEST_F(ShardIteratorTest, WorksForExactly300000Milliseconds) {
  std::string iterator = codec_.Encode(Position());
  clock_.Set(kCreated + kShardIteratorLifetimeMillis);
  EXPECT_EQ(Outcome(codec_.Decode(iterator)), "OK");
}

TEST_F(ShardIteratorTest, ExpiresOneMillisecondLaterWithAwsMessage) {
  std::string iterator = codec_.Encode(Position());
  clock_.Set(kCreated + kShardIteratorLifetimeMillis + 1);
  Result<IteratorPosition> decoded = codec_.Decode(iterator);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), ErrorCode::kExpiredIterator);
  EXPECT_EQ(decoded.status().message(),
            "Iterator expired. The iterator was created at time Thu Jan 22 "
            "01:22:02 UTC 2015 while right now it is Thu Jan 22 01:27:02 UTC "
            "2015 which is further in the future than the tolerated delay of "
            "300000 milliseconds.");
}

TEST_F(ShardIteratorTest, ReportsTamperingBeforeExpiry) {
  std::string iterator = codec_.Encode(Position());
  iterator[20] = iterator[20] == 'A' ? 'B' : 'A';
  clock_.Advance(24 * 3600 * 1000);
  EXPECT_EQ(Outcome(codec_.Decode(iterator)), kInvalid);
}

TEST_F(ShardIteratorTest, AcceptsAnIteratorFromAClockThatSteppedBack) {
  std::string iterator = codec_.Encode(Position());
  clock_.Set(kCreated - 60000);
  EXPECT_EQ(Outcome(codec_.Decode(iterator)), "OK");
}

TEST(NewShardIteratorKeyTest, GivesADifferentFullLengthKeyEachTime) {
  std::string a = NewShardIteratorKey();
  std::string b = NewShardIteratorKey();
  EXPECT_EQ(a.size(), kShardIteratorKeyBytes);
  EXPECT_NE(a, b);
}

TEST(JavaUtcDateStringTest, PrintsLikeJavaDateToStringInUtc) {
  EXPECT_EQ(JavaUtcDateString(0), "Thu Jan 01 00:00:00 UTC 1970");
  EXPECT_EQ(JavaUtcDateString(kCreated), "Thu Jan 22 01:22:02 UTC 2015");
  EXPECT_EQ(JavaUtcDateString(1709251199999), "Thu Feb 29 23:59:59 UTC 2024");
  EXPECT_EQ(JavaUtcDateString(-1), "Wed Dec 31 23:59:59 UTC 1969");
}

}  // namespace
}  // namespace sluice::kinesis
