#include "server/http/http2_session.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <charconv>
#include <cstring>
#include <utility>

#include "common/log.h"

namespace sluice::http {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

namespace {

// Streams a client may have open at once. It also caps the requests of one
// connection on the worker pool: at this many, reads pause until one answer
// is back, so a client that resets streams cannot queue work without end.
constexpr uint32_t kMaxConcurrentStreams = 128;
constexpr size_t kReadBufferBytes = 64 * 1024;
// One write carries at most about this much; the rest waits for the next.
constexpr size_t kMaxWriteBytes = 256 * 1024;

// Flow-control windows large enough that a body at the size cap flows
// without waiting for WINDOW_UPDATEs; nghttp2 sends those on its own as data
// arrives. Memory is bounded by the body cap per stream, as on HTTP/1.1 it is
// per connection.
int32_t StreamWindow(const HttpOptions& options) {
  size_t window =
      std::clamp<size_t>(options.max_request_bytes, NGHTTP2_INITIAL_WINDOW_SIZE,
                         NGHTTP2_MAX_WINDOW_SIZE);
  return static_cast<int32_t>(window);
}
int32_t ConnectionWindow(const HttpOptions& options) {
  size_t window = std::min<size_t>(
      2 * static_cast<size_t>(StreamWindow(options)), NGHTTP2_MAX_WINDOW_SIZE);
  return static_cast<int32_t>(window);
}

std::string_view AsView(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

nghttp2_nv Header(std::string_view name, std::string_view value) {
  // nghttp2 copies names and values when the frame is submitted (no
  // NGHTTP2_NV_FLAG_NO_COPY_*), so these pointers need not outlive the call.
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())),
          name.size(), value.size(), NGHTTP2_NV_FLAG_NONE};
}

bool IsRequestHeaders(const nghttp2_frame* frame) {
  return frame->hd.type == NGHTTP2_HEADERS &&
         frame->headers.cat == NGHTTP2_HCAT_REQUEST;
}

}  // namespace

// nghttp2 calls these only from inside nghttp2_session_mem_recv() and
// nghttp2_session_mem_send(), which Http2Session calls on its strand.
struct Http2Session::Callbacks {
  static Http2Session& Self(void* user_data) {
    return *static_cast<Http2Session*>(user_data);
  }

  static int OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame,
                            void* user_data) {
    if (IsRequestHeaders(frame)) {
      Self(user_data).streams_.try_emplace(frame->hd.stream_id);
    }
    return 0;
  }

  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame,
                      const uint8_t* name, size_t name_size,
                      const uint8_t* value, size_t value_size, uint8_t,
                      void* user_data) {
    if (!IsRequestHeaders(frame)) return 0;  // trailers carry nothing we use
    return Self(user_data).OnRequestHeader(frame->hd.stream_id,
                                           AsView(name, name_size),
                                           AsView(value, value_size));
  }

  static int OnDataChunk(nghttp2_session*, uint8_t, int32_t stream_id,
                         const uint8_t* data, size_t size, void* user_data) {
    return Self(user_data).OnBodyChunk(stream_id, data, size);
  }

  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame,
                         void* user_data) {
    Http2Session& self = Self(user_data);
    bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS:
        if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
          return self.OnHeadersDone(frame->hd.stream_id, end_stream);
        }
        // Trailers end the request too.
        return end_stream ? self.OnRequestDone(frame->hd.stream_id) : 0;
      case NGHTTP2_DATA:
        return end_stream ? self.OnRequestDone(frame->hd.stream_id) : 0;
      case NGHTTP2_PING:
        if ((frame->hd.flags & NGHTTP2_FLAG_ACK) != 0) self.OnPingAck();
        return 0;
      default:
        return 0;
    }
  }

  static int OnFrameSend(nghttp2_session* session, const nghttp2_frame* frame,
                         void* user_data) {
    Http2Session& self = Self(user_data);
    if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) return 0;
    auto it = self.streams_.find(frame->hd.stream_id);
    if (it != self.streams_.end() && it->second.refused) {
      // RFC 9113 section 8.1: having answered before the request ended, ask
      // the client to stop sending it. Submitted only now because nghttp2
      // may send a RST_STREAM ahead of HEADERS queued before it, and the
      // client must read the 413 first.
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                NGHTTP2_NO_ERROR);
    }
    return 0;
  }

  static int OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t,
                           void* user_data) {
    Http2Session& self = Self(user_data);
    // A handler still running for this stream finds it gone and drops its
    // answer; a streamed answer's producer stops.
    if (auto it = self.streams_.find(stream_id);
        it != self.streams_.end() && it->second.source) {
      it->second.source->Cancel();
    }
    self.streams_.erase(stream_id);
    if (self.draining_ && !self.final_goaway_sent_ && self.streams_.empty()) {
      self.SendFinalGoaway();
    }
    return 0;
  }

  static ssize_t ReadBody(nghttp2_session*, int32_t stream_id, uint8_t* buf,
                          size_t length, uint32_t* data_flags,
                          nghttp2_data_source*, void* user_data) {
    Http2Session& self = Self(user_data);
    auto it = self.streams_.find(stream_id);
    if (it == self.streams_.end()) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    Stream& stream = it->second;
    if (stream.source && !stream.body_complete &&
        stream.body_sent == stream.body.size()) {
      ResponseStream::Taken taken = stream.source->Take();
      stream.body = std::move(taken.bytes);
      stream.body_sent = 0;
      stream.body_complete = taken.ended;
    }
    size_t n = std::min(length, stream.body.size() - stream.body_sent);
    if (n > 0) std::memcpy(buf, stream.body.data() + stream.body_sent, n);
    stream.body_sent += n;
    if (stream.body_sent == stream.body.size()) {
      if (stream.body_complete) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
        std::string().swap(stream.body);
        stream.body_sent = 0;
      } else if (n == 0) {
        // A streamed body with nothing new yet; nghttp2_session_resume_data()
        // wakes this stream when more is appended.
        return NGHTTP2_ERR_DEFERRED;
      }
    }
    return static_cast<ssize_t>(n);
  }
};

void Http2Session::NghttpDeleter::operator()(nghttp2_session* session) const {
  nghttp2_session_del(session);
}

Http2Session::Http2Session(tcp::socket socket, SessionEnvironment& env,
                           std::string already_read)
    : stream_(std::move(socket)),
      env_(env),
      already_read_(std::move(already_read)),
      read_buffer_(kReadBufferBytes),
      idle_timer_(stream_.get_executor()) {}

Http2Session::~Http2Session() {
  CancelSources();
  // Before streams_ goes: nghttp2 must not call back into a dead map.
  session_.reset();
  env_.registry.Remove(this);
}

void Http2Session::Start() {
  if (!env_.registry.Add(shared_from_this())) return;  // shutting down
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    nghttp2_session_callbacks* callbacks = nullptr;
    if (nghttp2_session_callbacks_new(&callbacks) != 0) return self->Close();
    nghttp2_session_callbacks_set_on_begin_headers_callback(
        callbacks, &Callbacks::OnBeginHeaders);
    nghttp2_session_callbacks_set_on_header_callback(callbacks,
                                                     &Callbacks::OnHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        callbacks, &Callbacks::OnDataChunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(
        callbacks, &Callbacks::OnFrameRecv);
    nghttp2_session_callbacks_set_on_frame_send_callback(
        callbacks, &Callbacks::OnFrameSend);
    nghttp2_session_callbacks_set_on_stream_close_callback(
        callbacks, &Callbacks::OnStreamClose);
    nghttp2_session* raw = nullptr;
    int rv = nghttp2_session_server_new(&raw, callbacks, self.get());
    nghttp2_session_callbacks_del(callbacks);
    if (rv != 0) return self->Close();
    self->session_.reset(raw);

    const HttpOptions& options = self->env_.options;
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE,
         static_cast<uint32_t>(StreamWindow(options))},
    };
    nghttp2_submit_settings(raw, NGHTTP2_FLAG_NONE, settings,
                            std::size(settings));
    // The connection window is not a setting: raising it sends a
    // WINDOW_UPDATE on stream 0.
    nghttp2_session_set_local_window_size(raw, NGHTTP2_FLAG_NONE, 0,
                                          ConnectionWindow(options));
    if (self->draining_) self->SendFinalGoaway();  // Drain() came first

    self->last_activity_ = std::chrono::steady_clock::now();
    self->ArmIdleTimer();
    std::string first = std::move(self->already_read_);
    if (!self->Receive(reinterpret_cast<const uint8_t*>(first.data()),
                       first.size())) {
      return self->Close();
    }
    self->Flush();
    self->DoRead();
  });
}

void Http2Session::Drain() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    if (self->closed_ || self->draining_) return;
    self->draining_ = true;
    // Live streams end: their producers stop, and their bodies end after
    // what is queued.
    self->CancelSources();
    if (!self->session_) return;  // Start() sends the GOAWAY
    if (self->streams_.empty()) {
      self->SendFinalGoaway();
    } else {
      // RFC 9113 section 6.8: a GOAWAY naming the highest possible stream
      // first, so that requests already on the wire are still taken; the
      // PING's answer shows that the client has seen it, and then the final
      // GOAWAY names the last stream actually taken.
      nghttp2_submit_shutdown_notice(self->session_.get());
      nghttp2_submit_ping(self->session_.get(), NGHTTP2_FLAG_NONE, nullptr);
    }
    self->Flush();
  });
}

void Http2Session::SendFinalGoaway() {
  final_goaway_sent_ = true;
  nghttp2_submit_goaway(session_.get(), NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_.get()),
                        NGHTTP2_NO_ERROR, nullptr, 0);
}

void Http2Session::CancelSources() {
  for (auto& [id, stream] : streams_) {
    if (stream.source) stream.source->Cancel();
  }
}

void Http2Session::OnPingAck() {
  if (draining_ && !final_goaway_sent_) SendFinalGoaway();
}

void Http2Session::DoRead() {
  if (closed_ || reading_) return;
  // Too many requests on the worker pool: Respond() resumes reading.
  if (handlers_running_ >= kMaxConcurrentStreams) return;
  if (nghttp2_session_want_read(session_.get()) == 0) return CloseIfDone();
  reading_ = true;
  stream_.async_read_some(
      net::buffer(read_buffer_),
      beast::bind_front_handler(&Http2Session::OnRead, shared_from_this()));
}

void Http2Session::OnRead(beast::error_code ec, size_t bytes) {
  reading_ = false;
  if (closed_) return;
  if (ec) {
    if (ec != net::error::eof && ec != net::error::operation_aborted &&
        ec != net::error::connection_reset) {
      SLUICE_LOG(kDebug) << "HTTP/2 connection dropped while reading: "
                         << ec.message();
    }
    return Close();
  }
  last_activity_ = std::chrono::steady_clock::now();
  if (!Receive(read_buffer_.data(), bytes)) return Close();
  Flush();
  DoRead();
}

bool Http2Session::Receive(const uint8_t* data, size_t size) {
  ssize_t rv = nghttp2_session_mem_recv(session_.get(), data, size);
  if (rv < 0) {
    // Fatal for the connection (e.g. a flood); protocol errors instead queue
    // a GOAWAY, are sent by Flush() and end the session there.
    SLUICE_LOG(kDebug) << "HTTP/2 connection failed: "
                       << nghttp2_strerror(static_cast<int>(rv));
    return false;
  }
  return true;
}

void Http2Session::Flush() {
  if (closed_ || writing_) return;
  write_buffer_.clear();
  while (write_buffer_.size() < kMaxWriteBytes) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(session_.get(), &data);
    if (n < 0) {
      SLUICE_LOG(kDebug) << "HTTP/2 connection failed while sending: "
                         << nghttp2_strerror(static_cast<int>(n));
      return Close();
    }
    if (n == 0) break;
    // `data` is valid only until the next call: copy it out.
    write_buffer_.append(reinterpret_cast<const char*>(data),
                         static_cast<size_t>(n));
  }
  if (write_buffer_.empty()) return CloseIfDone();
  writing_ = true;
  net::async_write(
      stream_, net::buffer(write_buffer_),
      beast::bind_front_handler(&Http2Session::OnWrite, shared_from_this()));
}

void Http2Session::OnWrite(beast::error_code ec, size_t /*bytes*/) {
  writing_ = false;
  if (closed_) return;
  if (ec) return Close();
  last_activity_ = std::chrono::steady_clock::now();
  Flush();
}

void Http2Session::CloseIfDone() {
  if (closed_ || writing_) return;
  if (nghttp2_session_want_read(session_.get()) == 0 &&
      nghttp2_session_want_write(session_.get()) == 0) {
    Close();
  }
}

void Http2Session::Close() {
  if (closed_) return;
  closed_ = true;
  CancelSources();
  idle_timer_.cancel();
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.close();
}

// The read timeout of HTTP/1.1, for a connection where a read is always
// pending: a tcp_stream expiry is fixed when the read starts, so it cannot
// tell an idle connection from one whose requests are still on the worker
// pool. This timer can: it fires read_timeout after the last bytes moved
// either way and closes the connection only if no handler is running.
void Http2Session::ArmIdleTimer() {
  idle_timer_.expires_at(last_activity_ + env_.options.read_timeout);
  idle_timer_.async_wait(beast::bind_front_handler(&Http2Session::OnIdleTimer,
                                                   shared_from_this()));
}

void Http2Session::OnIdleTimer(beast::error_code ec) {
  if (ec || closed_) return;
  auto now = std::chrono::steady_clock::now();
  if (handlers_running_ > 0) last_activity_ = now;
  if (now < last_activity_ + env_.options.read_timeout) return ArmIdleTimer();
  if (draining_) return Close();  // the GOAWAY did not get out in time either
  // Idle: say goodbye properly, so that a request crossing on the wire is
  // retried by the client rather than lost; the session ends once the GOAWAY
  // is written, or at the next expiry.
  draining_ = true;
  SendFinalGoaway();
  Flush();
  last_activity_ = now;
  if (!closed_) ArmIdleTimer();
}

int Http2Session::OnRequestHeader(int32_t stream_id, std::string_view name,
                                  std::string_view value) {
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return 0;
  Stream& stream = it->second;
  ApiRequest& request = stream.request;
  if (name.empty() || name.front() != ':')
    stream.headers.emplace_back(name, value);
  // HTTP/2 header names are lowercase on the wire; nghttp2 rejects others.
  if (name == ":method") {
    request.method = value;
  } else if (name == ":path") {
    size_t mark = value.find('?');
    stream.path = value.substr(0, mark);
    if (mark != std::string_view::npos) request.query = value.substr(mark + 1);
  } else if (name == ":authority") {
    request.host = value;
  } else if (name == "host") {
    if (request.host.empty()) request.host = value;
  } else if (name == "content-type") {
    request.content_type = value;
  } else if (name == "x-amz-target") {
    request.target = value;
  } else if (name == "authorization") {
    request.authorization = value;
  } else if (name == "x-amz-date" || name == "date") {
    request.has_date_header = true;
  } else if (name == "content-length") {
    // nghttp2 has checked that it is a number and will check the body
    // against it; here it lets a body over the cap be refused before any of
    // it arrives.
    uint64_t length = 0;
    auto [end, error] =
        std::from_chars(value.data(), value.data() + value.size(), length);
    if (error != std::errc() || length > env_.options.max_request_bytes) {
      stream.over_limit = true;
    }
  }
  return 0;
}

int Http2Session::OnHeadersDone(int32_t stream_id, bool end_stream) {
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return 0;
  if (it->second.over_limit) {
    RefuseTooLarge(stream_id, it->second);
    return 0;
  }
  return end_stream ? OnRequestDone(stream_id) : 0;
}

int Http2Session::OnBodyChunk(int32_t stream_id, const uint8_t* data,
                              size_t size) {
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return 0;
  Stream& stream = it->second;
  if (stream.refused || stream.dispatched) return 0;
  if (stream.request.body.size() + size > env_.options.max_request_bytes) {
    RefuseTooLarge(stream_id, stream);
    return 0;
  }
  stream.request.body.append(reinterpret_cast<const char*>(data), size);
  return 0;
}

int Http2Session::OnRequestDone(int32_t stream_id) {
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return 0;
  Stream& stream = it->second;
  if (stream.refused || stream.dispatched) return 0;
  Dispatch(stream_id, stream);
  return 0;
}

void Http2Session::Dispatch(int32_t stream_id, Stream& stream) {
  stream.dispatched = true;
  if (stream.request.method == "GET" && stream.path == "/health") {
    stream.body = HealthBody(env_);
    SubmitResponse(stream_id, stream, 200,
                   {{"content-type", "application/json"}});
    return;
  }
  ++handlers_running_;
  if (const PathHandler* handler = env_.router.FindPath(stream.path)) {
    PathRequest request;
    request.method = std::move(stream.request.method);
    request.path = stream.path;
    request.query = std::move(stream.request.query);
    request.headers = std::move(stream.headers);
    boost::system::error_code ec;
    auto peer = stream_.socket().remote_endpoint(ec);
    if (!ec) request.remote_address = peer.address().to_string();
    request.body = std::move(stream.request.body);
    net::post(env_.workers, [self = shared_from_this(), stream_id, handler,
                             request = std::move(request)]() mutable {
      PathResponse answer = (*handler)(std::move(request));
      net::post(self->stream_.get_executor(),
                [self, stream_id, answer = std::move(answer)]() mutable {
                  self->RespondPath(stream_id, std::move(answer));
                });
    });
    return;
  }
  // As Session::Dispatch: handlers may block, so they run on the worker pool
  // and the answer comes back to this connection's strand.
  net::post(env_.workers, [self = shared_from_this(), stream_id,
                           api = std::move(stream.request)]() mutable {
    ApiResponse answer = self->env_.router.Handle(std::move(api));
    net::post(self->stream_.get_executor(),
              [self, stream_id, answer = std::move(answer)]() mutable {
                self->Respond(stream_id, std::move(answer));
              });
  });
}

void Http2Session::Respond(int32_t stream_id, ApiResponse answer) {
  --handlers_running_;
  if (closed_) return;
  if (auto it = streams_.find(stream_id); it != streams_.end()) {
    Stream& stream = it->second;
    std::vector<std::pair<std::string, std::string>> headers;
    if (!answer.content_type.empty()) {
      headers.emplace_back("content-type", std::move(answer.content_type));
    }
    headers.emplace_back("x-amzn-requestid", std::move(answer.request_id));
    if (!answer.error_type.empty()) {
      headers.emplace_back("x-amzn-errortype", std::move(answer.error_type));
    }
    if (answer.stream) {
      stream.source = std::move(answer.stream);
      if (draining_) stream.source->Cancel();
      SubmitResponse(stream_id, stream, answer.status, headers);
      std::weak_ptr<Http2Session> weak = shared_from_this();
      stream.source->OnReady([weak, stream_id] {
        if (auto self = weak.lock()) {
          net::post(self->stream_.get_executor(), [self, stream_id] {
            if (self->closed_) return;
            // Fails harmlessly when the stream is not deferred or is gone.
            nghttp2_session_resume_data(self->session_.get(), stream_id);
            self->Flush();
          });
        }
      });
    } else {
      stream.body = std::move(answer.body);
      SubmitResponse(stream_id, stream, answer.status, headers);
    }
  } else if (answer.stream) {
    answer.stream->Cancel();  // the client reset the stream meanwhile
  }  // else the client reset the stream while the handler ran
  Flush();
  DoRead();  // in case reads paused at the handler cap
}

void Http2Session::RespondPath(int32_t stream_id, PathResponse answer) {
  --handlers_running_;
  if (closed_) return;
  if (auto it = streams_.find(stream_id); it != streams_.end()) {
    // HTTP/2 header names must be lowercase.
    for (auto& [name, value] : answer.headers) {
      for (char& c : name) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      }
    }
    it->second.body = std::move(answer.body);
    SubmitResponse(stream_id, it->second, answer.status, answer.headers);
  }  // else the client reset the stream while the handler ran
  Flush();
  DoRead();  // in case reads paused at the handler cap
}

void Http2Session::RefuseTooLarge(int32_t stream_id, Stream& stream) {
  stream.refused = true;
  std::string().swap(stream.request.body);
  // The RST_STREAM that tells the client to stop sending follows once this
  // is on the wire (Callbacks::OnFrameSend).
  SubmitResponse(stream_id, stream, 413, {});
}

void Http2Session::SubmitResponse(
    int32_t stream_id, Stream& stream, unsigned status,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  // A streamed body's length is unknown; it ends with END_STREAM.
  bool streamed = stream.source != nullptr;
  stream.body_complete = !streamed;
  stream.body_sent = 0;
  std::string status_text = std::to_string(status);
  std::string length_text = std::to_string(stream.body.size());
  std::vector<nghttp2_nv> nva;
  nva.reserve(headers.size() + 2);
  nva.push_back(Header(":status", status_text));
  for (const auto& [name, value] : headers) nva.push_back(Header(name, value));
  if (!streamed) nva.push_back(Header("content-length", length_text));

  nghttp2_data_provider body{};
  body.read_callback = &Callbacks::ReadBody;
  // No body: END_STREAM goes on the HEADERS frame.
  int rv = nghttp2_submit_response(
      session_.get(), stream_id, nva.data(), nva.size(),
      stream.body.empty() && !streamed ? nullptr : &body);
  if (rv != 0) {
    SLUICE_LOG(kDebug) << "cannot answer HTTP/2 stream " << stream_id << ": "
                       << nghttp2_strerror(rv);
  }
}

}  // namespace sluice::http
