// Account-level Kinesis settings (DescribeAccountSettings,
// UpdateAccountSettings): the minimum throughput billing commitment, which
// on-demand warm throughput requires. Sluice bills nothing; it keeps the
// state machine so clients see what AWS would show them.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/clock.h"

namespace sluice::kinesis {

// AWS: a commitment lasts at least 24 hours; disabling it earlier schedules
// the end for then.
inline constexpr EpochMillis kMinimumCommitmentMillis = 24LL * 3600 * 1000;

enum class CommitmentStatus { kDisabled, kEnabled, kEnabledUntilEarliestEnd };

// "DISABLED", "ENABLED", "ENABLED_UNTIL_EARLIEST_ALLOWED_END"
std::string_view ToString(CommitmentStatus status);

struct BillingCommitment {
  CommitmentStatus status = CommitmentStatus::kDisabled;
  std::optional<EpochMillis> started_at;
  std::optional<EpochMillis> ended_at;
  std::optional<EpochMillis> earliest_allowed_end_at;

  // True while ENABLED or until a scheduled end: warm throughput is allowed.
  bool Active() const { return status != CommitmentStatus::kDisabled; }

  friend bool operator==(const BillingCommitment&,
                         const BillingCommitment&) = default;
};

// The commitment as seen at `now`: a scheduled end that has passed has
// happened.
BillingCommitment CommitmentAt(const BillingCommitment& commitment,
                               EpochMillis now);
// Starts a commitment, or cancels a scheduled end; enabled stays enabled.
BillingCommitment EnableCommitment(const BillingCommitment& commitment,
                                   EpochMillis now);
// Ends it now if its 24 hours are over, else schedules the end for then.
BillingCommitment DisableCommitment(const BillingCommitment& commitment,
                                    EpochMillis now);

// Each account's commitment per region, in memory (a restart starts every
// account DISABLED). Owned by KinesisApi; thread-safe.
class AccountSettings {
 public:
  BillingCommitment Get(const std::string& account_id,
                        const std::string& region, EpochMillis now);
  // Applies Enable/DisableCommitment and returns the result.
  BillingCommitment Update(const std::string& account_id,
                           const std::string& region, bool enable,
                           EpochMillis now);

 private:
  std::mutex mu_;
  // guarded by mu_
  std::map<std::pair<std::string, std::string>, BillingCommitment> accounts_;
};

}  // namespace sluice::kinesis
