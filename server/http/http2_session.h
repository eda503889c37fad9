// One HTTP/2 connection over cleartext TCP with prior knowledge (h2c, RFC 9113
// section 3.3), driven by nghttp2's server session. Requests on concurrent
// streams go to the AWS protocol layer on the worker pool, as Session does for
// HTTP/1.1; each answer goes back on its stream.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "server/http/connection.h"
#include "server/http/response_stream.h"

struct nghttp2_session;

namespace sluice::http {

// Owned by the handlers it has pending (shared_from_this). Every member, and
// the nghttp2 session with all its callbacks, is touched only on the
// connection's strand, the executor of `stream_`.
//
// The pump: bytes read go into nghttp2_session_mem_recv(), which calls back
// per header, body chunk and frame; whatever nghttp2 has to send is written
// with one async_write in flight at a time. The connection ends when nghttp2
// wants neither to read nor to write (after GOAWAY both ways, or an error).
//
// A response body is a buffer that may grow while it is sent: the data
// provider defers when it has sent everything so far but the body is not
// complete. Unary answers are complete at once. A streamed answer
// (SubscribeToShard) has a ResponseStream as its source: the data provider
// takes from it whenever it has sent everything so far, so nghttp2's flow
// control is the producer's backpressure; the producer's OnReady resumes the
// deferred stream. RST_STREAM, the connection closing and Drain() cancel the
// source, so its producer stops.
class Http2Session : public Connection,
                     public std::enable_shared_from_this<Http2Session> {
 public:
  // `already_read` starts with the connection preface (ProtocolDetector).
  Http2Session(boost::asio::ip::tcp::socket socket, SessionEnvironment& env,
               std::string already_read);
  ~Http2Session() override;

  void Start();
  // GOAWAY: a shutdown notice at once, then the final GOAWAY naming the last
  // stream taken; those streams get their answers, then the connection
  // closes.
  void Drain() override;

 private:
  struct Callbacks;  // nghttp2's C callbacks, in the .cc file
  friend struct Callbacks;

  struct Stream {
    ApiRequest request;
    std::string path;  // :path without the query
    // Every regular header, for a path the router serves outside the AWS
    // protocol (PathRequest); names are lowercase on HTTP/2.
    std::vector<std::pair<std::string, std::string>> headers;
    bool over_limit = false;  // Content-Length is over the body cap
    bool refused = false;     // answered 413; its DATA is dropped unread
    bool dispatched = false;  // a handler owns the request
    // The response body and how much of it nghttp2 has taken.
    std::string body;
    size_t body_sent = 0;
    bool body_complete = false;
    // A streamed answer's source; `body` holds what was last taken from it.
    std::shared_ptr<ResponseStream> source;
  };
  struct NghttpDeleter {
    void operator()(nghttp2_session* session) const;
  };

  void DoRead();
  void OnRead(boost::beast::error_code ec, size_t bytes);
  // Feeds bytes to nghttp2; false when the connection must close.
  bool Receive(const uint8_t* data, size_t size);
  // Writes what nghttp2 has queued, unless a write is in flight.
  void Flush();
  void OnWrite(boost::beast::error_code ec, size_t bytes);
  void CloseIfDone();
  void Close();
  void ArmIdleTimer();
  void OnIdleTimer(boost::beast::error_code ec);

  // Called from nghttp2 callbacks, so they return an nghttp2 status.
  int OnRequestHeader(int32_t stream_id, std::string_view name,
                      std::string_view value);
  int OnBodyChunk(int32_t stream_id, const uint8_t* data, size_t size);
  int OnHeadersDone(int32_t stream_id, bool end_stream);
  int OnRequestDone(int32_t stream_id);
  void OnPingAck();

  void Dispatch(int32_t stream_id, Stream& stream);
  // The answer of a path served outside the AWS protocol (the gateway).
  void RespondPath(int32_t stream_id, PathResponse answer);
  void Respond(int32_t stream_id, ApiResponse answer);
  void RefuseTooLarge(int32_t stream_id, Stream& stream);
  // Submits :status and headers; the body, if any, follows from
  // `stream.body`.
  void SubmitResponse(
      int32_t stream_id, Stream& stream, unsigned status,
      const std::vector<std::pair<std::string, std::string>>& headers);
  void SendFinalGoaway();
  // Cancels the producers of every streamed answer on this connection.
  void CancelSources();

  boost::beast::tcp_stream stream_;
  SessionEnvironment& env_;
  std::string already_read_;  // fed to nghttp2 in Start()
  std::unique_ptr<nghttp2_session, NghttpDeleter> session_;
  std::unordered_map<int32_t, Stream> streams_;  // open streams by id
  std::vector<uint8_t> read_buffer_;
  std::string write_buffer_;  // the bytes of the write in flight
  boost::asio::steady_timer idle_timer_;
  std::chrono::steady_clock::time_point last_activity_;
  size_t handlers_running_ = 0;  // requests on the worker pool
  bool reading_ = false;
  bool writing_ = false;
  bool draining_ = false;
  bool final_goaway_sent_ = false;
  bool closed_ = false;
};

}  // namespace sluice::http
