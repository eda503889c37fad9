// The ShardLog contract, run against both backends: whatever --in-memory
// says, a client sees the same offsets, sequence numbers, limits and seeks.
#include "server/storage/shard_log.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/sequence_number.h"
#include "server/storage/file_shard_log.h"
#include "server/storage/memory_shard_log.h"
#include "tests/unit/storage/storage_test_util.h"

namespace sluice::storage {
namespace {

using testing::TempDir;

constexpr ShardIdentity kShard{.shard_index = 3,
                               .creation_seconds = 1700000000};
constexpr EpochMillis kStart = 1700000100000;

struct Backend {
  std::string name;
  std::function<std::unique_ptr<ShardLog>(const std::filesystem::path&)> open;
};

class ShardLogContractTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { log_ = GetParam().open(dir_.path()); }

  AppendedRecord AppendOne(const std::string& data, EpochMillis arrival) {
    Result<AppendedRecord> appended =
        log_->Append({.partition_key = "pk-" + data,
                      .data = data,
                      .arrival_millis = arrival});
    EXPECT_TRUE(appended.ok()) << appended.status().ToString();
    return appended.ok() ? *appended : AppendedRecord{};
  }

  TempDir dir_;
  std::unique_ptr<ShardLog> log_;
};

TEST_P(ShardLogContractTest,
       AppendReturnsConsecutiveOffsetsAndDecodableNumbers) {
  for (uint64_t i = 0; i < 5; ++i) {
    AppendedRecord record = AppendOne(std::to_string(i), kStart);
    EXPECT_EQ(record.offset, i);
    std::optional<SequenceNumberParts> parts =
        DecodeSequenceNumber(record.sequence_number);
    ASSERT_TRUE(parts);
    EXPECT_EQ(parts->offset, i);
    EXPECT_EQ(parts->shard_index, kShard.shard_index);
    EXPECT_EQ(parts->shard_creation_seconds, kShard.creation_seconds);
    EXPECT_EQ(parts->arrival_seconds, static_cast<uint64_t>(kStart / 1000));
  }
  EXPECT_EQ(log_->Tip(), 5u);
  EXPECT_EQ(log_->TrimHorizon(), 0u);
}

TEST_P(ShardLogContractTest, ReadsBackWhatWasAppended) {
  std::string ehk = "12345678901234567890";
  std::string binary("\0bin\xff", 5);
  std::vector<RecordToAppend> batch = {
      {.partition_key = "a", .data = "first", .arrival_millis = kStart},
      {.partition_key = "b",
       .explicit_hash_key = ehk,
       .data = binary,
       .arrival_millis = kStart + 1},
      {.partition_key = "c", .data = "", .arrival_millis = kStart + 2},
  };
  Result<std::vector<AppendedRecord>> appended = log_->AppendBatch(batch);
  ASSERT_TRUE(appended.ok()) << appended.status().ToString();
  ASSERT_EQ(appended->size(), 3u);

  Result<ReadResult> read = log_->Read(0, 100, 1 << 20);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->records.size(), 3u);
  EXPECT_EQ(read->next_offset, 3u);
  EXPECT_TRUE(read->at_tip);
  for (size_t i = 0; i < 3; ++i) {
    const StoredRecord& record = read->records[i];
    EXPECT_EQ(record.offset, i);
    EXPECT_EQ(record.sequence_number, (*appended)[i].sequence_number);
    EXPECT_EQ(record.arrival_millis, batch[i].arrival_millis);
    EXPECT_EQ(record.partition_key, batch[i].partition_key);
    EXPECT_EQ(record.data, batch[i].data);
  }
  EXPECT_FALSE(read->records[0].explicit_hash_key.has_value());
  EXPECT_EQ(read->records[1].explicit_hash_key, ehk);
}

TEST_P(ShardLogContractTest, ReadStopsAtMaxRecordsAndMaxBytes) {
  for (int i = 0; i < 10; ++i) AppendOne("0123456789", kStart);  // 13+10 bytes
  Result<ReadResult> read = log_->Read(2, 3, 1 << 20);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->records.size(), 3u);
  EXPECT_EQ(read->records.front().offset, 2u);
  EXPECT_EQ(read->next_offset, 5u);
  EXPECT_FALSE(read->at_tip);

  // pk "pk-0123456789" (13) + data (10) = 23 bytes a record.
  read = log_->Read(0, 100, 23 * 4 + 22);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->records.size(), 4u);
  EXPECT_EQ(read->next_offset, 4u);

  read = log_->Read(0, 100, 1);  // the first record always comes back
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->records.size(), 1u);
}

TEST_P(ShardLogContractTest, ReadAtOrPastTheTipIsEmptyAndAtTip) {
  AppendOne("x", kStart);
  Result<ReadResult> read = log_->Read(1, 10, 1 << 20);
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(read->records.empty());
  EXPECT_EQ(read->next_offset, 1u);
  EXPECT_TRUE(read->at_tip);
}

TEST_P(ShardLogContractTest, ArrivalTimesNeverGoBackwards) {
  AppendOne("a", kStart + 5000);
  AppendedRecord earlier = AppendOne("b", kStart);  // the clock stepped back
  EXPECT_EQ(earlier.arrival_millis, kStart + 5000);
  Result<ReadResult> read = log_->Read(0, 10, 1 << 20);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->records[1].arrival_millis, kStart + 5000);
}

TEST_P(ShardLogContractTest, SeekTimeFindsTheFirstRecordAtOrAfter) {
  // Records 0..99 arrive 10 ms apart.
  for (int i = 0; i < 100; ++i) AppendOne(std::to_string(i), kStart + 10 * i);
  EXPECT_EQ(*log_->SeekTime(0), 0u);
  EXPECT_EQ(*log_->SeekTime(kStart), 0u);
  EXPECT_EQ(*log_->SeekTime(kStart + 1), 1u);
  EXPECT_EQ(*log_->SeekTime(kStart + 500), 50u);
  EXPECT_EQ(*log_->SeekTime(kStart + 505), 51u);
  EXPECT_EQ(*log_->SeekTime(kStart + 990), 99u);
  EXPECT_EQ(*log_->SeekTime(kStart + 991), 100u);  // the tip
}

TEST_P(ShardLogContractTest, RetentionMovesReadersToTheOldestRecord) {
  ManualClock clock(kStart);
  AppendOne("old", clock.NowMillis());
  clock.Advance(std::chrono::milliseconds(std::chrono::hours(25)).count());
  ASSERT_TRUE(
      log_->ApplyRetention(clock.NowMillis(), std::chrono::hours(24)).ok());
  EXPECT_EQ(log_->TrimHorizon(), 1u);
  EXPECT_EQ(log_->Tip(), 1u);
  AppendedRecord fresh = AppendOne("new", clock.NowMillis());
  EXPECT_EQ(fresh.offset, 1u);  // offsets are never reused

  Result<ReadResult> read = log_->Read(0, 10, 1 << 20);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->records.size(), 1u);
  EXPECT_EQ(read->records[0].data, "new");
  EXPECT_EQ(*log_->SeekTime(0), 1u);
}

TEST_P(ShardLogContractTest, ClosedLogRefusesAppendsButStillReads) {
  AppendOne("x", kStart);
  ASSERT_TRUE(log_->Close().ok());
  Result<AppendedRecord> refused = log_->Append(
      {.partition_key = "k", .data = "y", .arrival_millis = kStart});
  EXPECT_EQ(refused.status().code(), ErrorCode::kInternalFailure);
  Result<ReadResult> read = log_->Read(0, 10, 1 << 20);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->records.size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(
    Backends, ShardLogContractTest,
    ::testing::Values(
        Backend{
            "File",
            [](const std::filesystem::path& dir) -> std::unique_ptr<ShardLog> {
              FileShardLogOptions options;
              options.directory = dir / "shard";
              options.identity = kShard;
              options.fsync_mode = FsyncMode::kNever;
              options.segment_bytes = 1024;  // several segments per test
              options.index_interval_bytes = 128;
              auto log = FileShardLog::Open(options);
              EXPECT_TRUE(log.ok()) << log.status().ToString();
              return log.ok() ? std::move(*log) : nullptr;
            }},
        Backend{"Memory",
                [](const std::filesystem::path&) -> std::unique_ptr<ShardLog> {
                  return std::make_unique<MemoryShardLog>(kShard);
                }}),
    [](const ::testing::TestParamInfo<Backend>& param) {
      return param.param.name;
    });

}  // namespace
}  // namespace sluice::storage
