// Kills a writer process with SIGKILL in mid-stream and checks on reopen that
// every acknowledged record is there, in order, and that nothing after a torn
// frame is. The writer is tests/unit/storage/log_writer_main.cc. This is the
// one storage test that spawns a process: a crash cannot be faked in-process.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "server/storage/file_shard_log.h"
#include "server/storage/frame.h"
#include "tests/unit/storage/storage_test_util.h"

namespace sluice::storage {
namespace {

using testing::TempDir;

// Starts log_writer on `shard_dir`; returns its pid and the read end of its
// stdout.
pid_t StartWriter(const std::string& shard_dir, const char* mode, int& out) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return -1;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    ::execl(SLUICE_LOG_WRITER_PATH, SLUICE_LOG_WRITER_PATH, shard_dir.c_str(),
            mode, static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  out = pipe_fds[0];
  return pid;
}

class CrashTest : public ::testing::TestWithParam<const char*> {};

TEST_P(CrashTest, EveryAcknowledgedRecordSurvivesSigkill) {
  TempDir dir;
  std::string shard = (dir.path() / "shard").string();
  int out = -1;
  pid_t pid = StartWriter(shard, GetParam(), out);
  ASSERT_GT(pid, 0);
  FILE* acks = ::fdopen(out, "r");
  ASSERT_NE(acks, nullptr);

  // Let it acknowledge a few thousand records, then kill it mid-stream.
  long long last_acked = -1;
  char line[64];
  while (last_acked < 20000 && std::fgets(line, sizeof line, acks)) {
    last_acked = std::stoll(line);
  }
  ASSERT_GE(last_acked, 20000) << "the writer stopped early";
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int wait_status = 0;
  ASSERT_EQ(::waitpid(pid, &wait_status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(wait_status));
  // Acknowledgements already in the pipe count too.
  while (std::fgets(line, sizeof line, acks)) last_acked = std::stoll(line);
  std::fclose(acks);

  FileShardLogOptions options;
  options.directory = shard;
  options.fsync_mode = FsyncMode::kNever;
  uint64_t tip = 0;
  std::filesystem::path tail;
  {
    Result<std::unique_ptr<FileShardLog>> log = FileShardLog::Open(options);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    tip = (*log)->Tip();
    EXPECT_GT(tip, static_cast<uint64_t>(last_acked));
    EXPECT_TRUE((*log)->CorruptSegments().empty());
    uint64_t offset = 0;
    while (offset < tip) {
      Result<ReadResult> read = (*log)->Read(offset, 1000, 1 << 20);
      ASSERT_TRUE(read.ok()) << read.status().ToString();
      for (const StoredRecord& record : read->records) {
        ASSERT_EQ(record.offset, offset);
        ASSERT_EQ(record.data, "record-" + std::to_string(offset));
        ++offset;
      }
    }
    for (const auto& entry : std::filesystem::directory_iterator(shard)) {
      if (entry.path().extension() == ".log" && entry.path() > tail) {
        tail = entry.path();
      }
    }
  }

  // A torn frame followed by a whole one, as a crash inside a write could
  // leave it: neither may come back.
  std::string torn;
  EncodeFrame({.offset = tip, .partition_key = "pk", .data = "torn"}, torn);
  torn.resize(torn.size() / 2);
  std::string whole;
  EncodeFrame({.offset = tip + 1, .partition_key = "pk", .data = "after"},
              whole);
  testing::AppendToFile(tail, torn + whole);
  Result<std::unique_ptr<FileShardLog>> log = FileShardLog::Open(options);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_EQ((*log)->Tip(), tip);
  Result<ReadResult> read = (*log)->Read(tip - 1, 10, 1 << 20);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->records.size(), 1u);
  EXPECT_EQ(read->records[0].data, "record-" + std::to_string(tip - 1));
}

INSTANTIATE_TEST_SUITE_P(FsyncModes, CrashTest,
                         ::testing::Values("never", "always"));

}  // namespace
}  // namespace sluice::storage
