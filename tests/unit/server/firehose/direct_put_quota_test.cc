// DirectPutQuota lives in delivery_stream_manager.h.
#include <gtest/gtest.h>

#include "server/firehose/delivery_stream_manager.h"

namespace sluice::firehose {
namespace {

constexpr EpochMillis kStart = 1'700'000'000'000;

TEST(DirectPutQuotaTest, AdmitsFiveMiBThenRefillsWithTime) {
  ManualClock clock(kStart);
  DirectPutQuota quota(2000, 5000, 5.0 * 1024 * 1024);
  const size_t mib = 1024 * 1024;
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(quota.AdmitRecord(mib, clock.NowMillis())) << i;
  }
  EXPECT_FALSE(quota.AdmitRecord(1, clock.NowMillis()));
  clock.Advance(100);  // 0.5 MiB back
  EXPECT_FALSE(quota.AdmitRecord(mib, clock.NowMillis()));
  EXPECT_TRUE(quota.AdmitRecord(mib / 2, clock.NowMillis()));
  clock.Advance(1000);
  EXPECT_TRUE(quota.AdmitRecord(mib, clock.NowMillis()));
}

TEST(DirectPutQuotaTest, AdmitsFiveThousandRecordsAndTwoThousandRequests) {
  ManualClock clock(kStart);
  DirectPutQuota quota(2000, 5000, 5.0 * 1024 * 1024);
  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE(quota.AdmitRecord(1, clock.NowMillis())) << i;
  }
  EXPECT_FALSE(quota.AdmitRecord(1, clock.NowMillis()));
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(quota.AdmitRequest(clock.NowMillis())) << i;
  }
  EXPECT_FALSE(quota.AdmitRequest(clock.NowMillis()));
  clock.Advance(1);  // 5 records and 2 requests per millisecond
  EXPECT_TRUE(quota.AdmitRequest(clock.NowMillis()));
  EXPECT_TRUE(quota.AdmitRecord(1, clock.NowMillis()));
}

TEST(DirectPutQuotaTest, ARecordRefusedForBytesKeepsItsRecordToken) {
  ManualClock clock(kStart);
  DirectPutQuota quota(2000, 5000, 5.0 * 1024 * 1024);
  // Far over the byte bucket: refused, and no record token is spent.
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(quota.AdmitRecord(6u << 20, clock.NowMillis()));
  }
  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE(quota.AdmitRecord(1, clock.NowMillis())) << i;
  }
}

}  // namespace
}  // namespace sluice::firehose
