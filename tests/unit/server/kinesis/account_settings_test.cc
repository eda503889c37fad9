#include "server/kinesis/account_settings.h"

#include <gtest/gtest.h>

namespace sluice::kinesis {
namespace {

constexpr EpochMillis kNow = 1'700'000'000'000;
constexpr EpochMillis kHour = 3600 * 1000;

TEST(AccountSettingsTest, AccountsStartDisabled) {
  AccountSettings settings;
  EXPECT_EQ(settings.Get("111111111111", "us-east-1", kNow),
            BillingCommitment());
  EXPECT_FALSE(BillingCommitment().Active());
  EXPECT_EQ(ToString(CommitmentStatus::kDisabled), "DISABLED");
}

TEST(AccountSettingsTest, EnablingStartsATwentyFourHourCommitment) {
  BillingCommitment enabled = EnableCommitment({}, kNow);
  EXPECT_EQ(enabled.status, CommitmentStatus::kEnabled);
  EXPECT_EQ(enabled.started_at, kNow);
  EXPECT_EQ(enabled.earliest_allowed_end_at, kNow + 24 * kHour);
  EXPECT_FALSE(enabled.ended_at);
  EXPECT_TRUE(enabled.Active());
  // Enabling again changes nothing.
  EXPECT_EQ(EnableCommitment(enabled, kNow + kHour), enabled);
}

TEST(AccountSettingsTest, DisablingEarlySchedulesTheEndAtTheEarliestTime) {
  BillingCommitment enabled = EnableCommitment({}, kNow);
  BillingCommitment pending = DisableCommitment(enabled, kNow + kHour);
  EXPECT_EQ(pending.status, CommitmentStatus::kEnabledUntilEarliestEnd);
  EXPECT_EQ(ToString(pending.status), "ENABLED_UNTIL_EARLIEST_ALLOWED_END");
  EXPECT_TRUE(pending.Active());
  EXPECT_EQ(CommitmentAt(pending, kNow + 24 * kHour - 1), pending);

  BillingCommitment ended = CommitmentAt(pending, kNow + 24 * kHour);
  EXPECT_EQ(ended.status, CommitmentStatus::kDisabled);
  EXPECT_EQ(ended.ended_at, kNow + 24 * kHour);
  EXPECT_EQ(ended.started_at, kNow);
  EXPECT_FALSE(ended.Active());
}

TEST(AccountSettingsTest, EnablingAgainCancelsAScheduledEnd) {
  BillingCommitment pending =
      DisableCommitment(EnableCommitment({}, kNow), kNow + kHour);
  BillingCommitment enabled = EnableCommitment(pending, kNow + 2 * kHour);
  EXPECT_EQ(enabled.status, CommitmentStatus::kEnabled);
  EXPECT_EQ(enabled.started_at, kNow);  // the same commitment goes on
  EXPECT_EQ(enabled.earliest_allowed_end_at, kNow + 24 * kHour);
}

TEST(AccountSettingsTest, DisablingAfterTheMinimumEndsAtOnce) {
  BillingCommitment ended =
      DisableCommitment(EnableCommitment({}, kNow), kNow + 30 * kHour);
  EXPECT_EQ(ended.status, CommitmentStatus::kDisabled);
  EXPECT_EQ(ended.ended_at, kNow + 30 * kHour);
  // Disabling a disabled account changes nothing.
  EXPECT_EQ(DisableCommitment(ended, kNow + 31 * kHour), ended);
  EXPECT_EQ(DisableCommitment({}, kNow), BillingCommitment());
}

TEST(AccountSettingsTest, KeepsEachAccountAndRegionApart) {
  AccountSettings settings;
  settings.Update("111111111111", "us-east-1", /*enable=*/true, kNow);
  EXPECT_TRUE(settings.Get("111111111111", "us-east-1", kNow).Active());
  EXPECT_FALSE(settings.Get("111111111111", "eu-west-1", kNow).Active());
  EXPECT_FALSE(settings.Get("222222222222", "us-east-1", kNow).Active());
  BillingCommitment pending = settings.Update("111111111111", "us-east-1",
                                              /*enable=*/false, kNow + kHour);
  EXPECT_EQ(pending.status, CommitmentStatus::kEnabledUntilEarliestEnd);
  EXPECT_EQ(settings.Get("111111111111", "us-east-1", kNow + 25 * kHour).status,
            CommitmentStatus::kDisabled);
}

}  // namespace
}  // namespace sluice::kinesis
