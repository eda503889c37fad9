#include "server/http/response_stream.h"

#include <utility>

namespace sluice::http {

bool ResponseStream::Write(std::string bytes) {
  std::function<void()> ready;
  {
    std::unique_lock lock(mu_);
    room_.wait(lock, [&] {
      return cancelled_ || finished_ || queued_.size() < max_queued_bytes_;
    });
    if (cancelled_ || finished_) return false;
    queued_.append(bytes);
    ready = on_ready_;
  }
  // Outside the lock: the callback posts to the connection, which Take()s.
  if (ready) ready();
  return true;
}

void ResponseStream::Finish() {
  std::function<void()> ready;
  {
    std::lock_guard lock(mu_);
    if (finished_) return;
    finished_ = true;
    ready = on_ready_;
  }
  room_.notify_all();
  if (ready) ready();
}

bool ResponseStream::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

void ResponseStream::OnCancel(std::function<void()> callback) {
  bool already;
  {
    std::lock_guard lock(mu_);
    already = cancelled_;
    if (!already) on_cancel_ = callback;
  }
  if (already) callback();
}

void ResponseStream::OnReady(std::function<void()> callback) {
  bool now;
  {
    std::lock_guard lock(mu_);
    on_ready_ = callback;
    now = !queued_.empty() || finished_ || cancelled_;
  }
  if (now) callback();
}

ResponseStream::Taken ResponseStream::Take() {
  Taken taken;
  {
    std::lock_guard lock(mu_);
    taken.bytes.swap(queued_);
    taken.ended = finished_ || cancelled_;
  }
  room_.notify_all();
  return taken;
}

void ResponseStream::Cancel() {
  std::function<void()> cancel;
  std::function<void()> ready;
  {
    std::lock_guard lock(mu_);
    if (cancelled_) return;
    cancelled_ = true;
    cancel = std::move(on_cancel_);
    ready = on_ready_;
  }
  room_.notify_all();
  if (cancel) cancel();
  if (ready) ready();
}

}  // namespace sluice::http
