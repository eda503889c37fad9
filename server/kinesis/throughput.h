// Per-shard throughput limits, as AWS enforces them on provisioned shards:
// 1 MiB/s and 1,000 records/s in, 2 MiB/s and 5 GetRecords calls/s out (a
// call may take up to 10 MiB, which then throttles the shard for about five
// seconds). Off unless the server runs with --enforce-limits, so that users
// can test their retry logic against ProvisionedThroughputExceededException.
#pragma once

#include <algorithm>
#include <cstdint>
#include <mutex>

#include "common/clock.h"

namespace sluice::kinesis {

// A token bucket on the injectable clock: `rate` tokens per second, holding
// at most `capacity`. Starts full.
class TokenBucket {
 public:
  TokenBucket(double rate_per_second, double capacity)
      : rate_per_milli_(rate_per_second / 1000.0),
        capacity_(capacity),
        tokens_(capacity) {}

  // Takes `amount` if the bucket holds it now.
  bool TryTake(double amount, EpochMillis now) {
    Refill(now);
    if (tokens_ < amount) return false;
    tokens_ -= amount;
    return true;
  }
  // Takes `amount` even into debt: a read is charged after it has happened.
  void Charge(double amount, EpochMillis now) {
    Refill(now);
    tokens_ -= amount;
  }
  bool Positive(EpochMillis now) {
    Refill(now);
    return tokens_ > 0;
  }

 private:
  void Refill(EpochMillis now) {
    if (last_ == 0 || now < last_) last_ = now;
    tokens_ = std::min(capacity_, tokens_ + static_cast<double>(now - last_) *
                                                rate_per_milli_);
    last_ = now;
  }

  double rate_per_milli_;
  double capacity_;
  double tokens_;
  EpochMillis last_ = 0;
};

inline constexpr double kShardWriteBytesPerSecond = 1024.0 * 1024.0;
inline constexpr double kShardWriteRecordsPerSecond = 1000.0;
inline constexpr double kShardReadBytesPerSecond = 2.0 * 1024.0 * 1024.0;
inline constexpr double kShardReadCallsPerSecond = 5.0;
inline constexpr double kMaxGetRecordsBytes = 10.0 * 1024.0 * 1024.0;

// The four limits of one shard. Thread-safe.
class ShardThroughput {
 public:
  // One record of `bytes` (data + partition key) in, or false if the shard is
  // over its write limits.
  bool AdmitWrite(size_t bytes, EpochMillis now) {
    std::lock_guard lock(mu_);
    if (!write_records_.Positive(now) || !write_bytes_.Positive(now))
      return false;
    write_records_.Charge(1, now);
    write_bytes_.Charge(static_cast<double>(bytes), now);
    return true;
  }
  // One GetRecords call, or false while the shard is over its read limits.
  bool AdmitRead(EpochMillis now) {
    std::lock_guard lock(mu_);
    return read_bytes_.Positive(now) && read_calls_.TryTake(1, now);
  }
  // What an admitted GetRecords call returned.
  void ChargeRead(size_t bytes, EpochMillis now) {
    std::lock_guard lock(mu_);
    read_bytes_.Charge(static_cast<double>(bytes), now);
  }

 private:
  std::mutex mu_;
  TokenBucket write_bytes_{kShardWriteBytesPerSecond,
                           kShardWriteBytesPerSecond};
  TokenBucket write_records_{kShardWriteRecordsPerSecond,
                             kShardWriteRecordsPerSecond};
  // A 10 MiB read is allowed at once and then paid back at 2 MiB/s.
  TokenBucket read_bytes_{kShardReadBytesPerSecond, kShardReadBytesPerSecond};
  TokenBucket read_calls_{kShardReadCallsPerSecond, kShardReadCallsPerSecond};
};

}  // namespace sluice::kinesis
