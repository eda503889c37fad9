#include "common/subprocess.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <string>

namespace sluice {
namespace {

using namespace std::chrono_literals;

size_t OpenFds() {
  size_t count = 0;
  DIR* dir = opendir("/proc/self/fd");
  while (readdir(dir) != nullptr) ++count;
  closedir(dir);
  return count;
}

// True when this process has a child left to reap (a zombie or a runner).
bool HasChildren() {
  siginfo_t info{};
  return waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid != 0;
}

TEST(SubprocessTest, PassesStdinAndCollectsStdoutStderrAndStatus) {
  ProcessOptions options;
  options.timeout = 10s;
  auto result = RunProcess(
      {"/bin/sh", "-c", "tr a-z A-Z; echo oops >&2; exit 4"}, "hello", options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->stdout_bytes, "HELLO");
  EXPECT_EQ(result->stderr_bytes, "oops\n");
  EXPECT_EQ(result->exit_code, 4);
  EXPECT_FALSE(result->Succeeded());
  EXPECT_EQ(result->Describe(options), "exit status 4");
}

TEST(SubprocessTest, LargeInputAndOutputDoNotDeadlock) {
  std::string input(4u << 20, 'x');
  auto result = RunProcess({"cat"}, input, {});
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->Succeeded());
  EXPECT_EQ(result->stdout_bytes.size(), input.size());
}

TEST(SubprocessTest, AChildThatIgnoresStdinStillFinishes) {
  std::string input(1u << 20, 'x');
  auto result = RunProcess({"/bin/sh", "-c", "echo done"}, input, {});
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->Succeeded());
  EXPECT_EQ(result->stdout_bytes, "done\n");
}

TEST(SubprocessTest, TimeoutKillsTheWholeGroupAndReapsIt) {
  size_t fds_before = OpenFds();
  ProcessOptions options;
  options.timeout = 200ms;
  // The grandchild holds stdout open: killing only the shell would leave
  // the read hanging.
  auto result =
      RunProcess({"/bin/sh", "-c", "sleep 30 & sleep 30"}, "", options);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->timed_out);
  EXPECT_EQ(result->signal, SIGKILL);
  EXPECT_FALSE(result->Succeeded());
  EXPECT_FALSE(HasChildren());
  EXPECT_EQ(OpenFds(), fds_before);
}

TEST(SubprocessTest, CancellingKillsTheGroupLongBeforeTheDeadline) {
  std::atomic<bool> cancelled{true};  // e.g. the server began shutting down
  ProcessOptions options;
  options.timeout = std::chrono::minutes(10);
  options.cancelled = &cancelled;
  auto result =
      RunProcess({"/bin/sh", "-c", "sleep 600 & sleep 600"}, "", options);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->cancelled);
  EXPECT_FALSE(result->timed_out);
  EXPECT_FALSE(result->Succeeded());
  EXPECT_EQ(result->Describe(options), "cancelled");
  EXPECT_FALSE(HasChildren());
}

TEST(SubprocessTest, ACrashIsReportedBySignal) {
  auto result = RunProcess({"/bin/sh", "-c", "kill -SEGV $$"}, "", {});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->signal, SIGSEGV);
  EXPECT_EQ(result->Describe({}), "killed by signal 11");
}

TEST(SubprocessTest, AMissingProgramIsAnError) {
  size_t fds_before = OpenFds();
  auto result = RunProcess({"/no/such/program"}, "", {});
  EXPECT_EQ(result.status().code(), ErrorCode::kInternalFailure);
  EXPECT_EQ(OpenFds(), fds_before);
  EXPECT_EQ(RunProcess({}, "", {}).status().code(),
            ErrorCode::kInvalidArgument);
}

TEST(SubprocessTest, OutputPastTheCapKillsTheChild) {
  ProcessOptions options;
  options.max_output_bytes = 1000;
  auto result = RunProcess({"yes"}, "", options);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->output_too_large);
  EXPECT_EQ(result->stdout_bytes.size(), 1000u);
}

}  // namespace
}  // namespace sluice
