#include "server/kinesis/throughput.h"

#include <gtest/gtest.h>

namespace sluice::kinesis {
namespace {

constexpr EpochMillis kStart = 1'700'000'000'000;

TEST(ShardThroughputTest, AdmitsAThousandRecordsASecondThenRefuses) {
  ShardThroughput shard;
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(shard.AdmitWrite(10, kStart)) << i;
  EXPECT_FALSE(shard.AdmitWrite(10, kStart));
  EXPECT_TRUE(shard.AdmitWrite(10, kStart + 1));  // a millisecond earns one
  EXPECT_FALSE(shard.AdmitWrite(10, kStart + 1));
  EXPECT_TRUE(shard.AdmitWrite(10, kStart + 1000));
}

TEST(ShardThroughputTest, ABigRecordOverdrawsAndThenThrottlesUntilRepaid) {
  ShardThroughput shard;
  EXPECT_TRUE(shard.AdmitWrite(3 * 512 * 1024, kStart));  // overdraws 512 KiB
  EXPECT_FALSE(shard.AdmitWrite(1, kStart));
  EXPECT_FALSE(shard.AdmitWrite(1, kStart + 500));  // repaid, nothing left
  EXPECT_TRUE(shard.AdmitWrite(1, kStart + 501));
}

TEST(ShardThroughputTest, FiveReadsASecond) {
  ShardThroughput shard;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(shard.AdmitRead(kStart));
  EXPECT_FALSE(shard.AdmitRead(kStart));
  EXPECT_TRUE(shard.AdmitRead(kStart + 200));
}

TEST(ShardThroughputTest, ATenMebibyteReadThrottlesForAboutFiveSeconds) {
  ShardThroughput shard;
  ASSERT_TRUE(shard.AdmitRead(kStart));
  shard.ChargeRead(10 * 1024 * 1024, kStart);
  EXPECT_FALSE(shard.AdmitRead(kStart + 3000));
  EXPECT_FALSE(shard.AdmitRead(kStart + 4000));
  EXPECT_TRUE(shard.AdmitRead(kStart + 4600));
}

}  // namespace
}  // namespace sluice::kinesis
