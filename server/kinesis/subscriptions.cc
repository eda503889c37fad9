#include "server/kinesis/subscriptions.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <shared_mutex>
#include <thread>

#include "common/event_stream.h"
#include "common/log.h"
#include "server/kinesis/kinesis_api.h"
#include "server/storage/append_notifier.h"

namespace sluice::kinesis {

namespace {

using SteadyClock = std::chrono::steady_clock;

}  // namespace

// One live subscription: its thread, its wake-up latch and how it should end.
// Shared by the hub and its own thread (and, weakly, its ResponseStream's
// cancel callback).
class SubscriptionHub::Subscription
    : public std::enable_shared_from_this<Subscription> {
 public:
  Subscription(StreamManager& streams, const SubscriptionOptions& options,
               SubscriptionRequest request)
      : streams_(streams),
        options_(options),
        request_(std::move(request)),
        body_(std::make_shared<http::ResponseStream>()) {}

  const std::shared_ptr<http::ResponseStream>& body() const { return body_; }
  const std::string& consumer_arn() const { return request_.consumer_arn; }
  bool done() const { return done_.load(); }

  // Queues the initial-response event; before Start(), so it comes first.
  void WriteInitialResponse() {
    std::unique_ptr<Encoder> out = request_.new_encoder();
    out->StartObject();
    out->EndObject();
    body_->Write(
        EncodeEventStreamMessage({{{":event-type", "initial-response"},
                                   {":content-type", request_.content_type},
                                   {":message-type", "event"}},
                                  out->Take()}));
  }

  void Start() {
    std::weak_ptr<Subscription> weak = weak_from_this();
    body_->OnCancel([weak] {
      if (auto self = weak.lock()) self->wakeup_.Notify();
    });
    thread_ = std::thread([self = shared_from_this()] { self->Run(); });
  }

  // Asks the loop to send `why` as an exception event and stop. The first
  // reason wins.
  void End(Status why) {
    {
      std::lock_guard lock(mu_);
      if (!end_with_) end_with_ = std::move(why);
    }
    wakeup_.Notify();
  }

  void Join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::optional<Status> TakeEnd() {
    std::lock_guard lock(mu_);
    return end_with_;
  }

  void WriteException(const Status& why) {
    std::unique_ptr<Encoder> out = request_.new_encoder();
    out->StartObject();
    out->Key("message");
    out->String(why.message());
    out->EndObject();
    body_->Write(EncodeEventStreamMessage(
        {{{":exception-type", std::string(InfoFor(why.code()).aws_type)},
          {":content-type", request_.content_type},
          {":message-type", "exception"}},
         out->Take()}));
  }

  // One pass: reads from `offset_`, and writes an event when there are
  // records, the shard is finished, or the idle interval is up. Returns
  // false when the subscription is over (shard finished, or an error sent).
  struct Pass {
    bool over = false;
    bool at_tip = false;
  };
  Pass ReadAndSend(bool idle_due) {
    std::string payload;
    Pass pass;
    {
      std::shared_lock lock(request_.stream->mu);
      const catalog::StreamRecord& record_of_stream = request_.stream->record;
      const LiveShard& shard = request_.stream->shards[request_.shard_index];
      auto read = shard.log->Read(offset_, options_.max_event_records,
                                  options_.max_event_bytes);
      if (!read.ok()) {
        lock.unlock();
        WriteException(read.status());
        return {true, true};
      }
      pass.at_tip = read->at_tip;
      bool finished = !shard.record.IsOpen() && read->at_tip;
      if (read->records.empty() && !finished && !idle_due) return pass;

      EpochMillis now = streams_.clock().NowMillis();
      // As GetRecords: a record past retention in a kept segment is gone.
      EpochMillis oldest_kept =
          now - static_cast<EpochMillis>(record_of_stream.retention_hours) *
                    3600 * 1000;
      std::unique_ptr<Encoder> out = request_.new_encoder();
      out->StartObject();
      out->Key("Records");
      out->StartArray();
      EpochMillis last_arrival = 0;
      for (const storage::StoredRecord& record : read->records) {
        // Delivered or skipped, the position moves past it.
        continuation_ = record.sequence_number;
        if (record.arrival_millis < oldest_kept) continue;
        WriteRecord(*out, record, record_of_stream);
        last_arrival = record.arrival_millis;
      }
      out->EndArray();
      offset_ = read->next_offset;
      if (continuation_.empty()) {
        continuation_ = SequenceNumberBefore(shard.log->identity(), offset_);
      }
      out->Key("MillisBehindLatest");
      out->Int(read->at_tip || last_arrival == 0
                   ? 0
                   : std::max<EpochMillis>(0, now - last_arrival));
      if (finished) {
        // The last event of a closed shard names its children instead of a
        // continuation (KCL requires one or the other).
        WriteChildShards(*out, *request_.stream, request_.shard_index);
        pass.over = true;
      } else {
        out->Key("ContinuationSequenceNumber");
        out->String(continuation_);
      }
      out->EndObject();
      payload = out->Take();
    }
    if (!body_->Write(
            EncodeEventStreamMessage({{{":event-type", "SubscribeToShardEvent"},
                                       {":content-type", request_.content_type},
                                       {":message-type", "event"}},
                                      std::move(payload)}))) {
      pass.over = true;  // cancelled
    }
    return pass;
  }

  void Run() {
    std::shared_ptr<storage::AppendNotifier> notifier;
    {
      std::shared_lock lock(request_.stream->mu);
      notifier = request_.stream->shards[request_.shard_index].appended;
    }
    // Registered before the first read: see append_notifier.h.
    notifier->Add(&wakeup_);
    offset_ = request_.start_offset;
    auto end_of_life = SteadyClock::now() + options_.lifetime;
    auto next_idle = SteadyClock::now();  // the first event goes out at once
    int64_t stream_id = 0;
    {
      std::shared_lock lock(request_.stream->mu);
      stream_id = request_.stream->record.stream_id;
    }
    while (!body_->cancelled()) {
      if (std::optional<Status> why = TakeEnd()) {
        WriteException(*why);
        break;
      }
      auto now = SteadyClock::now();
      if (now >= end_of_life) break;  // a normal end: clients re-subscribe
      if (!streams_.FindById(stream_id)) {
        WriteException(Status(
            ErrorCode::kResourceNotFound,
            "Stream " + request_.stream->record.name + " under account " +
                request_.stream->record.account_id + " not found."));
        break;
      }
      bool idle_due = now >= next_idle;
      uint64_t before = offset_;
      Pass pass = ReadAndSend(idle_due);
      if (pass.over) break;
      if (idle_due || offset_ != before) {
        next_idle = SteadyClock::now() + options_.idle_event_interval;
      }
      if (!pass.at_tip) continue;  // more to read now
      wakeup_.WaitUntil(std::min(next_idle, end_of_life));
    }
    notifier->Remove(&wakeup_);
    body_->Finish();
    done_.store(true);
  }

  StreamManager& streams_;
  const SubscriptionOptions& options_;
  const SubscriptionRequest request_;
  const std::shared_ptr<http::ResponseStream> body_;
  storage::Wakeup wakeup_;
  std::mutex mu_;
  std::optional<Status> end_with_;  // guarded by mu_
  std::atomic<bool> done_{false};
  std::thread thread_;
  // Only the subscription's own thread touches these.
  uint64_t offset_ = 0;
  std::string continuation_;
};

SubscriptionHub::SubscriptionHub(StreamManager& streams,
                                 SubscriptionOptions options)
    : streams_(streams), options_(options) {}

SubscriptionHub::~SubscriptionHub() {
  std::vector<std::shared_ptr<Subscription>> running;
  {
    std::lock_guard lock(mu_);
    running.swap(running_);
    latest_.clear();
  }
  for (auto& subscription : running) subscription->body()->Cancel();
  for (auto& subscription : running) subscription->Join();
}

void SubscriptionHub::ReapLocked() {
  auto ended = std::partition(running_.begin(), running_.end(),
                              [](const auto& s) { return !s->done(); });
  for (auto it = ended; it != running_.end(); ++it) (*it)->Join();
  running_.erase(ended, running_.end());
  EpochMillis now = streams_.clock().NowMillis();
  std::erase_if(latest_, [&](const auto& entry) {
    return entry.second.subscription->done() &&
           now - entry.second.started_at >= options_.takeover_after.count();
  });
}

Result<std::shared_ptr<http::ResponseStream>> SubscriptionHub::Subscribe(
    SubscriptionRequest request) {
  std::lock_guard lock(mu_);
  ReapLocked();
  std::pair<std::string, uint32_t> key{request.consumer_arn,
                                       request.shard_index};
  EpochMillis now = streams_.clock().NowMillis();
  auto previous = latest_.find(key);
  if (previous != latest_.end() &&
      now - previous->second.started_at < options_.takeover_after.count()) {
    // AWS's words, as clients report them (the ARN after them is ours).
    return Status(ErrorCode::kResourceInUse,
                  "Another active subscription exists for this consumer: " +
                      request.consumer_arn);
  }
  if (running_.size() >= options_.max_live) {
    return Status(ErrorCode::kLimitExceeded,
                  "This server already has " + std::to_string(running_.size()) +
                      " live subscriptions, its limit.");
  }
  auto subscription =
      std::make_shared<Subscription>(streams_, options_, std::move(request));
  subscription->WriteInitialResponse();
  subscription->Start();  // first: if no thread can be made, nothing changed
  if (previous != latest_.end()) {
    previous->second.subscription->End(Status(
        ErrorCode::kResourceInUse,
        "Another active subscription exists for this consumer: " + key.first +
            "; this one ends."));
  }
  latest_[key] = {subscription, now};
  running_.push_back(subscription);
  return subscription->body();
}

void SubscriptionHub::EndConsumer(std::string_view consumer_arn,
                                  const Status& why) {
  std::lock_guard lock(mu_);
  for (auto& subscription : running_) {
    if (subscription->consumer_arn() == consumer_arn) subscription->End(why);
  }
}

size_t SubscriptionHub::LiveCount() {
  std::lock_guard lock(mu_);
  ReapLocked();
  return running_.size();
}

}  // namespace sluice::kinesis
