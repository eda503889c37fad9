#include "server/kinesis/account_settings.h"

namespace sluice::kinesis {

std::string_view ToString(CommitmentStatus status) {
  switch (status) {
    case CommitmentStatus::kDisabled:
      return "DISABLED";
    case CommitmentStatus::kEnabled:
      return "ENABLED";
    case CommitmentStatus::kEnabledUntilEarliestEnd:
      return "ENABLED_UNTIL_EARLIEST_ALLOWED_END";
  }
  return "DISABLED";
}

BillingCommitment CommitmentAt(const BillingCommitment& commitment,
                               EpochMillis now) {
  BillingCommitment out = commitment;
  if (out.status == CommitmentStatus::kEnabledUntilEarliestEnd &&
      now >= out.earliest_allowed_end_at.value_or(0)) {
    out.status = CommitmentStatus::kDisabled;
    out.ended_at = out.earliest_allowed_end_at;
  }
  return out;
}

BillingCommitment EnableCommitment(const BillingCommitment& commitment,
                                   EpochMillis now) {
  BillingCommitment out = CommitmentAt(commitment, now);
  switch (out.status) {
    case CommitmentStatus::kEnabled:
      break;
    case CommitmentStatus::kEnabledUntilEarliestEnd:
      // Cancelling the scheduled end keeps the running commitment.
      out.status = CommitmentStatus::kEnabled;
      out.ended_at.reset();
      break;
    case CommitmentStatus::kDisabled:
      out.status = CommitmentStatus::kEnabled;
      out.started_at = now;
      out.ended_at.reset();
      out.earliest_allowed_end_at = now + kMinimumCommitmentMillis;
      break;
  }
  return out;
}

BillingCommitment DisableCommitment(const BillingCommitment& commitment,
                                    EpochMillis now) {
  BillingCommitment out = CommitmentAt(commitment, now);
  if (out.status != CommitmentStatus::kEnabled) return out;
  if (now >= out.earliest_allowed_end_at.value_or(0)) {
    out.status = CommitmentStatus::kDisabled;
    out.ended_at = now;
  } else {
    out.status = CommitmentStatus::kEnabledUntilEarliestEnd;
  }
  return out;
}

BillingCommitment AccountSettings::Get(const std::string& account_id,
                                       const std::string& region,
                                       EpochMillis now) {
  std::lock_guard lock(mu_);
  auto it = accounts_.find({account_id, region});
  if (it == accounts_.end()) return BillingCommitment();
  return CommitmentAt(it->second, now);
}

BillingCommitment AccountSettings::Update(const std::string& account_id,
                                          const std::string& region,
                                          bool enable, EpochMillis now) {
  std::lock_guard lock(mu_);
  BillingCommitment& stored = accounts_[{account_id, region}];
  stored =
      enable ? EnableCommitment(stored, now) : DisableCommitment(stored, now);
  return stored;
}

}  // namespace sluice::kinesis
