// Recovery on open (docs/storage-format.md, "Recovery"): a torn tail is cut
// back to the last whole frame; a damaged sealed segment is moved aside.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "server/storage/file_shard_log.h"
#include "server/storage/frame.h"
#include "tests/unit/storage/storage_test_util.h"

namespace sluice::storage {
namespace {

using testing::TempDir;

constexpr EpochMillis kStart = 1700000100000;

class RecoveryTest : public ::testing::Test {
 protected:
  FileShardLogOptions Options(uint64_t segment_bytes = 64 << 20) {
    FileShardLogOptions options;
    options.directory = shard_;
    options.fsync_mode = FsyncMode::kNever;
    options.segment_bytes = segment_bytes;
    options.index_interval_bytes = 128;
    return options;
  }

  std::unique_ptr<FileShardLog> Open(FileShardLogOptions options) {
    Result<std::unique_ptr<FileShardLog>> log = FileShardLog::Open(options);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(*log) : nullptr;
  }

  static std::string DataFor(uint64_t offset) {
    return "record-" + std::to_string(offset);
  }

  static void AppendNumbered(ShardLog& log, int count) {
    for (int i = 0; i < count; ++i) {
      std::string data = DataFor(log.Tip());
      ASSERT_TRUE(log.Append({.partition_key = "pk",
                              .data = data,
                              .arrival_millis = kStart})
                      .ok());
    }
  }

  // Reads everything and checks it is exactly records first..first+count-1.
  static void ExpectRecords(ShardLog& log, uint64_t first, uint64_t count) {
    Result<ReadResult> read = log.Read(0, 100000, 1 << 30);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    ASSERT_EQ(read->records.size(), count);
    for (uint64_t i = 0; i < count; ++i) {
      EXPECT_EQ(read->records[i].offset, first + i);
      EXPECT_EQ(read->records[i].data, DataFor(first + i));
    }
    EXPECT_EQ(log.Tip(), first + count);
  }

  std::vector<std::filesystem::path> Segments() const {
    std::vector<std::filesystem::path> paths;
    for (const auto& entry : std::filesystem::directory_iterator(shard_)) {
      if (entry.path().extension() == ".log") paths.push_back(entry.path());
    }
    std::sort(paths.begin(), paths.end());
    return paths;
  }

  TempDir dir_;
  std::filesystem::path shard_ = dir_.path() / "shard";
};

TEST_F(RecoveryTest, TornTailCutAtEveryByteGivesExactlyTheEarlierRecords) {
  constexpr int kRecords = 20;
  uint64_t size_before_last = 0;
  {
    auto log = Open(Options());
    AppendNumbered(*log, kRecords - 1);
    size_before_last = std::filesystem::file_size(Segments().back());
    AppendNumbered(*log, 1);
  }
  std::filesystem::path tail = Segments().back();
  const std::string whole = testing::ReadFile(tail);
  ASSERT_GT(whole.size(), size_before_last);

  for (size_t cut = size_before_last; cut < whole.size(); ++cut) {
    SCOPED_TRACE("cut at byte " + std::to_string(cut));
    testing::WriteFile(tail, whole.substr(0, cut));
    auto log = Open(Options());
    ExpectRecords(*log, 0, kRecords - 1);
    EXPECT_EQ(std::filesystem::file_size(tail), size_before_last);
    EXPECT_TRUE(log->CorruptSegments().empty());
  }
  // And the uncut file still has them all.
  testing::WriteFile(tail, whole);
  auto log = Open(Options());
  ExpectRecords(*log, 0, kRecords);
}

TEST_F(RecoveryTest, NothingAfterATornFrameIsKept) {
  {
    auto log = Open(Options());
    AppendNumbered(*log, 10);
  }
  std::filesystem::path tail = Segments().back();
  uint64_t good_size = std::filesystem::file_size(tail);
  // A torn frame for offset 10, then a perfectly good frame for offset 11.
  std::string torn;
  EncodeFrame({.offset = 10, .partition_key = "pk", .data = DataFor(10)}, torn);
  torn.resize(torn.size() - 3);
  std::string good;
  EncodeFrame({.offset = 11, .partition_key = "pk", .data = DataFor(11)}, good);
  testing::AppendToFile(tail, torn + good);

  auto log = Open(Options());
  ExpectRecords(*log, 0, 10);
  EXPECT_EQ(std::filesystem::file_size(tail), good_size);
  AppendNumbered(*log, 1);  // offset 10 is handed out again: it was never acked
  ExpectRecords(*log, 0, 11);
}

TEST_F(RecoveryTest, AFrameOutOfSequenceEndsTheTail) {
  {
    auto log = Open(Options());
    AppendNumbered(*log, 5);
  }
  std::string stray;  // a whole, valid frame, but for the wrong offset
  EncodeFrame({.offset = 9, .partition_key = "pk", .data = DataFor(9)}, stray);
  testing::AppendToFile(Segments().back(), stray);
  auto log = Open(Options());
  ExpectRecords(*log, 0, 5);
}

TEST_F(RecoveryTest, ACleanMarkerThatDoesNotMatchTheTailIsIgnored) {
  {
    auto log = Open(Options());
    AppendNumbered(*log, 5);
    ASSERT_TRUE(log->Close().ok());
  }
  testing::AppendToFile(Segments().back(), "garbage after a clean close");
  auto log = Open(Options());
  ExpectRecords(*log, 0, 5);
}

TEST_F(RecoveryTest, ACorruptSealedSegmentIsMovedAsideAndReported) {
  {
    auto log = Open(Options(/*segment_bytes=*/1024));
    AppendNumbered(*log, 100);
  }
  std::vector<std::filesystem::path> segments = Segments();
  ASSERT_GE(segments.size(), 4u);
  std::filesystem::path damaged = segments[1];
  std::string bytes = testing::ReadFile(damaged);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x10);
  testing::WriteFile(damaged, bytes);
  uint64_t gap_start = std::stoull(damaged.filename().string());
  uint64_t gap_end = std::stoull(segments[2].filename().string());

  auto log = Open(Options(1024));
  ASSERT_EQ(log->CorruptSegments().size(), 1u);
  EXPECT_NE(log->CorruptSegments()[0].find(damaged.string()),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(damaged));
  std::filesystem::path aside = damaged.string() + ".corrupt";
  ASSERT_TRUE(std::filesystem::exists(aside));  // moved, never deleted
  EXPECT_EQ(testing::ReadFile(aside), bytes);
  EXPECT_EQ(log->Tip(), 100u);

  // Readers skip the gap the way they skip trimmed records.
  Result<ReadResult> read = log->Read(0, 1000, 1 << 30);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->records.size(), 100 - (gap_end - gap_start));
  for (const StoredRecord& record : read->records) {
    EXPECT_TRUE(record.offset < gap_start || record.offset >= gap_end);
    EXPECT_EQ(record.data, DataFor(record.offset));
  }
  read = log->Read(gap_start, 1, 1 << 20);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->records.size(), 1u);
  EXPECT_EQ(read->records[0].offset, gap_end);
}

TEST_F(RecoveryTest, ReadReportsACorruptFrameWithFileAndPosition) {
  auto log = Open(Options());
  AppendNumbered(*log, 3);
  // Damage the bytes under a running log (a disk error): reads must say so.
  std::filesystem::path tail = Segments().back();
  std::string bytes = testing::ReadFile(tail);
  bytes[bytes.size() - 2] = static_cast<char>(bytes[bytes.size() - 2] ^ 1);
  testing::WriteFile(tail, bytes);
  Result<ReadResult> read = log->Read(0, 10, 1 << 20);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), ErrorCode::kInternalFailure);
  EXPECT_NE(read.status().message().find(tail.string() + " at position"),
            std::string::npos)
      << read.status().message();
  EXPECT_NE(read.status().message().find("bad payload checksum"),
            std::string::npos);
}

}  // namespace
}  // namespace sluice::storage
