#include "common/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

extern char** environ;

namespace sluice {
namespace {

using SteadyClock = std::chrono::steady_clock;

// An fd closed when it goes out of scope.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Close(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
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

Status Errno(const std::string& what, int error) {
  return Status(ErrorCode::kInternalFailure,
                what + ": " + std::strerror(error));
}

// Both ends close-on-exec: the child gets only the ends posix_spawn dup2s.
Status MakePipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Errno("pipe2", errno);
  read_end.Reset(fds[0]);
  write_end.Reset(fds[1]);
  return Status::Ok();
}

void SetNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

// Reads what is there into `out` (up to `cap`, the rest read and dropped);
// false at EOF or on an error.
bool Drain(int fd, std::string& out, size_t cap, bool& over_cap) {
  std::array<char, 65536> buffer;
  while (true) {
    ssize_t got = ::read(fd, buffer.data(), buffer.size());
    if (got > 0) {
      size_t room = cap > out.size() ? cap - out.size() : 0;
      size_t keep = std::min(room, static_cast<size_t>(got));
      out.append(buffer.data(), keep);
      if (keep < static_cast<size_t>(got)) over_cap = true;
      continue;
    }
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
}

// write() to a pipe whose reader has gone raises SIGPIPE, which would kill a
// process that does not ignore it (the server does; tests and tools may
// not). The signal is blocked on this thread for the write and a pending
// one is consumed, so only EPIPE remains.
ssize_t WriteWithoutSigpipe(int fd, const char* data, size_t size) {
  sigset_t pipe_only, old_mask;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old_mask);
  ssize_t wrote = ::write(fd, data, size);
  int error = errno;
  if (wrote < 0 && error == EPIPE) {
    const timespec zero{0, 0};
    while (sigtimedwait(&pipe_only, nullptr, &zero) == SIGPIPE) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  errno = error;
  return wrote;
}

}  // namespace

std::string ProcessResult::Describe(const ProcessOptions& options) const {
  if (timed_out) {
    return "timed out after " + std::to_string(options.timeout.count()) + " ms";
  }
  if (cancelled) return "cancelled";
  if (output_too_large) {
    return "wrote more than " + std::to_string(options.max_output_bytes) +
           " bytes to stdout";
  }
  if (signal != 0) return "killed by signal " + std::to_string(signal);
  return "exit status " + std::to_string(exit_code);
}

Result<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                 std::string_view stdin_bytes,
                                 const ProcessOptions& options) {
  if (argv.empty() || argv.front().empty()) {
    return Status(ErrorCode::kInvalidArgument, "no program to run");
  }
  Fd in_read, in_write, out_read, out_write, err_read, err_write;
  for (auto [read_end, write_end] :
       {std::pair{&in_read, &in_write}, std::pair{&out_read, &out_write},
        std::pair{&err_read, &err_write}}) {
    if (Status s = MakePipe(*read_end, *write_end); !s.ok()) return s;
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_read.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_write.get(), 2);
  // Sockets opened without SOCK_CLOEXEC (Asio's) must not reach the child:
  // it would keep the listening port and client connections alive.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);  // the server ignores it; the child must not
  sigset_t no_mask;
  sigemptyset(&no_mask);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setsigmask(&attributes, &no_mask);
  posix_spawnattr_setpgroup(&attributes, 0);  // its own group, killed whole
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF |
                                            POSIX_SPAWN_SETSIGMASK |
                                            POSIX_SPAWN_SETPGROUP);
  std::vector<char*> args;
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int spawned = ::posix_spawnp(&pid, argv.front().c_str(), &actions,
                               &attributes, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (spawned != 0) return Errno("cannot run " + argv.front(), spawned);
  in_read.Close();
  out_write.Close();
  err_write.Close();

  ProcessResult result;
  const auto deadline = SteadyClock::now() + options.timeout;
  SetNonBlocking(in_write.get());
  SetNonBlocking(out_read.get());
  SetNonBlocking(err_read.get());
  if (stdin_bytes.empty()) in_write.Close();
  size_t written = 0;
  bool stderr_over = false;
  bool kill_now = false;
  while (out_read.get() >= 0 || err_read.get() >= 0) {
    auto now = SteadyClock::now();
    if (now >= deadline) {
      result.timed_out = true;
      kill_now = true;
      break;
    }
    if (options.cancelled != nullptr && options.cancelled->load()) {
      result.cancelled = true;
      kill_now = true;
      break;
    }
    std::array<pollfd, 3> fds{};
    nfds_t count = 0;
    for (int fd : {out_read.get(), err_read.get()}) {
      if (fd >= 0) fds[count++] = {fd, POLLIN, 0};
    }
    if (in_write.get() >= 0) fds[count++] = {in_write.get(), POLLOUT, 0};
    auto wait =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now)
            .count();
    if (options.cancelled != nullptr) {
      wait = std::min<int64_t>(wait, kCancelCheck.count());
    }
    int ready = ::poll(fds.data(), count, static_cast<int>(wait) + 1);
    if (ready < 0 && errno != EINTR) {
      kill_now = true;
      break;
    }
    for (nfds_t i = 0; i < count && ready > 0; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == in_write.get()) {
        ssize_t put =
            WriteWithoutSigpipe(in_write.get(), stdin_bytes.data() + written,
                                stdin_bytes.size() - written);
        if (put > 0) written += static_cast<size_t>(put);
        // A child that stops reading (EPIPE) just gets no more input.
        if ((put < 0 && errno != EAGAIN && errno != EINTR) ||
            written == stdin_bytes.size()) {
          in_write.Close();
        }
      } else if (fds[i].fd == out_read.get()) {
        bool over = false;
        if (!Drain(out_read.get(), result.stdout_bytes,
                   options.max_output_bytes, over)) {
          out_read.Close();
        }
        if (over) {
          result.output_too_large = true;
          kill_now = true;
        }
      } else if (fds[i].fd == err_read.get()) {
        if (!Drain(err_read.get(), result.stderr_bytes,
                   options.max_output_bytes, stderr_over)) {
          err_read.Close();
        }
      }
    }
    if (kill_now) break;
  }
  in_write.Close();
  out_read.Close();
  err_read.Close();
  if (kill_now) ::kill(-pid, SIGKILL);  // with grandchildren holding pipes
  // Both pipes are at EOF, so the child has exited or is about to; a child
  // that closed its stdout and stderr early is waited for until the deadline.
  // WNOWAIT leaves it a zombie, so its group id cannot be reused before the
  // group is killed below.
  while (true) {
    siginfo_t info{};
    int waited = ::waitid(P_PID, static_cast<id_t>(pid), &info,
                          WEXITED | WNOWAIT | (kill_now ? 0 : WNOHANG));
    if (waited == 0 && info.si_pid == pid) break;
    if (waited < 0 && errno == EINTR) continue;
    if (waited < 0) return Errno("waitid", errno);
    if (SteadyClock::now() >= deadline) {
      result.timed_out = true;
      kill_now = true;
      ::kill(-pid, SIGKILL);
      continue;
    }
    if (options.cancelled != nullptr && options.cancelled->load()) {
      result.cancelled = true;
      kill_now = true;
      ::kill(-pid, SIGKILL);
      continue;
    }
    // Rare: the child closed its output but lives on. Pace the wait; the
    // deadline bounds it.
    ::usleep(1000);
  }
  // A group member that outlived the child is no longer wanted.
  ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

}  // namespace sluice
