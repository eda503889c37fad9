// Runs a program as a child process: bytes on its stdin, its stdout and the
// tail of its stderr collected, a deadline after which it is killed. For
// handler programs that stand in for Lambda functions (Firehose transforms),
// so it never leaves a zombie or a file descriptor behind, whatever the
// program does.
//
// Blocking: call it from a worker or engine thread, never an I/O thread.
// Thread-safe (posix_spawn, pipes made close-on-exec so a child started by
// another thread never inherits ours). REQUIRES: SIGPIPE ignored in the
// process (main.cc does it), so a child that stops reading its stdin makes
// our write fail with EPIPE instead of killing the server.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice {

struct ChildOptions {
  // From the start until the child has exited; then it and its process
  // group get SIGKILL.
  std::chrono::milliseconds timeout{60'000};
  // More stdout than this kills the child (kTooMuchOutput).
  size_t max_output_bytes = 6u << 20;
  // The last this many bytes of stderr are kept.
  size_t max_error_bytes = 4096;
  // When set and it becomes true, the child is killed (kCancelled) within
  // about kCancelCheck: a server shutting down does not wait for it.
  const std::atomic<bool>* cancelled = nullptr;
};

// How often RunChild looks at ChildOptions::cancelled.
inline constexpr std::chrono::milliseconds kCancelCheck{100};

struct ChildResult {
  enum class Ending {
    kExited,
    kSignalled,
    kTimedOut,
    kTooMuchOutput,
    kCancelled
  };
  Ending ending = Ending::kExited;
  int exit_code = 0;  // kExited
  int signal = 0;     // kSignalled
  std::string out;    // all of stdout (kExited, kSignalled)
  std::string err;    // the tail of stderr
};

// Starts argv[0] (looked up in PATH when it has no slash) with `argv`, in
// its own process group, with the server's environment and default signal
// dispositions, writes `input` to its stdin and closes it, and collects
// stdout and stderr until both close and the child exits. An error Status
// only when the program cannot be started (kInternalFailure naming it and
// errno's text); whatever the child does afterwards is in the result.
Result<ChildResult> RunChild(const std::vector<std::string>& argv,
                             std::string_view input,
                             const ChildOptions& options = {});

}  // namespace sluice
