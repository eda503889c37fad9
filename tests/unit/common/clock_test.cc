#include "common/clock.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(EpochMillisFromSecondsTest, KeepsTheMillisecondTheClientMeant) {
  // 1089724113.116 is 1089724113115.99... once multiplied as a double.
  EXPECT_EQ(EpochMillisFromSeconds(1089724113.116), 1089724113116);
  EXPECT_EQ(EpochMillisFromSeconds(1700000000), 1700000000000);
  EXPECT_EQ(EpochMillisFromSeconds(0.001), 1);
  EXPECT_EQ(EpochMillisFromSeconds(-1.5), -1500);
}

TEST(EpochMillisFromSecondsTest, ClampsInstantsTooFarToConvert) {
  EXPECT_EQ(EpochMillisFromSeconds(1e300), 9'000'000'000'000'000'000);
  EXPECT_EQ(EpochMillisFromSeconds(-1e300), -9'000'000'000'000'000'000);
  EXPECT_LT(EpochMillisFromSeconds(1e300), INT64_MAX);
}

}  // namespace
}  // namespace sluice
