// The one source of time in Sluice. Everything that ages (iterators, retention,
// buffering intervals, windows) asks a Clock, so tests can move time by hand.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace sluice {

// Milliseconds since the Unix epoch, UTC; the resolution of every AWS
// timestamp.
using EpochMillis = int64_t;

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
