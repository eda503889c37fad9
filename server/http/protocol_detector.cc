#include "server/http/protocol_detector.h"

#include <boost/asio/buffers_iterator.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <string>
#include <utility>

#include "common/log.h"
#include "server/http/http2_session.h"
#include "server/http/session.h"

namespace sluice::http {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

namespace {

// Large enough for the preface and the client's first frames in one read;
// whatever arrives is passed on, so there is no reason to read less.
constexpr size_t kFirstReadBytes = 4096;

std::string_view View(const beast::flat_buffer& buffer) {
  auto data = buffer.data();
  return {static_cast<const char*>(data.data()), data.size()};
}

}  // namespace

WireProtocol DetectProtocol(std::string_view first_bytes) {
  size_t n = std::min(first_bytes.size(), kHttp2Preface.size());
  if (first_bytes.substr(0, n) != kHttp2Preface.substr(0, n)) {
    return WireProtocol::kHttp1;
  }
  return n == kHttp2Preface.size() ? WireProtocol::kHttp2
                                   : WireProtocol::kUndecided;
}

ProtocolDetector::ProtocolDetector(tcp::socket socket, SessionEnvironment& env)
    : stream_(std::move(socket)), env_(env) {}

ProtocolDetector::~ProtocolDetector() { env_.registry.Remove(this); }

void ProtocolDetector::Start() {
  if (!env_.registry.Add(shared_from_this())) return;  // shutting down
  net::dispatch(
      stream_.get_executor(),
      beast::bind_front_handler(&ProtocolDetector::DoRead, shared_from_this()));
}

void ProtocolDetector::Drain() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    beast::error_code ignored;
    self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    self->stream_.close();
  });
}

void ProtocolDetector::DoRead() {
  // A client that connects and says nothing is dropped like an idle
  // keep-alive connection.
  stream_.expires_after(env_.options.read_timeout);
  stream_.async_read_some(
      buffer_.prepare(kFirstReadBytes),
      beast::bind_front_handler(&ProtocolDetector::OnRead, shared_from_this()));
}

void ProtocolDetector::OnRead(beast::error_code ec, size_t bytes) {
  if (ec) {
    if (ec != net::error::eof && ec != net::error::operation_aborted &&
        ec != beast::error::timeout) {
      SLUICE_LOG(kDebug) << "connection dropped before its first request: "
                         << ec.message();
    }
    return;  // the socket closes with this object
  }
  buffer_.commit(bytes);
  switch (DetectProtocol(View(buffer_))) {
    case WireProtocol::kUndecided:
      return DoRead();
    case WireProtocol::kHttp1:
      stream_.expires_never();
      std::make_shared<Session>(stream_.release_socket(), env_,
                                std::move(buffer_))
          ->Start();
      return;
    case WireProtocol::kHttp2:
      stream_.expires_never();
      std::make_shared<Http2Session>(stream_.release_socket(), env_,
                                     std::string(View(buffer_)))
          ->Start();
      return;
  }
}

}  // namespace sluice::http
