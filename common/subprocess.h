// Runs a program as a child process with bytes on its stdin and a deadline,
// and collects what it writes: the piece the consumer `exec` handler (and
// any other caller that hands data to a user's program) is built on.
//
// The child runs in its own process group with default signal handling and
// only fds 0, 1 and 2 open (every fd Sluice opens is close-on-exec). At the
// deadline, or when it writes more than the output cap, the whole group is
// killed with SIGKILL. The child is always reaped before RunProcess returns,
// and every pipe is closed: no zombies, no fd leaks.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice {

struct ProcessOptions {
  std::chrono::milliseconds timeout{60000};
  // stdout and stderr are each kept up to this many bytes; more kills the
  // child (stdout) or is dropped (stderr).
  size_t max_output_bytes = 6u << 20;
  // When set and it becomes true, the child is killed (`cancelled` in the
  // result) within about kCancelCheck: a server shutting down does not wait
  // for a handler program.
  const std::atomic<bool>* cancelled = nullptr;
};

// How often RunProcess looks at ProcessOptions::cancelled.
inline constexpr std::chrono::milliseconds kCancelCheck{100};

struct ProcessResult {
  bool timed_out = false;         // killed at the deadline
  bool output_too_large = false;  // killed for writing past the stdout cap
  bool cancelled = false;         // killed because the caller cancelled
  int exit_code = -1;             // when it exited; -1 when killed by a signal
  int signal = 0;                 // the signal that ended it, or 0
  std::string stdout_bytes;
  std::string stderr_bytes;  // at most max_output_bytes

  // Exited by itself with status 0.
  bool Succeeded() const {
    return !timed_out && !output_too_large && !cancelled && signal == 0 &&
           exit_code == 0;
  }
  // "exit status 3", "killed by signal 11", "timed out after 2000 ms", ...
  std::string Describe(const ProcessOptions& options) const;
};

// Runs argv[0] (looked up on PATH when it has no '/') with `argv` as its
// arguments. kInvalidArgument for an empty argv; kInternalFailure when the
// program cannot be started (not found, not executable), naming it.
// Blocks the calling thread until the child is gone: never call it on an I/O
// thread.
Result<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                 std::string_view stdin_bytes,
                                 const ProcessOptions& options);

}  // namespace sluice
