#include "server/analytics/application_handler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>

#include "tests/unit/catalog/test_util.h"
#include "tests/unit/server/consumers/consumer_test_util.h"

namespace sluice::analytics {
namespace {

using catalog::test::IsOk;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr EpochMillis kMinute = 60'000;
constexpr EpochMillis kStart = 1'796'205'600'000;  // 2026-12-02 10:00 UTC

using consumers::test::RecordingWriter;

std::string Settings(const std::string& columns, const std::string& code) {
  return R"({"type": "analytics", "application": {"ApplicationName": "app",
      "ApplicationCode": )" +
         json::Quote(code) + R"(, "Inputs": [{"KinesisStreamsInput":
      {"ResourceARN": "arn:aws:kinesis:us-east-1:000000000000:stream/in"},
      "InputSchema": {"RecordFormat": {"RecordFormatType": "JSON"},
      "RecordColumns": [)" +
         columns + R"(]}}], "Outputs": [{"Name": "OUT", "KinesisStreamsOutput":
      {"ResourceARN": "arn:aws:kinesis:us-east-1:000000000000:stream/out"},
      "DestinationSchema": {"RecordFormatType": "CSV"}}]}})";
}

class ApplicationHandlerTest : public ::testing::Test {
 protected:
  std::unique_ptr<ApplicationHandler> Make(
      const std::string& settings, const std::string& data_dir = "",
      consumers::StreamWriter* writer = nullptr) {
    spec_ = consumers::test::MakeSpec("analytics", settings, data_dir, &clock_);
    spec_->environment.writer = writer != nullptr ? writer : &outputs_;
    spec_->environment.source_tips = [this] {
      std::lock_guard lock(mu_);
      return std::vector<std::pair<std::string, uint64_t>>{
          {"shardId-000000000000", tip_}};
    };
    auto handler = ApplicationHandler::Create(spec_->spec);
    EXPECT_THAT(handler, IsOk());
    return handler.ok() ? std::move(handler).value() : nullptr;
  }

  consumers::Batch Batch(std::vector<std::string> datas, uint64_t first,
                         EpochMillis arrival) {
    consumers::Batch batch = consumers::test::MakeBatch(datas, first, arrival);
    std::lock_guard lock(mu_);
    tip_ = std::max<uint64_t>(tip_, first + datas.size());
    return batch;
  }

  ManualClock clock_{kStart};
  RecordingWriter outputs_;
  std::unique_ptr<consumers::test::SpecHolder> spec_;
  std::mutex mu_;
  uint64_t tip_ = 0;  // guarded by mu_
};

const std::string kSpeed =
    R"({"Name": "speed", "SqlType": "DOUBLE", "Mapping": "$.speed"})";

TEST_F(ApplicationHandlerTest, FilterRowsGoOutInOrderKeyedByTheirId) {
  auto handler =
      Make(Settings(kSpeed,
                    "CREATE STREAM \"OUT\" (s DOUBLE); CREATE PUMP p AS "
                    "INSERT INTO \"OUT\" SELECT STREAM speed FROM "
                    "SOURCE_SQL_STREAM_001 WHERE speed >= 200;"));
  ASSERT_NE(handler, nullptr);
  auto result = handler->Handle(
      Batch({R"({"speed": 210})", R"({"speed": 100})", R"({"speed": 250.5})"},
            0, kStart));
  EXPECT_FALSE(result.function_error);
  EXPECT_THAT(outputs_.puts(), ElementsAre("out app-1 210", "out app-2 250.5"));
}

TEST_F(ApplicationHandlerTest, AWindowClosesOnTheClockWithoutNewRecords) {
  auto handler = Make(Settings(
      kSpeed,
      "CREATE STREAM \"OUT\" (n BIGINT, top DOUBLE); CREATE PUMP p AS INSERT "
      "INTO \"OUT\" SELECT STREAM COUNT(*), MAX(speed) FROM "
      "SOURCE_SQL_STREAM_001 GROUP BY FLOOR(SOURCE_SQL_STREAM_001.ROWTIME TO "
      "MINUTE);"));
  ASSERT_NE(handler, nullptr);
  EXPECT_FALSE(handler
                   ->Handle(Batch({R"({"speed": 210})", R"({"speed": 190})"}, 0,
                                  kStart + 10))
                   .function_error);
  clock_.Set(kStart + kMinute);  // the end, not yet past the grace
  handler->Tick();
  EXPECT_THAT(outputs_.puts(), IsEmpty());
  clock_.Set(kStart + kMinute + kWindowCloseGraceMillis);
  handler->Tick();
  EXPECT_THAT(outputs_.puts(), ElementsAre("out app-1 2,210"));
  handler->Tick();  // once only
  EXPECT_THAT(outputs_.puts(), ElementsAre("out app-1 2,210"));
}

TEST_F(ApplicationHandlerTest, AFailedOutputKeepsItsRowsInOrderUntilItWorks) {
  auto handler =
      Make(Settings(kSpeed,
                    "CREATE STREAM \"OUT\" (s DOUBLE); CREATE PUMP p AS "
                    "INSERT INTO \"OUT\" SELECT STREAM speed FROM "
                    "SOURCE_SQL_STREAM_001;"));
  ASSERT_NE(handler, nullptr);
  outputs_.RefuseAt(0);
  EXPECT_FALSE(
      handler->Handle(Batch({R"({"speed": 1})", R"({"speed": 2})"}, 0, kStart))
          .function_error);
  auto status = handler->Describe();
  ASSERT_THAT(status, IsOk());
  if (outputs_.puts().empty()) {  // the timer may have retried already
    EXPECT_EQ(status->counts.pending, 2);
    EXPECT_EQ(status->delivery_error, "Rate exceeded for shard");
  }
  handler->Tick();
  EXPECT_THAT(outputs_.puts(), ElementsAre("out app-1 1", "out app-2 2"));
  status = handler->Describe();
  ASSERT_THAT(status, IsOk());
  EXPECT_EQ(status->counts.pending, 0);
  EXPECT_EQ(status->delivery_error, "");
}

// A stream of one shard that keeps its partition keys, so the handler can
// look for its own puts after a crash.
class KeyedWriter : public RecordingWriter {
 public:
  Result<std::string> PutToStream(std::string_view stream,
                                  std::string_view partition_key,
                                  std::string_view data) override {
    auto put = RecordingWriter::PutToStream(stream, partition_key, data);
    if (put.ok()) AddKey(std::string(partition_key));
    return put;
  }
  Result<ShardTips> StreamTips(std::string_view) override {
    std::lock_guard lock(mu_);
    return ShardTips{{"shardId-000000000000", keys_.size()}};
  }
  Result<std::vector<std::string>> PartitionKeysSince(
      std::string_view, const ShardTips& tips) override {
    std::lock_guard lock(mu_);
    size_t from = tips.empty() ? 0 : static_cast<size_t>(tips[0].second);
    return std::vector<std::string>(
        keys_.begin() +
            static_cast<std::ptrdiff_t>(std::min(from, keys_.size())),
        keys_.end());
  }
  // A record put by someone else (or before a crash).
  void AddKey(std::string key) {
    std::lock_guard lock(mu_);
    keys_.push_back(std::move(key));
  }

 private:
  std::mutex mu_;
  std::vector<std::string> keys_;  // guarded by mu_
};

TEST_F(ApplicationHandlerTest, RowsPutBeforeACrashAreNotSentAgain) {
  catalog::test::TempDir dir;
  const std::string settings =
      Settings(kSpeed,
               "CREATE STREAM \"OUT\" (s DOUBLE); CREATE PUMP p AS "
               "INSERT INTO \"OUT\" SELECT STREAM speed FROM "
               "SOURCE_SQL_STREAM_001;");
  KeyedWriter stream;
  stream.AddKey("someone-else");
  {
    // Before the crash: three rows in the outbox, the output's tip marked,
    // two rows put, and the process died before deleting them.
    json::Document document;
    document.Parse(settings.data(), settings.size());
    auto definition = ParseApplicationDefinition(document["application"]);
    ASSERT_THAT(definition, IsOk());
    std::filesystem::create_directories(dir.path() / "analytics");
    auto engine = Engine::Open(*definition,
                               (dir.path() / "analytics" / "app.db").string());
    ASSERT_THAT(engine, IsOk());
    ASSERT_THAT((*engine)->Apply(Batch(
                    {R"({"speed": 1})", R"({"speed": 2})", R"({"speed": 3})"},
                    0, kStart)),
                IsOk());
    ASSERT_THAT((*engine)->MarkSending(0, {{"shardId-000000000000", 1}}),
                IsOk());
    stream.AddKey("app-1");
    stream.AddKey("other-7");
    // Application "app-1" writes to the same stream: its row 3 is not ours.
    stream.AddKey("app-1-3");
    stream.AddKey("app-3x");
    stream.AddKey("app-2");
  }
  auto handler = Make(settings, dir.path().string(), &stream);
  ASSERT_NE(handler, nullptr);
  handler->Tick();
  EXPECT_THAT(stream.puts(), ElementsAre("out app-3 3"));
  auto status = handler->Describe();
  ASSERT_THAT(status, IsOk());
  EXPECT_EQ(status->counts.pending, 0);
  // The marks went with the delivery: later rows go out as usual.
  EXPECT_FALSE(
      handler->Handle(Batch({R"({"speed": 4})"}, 3, kStart)).function_error);
  EXPECT_THAT(stream.puts(), ElementsAre("out app-3 3", "out app-4 4"));
}

}  // namespace
}  // namespace sluice::analytics
