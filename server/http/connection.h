// What the two kinds of connection share: the HTTP/1.1 Session and the HTTP/2
// Http2Session both register here so that shutdown can drain them, and both
// serve from the same SessionEnvironment.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/http/api_router.h"
#include "server/http/http_options.h"

namespace sluice::http {

// One accepted TCP connection, whatever protocol it speaks. Implementations
// are owned by their pending handlers (shared_from_this).
class Connection {
 public:
  virtual ~Connection() = default;
  // Thread-safe. Stops taking new requests, lets the ones in flight finish,
  // then closes the connection; closes at once if nothing is in flight.
  virtual void Drain() = 0;
};

// Tracks the live connections so that shutdown can drain them. Thread-safe.
class SessionRegistry {
 public:
  // False once shutdown has begun: the caller drops the connection.
  bool Add(const std::shared_ptr<Connection>& connection);
  void Remove(const Connection* connection);
  // Marks shutdown and returns the connections alive at this moment.
  std::vector<std::shared_ptr<Connection>> BeginShutdown();
  // True if every connection ended before `deadline`.
  bool WaitUntilEmpty(std::chrono::steady_clock::time_point deadline);

 private:
  std::mutex mu_;
  std::condition_variable emptied_;
  bool shutting_down_ = false;  // guarded by mu_
  std::unordered_map<const Connection*, std::weak_ptr<Connection>>
      connections_;  // guarded by mu_
};

// What every connection shares with the server that accepted it. Outlives
// them.
struct SessionEnvironment {
  const ApiRouter& router;
  boost::asio::thread_pool& workers;
  const HttpOptions& options;
  SessionRegistry& registry;
  std::chrono::steady_clock::time_point started_at;
};

// The JSON body of GET /health, the same on both protocols.
std::string HealthBody(const SessionEnvironment& env);

}  // namespace sluice::http
