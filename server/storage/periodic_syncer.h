// --fsync=interval for many shards with one thread: calls Sync() on every
// registered shard log once per interval. Without it each FileShardLog in
// interval mode runs its own flusher thread, which is fine for a handful of
// shards and wasteful for hundreds.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace sluice::storage {

class ShardLog;

// Owned by the stream store; must outlive every log registered with it.
// Thread-safe. A failed Sync() is not reported here: the log keeps it as its
// sticky failure and returns it from the next append.
class PeriodicSyncer {
 public:
  explicit PeriodicSyncer(std::chrono::milliseconds interval);
  ~PeriodicSyncer();  // stops and joins the thread
  PeriodicSyncer(const PeriodicSyncer&) = delete;
  PeriodicSyncer& operator=(const PeriodicSyncer&) = delete;

  void Add(ShardLog* log);
  // Once this returns the syncer never touches `log` again (it waits for a
  // round in progress).
  void Remove(ShardLog* log);

 private:
  void Run();

  const std::chrono::milliseconds interval_;
  std::mutex mu_;  // held for a whole round, so Remove waits for it
  std::condition_variable wake_;
  std::vector<ShardLog*> logs_;  // guarded by mu_
  bool stopping_ = false;        // guarded by mu_
  std::thread thread_;
};

}  // namespace sluice::storage
