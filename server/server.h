// Sluice as one object: the catalog, the API handlers and the HTTP front end,
// started together and shut down in order. The `sluice` binary and in-process
// tests both use it.
#pragma once

#include <cstdint>
#include <memory>

#include "common/status.h"
#include "server/server_config.h"

namespace sluice {

// Owned by main() or a test. Start() and Shutdown() come from one thread.
class Server {
 public:
  static Result<std::unique_ptr<Server>> Start(const ServerConfig& config);
  ~Server();  // shuts down if Shutdown() was not called

  uint16_t port() const;
  const ServerConfig& config() const;

  // Stops accepting, finishes in-flight requests, then closes the catalog and
  // releases the data directory. Idempotent.
  void Shutdown();

 private:
  struct Parts;
  explicit Server(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace sluice
