#include "server/consumers/archive_handler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "tests/unit/catalog/test_util.h"
#include "tests/unit/server/consumers/consumer_test_util.h"

namespace sluice::consumers {
namespace {

using catalog::test::HasError;
using catalog::test::IsOk;
using catalog::test::TempDir;
using test::kArrival;
using test::MakeBatch;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// Uncompressed, so the tests read objects as they are; one test checks gzip.
constexpr std::string_view kSettings = R"({
  "type": "archive", "prefix": "raw/", "compression": "UNCOMPRESSED",
  "size_mb": 0.001, "interval_seconds": 60})";

// Every object under `dir`: path relative to it -> content.
std::map<std::string, std::string> Objects(const std::filesystem::path& dir) {
  std::map<std::string, std::string> objects;
  std::error_code error;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(dir, error)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    objects[std::filesystem::relative(entry.path(), dir).string()] =
        content.str();
  }
  return objects;
}

std::vector<std::string> Contents(const std::filesystem::path& dir) {
  std::vector<std::string> contents;
  for (const auto& [path, content] : Objects(dir)) contents.push_back(content);
  return contents;
}

class ArchiveHandlerTest : public ::testing::Test {
 protected:
  std::unique_ptr<ArchiveHandler> Make(std::string_view settings = kSettings) {
    spec_ = test::MakeSpec("archive", settings, dir_.path().string(), &clock_);
    Result<std::unique_ptr<ArchiveHandler>> handler =
        ArchiveHandler::Create(spec_->spec);
    EXPECT_THAT(handler, IsOk());
    return handler.ok() ? std::move(handler).value() : nullptr;
  }
  std::filesystem::path archive() const { return dir_.path() / "archive"; }

  TempDir dir_;
  ManualClock clock_{kArrival + 5000};
  std::unique_ptr<test::SpecHolder> spec_;
};

TEST_F(ArchiveHandlerTest, StagesUntilTheSizeIsReachedThenWritesOneObject) {
  auto handler = Make();
  ASSERT_NE(handler, nullptr);
  const std::string record(400, 'x');
  EXPECT_FALSE(handler->Handle(MakeBatch({record, record}, 0))
                   .function_error.has_value());
  EXPECT_THAT(Objects(archive()), IsEmpty());  // 800 bytes < 1048
  EXPECT_FALSE(
      handler->Handle(MakeBatch({record}, 2)).function_error.has_value());
  // Date-partitioned by the first record's arrival (2026-12-02), named by
  // the consumer, the shard and the first record's sequence number.
  const std::string key =
      "raw/year=2026/month=12/day=02/shop-shardId-000000000000-" +
      test::MakeRecord(0, "").sequence_number;
  EXPECT_THAT(Objects(archive()),
              ElementsAre(std::pair(
                  key, record + "\n" + record + "\n" + record + "\n")));
  EXPECT_THAT(
      test::Rows(handler->database_path().string(),
                 "SELECT key, first_offset, last_offset, records"
                 " FROM sluice_archive_objects"),
      ElementsAre("key=" + key + "|first_offset=0|last_offset=2|records=3"));
}

TEST_F(ArchiveHandlerTest, ARedeliveredRecordIsNeverArchivedTwice) {
  auto handler = Make(R"({"type": "archive", "compression": "UNCOMPRESSED",
                          "interval_seconds": 0})");
  ASSERT_NE(handler, nullptr);
  const std::string binary("\0\xff\x01", 3);  // records are bytes
  const Batch batch = MakeBatch({"a", binary, "c"}, 0);
  handler->Handle(batch);
  handler->Handle(batch);  // a retry after the object was written
  handler->Handle(MakeBatch({binary, "c", "d", "e"}, 1));  // from a failed item
  EXPECT_THAT(Contents(archive()),
              ElementsAre("a\n" + binary + "\nc\n", "d\ne\n"));
}

TEST_F(ArchiveHandlerTest, StagedRecordsSurviveARestartAndRollByTime) {
  {
    auto handler = Make();
    handler->Handle(MakeBatch({"a", "b"}, 0));
  }  // a crash after the call succeeded loses nothing: it is staged
  auto handler = Make();
  handler->Handle(MakeBatch({"b", "c"}, 1));  // redelivered from "b"
  EXPECT_THAT(Objects(archive()), IsEmpty());
  clock_.Advance(60000);  // the interval has passed: the roller writes it
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Objects(archive()).empty() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_THAT(Contents(archive()), ElementsAre("a\nb\nc\n"));
}

TEST_F(ArchiveHandlerTest, ACrashBetweenTheWriteAndItsNoteRewritesTheObject) {
  {
    auto handler = Make();
    handler->Handle(MakeBatch({"a", "b"}, 0));
  }
  // Keep the database as it is before the roll: restoring it afterwards is
  // a crash after the object was renamed into place, before the staged
  // records were dropped.
  const std::filesystem::path database =
      dir_.path() / "archive-staging" / "shop.db";
  const std::filesystem::path saved = dir_.path() / "before-roll.db";
  std::filesystem::copy_file(database, saved);
  {
    auto handler = Make();
    ASSERT_THAT(handler->Flush(), IsOk());
  }
  EXPECT_THAT(Contents(archive()), ElementsAre("a\nb\n"));
  std::filesystem::copy_file(saved, database,
                             std::filesystem::copy_options::overwrite_existing);

  auto handler = Make();
  handler->Handle(MakeBatch({"b", "c"}, 1));
  ASSERT_THAT(handler->Flush(), IsOk());
  // The same key, written again with the record staged since: one object,
  // each record once.
  EXPECT_THAT(Contents(archive()), ElementsAre("a\nb\nc\n"));
}

TEST_F(ArchiveHandlerTest, KeepsLanesAndShardsApart) {
  auto handler = Make(R"({"type": "archive", "compression": "UNCOMPRESSED",
                          "prefix": "", "partition_by_hour": true,
                          "append_newline": false})");
  Batch lane0 = MakeBatch({"a", "c"}, 0);
  lane0.lane_count = 2;
  lane0.records[1].offset = 2;
  Batch lane1 = MakeBatch({"b", "d"}, 1);
  lane1.lane = 1;
  lane1.lane_count = 2;
  lane1.records[1].offset = 3;
  handler->Handle(lane0);
  handler->Handle(lane1);
  ASSERT_THAT(handler->Flush(), IsOk());
  const auto objects = Objects(archive());
  ASSERT_THAT(objects, SizeIs(2));
  EXPECT_EQ(objects.begin()->first.substr(0, 34),
            "year=2026/month=12/day=02/hour=07/");
  EXPECT_THAT(Contents(archive()), ElementsAre("ac", "bd"));
}

TEST_F(ArchiveHandlerTest, ANewParallelizationFactorStartsAtTheOldMark) {
  auto handler = Make(R"({"type": "archive", "compression": "UNCOMPRESSED",
                          "interval_seconds": 0})");
  handler->Handle(MakeBatch({"a", "b", "c"}, 0));
  // The consumer re-created with ParallelizationFactor 2: its checkpoint
  // was behind, so "b" and "c" come again, on a lane of a new factor.
  Batch lane0 = MakeBatch({"b", "c", "d"}, 1);
  lane0.lane_count = 2;
  handler->Handle(lane0);
  EXPECT_THAT(Contents(archive()), ElementsAre("a\nb\nc\n", "d\n"));
}

TEST_F(ArchiveHandlerTest, AFailedWriteKeepsTheRecordsStagedForTheNextRoll) {
  auto handler = Make(R"({"type": "archive", "compression": "UNCOMPRESSED",
                          "interval_seconds": 0})");
  // A file where the archive directory should be: every write fails.
  std::ofstream(archive()) << "in the way";
  // The records are durable in staging, so the batch has succeeded.
  EXPECT_FALSE(
      handler->Handle(MakeBatch({"a", "b"}, 0)).function_error.has_value());
  EXPECT_FALSE(handler->Flush().ok());
  std::filesystem::remove(archive());
  ASSERT_THAT(handler->Flush(), IsOk());
  EXPECT_THAT(Contents(archive()), ElementsAre("a\nb\n"));
}

TEST_F(ArchiveHandlerTest, WritesGzipByDefault) {
  auto handler = Make(R"({"type": "archive", "interval_seconds": 0})");
  handler->Handle(MakeBatch({"a"}, 0));
  const auto objects = Objects(archive());
  ASSERT_THAT(objects, SizeIs(1));
  EXPECT_TRUE(objects.begin()->first.starts_with("shop/year=2026/"));
  EXPECT_TRUE(objects.begin()->first.ends_with(".gz"));
  EXPECT_EQ(objects.begin()->second.substr(0, 2), "\x1f\x8b");
}

TEST_F(ArchiveHandlerTest, RefusesBadSettings) {
  for (std::string_view settings : {
           R"({"type": "archive", "prefix": "../out/"})",
           R"({"type": "archive", "prefix": "/abs/"})",
           R"({"type": "archive", "directory": "../x"})",
           R"({"type": "archive", "compression": "LZ4"})",
           R"({"type": "archive", "size_mb": 129})",
           R"({"type": "archive", "interval_seconds": 901})",
           R"({"type": "archive", "append_newline": "yes"})",
           R"({"type": "archive", "buffer": 1})",
       }) {
    spec_ = test::MakeSpec("archive", settings, dir_.path().string(), &clock_);
    EXPECT_THAT(ArchiveHandler::Create(spec_->spec),
                HasError(ErrorCode::kInvalidArgument))
        << settings;
  }
}

}  // namespace
}  // namespace sluice::consumers
