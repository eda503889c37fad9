// The seam between the shard log and the operating system for the two calls
// whose failure matters most: write and fdatasync. Production uses the POSIX
// calls; tests substitute an implementation that fails the Nth call.
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace sluice::storage {

// Implementations must be thread-safe: appenders, the group-commit leader and
// the interval flusher call them concurrently.
class FileOps {
 public:
  virtual ~FileOps() = default;

  // Same contract as write(2): bytes written, or -1 with errno set.
  virtual ssize_t Write(int fd, const void* data, size_t size) = 0;
  // Same contract as fdatasync(2) (also used on directories): 0, or -1 with
  // errno set.
  virtual int Sync(int fd) = 0;

  // The process-wide POSIX implementation.
  static FileOps& Posix();
};

}  // namespace sluice::storage
