// Many writers and readers on one shard: every reader sees every record
// exactly once, in offset order, each writer's records in the order it wrote
// them. Run under TSan (-DSLUICE_SANITIZE=thread) when touching the log.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "server/storage/file_shard_log.h"
#include "server/storage/memory_shard_log.h"
#include "tests/unit/storage/storage_test_util.h"

namespace sluice::storage {
namespace {

using testing::TempDir;

constexpr int kWriters = 8;
constexpr int kReaders = 8;
constexpr int kPerWriter = 1500;
constexpr int kTotal = kWriters * kPerWriter;

std::string DataFor(int writer, int sequence) {
  return std::to_string(writer) + ":" + std::to_string(sequence);
}

// Writers append single records and batches of 5; readers read from 0 to the
// end concurrently with small limits so they chase the tip.
void RunWritersAndReaders(ShardLog& log) {
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&log, &failed, w] {
      int sequence = 0;
      while (sequence < kPerWriter && !failed) {
        int batch_size = sequence % 2 == 0 ? 1 : 5;
        batch_size = std::min(batch_size, kPerWriter - sequence);
        std::vector<std::string> data;
        for (int i = 0; i < batch_size; ++i) {
          data.push_back(DataFor(w, sequence + i));
        }
        std::vector<RecordToAppend> batch;
        for (const std::string& d : data) {
          batch.push_back({.partition_key = "pk", .data = d});
        }
        if (!log.AppendBatch(batch).ok()) failed = true;
        sequence += batch_size;
      }
    });
  }
  std::vector<int> seen_by_reader(kReaders, 0);
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&log, &failed, &seen_by_reader, r] {
      std::vector<int> next_sequence(kWriters, 0);
      uint64_t offset = 0;
      int seen = 0;
      bool done = testing::PollUntil([&] {
        if (failed) return true;
        Result<ReadResult> read =
            log.Read(offset, static_cast<size_t>(1 + r * 13), 4096);
        if (!read.ok()) {
          ADD_FAILURE() << read.status().ToString();
          failed = true;
          return true;
        }
        for (const StoredRecord& record : read->records) {
          if (record.offset != offset) {
            ADD_FAILURE() << "reader " << r << " expected offset " << offset
                          << ", got " << record.offset;
            failed = true;
            return true;
          }
          size_t colon = record.data.find(':');
          int writer = std::stoi(record.data.substr(0, colon));
          int sequence = std::stoi(record.data.substr(colon + 1));
          if (sequence != next_sequence[static_cast<size_t>(writer)]) {
            ADD_FAILURE() << "reader " << r << " saw " << record.data
                          << " out of order";
            failed = true;
            return true;
          }
          ++next_sequence[static_cast<size_t>(writer)];
          ++offset;
          ++seen;
        }
        if (read->next_offset != offset) {
          ADD_FAILURE() << "next_offset " << read->next_offset
                        << " after offset " << offset;
          failed = true;
        }
        return seen == kTotal;
      });
      EXPECT_TRUE(done) << "reader " << r << " timed out after " << seen;
      seen_by_reader[static_cast<size_t>(r)] = seen;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_FALSE(failed);
  for (int seen : seen_by_reader) EXPECT_EQ(seen, kTotal);
  EXPECT_EQ(log.Tip(), uint64_t{kTotal});
}

TEST(ConcurrencyTest, FileLogEveryReaderSeesEveryRecordOnceInOrder) {
  TempDir dir;
  FileShardLogOptions options;
  options.directory = dir.path() / "shard";
  options.fsync_mode = FsyncMode::kNever;
  options.segment_bytes = 16 << 10;  // rolls while readers read
  options.index_interval_bytes = 512;
  Result<std::unique_ptr<FileShardLog>> log = FileShardLog::Open(options);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  RunWritersAndReaders(**log);
}

TEST(ConcurrencyTest, FileLogWithGroupCommitEveryReaderSeesEveryRecord) {
  TempDir dir;
  FileShardLogOptions options;
  options.directory = dir.path() / "shard";
  options.fsync_mode = FsyncMode::kAlways;
  options.segment_bytes = 64 << 10;
  Result<std::unique_ptr<FileShardLog>> log = FileShardLog::Open(options);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  RunWritersAndReaders(**log);
}

TEST(ConcurrencyTest, MemoryLogEveryReaderSeesEveryRecordOnceInOrder) {
  MemoryShardLog log(ShardIdentity{});
  RunWritersAndReaders(log);
}

}  // namespace
}  // namespace sluice::storage
