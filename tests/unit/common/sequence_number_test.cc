#include "common/sequence_number.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "common/uint192.h"

namespace sluice {
namespace {

// Values cross-checked with Python's arbitrary-precision integers.
constexpr char kSample[] =
    "49646437577264581633306590782740868696636573821060513906";
const SequenceNumberParts kSampleParts{.shard_creation_seconds = 1700000000,
                                       .shard_index = 7,
                                       .offset = 12345,
                                       .arrival_seconds = 1700000123};

TEST(Uint192Test, DecimalRoundTripsAtTheEdges) {
  for (std::string text :
       {"0", "1", "18446744073709551615", "18446744073709551616",
        "10000000000000000000", "9999999999999999999",
        "6277101735386680763835789423207666416102355444464034512895"}) {
    std::optional<Uint192> n = Uint192::FromDecimal(text);
    ASSERT_TRUE(n) << text;
    EXPECT_EQ(n->ToDecimal(), text);
  }
}

TEST(Uint192Test, RejectsOverflowLeadingZerosAndNonDigits) {
  EXPECT_FALSE(Uint192::FromDecimal(
      "6277101735386680763835789423207666416102355444464034512896"));
  EXPECT_FALSE(Uint192::FromDecimal("01"));
  EXPECT_FALSE(Uint192::FromDecimal(""));
  EXPECT_FALSE(Uint192::FromDecimal("12a"));
  EXPECT_FALSE(Uint192::FromDecimal("-1"));
}

TEST(Uint192Test, BitFieldsCrossWordBoundaries) {
  Uint192 n;
  n.SetBits(60, 36, 0xABCDEF123);
  n.SetBits(144, 4, 0xF);
  EXPECT_EQ(n.GetBits(60, 36), 0xABCDEF123u);
  EXPECT_EQ(n.GetBits(144, 4), 0xFu);
  EXPECT_EQ(n.GetBits(0, 60), 0u);
}

TEST(SequenceNumberTest, EncodesTheKclLayout) {
  std::string text = EncodeSequenceNumber(kSampleParts);
  EXPECT_EQ(text, kSample);
  EXPECT_EQ(text.size(), 56u);
}

TEST(SequenceNumberTest, DecodesWhatItEncodes) {
  std::optional<SequenceNumberParts> parts = DecodeSequenceNumber(kSample);
  ASSERT_TRUE(parts);
  EXPECT_EQ(*parts, kSampleParts);

  SequenceNumberParts max{.shard_creation_seconds = (uint64_t{1} << 36) - 1,
                          .shard_index = 0xFFFFFFFF,
                          .offset = ~uint64_t{0},
                          .arrival_seconds = (uint64_t{1} << 36) - 1};
  EXPECT_EQ(DecodeSequenceNumber(EncodeSequenceNumber(max)), max);
}

TEST(SequenceNumberTest, SortsLikeOffsetsAsNumbersAndStrings) {
  SequenceNumberParts parts = kSampleParts;
  std::string previous = EncodeSequenceNumber(parts);
  for (uint64_t offset : {uint64_t{12346}, uint64_t{1} << 32, ~uint64_t{0}}) {
    parts.offset = offset;
    parts.arrival_seconds = 0;  // arrival sits below the offset: no effect
    std::string next = EncodeSequenceNumber(parts);
    ASSERT_EQ(next.size(), previous.size());  // so string order = number order
    EXPECT_LT(previous, next);
    previous = next;
  }
}

TEST(SequenceNumberFormatterTest, MatchesTheEncoderForRunsAndJumps) {
  SequenceNumberFormatter formatter(kSampleParts.shard_creation_seconds,
                                    kSampleParts.shard_index);
  SequenceNumberParts parts = kSampleParts;
  // Runs of consecutive offsets in one second, jumps, a new second, a run
  // through a decimal carry chain, and the top of the offset range.
  std::vector<std::pair<uint64_t, uint64_t>> cases;
  for (uint64_t offset = 0; offset < 300; ++offset) {
    cases.push_back({offset, 1700000000 + offset / 100});
  }
  for (uint64_t offset = 999990; offset < 1000010; ++offset) {
    cases.push_back({offset, 1700000500});
  }
  cases.push_back({~uint64_t{0} - 1, 1700000600});
  cases.push_back({~uint64_t{0}, 1700000600});
  cases.push_back({0, 1700000600});
  cases.push_back({1, (uint64_t{1} << 40) + 5});  // arrival wider than 36 bits
  for (auto [offset, arrival] : cases) {
    parts.offset = offset;
    parts.arrival_seconds = arrival;
    SequenceNumberParts stored = parts;
    stored.arrival_seconds &= (uint64_t{1} << 36) - 1;
    ASSERT_EQ(formatter.Format(offset, arrival), EncodeSequenceNumber(stored))
        << "offset " << offset;
  }
}

TEST(SequenceNumberTest, RejectsForeignValues) {
  EXPECT_FALSE(DecodeSequenceNumber(""));
  EXPECT_FALSE(DecodeSequenceNumber("0"));
  EXPECT_FALSE(DecodeSequenceNumber("12345"));  // version 0
  EXPECT_FALSE(DecodeSequenceNumber(std::string("0") + kSample));
  EXPECT_FALSE(DecodeSequenceNumber(std::string(kSample) + "x"));
  EXPECT_FALSE(DecodeSequenceNumber(std::string(kSample) + "0"));  // version
  // A real AWS number from another layout: the version nibble is 2 but the
  // low nibble is not, so it cannot be ours.
  EXPECT_FALSE(DecodeSequenceNumber(
      "49646437577264581633306590782740868696636573821060513907"));
  // Shard-index nibble that disagrees with the index (index 7, nibble 8).
  Uint192 n = *Uint192::FromDecimal(kSample);
  n.SetBits(144, 4, 0xF);  // ORs: nibble becomes 0xF, index stays 7
  EXPECT_FALSE(DecodeSequenceNumber(n.ToDecimal()));
  EXPECT_FALSE(DecodeSequenceNumber(
      "6277101735386680763835789423207666416102355444464034512895"));
}

}  // namespace
}  // namespace sluice
