#include "server/analytics/application_definition.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/json.h"
#include "server/analytics/applications_api.h"
#include "tests/unit/catalog/test_util.h"

namespace sluice::analytics {
namespace {

using catalog::test::HasError;
using catalog::test::IsOk;
using ::testing::HasSubstr;

// A filter application whose input is `input` (the member of Inputs[0]
// naming the source).
std::string Application(const std::string& input) {
  return R"({"ApplicationName": "fast", "ApplicationCode":
      "CREATE OR REPLACE STREAM \"OUT\" (\"speed\" DOUBLE); CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"OUT\" SELECT STREAM \"speed\" FROM \"SOURCE_SQL_STREAM_001\" WHERE \"speed\" >= 200;",
    "Inputs": [{)" +
         input + R"(,
      "InputSchema": {"RecordFormat": {"RecordFormatType": "JSON"},
        "RecordColumns": [{"Name": "speed", "SqlType": "DOUBLE",
                           "Mapping": "$.speed"}]}}],
    "Outputs": [{"Name": "OUT", "KinesisStreamsOutput": {"ResourceARN":
        "arn:aws:kinesis:us-east-1:000000000000:stream/out"},
      "DestinationSchema": {"RecordFormatType": "CSV"}}]})";
}

TEST(ApplicationDefinitionTest, AKinesisStreamIsASource) {
  auto definition = ParseApplicationDefinition(Application(
      R"("KinesisStreamsInput": {"ResourceARN":
          "arn:aws:kinesis:us-east-1:000000000000:stream/telemetry"})"));
  ASSERT_THAT(definition, IsOk());
  EXPECT_EQ(definition->source_kind, ApplicationDefinition::Source::kStream);
  EXPECT_EQ(definition->stream_name, "telemetry");
}

TEST(ApplicationDefinitionTest, ADeliveryStreamIsASourceReadByItsConsumer) {
  const std::string text = Application(
      R"("KinesisFirehoseInput": {"ResourceARN":
          "arn:aws:firehose:us-east-1:000000000000:deliverystream/laps",
          "RoleARN": "arn:aws:iam::000000000000:role/kda"})");
  auto definition = ParseApplicationDefinition(text);
  ASSERT_THAT(definition, IsOk());
  EXPECT_EQ(definition->source_kind,
            ApplicationDefinition::Source::kDeliveryStream);
  EXPECT_EQ(definition->stream_name, "laps");

  json::Document request;
  request.Parse(text.data(), text.size());
  auto consumer = ApplicationConsumer(request);
  ASSERT_THAT(consumer, IsOk());
  EXPECT_EQ(consumer->delivery_stream_name, "laps");
  EXPECT_EQ(consumer->stream_name, "");

  auto plain = ParseApplicationDefinition(
      Application(R"("KinesisFirehoseInput": {"DeliveryStreamName": "laps"})"));
  ASSERT_THAT(plain, IsOk());
  EXPECT_EQ(plain->stream_name, "laps");
}

TEST(ApplicationDefinitionTest, TheSourceIsExactlyOneStreamOrDeliveryStream) {
  EXPECT_THAT(ParseApplicationDefinition(Application(
                  R"("KinesisStreamsInput": {"StreamName": "a"},
                     "KinesisFirehoseInput": {"DeliveryStreamName": "b"})")),
              HasError(ErrorCode::kInvalidArgument,
                       "Inputs[0] needs exactly one of KinesisStreamsInput and "
                       "KinesisFirehoseInput."));
  EXPECT_THAT(
      ParseApplicationDefinition(Application(R"("NamePrefix": "SOURCE")")),
      HasError(ErrorCode::kInvalidArgument));
  // A stream's ARN is not a delivery stream's.
  auto wrong = ParseApplicationDefinition(
      Application(R"("KinesisFirehoseInput": {"ResourceARN":
          "arn:aws:kinesis:us-east-1:000000000000:stream/telemetry"})"));
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(wrong.status().message(),
              HasSubstr("Inputs[0].KinesisFirehoseInput.ResourceARN"));
  EXPECT_THAT(
      ParseApplicationDefinition(Application(R"("KinesisFirehoseInput": {})")),
      HasError(ErrorCode::kInvalidArgument,
               "Inputs[0].KinesisFirehoseInput needs ResourceARN (or "
               "DeliveryStreamName)."));
}

}  // namespace
}  // namespace sluice::analytics
