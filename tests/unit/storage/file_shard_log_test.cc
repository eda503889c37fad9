#include "server/storage/file_shard_log.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "tests/unit/storage/storage_test_util.h"

namespace sluice::storage {
namespace {

using testing::FaultyFileOps;
using testing::TempDir;

constexpr EpochMillis kStart = 1700000100000;
constexpr EpochMillis kHourMillis = 3600 * 1000;

class FileShardLogTest : public ::testing::Test {
 protected:
  FileShardLogOptions Options() {
    FileShardLogOptions options;
    options.directory = dir_.path() / "shard";
    options.identity = {.shard_index = 1, .creation_seconds = 1700000000};
    options.fsync_mode = FsyncMode::kNever;
    options.segment_bytes = 4096;
    options.index_interval_bytes = 256;
    return options;
  }

  std::unique_ptr<FileShardLog> Open(FileShardLogOptions options) {
    Result<std::unique_ptr<FileShardLog>> log = FileShardLog::Open(options);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(*log) : nullptr;
  }
  std::unique_ptr<FileShardLog> Open() { return Open(Options()); }

  // Appends records "0", "1", ... with arrival kStart + i * step.
  static void AppendNumbered(ShardLog& log, int count, EpochMillis step = 0) {
    uint64_t first = log.Tip();
    for (int i = 0; i < count; ++i) {
      std::string data = std::to_string(first + static_cast<uint64_t>(i));
      data.resize(40, '.');
      Result<AppendedRecord> appended = log.Append(
          {.partition_key = "pk",
           .data = data,
           .arrival_millis = kStart + static_cast<EpochMillis>(i) * step});
      ASSERT_TRUE(appended.ok()) << appended.status().ToString();
    }
  }

  // Every record from the trim horizon on, checking offsets and contents.
  static std::vector<StoredRecord> ReadAll(ShardLog& log) {
    std::vector<StoredRecord> all;
    uint64_t offset = 0;
    while (true) {
      Result<ReadResult> read = log.Read(offset, 7, 1 << 20);
      EXPECT_TRUE(read.ok()) << read.status().ToString();
      if (!read.ok()) break;
      for (StoredRecord& record : read->records) {
        std::string expected = std::to_string(record.offset);
        expected.resize(40, '.');
        EXPECT_EQ(record.data, expected);
        all.push_back(std::move(record));
      }
      offset = read->next_offset;
      if (read->at_tip) break;
    }
    return all;
  }

  size_t SegmentCount() const {
    size_t count = 0;
    for (const auto& entry :
         std::filesystem::directory_iterator(dir_.path() / "shard")) {
      if (entry.path().extension() == ".log") ++count;
    }
    return count;
  }

  TempDir dir_;
};

TEST_F(FileShardLogTest, StartsAnEmptyShardAtOffsetZero) {
  auto log = Open();
  EXPECT_EQ(log->Tip(), 0u);
  EXPECT_EQ(log->TrimHorizon(), 0u);
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "shard" /
                                      "00000000000000000000.log"));
}

TEST_F(FileShardLogTest, RollsSegmentsBySizeAndReadsAcrossThem) {
  auto log = Open();
  AppendNumbered(*log, 500);  // 72-byte frames, 4 KiB segments
  EXPECT_GT(SegmentCount(), 5u);
  std::vector<StoredRecord> all = ReadAll(*log);
  ASSERT_EQ(all.size(), 500u);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].offset, i);
}

TEST_F(FileShardLogTest, KeepsABatchInOneSegment) {
  auto log = Open();
  AppendNumbered(*log, 50);
  std::vector<std::string> data(100, std::string(40, 'b'));
  std::vector<RecordToAppend> batch;
  for (const std::string& d : data) {
    batch.push_back(
        {.partition_key = "pk", .data = d, .arrival_millis = kStart});
  }
  Result<std::vector<AppendedRecord>> appended = log->AppendBatch(batch);
  ASSERT_TRUE(appended.ok());
  EXPECT_EQ(appended->front().offset, 50u);
  EXPECT_EQ(appended->back().offset, 149u);
  // The batch did not fit in the first segment, so it starts the next one.
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "shard" /
                                      "00000000000000000050.log"));
}

TEST_F(FileShardLogTest, CleanRestartKeepsEverythingAndSequenceNumbers) {
  std::string last_number;
  {
    auto log = Open();
    AppendNumbered(*log, 300, 10);
    last_number = ReadAll(*log).back().sequence_number;
    ASSERT_TRUE(log->Close().ok());
  }
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "shard" / "CLEAN"));
  auto log = Open();
  // Open consumes the marker, so a crash from now on is not "clean".
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "shard" / "CLEAN"));
  EXPECT_EQ(log->Tip(), 300u);
  std::vector<StoredRecord> all = ReadAll(*log);
  ASSERT_EQ(all.size(), 300u);
  EXPECT_EQ(all.back().sequence_number, last_number);
  EXPECT_EQ(*log->SeekTime(kStart + 1234), 124u);
  AppendNumbered(*log, 1);
  EXPECT_EQ(log->Tip(), 301u);
  EXPECT_EQ(ReadAll(*log).size(), 301u);
}

TEST_F(FileShardLogTest, UncleanRestartRecoversEveryWrittenRecord) {
  {
    auto log = Open();
    AppendNumbered(*log, 300);
    // Destroyed without Close(): for the disk, a crash.
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "shard" / "CLEAN"));
  auto log = Open();
  EXPECT_EQ(log->Tip(), 300u);
  EXPECT_EQ(ReadAll(*log).size(), 300u);
  AppendNumbered(*log, 1);
  EXPECT_EQ(ReadAll(*log).size(), 301u);
}

TEST_F(FileShardLogTest, RebuildsMissingAndDamagedIndexes) {
  {
    auto log = Open();
    AppendNumbered(*log, 300, 10);
    ASSERT_TRUE(log->Close().ok());
  }
  std::filesystem::path shard = dir_.path() / "shard";
  std::filesystem::remove(shard / "00000000000000000000.index");
  std::vector<std::filesystem::path> indexes;
  for (const auto& entry : std::filesystem::directory_iterator(shard)) {
    if (entry.path().extension() == ".index") indexes.push_back(entry.path());
  }
  std::sort(indexes.begin(), indexes.end());
  ASSERT_GE(indexes.size(), 3u);
  std::string index = testing::ReadFile(indexes[1]);
  ASSERT_GT(index.size(), 40u);
  index[40] = static_cast<char>(index[40] ^ 1);
  testing::WriteFile(indexes[1], index);

  auto log = Open();
  EXPECT_EQ(log->Tip(), 300u);
  EXPECT_EQ(ReadAll(*log).size(), 300u);
  for (uint64_t i : {0u, 3u, 57u, 60u, 299u}) {
    EXPECT_EQ(*log->SeekTime(kStart + static_cast<EpochMillis>(i) * 10), i);
  }
  ASSERT_TRUE(log->Close().ok());
  EXPECT_TRUE(std::filesystem::exists(shard / "00000000000000000000.index"));
}

TEST_F(FileShardLogTest, SeekTimeAgreesWithAScanAcrossSegments) {
  auto log = Open();
  // Several records share each millisecond: AT_TIMESTAMP must find the first.
  for (int i = 0; i < 400; ++i) {
    std::string data = std::to_string(i);
    data.resize(40, '.');
    ASSERT_TRUE(log->Append({.partition_key = "pk",
                             .data = data,
                             .arrival_millis = kStart + (i / 3) * 7})
                    .ok());
  }
  std::vector<StoredRecord> all = ReadAll(*log);
  ASSERT_EQ(all.size(), 400u);
  for (EpochMillis t = kStart - 5; t <= kStart + 140 * 7; t += 3) {
    uint64_t expected = all.size();
    for (const StoredRecord& record : all) {
      if (record.arrival_millis >= t) {
        expected = record.offset;
        break;
      }
    }
    ASSERT_EQ(*log->SeekTime(t), expected) << "time " << t - kStart;
  }
}

TEST_F(FileShardLogTest, RetentionRemovesWholeExpiredSegmentsByTheClock) {
  ManualClock clock(kStart);
  auto log = Open();
  // 100 records an hour for 30 hours: many segments.
  for (int hour = 0; hour < 30; ++hour) {
    for (int i = 0; i < 100; ++i) {
      std::string data = std::to_string(log->Tip());
      data.resize(40, '.');
      ASSERT_TRUE(log->Append({.partition_key = "pk",
                               .data = data,
                               .arrival_millis = clock.NowMillis()})
                      .ok());
    }
    clock.Advance(kHourMillis);
  }
  // Now is kStart + 30 h: records from the first 6 hours (offsets < 600)
  // are older than 24 h.
  size_t before = SegmentCount();
  ASSERT_TRUE(
      log->ApplyRetention(clock.NowMillis(), std::chrono::hours(24)).ok());
  EXPECT_LT(SegmentCount(), before);
  uint64_t horizon = log->TrimHorizon();
  EXPECT_GT(horizon, 500u);  // whole segments only: up to one segment kept
  EXPECT_LE(horizon, 600u);

  // A reader positioned before the trim horizon moves to the oldest record.
  Result<ReadResult> read = log->Read(10, 1, 1 << 20);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->records.size(), 1u);
  EXPECT_EQ(read->records[0].offset, horizon);
  EXPECT_EQ(*log->SeekTime(kStart), horizon);

  // When even the newest record is too old, everything goes, and offsets
  // continue where they were, also after a restart.
  clock.Advance(48 * kHourMillis);
  ASSERT_TRUE(
      log->ApplyRetention(clock.NowMillis(), std::chrono::hours(24)).ok());
  EXPECT_EQ(log->TrimHorizon(), 3000u);
  EXPECT_EQ(log->Tip(), 3000u);
  EXPECT_EQ(SegmentCount(), 1u);
  log.reset();
  log = Open();
  EXPECT_EQ(log->TrimHorizon(), 3000u);
  EXPECT_EQ(log->Tip(), 3000u);
}

TEST_F(FileShardLogTest, RetentionAfterACleanRestartNeverRemovesEarly) {
  ManualClock clock(kStart);
  {
    auto log = Open();
    for (int hour = 0; hour < 4; ++hour) {
      AppendNumbered(*log, 100);  // arrival kStart, capped below by the clamp
      clock.Advance(kHourMillis);
    }
    ASSERT_TRUE(log->Close().ok());
  }
  auto log = Open();
  // Everything arrived at kStart; at kStart + 24 h nothing is older than 24 h.
  ASSERT_TRUE(
      log->ApplyRetention(kStart + 24 * kHourMillis, std::chrono::hours(24))
          .ok());
  EXPECT_EQ(log->TrimHorizon(), 0u);
  ASSERT_TRUE(
      log->ApplyRetention(kStart + 24 * kHourMillis + 1, std::chrono::hours(24))
          .ok());
  EXPECT_EQ(log->TrimHorizon(), 400u);
}

TEST_F(FileShardLogTest, AFailedWriteFailsThatAndEveryLaterAppend) {
  FaultyFileOps ops;
  FileShardLogOptions options = Options();
  options.file_ops = &ops;
  auto log = Open(options);
  AppendNumbered(*log, 3);
  ops.FailWriteAfter(2);
  AppendNumbered(*log, 1);
  Result<AppendedRecord> failed = log->Append(
      {.partition_key = "pk", .data = "x", .arrival_millis = kStart});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), ErrorCode::kInternalFailure);
  EXPECT_NE(failed.status().message().find("00000000000000000000.log"),
            std::string::npos)
      << failed.status().message();
  EXPECT_NE(failed.status().message().find("Input/output error"),
            std::string::npos);

  // Sticky: the same Status again, although writes would work now.
  Result<AppendedRecord> later = log->Append(
      {.partition_key = "pk", .data = "y", .arrival_millis = kStart});
  EXPECT_EQ(later.status(), failed.status());
  EXPECT_EQ(log->Sync(), failed.status());
  EXPECT_EQ(log->Tip(), 4u);
  EXPECT_EQ(ReadAll(*log).size(), 4u);  // what was acknowledged stays readable
}

TEST_F(FileShardLogTest, AFailedFsyncFailsEveryWaiterAndEveryLaterAppend) {
  FaultyFileOps ops;
  FileShardLogOptions options = Options();
  options.file_ops = &ops;
  options.fsync_mode = FsyncMode::kAlways;
  auto log = Open(options);
  AppendNumbered(*log, 2);
  ops.FailSyncAfter(1);
  Result<AppendedRecord> failed = log->Append(
      {.partition_key = "pk", .data = "x", .arrival_millis = kStart});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), ErrorCode::kInternalFailure);
  EXPECT_NE(failed.status().message().find("cannot fsync segment"),
            std::string::npos)
      << failed.status().message();

  int syncs = ops.syncs();
  Result<AppendedRecord> later = log->Append(
      {.partition_key = "pk", .data = "y", .arrival_millis = kStart});
  EXPECT_EQ(later.status(), failed.status());
  EXPECT_EQ(ops.syncs(), syncs);  // no retry: we no longer know the disk
  // Close refuses to claim a clean shutdown.
  EXPECT_EQ(log->Close(), failed.status());
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "shard" / "CLEAN"));
}

TEST_F(FileShardLogTest, GroupCommitSharesFsyncsBetweenConcurrentWriters) {
  FaultyFileOps ops;  // never armed: only counts
  FileShardLogOptions options = Options();
  options.file_ops = &ops;
  options.fsync_mode = FsyncMode::kAlways;
  options.segment_bytes = 64 << 20;
  auto log = Open(options);
  int syncs_before = ops.syncs();
  constexpr int kWriters = 8;
  constexpr int kPerWriter = 50;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&] {
      for (int i = 0; i < kPerWriter; ++i) {
        ASSERT_TRUE(log->Append({.partition_key = "pk",
                                 .data = "d",
                                 .arrival_millis = kStart})
                        .ok());
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  EXPECT_EQ(log->Tip(), uint64_t{kWriters * kPerWriter});
  // Every append waited for an fsync, never more than one each.
  EXPECT_LE(ops.syncs() - syncs_before, kWriters * kPerWriter);
  EXPECT_GE(ops.syncs() - syncs_before, 1);
}

TEST_F(FileShardLogTest, IntervalModeFsyncsInTheBackground) {
  FaultyFileOps ops;
  FileShardLogOptions options = Options();
  options.file_ops = &ops;
  options.fsync_mode = FsyncMode::kInterval;
  options.fsync_interval = std::chrono::milliseconds(1);
  auto log = Open(options);
  int syncs_before = ops.syncs();
  AppendNumbered(*log, 1);
  EXPECT_TRUE(testing::PollUntil([&] { return ops.syncs() > syncs_before; }));
}

TEST_F(FileShardLogTest, AFailedBackgroundFsyncFailsLaterAppends) {
  FaultyFileOps ops;
  FileShardLogOptions options = Options();
  options.file_ops = &ops;
  options.fsync_mode = FsyncMode::kInterval;
  options.fsync_interval = std::chrono::milliseconds(1);
  auto log = Open(options);
  ops.FailSyncAfter(1);
  AppendNumbered(*log, 1);  // acknowledged: written to the OS
  Status failure;
  EXPECT_TRUE(testing::PollUntil([&] {
    failure = log->Append({.partition_key = "pk", .data = "x"}).status();
    return !failure.ok();
  }));
  EXPECT_EQ(failure.code(), ErrorCode::kInternalFailure);
  EXPECT_NE(failure.message().find("cannot fsync segment"), std::string::npos)
      << failure.message();
  EXPECT_EQ(log->Sync(), failure);
}

TEST_F(FileShardLogTest, ASharedSyncerFsyncsEveryRegisteredLog) {
  PeriodicSyncer syncer(std::chrono::milliseconds(1));
  FaultyFileOps first_ops;
  FaultyFileOps second_ops;
  FileShardLogOptions options = Options();
  options.fsync_mode = FsyncMode::kInterval;
  options.syncer = &syncer;
  options.file_ops = &first_ops;
  auto first = Open(options);
  options.directory = dir_.path() / "other-shard";
  options.file_ops = &second_ops;
  auto second = Open(options);
  int first_before = first_ops.syncs();
  int second_before = second_ops.syncs();
  AppendNumbered(*first, 1);
  AppendNumbered(*second, 1);
  EXPECT_TRUE(testing::PollUntil([&] {
    return first_ops.syncs() > first_before &&
           second_ops.syncs() > second_before;
  }));
  // A log that goes away is unregistered; the syncer carries on with the
  // others (ASan would catch a stale pointer).
  first.reset();
  second_before = second_ops.syncs();
  AppendNumbered(*second, 1);
  EXPECT_TRUE(
      testing::PollUntil([&] { return second_ops.syncs() > second_before; }));
  ASSERT_TRUE(second->Close().ok());
}

TEST_F(FileShardLogTest, OpenReportsADirectoryItCannotCreate) {
  testing::WriteFile(dir_.path() / "file", "in the way");
  FileShardLogOptions options = Options();
  options.directory = dir_.path() / "file" / "shard";
  Result<std::unique_ptr<FileShardLog>> log = FileShardLog::Open(options);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), ErrorCode::kInternalFailure);
  EXPECT_NE(log.status().message().find("cannot create shard directory " +
                                        options.directory.string()),
            std::string::npos)
      << log.status().message();
}

}  // namespace
}  // namespace sluice::storage
