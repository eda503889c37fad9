// Settings of the HTTP front end; filled from the config file and flags.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace sluice::http {

struct HttpOptions {
  std::string host = "127.0.0.1";  // loopback unless told otherwise
  uint16_t port = 4567;            // 0 binds a free port
  unsigned io_threads = 0;         // 0: one per hardware thread
  // Handlers may block (SQLite, fsync with group commit), so the pool is wider
  // than the core count: concurrent writers waiting on one fsync each hold a
  // worker while they wait.
  unsigned worker_threads = 32;
  // A PutRecords of 10 MiB of data is ~13.4 MiB as base64 plus keys and JSON;
  // bodies over the cap are refused with 413 before they are read.
  size_t max_request_bytes = 16 * 1024 * 1024;
  std::chrono::seconds read_timeout{60};    // per read, and for idle keep-alive
  std::chrono::seconds shutdown_grace{10};  // for in-flight requests

  friend bool operator==(const HttpOptions&, const HttpOptions&) = default;
};

}  // namespace sluice::http
