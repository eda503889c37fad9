#include "server/consumers/forward_handler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>

#include "tests/unit/catalog/test_util.h"
#include "tests/unit/server/consumers/consumer_test_util.h"

namespace sluice::consumers {
namespace {

using catalog::test::HasError;
using catalog::test::IsOk;
using test::MakeBatch;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

using test::RecordingWriter;

class ForwardHandlerTest : public ::testing::Test {
 protected:
  Result<std::unique_ptr<ForwardHandler>> Make(std::string_view settings) {
    spec_ = test::MakeSpec("forward", settings, "", &clock_);
    spec_->environment.writer = &writer_;
    return ForwardHandler::Create(spec_->spec);
  }

  ManualClock clock_{test::kArrival};
  RecordingWriter writer_;
  std::unique_ptr<test::SpecHolder> spec_;
};

TEST_F(ForwardHandlerTest, ForwardsMatchingRecordsWithTheirPartitionKeys) {
  auto handler = Make(R"({"type": "forward", "stream": "fast",
                          "match": {"speed": {">=": 200}}})");
  ASSERT_THAT(handler, IsOk());
  HandlerResult result = (*handler)->Handle(
      MakeBatch({R"({"speed": 250})", R"({"speed": 199.9})", "not json",
                 R"({"speed": "200"})", R"({"lap": 3})", R"({"speed": 200})"}));
  EXPECT_FALSE(result.function_error.has_value());
  EXPECT_THAT(result.failed_items, IsEmpty());
  // A numeric string compares as a number; a record without the field or
  // not JSON at all is not forwarded.
  EXPECT_THAT(writer_.puts(), ElementsAre(R"(fast pk {"speed": 250})",
                                          R"(fast pk {"speed": "200"})",
                                          R"(fast pk {"speed": 200})"));
}

TEST_F(ForwardHandlerTest, WithoutAMatchEveryRecordGoesAsPut) {
  auto handler = Make(R"({"type": "forward", "stream": "copy"})");
  ASSERT_THAT(handler, IsOk());
  EXPECT_FALSE((*handler)
                   ->Handle(MakeBatch({"raw \x01 bytes", "{}"}))
                   .function_error.has_value());
  EXPECT_THAT(writer_.puts(),
              ElementsAre("copy pk raw \x01 bytes", "copy pk {}"));
}

TEST_F(ForwardHandlerTest, BuildsThePartitionKeyFromATemplate) {
  auto handler = Make(R"({"type": "forward", "stream": "by-car",
                          "partition_key": "car-{vehicle_id}"})");
  ASSERT_THAT(handler, IsOk());
  (*handler)->Handle(
      MakeBatch({R"({"vehicle_id": 7, "speed": 1})", R"({"speed": 2})"}));
  // A record the template has no value for keeps its own key.
  EXPECT_THAT(writer_.puts(),
              ElementsAre(R"(by-car car-7 {"vehicle_id": 7, "speed": 1})",
                          R"(by-car pk {"speed": 2})"));
}

TEST_F(ForwardHandlerTest, ForwardsToADeliveryStream) {
  auto handler = Make(R"({"type": "forward", "delivery_stream": "fast-fh",
                          "match": {"speed": {">=": 200}}})");
  ASSERT_THAT(handler, IsOk());
  (*handler)->Handle(MakeBatch({R"({"speed": 300})", R"({"speed": 3})"}));
  EXPECT_THAT(writer_.puts(),
              ElementsAre(R"(firehose fast-fh {"speed": 300})"));
}

TEST_F(ForwardHandlerTest, AThrottledPutIsAFunctionErrorAndTheRetryRePuts) {
  auto handler = Make(R"({"type": "forward", "stream": "copy"})");
  ASSERT_THAT(handler, IsOk());
  const Batch batch = MakeBatch({"a", "b", "c"});
  writer_.RefuseAt(1);
  HandlerResult result = (*handler)->Handle(batch);
  ASSERT_TRUE(result.function_error.has_value());
  EXPECT_THAT(*result.function_error, HasSubstr("Rate exceeded"));
  EXPECT_THAT(*result.function_error,
              HasSubstr(batch.records[1].sequence_number));
  // The runtime retries the whole batch: at least once, so "a" twice.
  EXPECT_FALSE((*handler)->Handle(batch).function_error.has_value());
  EXPECT_THAT(writer_.puts(),
              ElementsAre("copy pk a", "copy pk a", "copy pk b", "copy pk c"));
}

TEST_F(ForwardHandlerTest, RefusesBadSettings) {
  EXPECT_THAT(Make(R"({"type": "forward"})"),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(
      Make(R"({"type": "forward", "stream": "a", "delivery_stream": "b"})"),
      HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(Make(R"({"type": "forward", "delivery_stream": "b",
                       "partition_key": "{x}"})"),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(
      Make(R"({"type": "forward", "stream": "a", "match": {"x": {"~": 1}}})"),
      HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(Make(R"({"type": "forward", "stream": "a", "sream": "b"})"),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(Make(R"({"type": "forward", "stream": "a",
                       "partition_key": "{unclosed"})"),
              HasError(ErrorCode::kInvalidArgument));
}

}  // namespace
}  // namespace sluice::consumers
