#include "server/storage/periodic_syncer.h"

#include <algorithm>

#include "server/storage/shard_log.h"

namespace sluice::storage {

PeriodicSyncer::PeriodicSyncer(std::chrono::milliseconds interval)
    : interval_(interval), thread_([this] { Run(); }) {}

PeriodicSyncer::~PeriodicSyncer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void PeriodicSyncer::Add(ShardLog* log) {
  std::lock_guard lock(mu_);
  logs_.push_back(log);
}

void PeriodicSyncer::Remove(ShardLog* log) {
  std::lock_guard lock(mu_);
  logs_.erase(std::remove(logs_.begin(), logs_.end(), log), logs_.end());
}

void PeriodicSyncer::Run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
    if (stopping_) break;
    for (ShardLog* log : logs_) {
      // A log with nothing new returns at once. Errors become the log's
      // sticky failure; its appenders report them.
      (void)log->Sync();
    }
  }
}

}  // namespace sluice::storage
