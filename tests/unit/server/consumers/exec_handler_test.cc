#include "server/consumers/exec_handler.h"

#include <gtest/gtest.h>

#include "common/json.h"

namespace sluice::consumers {
namespace {

TEST(ExecHandlerTest, EmptyOrNullResponseIsSuccess) {
  for (const char* response :
       {"", "  \n", "null", "{}", "{\"batchItemFailures\": []}",
        "{\"batchItemFailures\": null}"}) {
    HandlerResult result = ParseFunctionResponse(response);
    EXPECT_FALSE(result.function_error) << response;
    EXPECT_TRUE(result.failed_items.empty()) << response;
  }
}

TEST(ExecHandlerTest, BatchItemFailuresBecomeFailedItems) {
  HandlerResult result = ParseFunctionResponse(
      R"({"batchItemFailures": [{"itemIdentifier": "49"}, {"itemIdentifier": "51"}]})");
  EXPECT_FALSE(result.function_error);
  EXPECT_EQ(result.failed_items, (std::vector<std::string>{"49", "51"}));
}

TEST(ExecHandlerTest, AMisnamedIdentifierIsAnEmptyOne) {
  HandlerResult result =
      ParseFunctionResponse(R"({"batchItemFailures": [{"itemId": "49"}]})");
  EXPECT_EQ(result.failed_items, (std::vector<std::string>{""}));
}

TEST(ExecHandlerTest, TextThatIsNotJsonIsAFunctionError) {
  HandlerResult result = ParseFunctionResponse("Traceback (most recent call");
  EXPECT_EQ(result.function_error, "Unhandled");
}

TEST(ExecHandlerTest, EventHasLambdasKinesisShape) {
  Batch batch;
  batch.stream_arn = "arn:aws:kinesis:us-east-1:000000000000:stream/s";
  batch.shard_id = "shardId-000000000006";
  batch.records.push_back(
      {0, "4959", "user-1", std::string("hi\0!", 4), 1545084650987});
  std::string text =
      KinesisEventJson(batch, "us-east-1", "arn:aws:iam::000000000000:role/r");
  EXPECT_NE(text.find("\"approximateArrivalTimestamp\":1545084650.987"),
            std::string::npos)
      << text;
  json::Document doc;
  doc.Parse(text.c_str());
  ASSERT_FALSE(doc.HasParseError());
  ASSERT_EQ(doc["Records"].Size(), 1u);
  const json::Value& r = doc["Records"][0];
  EXPECT_STREQ(r["kinesis"]["kinesisSchemaVersion"].GetString(), "1.0");
  EXPECT_STREQ(r["kinesis"]["partitionKey"].GetString(), "user-1");
  EXPECT_STREQ(r["kinesis"]["sequenceNumber"].GetString(), "4959");
  EXPECT_STREQ(r["kinesis"]["data"].GetString(), "aGkAIQ==");
  EXPECT_STREQ(r["eventSource"].GetString(), "aws:kinesis");
  EXPECT_STREQ(r["eventVersion"].GetString(), "1.0");
  EXPECT_STREQ(r["eventID"].GetString(), "shardId-000000000006:4959");
  EXPECT_STREQ(r["eventName"].GetString(), "aws:kinesis:record");
  EXPECT_STREQ(r["invokeIdentityArn"].GetString(),
               "arn:aws:iam::000000000000:role/r");
  EXPECT_STREQ(r["awsRegion"].GetString(), "us-east-1");
  EXPECT_STREQ(r["eventSourceARN"].GetString(),
               "arn:aws:kinesis:us-east-1:000000000000:stream/s");
}

TEST(ExecHandlerTest, SettingsAreChecked) {
  const HandlerFactory* factory = FindHandlerType("exec");
  ASSERT_NE(factory, nullptr);
  HandlerEnvironment environment;
  for (const char* bad :
       {R"({"type": "exec"})", R"({"type": "exec", "command": []})",
        R"({"type": "exec", "command": [""]})",
        R"({"type": "exec", "command": ["x"], "timeout_seconds": 0})",
        R"({"type": "exec", "command": ["x"], "timeout_seconds": 901})",
        R"({"type": "exec", "command": ["x"], "colour": "red"})"}) {
    json::Document settings;
    settings.Parse(bad);
    HandlerSpec spec{"c", "exec", &settings, &environment};
    auto built = (*factory)(spec);
    EXPECT_EQ(built.status().code(), ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(ExecHandlerTest, RunsTheProgramWithTheEventOnStdin) {
  const HandlerFactory* factory = FindHandlerType("exec");
  HandlerEnvironment environment;
  environment.region = "us-east-1";
  environment.account_id = "000000000000";
  json::Document settings;
  // Fails the record whose sequence number is on stdin as "9".
  settings.Parse(R"({"type": "exec", "command": ["/bin/sh", "-c",
      "if grep -q '\"sequenceNumber\":\"9\"'; then echo '{\"batchItemFailures\":[{\"itemIdentifier\":\"9\"}]}'; fi"]})");
  HandlerSpec spec{"c", "exec", &settings, &environment};
  auto handler = (*factory)(spec);
  ASSERT_TRUE(handler.ok()) << handler.status().ToString();
  Batch batch;
  batch.shard_id = "shardId-000000000000";
  batch.records.push_back({0, "9", "k", "x", 1});
  EXPECT_EQ((*handler)->Handle(batch).failed_items,
            (std::vector<std::string>{"9"}));
  batch.records[0].sequence_number = "8";
  HandlerResult ok = (*handler)->Handle(batch);
  EXPECT_FALSE(ok.function_error);
  EXPECT_TRUE(ok.failed_items.empty());
}

TEST(ExecHandlerTest, ANonZeroExitIsAFunctionError) {
  const HandlerFactory* factory = FindHandlerType("exec");
  HandlerEnvironment environment;
  json::Document settings;
  settings.Parse(R"({"type": "exec", "command": ["/bin/sh", "-c", "exit 3"]})");
  HandlerSpec spec{"c", "exec", &settings, &environment};
  auto handler = (*factory)(spec);
  ASSERT_TRUE(handler.ok());
  Batch batch;
  batch.records.push_back({0, "1", "k", "x", 1});
  EXPECT_EQ((*handler)->Handle(batch).function_error, "Unhandled");
}

}  // namespace
}  // namespace sluice::consumers
