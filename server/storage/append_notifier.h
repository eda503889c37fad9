// Wakes readers waiting at a shard log's tip when records are appended, so
// push readers (SubscribeToShard) deliver a record as soon as it is stored,
// without polling. One AppendNotifier per shard; each waiting reader has its
// own Wakeup and registers it while it waits.
//
// Lost-wakeup freedom: a reader registers its Wakeup *before* it reads the
// log. An append the read missed then happened after the registration, so
// its Notify() sets the reader's Wakeup, and the reader's next Wait() returns
// at once. A Notify() that finds no reader registered costs one atomic load:
// Put on a shard nobody waits on stays as fast as before.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

namespace sluice::storage {

// A reader's latch: Notify() sets it, WaitUntil() waits for it and clears
// it. Thread-safe; one thread waits, any thread notifies.
class Wakeup {
 public:
  void Notify() {
    {
      std::lock_guard lock(mu_);
      set_ = true;
    }
    changed_.notify_one();
  }

  // True when notified (since the last wait), false at `deadline`.
  bool WaitUntil(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mu_);
    bool notified = changed_.wait_until(lock, deadline, [&] { return set_; });
    set_ = false;
    return notified;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  bool set_ = false;  // guarded by mu_
};

// Thread-safe. Owned with the shard (LiveShard); readers hold it by
// shared_ptr so it outlives a reshard that moves the shard list.
class AppendNotifier {
 public:
  // `wakeup` is notified by every later Notify() until Remove(); it must
  // stay alive until then.
  void Add(Wakeup* wakeup) {
    std::lock_guard lock(mu_);
    waiting_.push_back(wakeup);
    count_.store(waiting_.size());
  }

  void Remove(Wakeup* wakeup) {
    std::lock_guard lock(mu_);
    waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), wakeup),
                   waiting_.end());
    count_.store(waiting_.size());
  }

  // Called by the writer after an append (or when the shard closes).
  void Notify() {
    // seq_cst pairs with Add(): see the header comment.
    if (count_.load() == 0) return;
    std::lock_guard lock(mu_);
    for (Wakeup* wakeup : waiting_) wakeup->Notify();
  }

 private:
  std::mutex mu_;
  std::vector<Wakeup*> waiting_;  // guarded by mu_
  std::atomic<size_t> count_{0};  // waiting_.size(), read without the lock
};

}  // namespace sluice::storage
