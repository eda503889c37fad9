#include "server/consumers/consumer_definition.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::consumers {
namespace {

// A valid request with `extra` members appended ("" for none).
std::string Request(const std::string& extra) {
  std::string request = R"({"ConsumerName": "orders", "StreamName": "events",
             "Handler": {"type": "exec", "command": ["true"]},
             "StartingPosition": "TRIM_HORIZON")";
  if (!extra.empty()) {
    request += ", ";
    request += extra;
  }
  request += "}";
  return request;
}

Status Error(const std::string& extra) {
  auto parsed = ParseConsumerDefinition(Request(extra));
  return parsed.ok() ? Status::Ok() : parsed.status();
}

TEST(ConsumerDefinitionTest, DefaultsAreLambdas) {
  auto parsed = ParseConsumerDefinition(Request(""));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->name, "orders");
  EXPECT_EQ(parsed->stream_name, "events");
  EXPECT_EQ(parsed->handler_type, "exec");
  EXPECT_EQ(parsed->batch_size, 100);
  EXPECT_EQ(parsed->batching_window_seconds, 0);
  EXPECT_EQ(parsed->parallelization_factor, 1);
  EXPECT_EQ(parsed->maximum_retry_attempts, -1);
  EXPECT_EQ(parsed->maximum_record_age_seconds, -1);
  EXPECT_FALSE(parsed->bisect_on_function_error);
  EXPECT_FALSE(parsed->report_batch_item_failures);
  EXPECT_EQ(parsed->on_failure.kind, OnFailureDestination::Kind::kNone);
}

TEST(ConsumerDefinitionTest, BatchSizeRangeIsOneToTenThousand) {
  EXPECT_TRUE(Error(R"("BatchSize": 1)").ok());
  EXPECT_TRUE(Error(R"("BatchSize": 10000)").ok());
  Status low = Error(R"("BatchSize": 0)");
  EXPECT_EQ(low.code(), ErrorCode::kValidation);
  EXPECT_EQ(low.message(),
            "1 validation error detected: Value '0' at 'batchSize' failed to "
            "satisfy constraint: Member must have value greater than or equal "
            "to 1");
  Status high = Error(R"("BatchSize": 10001)");
  EXPECT_EQ(high.message(),
            "1 validation error detected: Value '10001' at 'batchSize' failed "
            "to satisfy constraint: Member must have value less than or equal "
            "to 10000");
  EXPECT_EQ(Error(R"("BatchSize": "5")").code(), ErrorCode::kSerialization);
}

TEST(ConsumerDefinitionTest, EachRangeIsCheckedOnBothSides) {
  struct Case {
    const char* member;
    const char* camel;
    int64_t low, high;
  };
  for (const Case& c :
       {Case{"MaximumBatchingWindowInSeconds", "maximumBatchingWindowInSeconds",
             0, 300},
        Case{"ParallelizationFactor", "parallelizationFactor", 1, 10},
        Case{"MaximumRetryAttempts", "maximumRetryAttempts", -1, 10000}}) {
    auto with = [&](int64_t value) {
      std::string extra = "\"";
      extra += c.member;
      extra += "\": ";
      extra += std::to_string(value);
      return Error(extra);
    };
    EXPECT_TRUE(with(c.low).ok()) << c.member;
    EXPECT_TRUE(with(c.high).ok()) << c.member;
    Status below = with(c.low - 1);
    EXPECT_EQ(below.code(), ErrorCode::kValidation) << c.member;
    EXPECT_NE(below.message().find(std::string("at '") + c.camel + "'"),
              std::string::npos)
        << below.message();
    Status above = with(c.high + 1);
    EXPECT_EQ(above.code(), ErrorCode::kValidation) << c.member;
    EXPECT_NE(
        above.message().find("less than or equal to " + std::to_string(c.high)),
        std::string::npos)
        << above.message();
  }
}

TEST(ConsumerDefinitionTest, RecordAgeIsMinusOneOrSixtyToAWeek) {
  EXPECT_TRUE(Error(R"("MaximumRecordAgeInSeconds": -1)").ok());
  EXPECT_TRUE(Error(R"("MaximumRecordAgeInSeconds": 60)").ok());
  EXPECT_TRUE(Error(R"("MaximumRecordAgeInSeconds": 604800)").ok());
  for (const char* bad : {"0", "59"}) {
    std::string extra = R"("MaximumRecordAgeInSeconds": )";
    extra += bad;
    Status s = Error(extra);
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_EQ(s.message(),
              "MaximumRecordAgeInSeconds must be -1 (no limit) or between 60 "
              "and 604800.");
  }
  EXPECT_EQ(Error(R"("MaximumRecordAgeInSeconds": 604801)").code(),
            ErrorCode::kValidation);
  EXPECT_EQ(Error(R"("MaximumRecordAgeInSeconds": -2)").code(),
            ErrorCode::kValidation);
}

TEST(ConsumerDefinitionTest, StartingPositionIsRequiredAndChecked) {
  auto missing = ParseConsumerDefinition(std::string_view(
      R"({"ConsumerName": "c", "StreamName": "s",
          "Handler": {"type": "exec", "command": ["true"]}})"));
  EXPECT_EQ(missing.status().code(), ErrorCode::kInvalidArgument);
  auto bad = ParseConsumerDefinition(std::string_view(
      R"({"ConsumerName": "c", "StreamName": "s", "StartingPosition": "EARLY",
          "Handler": {"type": "exec", "command": ["true"]}})"));
  EXPECT_EQ(bad.status().message(),
            "1 validation error detected: Value 'EARLY' at 'startingPosition' "
            "failed to satisfy constraint: Member must satisfy enum value set: "
            "[TRIM_HORIZON, LATEST, AT_TIMESTAMP]");
}

TEST(ConsumerDefinitionTest, AtTimestampNeedsATimestamp) {
  std::string base = R"({"ConsumerName": "c", "StreamName": "s",
      "Handler": {"type": "exec", "command": ["true"]},
      "StartingPosition": "AT_TIMESTAMP")";
  auto without = ParseConsumerDefinition(base + "}");
  EXPECT_EQ(without.status().code(), ErrorCode::kInvalidArgument);
  auto with = ParseConsumerDefinition(
      base + R"(, "StartingPositionTimestamp": 1700000000.25})");
  ASSERT_TRUE(with.ok()) << with.status().ToString();
  EXPECT_EQ(with->starting_timestamp, 1'700'000'000'250);
  EXPECT_EQ(Error(R"("StartingPositionTimestamp": 1700000000)").code(),
            ErrorCode::kInvalidArgument);
}

TEST(ConsumerDefinitionTest,
     FunctionResponseTypesTakeOnlyReportBatchItemFailures) {
  auto on = ParseConsumerDefinition(
      Request(R"("FunctionResponseTypes": ["ReportBatchItemFailures"])"));
  ASSERT_TRUE(on.ok());
  EXPECT_TRUE(on->report_batch_item_failures);
  EXPECT_EQ(Error(R"("FunctionResponseTypes": ["Other"])").code(),
            ErrorCode::kValidation);
}

TEST(ConsumerDefinitionTest, OnFailureIsAStreamArnOrARelativeFile) {
  auto stream = ParseConsumerDefinition(Request(
      R"("DestinationConfig": {"OnFailure": {"Destination": "arn:aws:kinesis:eu-west-1:123456789012:stream/dlq"}})"));
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  EXPECT_EQ(stream->on_failure.kind, OnFailureDestination::Kind::kStream);
  EXPECT_EQ(stream->on_failure.stream_region, "eu-west-1");
  EXPECT_EQ(stream->on_failure.stream_account_id, "123456789012");
  EXPECT_EQ(stream->on_failure.stream_name, "dlq");
  auto file = ParseConsumerDefinition(Request(
      R"("DestinationConfig": {"OnFailure": {"Destination": "file:dlq/orders.jsonl"}})"));
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->on_failure.kind, OnFailureDestination::Kind::kFile);
  EXPECT_EQ(file->on_failure.file_path, "dlq/orders.jsonl");
  for (const char* escape :
       {"file:/etc/passwd", "file:../x", "file:a/../../x", "file:", "file:a//b",
        "s3://bucket", "arn:aws:sqs:us-east-1:1:q"}) {
    std::string extra =
        R"("DestinationConfig": {"OnFailure": {"Destination": ")";
    extra += escape;
    extra += "\"}}";
    EXPECT_EQ(Error(extra).code(), ErrorCode::kInvalidArgument) << escape;
  }
}

TEST(ConsumerDefinitionTest, UnknownMembersAndHandlerTypesAreRefused) {
  EXPECT_EQ(Error(R"("BatchSixe": 5)").code(), ErrorCode::kInvalidArgument);
  auto unknown = ParseConsumerDefinition(std::string_view(
      R"({"ConsumerName": "c", "StreamName": "s", "StartingPosition": "LATEST",
          "Handler": {"type": "teleport"}})"));
  EXPECT_EQ(unknown.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("'teleport'"), std::string::npos);
  auto bad_name = ParseConsumerDefinition(std::string_view(
      R"({"ConsumerName": "../x", "StreamName": "s", "StartingPosition": "LATEST",
          "Handler": {"type": "exec", "command": ["true"]}})"));
  EXPECT_EQ(bad_name.status().code(), ErrorCode::kValidation);
}

TEST(ConsumerDefinitionTest, TheSourceIsAStreamOrADeliveryStream) {
  auto parsed = ParseConsumerDefinition(std::string_view(
      R"({"ConsumerName": "c", "DeliveryStreamName": "raw-events",
          "StartingPosition": "TRIM_HORIZON",
          "Handler": {"type": "exec", "command": ["true"]}})"));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->delivery_stream_name, "raw-events");
  EXPECT_EQ(parsed->stream_name, "");
  auto again = ParseConsumerDefinition(parsed->ToJson());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->delivery_stream_name, "raw-events");
  EXPECT_EQ(again->ToJson(), parsed->ToJson());

  Status both = Error(R"("DeliveryStreamName": "raw")");
  EXPECT_EQ(both.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(both.message(),
            "Exactly one of StreamName and DeliveryStreamName is required.");
  auto neither = ParseConsumerDefinition(std::string_view(
      R"({"ConsumerName": "c", "StartingPosition": "LATEST",
          "Handler": {"type": "exec", "command": ["true"]}})"));
  EXPECT_EQ(neither.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Error(R"("DeliveryStreamName": "a/b")").code(),
            ErrorCode::kValidation);
}

TEST(ConsumerDefinitionTest, ToJsonReadsBackTheSame) {
  auto parsed = ParseConsumerDefinition(Request(
      R"("BatchSize": 7, "MaximumBatchingWindowInSeconds": 3,
         "ParallelizationFactor": 4, "MaximumRetryAttempts": 2,
         "MaximumRecordAgeInSeconds": 3600, "BisectBatchOnFunctionError": true,
         "FunctionResponseTypes": ["ReportBatchItemFailures"],
         "DestinationConfig": {"OnFailure": {"Destination": "file:f.jsonl"}})"));
  ASSERT_TRUE(parsed.ok());
  auto again = ParseConsumerDefinition(parsed->ToJson());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->ToJson(), parsed->ToJson());
  EXPECT_EQ(again->batch_size, 7);
  EXPECT_EQ(again->parallelization_factor, 4);
  EXPECT_EQ(again->maximum_record_age_seconds, 3600);
  EXPECT_TRUE(again->bisect_on_function_error);
  EXPECT_EQ(again->on_failure.file_path, "f.jsonl");
}

}  // namespace
}  // namespace sluice::consumers
