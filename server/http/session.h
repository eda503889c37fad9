// One HTTP/1.1 connection: reads requests one at a time, hands each to the
// AWS protocol layer on the worker pool, writes the answer, and keeps the
// connection alive for the next one.
#pragma once

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "server/http/api_router.h"
#include "server/http/http_options.h"

namespace sluice::http {

class Session;

// Tracks the live sessions so that shutdown can drain them. Thread-safe.
class SessionRegistry {
 public:
  // False once shutdown has begun: the caller drops the connection.
  bool Add(const std::shared_ptr<Session>& session);
  void Remove(const Session* session);
  // Marks shutdown and returns the sessions alive at this moment.
  std::vector<std::shared_ptr<Session>> BeginShutdown();
  // True if every session ended before `deadline`.
  bool WaitUntilEmpty(std::chrono::steady_clock::time_point deadline);

 private:
  std::mutex mu_;
  std::condition_variable emptied_;
  bool shutting_down_ = false;  // guarded by mu_
  std::unordered_map<const Session*, std::weak_ptr<Session>>
      sessions_;  // guarded by mu_
};

// What every session shares with the server that accepted it. Outlives them.
struct SessionEnvironment {
  const ApiRouter& router;
  boost::asio::thread_pool& workers;
  const HttpOptions& options;
  SessionRegistry& registry;
  std::chrono::steady_clock::time_point started_at;
};

// Owned by the handlers it has pending (shared_from_this); every member is
// touched only on the connection's strand, the executor of `stream_`.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(boost::asio::ip::tcp::socket socket, SessionEnvironment& env);
  ~Session();

  void Start();
  // Thread-safe. Closes the connection now if it is idle, else right after
  // the response to the request in flight.
  void Drain();

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
  void Respond(Response response);
  void OnWrite(bool keep_alive, boost::beast::error_code ec, size_t bytes);
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
  std::array<char, 8192> discard_;
  bool busy_ = false;      // a request is being read, handled or answered
  bool draining_ = false;  // shutdown: no more requests on this connection
};

}  // namespace sluice::http
