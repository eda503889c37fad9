// SubscribeToShard's push side: each live subscription is one thread that
// reads a shard's log from its position and writes event-stream messages
// into the ResponseStream its connection sends. The thread sleeps on the
// shard's AppendNotifier, so a put wakes it at once; it wakes on its own only
// for the idle event (every idle_event_interval) and the end of its lifetime.
//
// One thread per live subscription keeps each one a plain loop, top to
// bottom; the count is bounded (max_live, then LimitExceededException), and
// the threads are not the HTTP worker pool, which they would otherwise fill.
//
// Per consumer and shard one subscription: a second one within
// takeover_after of the last successful call is refused (ResourceInUse); a
// later one takes over, and the old one ends with a ResourceInUse exception
// event, as on AWS.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/codec.h"
#include "common/status.h"
#include "server/http/response_stream.h"
#include "server/kinesis/stream_manager.h"

namespace sluice::kinesis {

struct SubscriptionOptions {
  // AWS ends every subscription after 5 minutes; clients re-subscribe.
  std::chrono::milliseconds lifetime{5 * 60 * 1000};
  // An event with no records goes out after this long without one, so a
  // client can checkpoint and knows the subscription is alive.
  std::chrono::milliseconds idle_event_interval{5000};
  // A consumer's second subscription to a shard within this time of the
  // first is refused; after it, the new one takes over.
  std::chrono::milliseconds takeover_after{5000};
  // Live subscriptions on the server (threads); one more is refused with
  // LimitExceededException.
  size_t max_live = 1000;
  // One event carries at most this many records and about this many bytes.
  size_t max_event_records = 10000;
  size_t max_event_bytes = 2 * 1024 * 1024;

  friend bool operator==(const SubscriptionOptions&,
                         const SubscriptionOptions&) = default;
};

// What a SubscribeToShard request resolved to.
struct SubscriptionRequest {
  std::string consumer_arn;
  std::shared_ptr<LiveStream> stream;
  uint32_t shard_index = 0;
  uint64_t start_offset = 0;
  // The request's codec: events' :content-type and payloads.
  std::string content_type;
  std::unique_ptr<Encoder> (*new_encoder)() = nullptr;
};

// Owned by KinesisApi. Thread-safe. The destructor ends every subscription
// (their connections see the stream end) and joins their threads; it runs
// after the HTTP server has shut down, which already cancelled them.
class SubscriptionHub {
 public:
  SubscriptionHub(StreamManager& streams, SubscriptionOptions options);
  ~SubscriptionHub();
  SubscriptionHub(const SubscriptionHub&) = delete;
  SubscriptionHub& operator=(const SubscriptionHub&) = delete;

  // Starts pushing; the returned stream already holds the initial-response
  // event. kResourceInUse within takeover_after of the consumer's last
  // subscription to the shard; kLimitExceeded at max_live.
  Result<std::shared_ptr<http::ResponseStream>> Subscribe(
      SubscriptionRequest request);

  // Ends every subscription of the consumer with `why` as an exception
  // event (DeregisterStreamConsumer: ResourceNotFound... or ResourceInUse).
  void EndConsumer(std::string_view consumer_arn, const Status& why);

  // Subscriptions whose thread is still running.
  size_t LiveCount();

  const SubscriptionOptions& options() const { return options_; }

 private:
  class Subscription;
  // Joins the threads of subscriptions that have ended.
  // REQUIRES: mu_ held.
  void ReapLocked();

  StreamManager& streams_;
  const SubscriptionOptions options_;
  std::mutex mu_;
  // Every subscription whose thread is not joined yet; guarded by mu_.
  std::vector<std::shared_ptr<Subscription>> running_;
  // The last successful subscription per (consumer ARN, shard index), and
  // when it started (clock millis); guarded by mu_.
  struct Latest {
    std::shared_ptr<Subscription> subscription;
    EpochMillis started_at = 0;
  };
  std::map<std::pair<std::string, uint32_t>, Latest, std::less<>> latest_;
};

}  // namespace sluice::kinesis
