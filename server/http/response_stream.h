// The body of an answer that goes on after its headers: SubscribeToShard's
// event stream. A producer (the subscription's own thread) writes pieces; the
// connection (Session for HTTP/1.1 as chunked transfer coding, Http2Session as
// DATA frames) sends them as they come, then ends the response.
//
//   producer thread           ResponseStream           connection strand
//   Write(bytes) ─────────▶  [queued bytes]  ─on_ready─▶  Take(), send
//   (waits while the queue                                Cancel(): client
//    is over its cap)                                     gone, stream reset
//   Finish(): the body ends                               or server draining
//    after the queued bytes
//
// Shared (shared_ptr) by the producer and the connection; thread-safe. The
// producer ends the body with Finish(). The connection calls Cancel() when the
// client goes away, resets the stream or the server drains: Write() then
// returns false at once and the producer should stop; what is already queued
// is still sent, and the body ends after it.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>

namespace sluice::http {

class ResponseStream {
 public:
  // Above this many unsent bytes, Write() waits for the connection.
  static constexpr size_t kDefaultMaxQueuedBytes = 4 * 1024 * 1024;

  explicit ResponseStream(size_t max_queued_bytes = kDefaultMaxQueuedBytes)
      : max_queued_bytes_(max_queued_bytes) {}

  // --- The producer's side ------------------------------------------------

  // Queues `bytes`, first waiting while the queue is over its cap. False
  // when the stream is cancelled (the bytes are dropped) or already finished.
  bool Write(std::string bytes);
  // Ends the body once the queued bytes are sent. Idempotent.
  void Finish();
  bool cancelled() const;
  // Runs `callback` when Cancel() is called (at once if it already was), on
  // the cancelling thread: lets a producer waiting on something else (new
  // records) wake up. It must be quick and must not call back into this.
  void OnCancel(std::function<void()> callback);

  // --- The connection's side ----------------------------------------------

  // Runs `callback` (on the producer's thread) whenever there is something
  // new to Take(), and at once if there already is; the connection posts
  // to its strand from it. Set once, after the headers are on their way.
  void OnReady(std::function<void()> callback);
  struct Taken {
    std::string bytes;   // everything queued, possibly nothing
    bool ended = false;  // nothing more will come after `bytes`
  };
  Taken Take();
  // Idempotent; see above.
  void Cancel();

 private:
  const size_t max_queued_bytes_;
  mutable std::mutex mu_;
  std::condition_variable room_;     // signalled when the queue shrinks
  std::string queued_;               // guarded by mu_
  bool finished_ = false;            // guarded by mu_
  bool cancelled_ = false;           // guarded by mu_
  std::function<void()> on_ready_;   // guarded by mu_
  std::function<void()> on_cancel_;  // guarded by mu_
};

}  // namespace sluice::http
