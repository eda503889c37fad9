// Tells HTTP/1.1 from HTTP/2 on a freshly accepted connection, so that one
// port serves both. HTTP/2 clients with prior knowledge (the JavaScript SDK
// v3's Kinesis client and the Java SDK v2's KinesisAsyncClient, on http://)
// open with the 24-byte connection preface; anything else is HTTP/1.1.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <memory>
#include <string_view>

#include "server/http/connection.h"

namespace sluice::http {

// "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" (RFC 9113 section 3.4).
inline constexpr std::string_view kHttp2Preface =
    "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

enum class WireProtocol {
  kUndecided,  // the bytes so far are a proper prefix of the preface
  kHttp1,
  kHttp2,
};

// Decides from the first bytes of a connection, as few as are needed.
WireProtocol DetectProtocol(std::string_view first_bytes);

// Reads until DetectProtocol() decides, then hands the socket and every byte
// read so far to a Session (HTTP/1.1) or an Http2Session, and ends. Owned by
// its pending handlers; members are touched only on the connection's strand.
// Registered like a session so that shutdown closes connections that have
// not said anything yet.
class ProtocolDetector : public Connection,
                         public std::enable_shared_from_this<ProtocolDetector> {
 public:
  ProtocolDetector(boost::asio::ip::tcp::socket socket,
                   SessionEnvironment& env);
  ~ProtocolDetector() override;

  void Start();
  // No request has begun, so there is nothing to finish: closes at once.
  void Drain() override;

 private:
  void DoRead();
  void OnRead(boost::beast::error_code ec, size_t bytes);

  boost::beast::tcp_stream stream_;
  SessionEnvironment& env_;
  boost::beast::flat_buffer buffer_;
};

}  // namespace sluice::http
