#include "common/kpl_aggregation.h"

#include <gtest/gtest.h>

#include "common/md5.h"

namespace sluice::kpl {
namespace {

// Magic + message + MD5(message), written by hand.
std::string Wrap(const std::string& message) {
  std::array<uint8_t, 16> digest = Md5(message);
  return std::string("\xF3\x89\x9A\xC2", 4) + message +
         std::string(reinterpret_cast<const char*>(digest.data()), 16);
}

// AggregatedRecord { partition_key_table: ["a", "b"],
//                    explicit_hash_key_table: ["7"],
//                    records: [{pk 0, data "x"}, {pk 1, ehk 0, data "yz"},
//                              {pk 0, data "", tags [{key "t"}]}] }
// encoded field by field from the .proto in aws-behaviour.md section 5.
const std::string kMessage(
    "\x0a\x01"
    "a"  // 1: partition_key_table "a"
    "\x0a\x01"
    "b"  // 1: partition_key_table "b"
    "\x12\x01"
    "7"  // 2: explicit_hash_key_table "7"
    "\x1a\x05"
    "\x08\x00"
    "\x1a\x01"
    "x"  // 3: record {1: 0, 3: "x"}
    "\x1a\x08"
    "\x08\x01"
    "\x10\x00"
    "\x1a\x02"
    "yz"  // {1: 1, 2: 0, 3: "yz"}
    "\x1a\x09"
    "\x08\x00"
    "\x1a\x00"
    "\x22\x03"
    "\x0a\x01"
    "t",  // tag {1: "t"}
    2 + 1 + 2 + 1 + 2 + 1 + 2 + 5 + 2 + 8 + 2 + 9);

TEST(KplAggregationTest, DeaggregatesWhatTheKplWrites) {
  auto records = Deaggregate(Wrap(kMessage));
  ASSERT_TRUE(records.has_value());
  ASSERT_EQ(records->size(), 3u);
  EXPECT_EQ((*records)[0], (UserRecord{"a", std::nullopt, "x"}));
  EXPECT_EQ((*records)[1], (UserRecord{"b", "7", "yz"}));
  EXPECT_EQ((*records)[2], (UserRecord{"a", std::nullopt, ""}));
}

TEST(KplAggregationTest, AnythingElseIsAnOrdinaryRecord) {
  const std::string good = Wrap(kMessage);
  EXPECT_FALSE(Deaggregate("").has_value());
  EXPECT_FALSE(Deaggregate("{\"plain\": \"json\"}").has_value());
  EXPECT_FALSE(Deaggregate(good.substr(0, 19)).has_value());  // too short
  std::string bad_digest = good;
  bad_digest.back() ^= 1;
  EXPECT_FALSE(Deaggregate(bad_digest).has_value());
  std::string no_magic = good;
  no_magic[0] = 'x';
  EXPECT_FALSE(Deaggregate(no_magic).has_value());
  // Well-framed, right digest, but breaking the message's rules:
  EXPECT_FALSE(Deaggregate(Wrap("\x1a\x03\x1a\x01x")).has_value())
      << "a record without its required partition_key_index";
  EXPECT_FALSE(Deaggregate(Wrap(std::string("\x1a\x05\x08\x01\x1a\x01x", 7)))
                   .has_value())
      << "an index outside the partition key table";
  EXPECT_FALSE(Deaggregate(Wrap("\x0a\x05"
                                "ab"))
                   .has_value())
      << "a length past the end";
}

TEST(KplAggregationTest, AnEmptyAggregateHasNoRecords) {
  auto records = Deaggregate(Wrap(""));
  ASSERT_TRUE(records.has_value());
  EXPECT_TRUE(records->empty());
}

TEST(KplAggregationTest, AggregateRoundTrips) {
  std::vector<UserRecord> records = {
      {"user-1", std::nullopt, "first"},
      {"user-2", "340282366920938463463374607431768211455", "second"},
      {"user-1", std::nullopt, std::string("\0\xff binary", 9)},
      {"user-3", "340282366920938463463374607431768211455",
       std::string(300, 'z')},  // a length that needs two varint bytes
  };
  const std::string aggregated = Aggregate(records);
  EXPECT_EQ(aggregated.substr(0, 4), "\xF3\x89\x9A\xC2");
  auto back = Deaggregate(aggregated);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, records);
  // Each key is written once in its table.
  EXPECT_EQ(aggregated.find("user-1"), aggregated.rfind("user-1"));
}

}  // namespace
}  // namespace sluice::kpl
