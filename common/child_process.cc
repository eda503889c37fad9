#include "common/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

extern char** environ;

namespace sluice {
namespace {

using Clock = std::chrono::steady_clock;

// Closes the fds it holds when it goes out of scope, whatever path we take.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Close(); }
  int get() const { return fd_; }
  void Reset(int fd) {
    Close();
    fd_ = fd;
  }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// A close-on-exec pipe: [0] reads, [1] writes.
Status MakePipe(Fd (&ends)[2]) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return Status(ErrorCode::kInternalFailure,
                  std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  ends[0].Reset(fds[0]);
  ends[1].Reset(fds[1]);
  return Status::Ok();
}

void SetNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

// posix_spawn attributes and file actions, destroyed with the object.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

// Kills the child's process group (a shell's children too), then the child.
void Kill(pid_t pid) {
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
}

// Reaps `pid`; retries on EINTR.
int Reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

}  // namespace

Result<ChildResult> RunChild(const std::vector<std::string>& argv,
                             std::string_view input,
                             const ChildOptions& options) {
  if (argv.empty()) {
    return Status(ErrorCode::kInternalFailure, "no program to run");
  }
  Fd in[2], out[2], err[2];
  for (auto* ends : {&in, &out, &err}) {
    if (Status s = MakePipe(*ends); !s.ok()) return s;
  }

  SpawnSetup setup;
  // dup2 onto 0, 1, 2 clears close-on-exec on the copies only.
  posix_spawn_file_actions_adddup2(&setup.actions, in[0].get(), 0);
  posix_spawn_file_actions_adddup2(&setup.actions, out[1].get(), 1);
  posix_spawn_file_actions_adddup2(&setup.actions, err[1].get(), 2);
  sigset_t no_signals, defaults;
  sigemptyset(&no_signals);
  sigemptyset(&defaults);
  // The server ignores SIGPIPE; a child must not inherit that.
  for (int signal : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD}) {
    sigaddset(&defaults, signal);
  }
  posix_spawnattr_setsigmask(&setup.attr, &no_signals);
  posix_spawnattr_setsigdefault(&setup.attr, &defaults);
  // Its own process group, so a timeout kills what it started too.
  posix_spawnattr_setpgroup(&setup.attr, 0);
  posix_spawnattr_setflags(
      &setup.attr,
      static_cast<short>(POSIX_SPAWN_SETSIGMASK |  // NOLINT
                         POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP));

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int spawned = ::posix_spawnp(&pid, args[0], &setup.actions, &setup.attr,
                               args.data(), environ);
  if (spawned != 0) {
    return Status(ErrorCode::kInternalFailure,
                  "cannot start " + argv[0] + ": " + std::strerror(spawned));
  }
  in[0].Close();
  out[1].Close();
  err[1].Close();
  SetNonBlocking(in[1].get());
  SetNonBlocking(out[0].get());
  SetNonBlocking(err[0].get());
  if (input.empty()) in[1].Close();

  ChildResult result;
  const Clock::time_point deadline = Clock::now() + options.timeout;
  size_t written = 0;
  char buffer[65536];
  bool killed = false;
  auto stop = [&](ChildResult::Ending ending) {
    Kill(pid);
    killed = true;
    result.ending = ending;
  };
  auto is_cancelled = [&] {
    return options.cancelled != nullptr && options.cancelled->load();
  };
  while (!killed &&
         (in[1].get() >= 0 || out[0].get() >= 0 || err[0].get() >= 0)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - Clock::now());
    if (left.count() <= 0) {
      stop(ChildResult::Ending::kTimedOut);
      break;
    }
    if (is_cancelled()) {
      stop(ChildResult::Ending::kCancelled);
      break;
    }
    left = std::min(left, std::chrono::milliseconds(kCancelCheck));
    pollfd fds[3] = {{in[1].get(), POLLOUT, 0},
                     {out[0].get(), POLLIN, 0},
                     {err[0].get(), POLLIN, 0}};
    int ready = ::poll(fds, 3, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) {
      stop(ChildResult::Ending::kTimedOut);
      break;
    }
    if (ready <= 0) continue;
    if (fds[0].revents != 0) {
      ssize_t n =
          ::write(in[1].get(), input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      // A child that closed its stdin (EPIPE) gets no more of it.
      if (written == input.size() ||
          (n < 0 && errno != EAGAIN && errno != EINTR)) {
        in[1].Close();
      }
    }
    if (fds[1].revents != 0) {
      ssize_t n = ::read(out[0].get(), buffer, sizeof buffer);
      if (n > 0) {
        result.out.append(buffer, static_cast<size_t>(n));
        if (result.out.size() > options.max_output_bytes) {
          stop(ChildResult::Ending::kTooMuchOutput);
        }
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        out[0].Close();
      }
    }
    if (fds[2].revents != 0) {
      ssize_t n = ::read(err[0].get(), buffer, sizeof buffer);
      if (n > 0) {
        result.err.append(buffer, static_cast<size_t>(n));
        if (result.err.size() > options.max_error_bytes) {
          result.err.erase(0, result.err.size() - options.max_error_bytes);
        }
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        err[0].Close();
      }
    }
  }
  // Both pipes closed: the child is exiting, or has closed them and runs on.
  while (!killed) {
    int status = 0;
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      if (WIFSIGNALED(status)) {
        result.ending = ChildResult::Ending::kSignalled;
        result.signal = WTERMSIG(status);
      } else {
        result.exit_code = WEXITSTATUS(status);
      }
      return result;
    }
    if (done < 0 && errno != EINTR) break;
    if (is_cancelled()) {
      stop(ChildResult::Ending::kCancelled);
      break;
    }
    if (Clock::now() >= deadline) {
      stop(ChildResult::Ending::kTimedOut);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!killed) stop(ChildResult::Ending::kTimedOut);
  Reap(pid);
  return result;
}

}  // namespace sluice
