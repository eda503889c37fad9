// The HTTP front end: a listener, I/O threads, a worker pool for handlers,
// and graceful shutdown. Asio stays behind the pointer to its implementation,
// so including this header costs nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "server/http/api_router.h"
#include "server/http/http_options.h"

namespace sluice::http {

// Owned by Server. Start() and Shutdown() are called from one controlling
// thread; the server runs on threads of its own in between.
class HttpServer {
 public:
  // Binds and starts serving. `router` must outlive the server.
  static Result<std::unique_ptr<HttpServer>> Start(const HttpOptions& options,
                                                   const ApiRouter& router);
  ~HttpServer();  // shuts down if Shutdown() was not called

  uint16_t port() const;  // the bound port, also when 0 was asked for
  const std::string& host() const;

  // Stops accepting, lets in-flight requests finish (up to the grace period),
  // closes idle connections and joins every thread. Idempotent.
  void Shutdown();

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::http
