#include "server/gateway/token_bucket.h"

#include <algorithm>
#include <cmath>

namespace sluice::gateway {

TokenBucket::TokenBucket(double rate, double burst, EpochMillis now)
    : rate_per_ms_(rate / 1000.0),
      burst_(std::max(burst, 1.0)),
      tokens_(burst_),
      last_(now) {}

EpochMillis TokenBucket::Take(EpochMillis now) {
  // A clock that steps back refills nothing rather than draining.
  if (now > last_) {
    tokens_ = std::min(
        burst_, tokens_ + static_cast<double>(now - last_) * rate_per_ms_);
    last_ = now;
  }
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return 0;
  }
  return static_cast<EpochMillis>(std::ceil((1.0 - tokens_) / rate_per_ms_));
}

}  // namespace sluice::gateway
