// A token bucket for per-key rate limits: `rate` tokens a second up to
// `burst`; each request takes one. Time comes from the Clock passed to
// Take(), so tests move it by hand.
#pragma once

#include "common/clock.h"

namespace sluice::gateway {

// Not thread-safe; KeyStore guards its buckets.
class TokenBucket {
 public:
  // Starts full. REQUIRES: rate > 0; a burst below 1 is taken as 1.
  TokenBucket(double rate, double burst, EpochMillis now);

  // Takes a token and returns 0, or returns how many milliseconds until one
  // is available (the request is refused; nothing is taken).
  EpochMillis Take(EpochMillis now);

 private:
  double rate_per_ms_;
  double burst_;
  double tokens_;
  EpochMillis last_;
};

}  // namespace sluice::gateway
