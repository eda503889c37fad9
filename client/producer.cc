#include "client/producer.h"

#include <algorithm>

#include "client/batch_calls.h"

namespace sluice::client {
namespace {

using Clock = std::chrono::steady_clock;

// How long an idle sender sleeps between looks at a queue that is not yet
// worth a batch (bounded by the linger time).
constexpr std::chrono::milliseconds kMaxIdleWait{10};

}  // namespace

Producer::Producer(ClientOptions client_options, std::string stream,
                   ProducerOptions options, OutcomeCallback on_outcome)
    : client_options_(std::move(client_options)),
      stream_(std::move(stream)),
      options_(options),
      on_outcome_(std::move(on_outcome)) {
  for (int i = 0; i < std::max(1, options_.connections); ++i) {
    senders_.emplace_back([this, i] { Send(i); });
  }
}

Producer::~Producer() { Close(); }

Status Producer::Put(std::string partition_key, std::string data) {
  std::unique_lock lock(mu_);
  changed_.wait(lock, [&] {
    return closing_ || buffered_ < options_.max_buffered_records;
  });
  if (closing_) {
    return Status(ErrorCode::kInvalidArgument, "the producer is closed");
  }
  std::deque<Pending>& queue = queues_[partition_key];
  const bool idle = queue.empty() && !in_flight_.count(partition_key);
  queue.push_back({partition_key, std::move(data), Clock::now(), 0, {}});
  if (idle) ready_keys_.push_back(std::move(partition_key));
  ++buffered_;
  lock.unlock();
  changed_.notify_all();
  return Status::Ok();
}

void Producer::Flush() {
  std::unique_lock lock(mu_);
  ++flushing_;
  changed_.notify_all();
  changed_.wait(lock, [&] { return buffered_ == 0; });
  --flushing_;
}

void Producer::Close() {
  Flush();
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  changed_.notify_all();
  for (std::thread& sender : senders_) {
    if (sender.joinable()) sender.join();
  }
}

uint64_t Producer::stored() const {
  std::lock_guard lock(mu_);
  return stored_;
}

uint64_t Producer::failed() const {
  std::lock_guard lock(mu_);
  return failed_;
}

uint64_t Producer::retried_entries() const {
  std::lock_guard lock(mu_);
  return retried_;
}

bool Producer::ReadyLocked(Clock::time_point now) const {
  if (ready_keys_.empty()) return false;
  if (ready_keys_.size() >= options_.max_batch_records) return true;
  if (flushing_ > 0 || closing_) return true;
  const Pending& oldest = queues_.find(ready_keys_.front())->second.front();
  return now - oldest.queued >= options_.linger;
}

std::vector<Producer::Pending> Producer::TakeBatchLocked(
    Clock::time_point now) {
  std::vector<Pending> batch;
  size_t bytes = 0;
  for (auto key = ready_keys_.begin();
       key != ready_keys_.end() && batch.size() < options_.max_batch_records;) {
    std::deque<Pending>& queue = queues_.find(*key)->second;
    Pending& next = queue.front();
    const size_t size = next.data.size() + key->size();
    if (next.not_before > now) {
      ++key;  // still backing off
      continue;
    }
    if (!batch.empty() && bytes + size > options_.max_batch_bytes) break;
    bytes += size;
    batch.push_back(std::move(next));
    queue.pop_front();
    in_flight_.insert(*key);
    key = ready_keys_.erase(key);
  }
  return batch;
}

void Producer::RequeueLocked(Pending record) {
  ++retried_;
  record.not_before =
      Clock::now() + JitteredBackoff(client_options_, record.attempts);
  std::string key = record.partition_key;
  queues_[key].push_front(std::move(record));
  in_flight_.erase(key);
  ready_keys_.push_back(std::move(key));
}

void Producer::ReleaseKeyLocked(const std::string& key) {
  in_flight_.erase(key);
  auto queue = queues_.find(key);
  if (queue->second.empty()) {
    queues_.erase(queue);
  } else {
    ready_keys_.push_back(key);
  }
}

void Producer::Send(int /*sender*/) {
  auto created = ApiClient::Create(client_options_);
  std::unique_ptr<ApiClient> client =
      created.ok() ? std::move(*created) : nullptr;
  std::unique_lock lock(mu_);
  while (true) {
    if (closing_ && buffered_ == 0) return;
    const Clock::time_point now = Clock::now();
    std::vector<Pending> batch;
    if (ReadyLocked(now)) batch = TakeBatchLocked(now);
    if (batch.empty()) {
      if (ready_keys_.empty()) {
        changed_.wait(lock);
      } else {
        changed_.wait_for(lock, std::min(kMaxIdleWait, options_.linger));
      }
      continue;
    }
    lock.unlock();
    std::vector<PutOutcome> outcomes =
        SendBatch(client.get(), batch);  // puts back what it did not finish
    for (const PutOutcome& outcome : outcomes) {
      if (on_outcome_) on_outcome_(outcome);
    }
    lock.lock();
    buffered_ -= outcomes.size();
    changed_.notify_all();
  }
}

std::vector<PutOutcome> Producer::SendBatch(ApiClient* client,
                                            std::vector<Pending>& batch) {
  std::vector<KinesisEntry> entries;
  entries.reserve(batch.size());
  for (Pending& record : batch) {
    ++record.attempts;
    entries.push_back({record.partition_key, record.data});
  }
  Result<std::vector<EntryOutcome>> answer =
      client != nullptr
          ? PutRecords(*client, stream_, entries)
          : Status(ErrorCode::kInvalidArgument,
                   "endpoint '" + client_options_.endpoint + "' is not usable");

  std::vector<PutOutcome> finished;
  const Clock::time_point now = Clock::now();
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < batch.size(); ++i) {
    Pending& record = batch[i];
    EntryOutcome outcome = answer.ok() ? std::move((*answer)[i])
                                       : EntryOutcome{answer.status(), {}, {}};
    if (!outcome.status.ok() && IsTransient(outcome.status.code()) &&
        record.attempts < options_.max_record_attempts) {
      RequeueLocked(std::move(record));
      continue;
    }
    (outcome.status.ok() ? stored_ : failed_) += 1;
    finished.push_back({record.partition_key, std::move(outcome.status),
                        std::move(outcome.shard_id), std::move(outcome.id),
                        record.attempts, now - record.queued});
    ReleaseKeyLocked(record.partition_key);
  }
  return finished;
}

}  // namespace sluice::client
