#include "server/analytics/application_handler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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
  std::unique_ptr<ApplicationHandler> Make(const std::string& settings) {
    spec_ = consumers::test::MakeSpec("analytics", settings, "", &clock_);
    spec_->environment.writer = &outputs_;
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

}  // namespace
}  // namespace sluice::analytics
