// One HTTP/1.1 connection: reads requests one at a time, hands each to the
// AWS protocol layer on the worker pool, writes the answer, and keeps the
// connection alive for the next one. HTTP/2 connections go to Http2Session.
// A streamed answer (SubscribeToShard) goes out with chunked transfer coding,
// one chunk per batch of queued bytes, and the connection closes after it.
#pragma once

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <memory>
#include <optional>

#include "server/http/connection.h"
#include "server/http/response_stream.h"

namespace sluice::http {

// Owned by the handlers it has pending (shared_from_this); every member is
// touched only on the connection's strand, the executor of `stream_`.
// `already_read` holds the bytes ProtocolDetector read to tell HTTP/1.1 from
// HTTP/2; the parser reads them before the socket.
class Session : public Connection,
                public std::enable_shared_from_this<Session> {
 public:
  Session(boost::asio::ip::tcp::socket socket, SessionEnvironment& env,
          boost::beast::flat_buffer already_read = {});
  ~Session() override;

  void Start();
  // Closes the connection now if it is idle, else right after the response
  // to the request in flight; a streamed answer is ended (its producer
  // cancelled) and the connection closes once its last chunk is out.
  void Drain() override;

 private:
  using Parser =
      boost::beast::http::request_parser<boost::beast::http::string_body>;
  using Response =
      boost::beast::http::response<boost::beast::http::string_body>;

  void DoReadHeader();
  void OnReadHeader(boost::beast::error_code ec, size_t bytes);
  void DoReadBody();
  void OnReadBody(boost::beast::error_code ec, size_t bytes);
  void Dispatch();
  // A path the router serves outside the AWS protocol (the gateway).
  void DispatchPath(
      const PathHandler& handler,
      boost::beast::http::request<boost::beast::http::string_body> request);
  void Respond(Response response);
  void OnWrite(bool keep_alive, boost::beast::error_code ec, size_t bytes);
  // A streamed answer: the headers, then each batch of bytes the producer
  // queued as one chunk (one write in flight at a time), then the last chunk.
  // Meanwhile a read on the socket notices a client that goes away.
  void StartStream(unsigned version, ApiResponse answer);
  void OnStreamHeaderWritten(boost::beast::error_code ec, size_t bytes);
  void PumpStream();
  void WatchForHangUp();
  // 413: answer, stop sending, and read the rest of the body into a small
  // fixed buffer until the client stops, so it sees the answer instead of a
  // reset, without the server ever holding the body.
  void RefuseTooLarge();
  void DiscardInput();
  void Close();

  Response HealthResponse() const;

  boost::beast::tcp_stream stream_;
  SessionEnvironment& env_;
  boost::beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  std::optional<Response> response_;  // alive until its write completes
  boost::beast::http::response<boost::beast::http::empty_body> continue_;
  // The streamed answer in progress, if any.
  std::shared_ptr<ResponseStream> body_stream_;
  std::optional<boost::beast::http::response<boost::beast::http::empty_body>>
      stream_header_;
  std::optional<
      boost::beast::http::response_serializer<boost::beast::http::empty_body>>
      stream_serializer_;
  std::string chunk_;  // the bytes of the chunk write in flight
  bool chunk_writing_ = false;
  bool stream_ended_ = false;  // the last chunk is written or being written
  std::array<char, 8192> discard_;
  bool busy_ = false;      // a request is being read, handled or answered
  bool draining_ = false;  // shutdown: no more requests on this connection
};

}  // namespace sluice::http
