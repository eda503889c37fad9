// The one source of time in Sluice. Everything that ages (iterators, retention,
// buffering intervals, windows) asks a Clock, so tests can move time by hand.
#pragma once

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>

namespace sluice {

// Milliseconds since the Unix epoch, UTC; the resolution of every AWS
// timestamp.
using EpochMillis = int64_t;

// An instant a client sent as epoch seconds (JSON, or CBOR's tag-1
// milliseconds already divided by 1000) in whole milliseconds. Rounds to the
// nearest millisecond, because 1089724113.116 is 1089724113115.99... as a
// double and must still mean ...116 ms; clamps far-off instants (1e300) that
// would overflow the conversion, which is undefined behaviour.
inline EpochMillis EpochMillisFromSeconds(double seconds) {
  constexpr double kLimit = 9.0e18;  // below INT64_MAX, with room to round
  double millis = seconds * 1000.0;
  if (!(millis > -kLimit)) return static_cast<EpochMillis>(-kLimit);
  if (!(millis < kLimit)) return static_cast<EpochMillis>(kLimit);
  return static_cast<EpochMillis>(std::llround(millis));
}

// Thread-safe. Implementations must be callable from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual EpochMillis NowMillis() const = 0;
};

class SystemClock final : public Clock {
 public:
  EpochMillis NowMillis() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  // The process-wide instance, for code that is not handed a clock.
  static const SystemClock& Instance() {
    static const SystemClock clock;
    return clock;
  }
};

// A clock that only moves when told to; for tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(EpochMillis start) : now_(start) {}
  EpochMillis NowMillis() const override { return now_.load(); }
  void Set(EpochMillis now) { now_.store(now); }
  void Advance(EpochMillis delta) { now_.fetch_add(delta); }

 private:
  std::atomic<EpochMillis> now_;
};

}  // namespace sluice
