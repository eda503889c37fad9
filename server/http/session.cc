#include "server/http/session.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/version.hpp>
#include <utility>

#include "common/log.h"

namespace sluice::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;

constexpr size_t kReadBufferBytes = 64 * 1024;

Session::Session(tcp::socket socket, SessionEnvironment& env,
                 beast::flat_buffer already_read)
    : stream_(std::move(socket)), env_(env), buffer_(std::move(already_read)) {
  // Beast reads at most the buffer's free capacity (and at least 512 bytes)
  // per call; without room to spare, a 1 MB body takes ~2,000 reads.
  buffer_.reserve(kReadBufferBytes);
}

Session::~Session() {
  if (body_stream_) body_stream_->Cancel();
  env_.registry.Remove(this);
}

void Session::Start() {
  if (!env_.registry.Add(shared_from_this())) return;  // shutting down
  net::dispatch(
      stream_.get_executor(),
      beast::bind_front_handler(&Session::DoReadHeader, shared_from_this()));
}

void Session::Drain() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    self->draining_ = true;
    // A live stream ends: its producer stops, the queued bytes and the last
    // chunk go out, then the connection closes.
    if (self->body_stream_) self->body_stream_->Cancel();
    if (!self->busy_) self->Close();
  });
}

void Session::DoReadHeader() {
  if (draining_) return Close();
  parser_.emplace();
  parser_->body_limit(env_.options.max_request_bytes);
  stream_.expires_after(env_.options.read_timeout);
  bhttp::async_read_header(
      stream_, buffer_, *parser_,
      beast::bind_front_handler(&Session::OnReadHeader, shared_from_this()));
}

void Session::OnReadHeader(beast::error_code ec, size_t /*bytes*/) {
  if (ec == bhttp::error::body_limit) return RefuseTooLarge();
  if (ec) {
    // end_of_stream, a timeout on an idle connection, or a reset: all normal.
    if (ec != bhttp::error::end_of_stream &&
        ec != net::error::operation_aborted && ec != beast::error::timeout) {
      SLUICE_LOG(kDebug) << "connection dropped while reading: "
                         << ec.message();
    }
    return Close();
  }
  busy_ = true;
  const auto& header = parser_->get();
  if (beast::iequals(header[bhttp::field::expect], "100-continue")) {
    // Clients that ask first (curl, some SDKs for large bodies) wait for this
    // before they send the body.
    continue_ = {bhttp::status::continue_, header.version()};
    bhttp::async_write(
        stream_, continue_,
        [self = shared_from_this()](beast::error_code write_ec, size_t) {
          if (write_ec) return self->Close();
          self->DoReadBody();
        });
    return;
  }
  DoReadBody();
}

void Session::DoReadBody() {
  stream_.expires_after(env_.options.read_timeout);
  bhttp::async_read(
      stream_, buffer_, *parser_,
      beast::bind_front_handler(&Session::OnReadBody, shared_from_this()));
}

void Session::OnReadBody(beast::error_code ec, size_t /*bytes*/) {
  if (ec == bhttp::error::body_limit) return RefuseTooLarge();
  if (ec) {
    SLUICE_LOG(kDebug) << "connection dropped while reading a body: "
                       << ec.message();
    return Close();
  }
  stream_.expires_never();  // handling has no deadline of its own
  Dispatch();
}

void Session::Dispatch() {
  bhttp::request<bhttp::string_body> request = parser_->release();
  std::string_view target = request.target();
  std::string_view path = target.substr(0, target.find('?'));

  if (request.method() == bhttp::verb::get && path == "/health") {
    Response response = HealthResponse();
    response.version(request.version());
    response.keep_alive(request.keep_alive());
    return Respond(std::move(response));
  }

  if (const PathHandler* handler = env_.router.FindPath(path)) {
    return DispatchPath(*handler, std::move(request));
  }

  ApiRequest api;
  api.method = std::string(request.method_string());
  if (size_t mark = target.find('?'); mark != std::string_view::npos) {
    api.query = std::string(target.substr(mark + 1));
  }
  api.content_type = std::string(request[bhttp::field::content_type]);
  api.target = std::string(request["X-Amz-Target"]);
  api.authorization = std::string(request[bhttp::field::authorization]);
  api.host = std::string(request[bhttp::field::host]);
  api.has_date_header =
      request.count("X-Amz-Date") > 0 || request.count(bhttp::field::date) > 0;
  api.body = std::move(request.body());
  unsigned version = request.version();
  bool keep_alive = request.keep_alive();

  // The protocol layer and the handlers run on the worker pool: they may
  // parse megabytes of JSON or block on SQLite and fsync, which an I/O thread
  // must never do. The answer comes back to this connection's strand.
  net::post(env_.workers, [self = shared_from_this(), api = std::move(api),
                           version, keep_alive]() mutable {
    ApiResponse answer = self->env_.router.Handle(std::move(api));
    if (answer.stream) {
      net::post(self->stream_.get_executor(),
                [self, version, answer = std::move(answer)]() mutable {
                  self->StartStream(version, std::move(answer));
                });
      return;
    }
    Response response{static_cast<bhttp::status>(answer.status), version};
    if (!answer.content_type.empty()) {
      response.set(bhttp::field::content_type, answer.content_type);
    }
    response.set("x-amzn-RequestId", answer.request_id);
    if (!answer.error_type.empty()) {
      response.set("x-amzn-ErrorType", answer.error_type);
    }
    response.body() = std::move(answer.body);
    response.keep_alive(keep_alive);
    net::post(self->stream_.get_executor(),
              [self, response = std::move(response)]() mutable {
                self->Respond(std::move(response));
              });
  });
}

void Session::DispatchPath(const PathHandler& handler,
                           bhttp::request<bhttp::string_body> request) {
  PathRequest path_request;
  std::string_view target = request.target();
  size_t mark = target.find('?');
  path_request.method = std::string(request.method_string());
  path_request.path = std::string(target.substr(0, mark));
  if (mark != std::string_view::npos) {
    path_request.query = std::string(target.substr(mark + 1));
  }
  for (const auto& field : request) {
    std::string name(field.name_string());
    for (char& c : name) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    path_request.headers.emplace_back(std::move(name),
                                      std::string(field.value()));
  }
  beast::error_code ec;
  tcp::endpoint peer = stream_.socket().remote_endpoint(ec);
  if (!ec) path_request.remote_address = peer.address().to_string();
  path_request.body = std::move(request.body());
  unsigned version = request.version();
  bool keep_alive = request.keep_alive();
  // As for the AWS protocol: handlers may block on the log or SQLite.
  net::post(env_.workers, [self = shared_from_this(), &handler,
                           path_request = std::move(path_request), version,
                           keep_alive]() mutable {
    PathResponse answer = handler(std::move(path_request));
    Response response{static_cast<bhttp::status>(answer.status), version};
    for (auto& [name, value] : answer.headers) response.set(name, value);
    response.body() = std::move(answer.body);
    response.keep_alive(keep_alive);
    net::post(self->stream_.get_executor(),
              [self, response = std::move(response)]() mutable {
                self->Respond(std::move(response));
              });
  });
}

void Session::Respond(Response response) {
  if (draining_) response.keep_alive(false);
  response.prepare_payload();
  bool keep_alive = response.keep_alive();
  response_.emplace(std::move(response));
  stream_.expires_after(env_.options.read_timeout);
  bhttp::async_write(stream_, *response_,
                     beast::bind_front_handler(&Session::OnWrite,
                                               shared_from_this(), keep_alive));
}

void Session::OnWrite(bool keep_alive, beast::error_code ec, size_t /*bytes*/) {
  response_.reset();
  busy_ = false;
  if (ec || !keep_alive || draining_) return Close();
  DoReadHeader();
}

void Session::StartStream(unsigned version, ApiResponse answer) {
  body_stream_ = std::move(answer.stream);
  if (draining_) body_stream_->Cancel();
  stream_header_.emplace(bhttp::status::ok, version);
  stream_header_->set(bhttp::field::content_type, answer.content_type);
  stream_header_->set("x-amzn-RequestId", answer.request_id);
  // The connection ends with the stream: the client cannot tell how long the
  // stream will last, so nothing is pipelined behind it.
  stream_header_->keep_alive(false);
  stream_header_->chunked(true);
  stream_serializer_.emplace(*stream_header_);
  stream_.expires_after(env_.options.read_timeout);
  bhttp::async_write_header(
      stream_, *stream_serializer_,
      beast::bind_front_handler(&Session::OnStreamHeaderWritten,
                                shared_from_this()));
}

void Session::OnStreamHeaderWritten(beast::error_code ec, size_t /*bytes*/) {
  if (ec) return Close();
  WatchForHangUp();
  std::weak_ptr<Session> weak = shared_from_this();
  body_stream_->OnReady([weak] {
    if (auto self = weak.lock()) {
      net::post(self->stream_.get_executor(), [self] { self->PumpStream(); });
    }
  });
}

void Session::PumpStream() {
  if (!body_stream_ || chunk_writing_ || stream_ended_) return;
  ResponseStream::Taken taken = body_stream_->Take();
  if (!taken.bytes.empty()) {
    chunk_ = std::move(taken.bytes);
    chunk_writing_ = true;
    stream_.expires_after(env_.options.read_timeout);  // a stalled client
    net::async_write(stream_, bhttp::make_chunk(net::buffer(chunk_)),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->chunk_writing_ = false;
                       if (ec) return self->Close();
                       self->PumpStream();  // the end, or what came meanwhile
                     });
    return;
  }
  if (!taken.ended) return;  // OnReady() calls again
  stream_ended_ = true;
  stream_.expires_after(env_.options.read_timeout);
  net::async_write(stream_, bhttp::make_chunk_last(),
                   [self = shared_from_this()](beast::error_code, size_t) {
                     self->Close();
                   });
}

// Reads straight from the socket (tcp_stream's timer is the writes'): end of
// file or an error means the client went away, and the producer stops. Bytes
// the client sends meanwhile are dropped, as the connection closes after the
// stream anyway.
void Session::WatchForHangUp() {
  stream_.socket().async_read_some(
      net::buffer(discard_),
      [self = shared_from_this()](beast::error_code ec, size_t) {
        if (!ec) return self->WatchForHangUp();
        if (self->body_stream_) self->body_stream_->Cancel();
      });
}

void Session::RefuseTooLarge() {
  Response response{bhttp::status::payload_too_large, parser_->get().version()};
  response.keep_alive(false);
  response.prepare_payload();
  response_.emplace(std::move(response));
  stream_.expires_after(env_.options.read_timeout);
  bhttp::async_write(
      stream_, *response_,
      [self = shared_from_this()](beast::error_code ec, size_t) {
        self->response_.reset();
        if (ec) return self->Close();
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        // One deadline for the whole discard, not one per read.
        self->stream_.expires_after(self->env_.options.read_timeout);
        self->DiscardInput();
      });
}

void Session::DiscardInput() {
  stream_.async_read_some(
      net::buffer(discard_),
      [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec) return self->Close();
        self->DiscardInput();
      });
}

void Session::Close() {
  busy_ = false;
  if (body_stream_) body_stream_->Cancel();
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.close();
}

Session::Response Session::HealthResponse() const {
  Response response{bhttp::status::ok, 11};
  response.set(bhttp::field::content_type, "application/json");
  response.body() = HealthBody(env_);
  return response;
}

}  // namespace sluice::http
