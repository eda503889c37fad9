// KinesisApi handlers called directly, without HTTP, on a clock the test
// moves: what depends on time (trimming at once, token expiry, leaving
// UPDATING) cannot be seen from the end-to-end tests.
#include "server/kinesis/kinesis_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "common/json_codec.h"

namespace sluice::kinesis {
namespace {

constexpr EpochMillis kStart = 1'700'000'000'000;
constexpr EpochMillis kHour = 3600 * 1000;
constexpr char kAccount[] = "111111111111";

using Handler = Status (KinesisApi::*)(const http::RequestContext&,
                                       const json::Value&, Encoder&);

class KinesisApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto catalog = catalog::Catalog::Open(":memory:");
    ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
    catalog_ = std::move(*catalog);
    StreamManagerOptions options;
    options.update_delay = std::chrono::milliseconds(500);
    // Maintenance must not run on its own during a test.
    options.maintenance_interval = std::chrono::hours(1);
    streams_ = std::make_unique<StreamManager>(*catalog_, NewMemoryLogFactory(),
                                               clock_, options);
    ASSERT_TRUE(streams_->Start().ok());
    iterators_ = std::make_unique<ShardIteratorCodec>(
        std::string(kShardIteratorKeyBytes, 'k'), clock_);
    consumers_ = std::make_unique<ConsumerRegistry>(*streams_, *catalog_);
    ASSERT_TRUE(consumers_->Load().ok());
    api_ = std::make_unique<KinesisApi>(*streams_, *consumers_, *catalog_,
                                        *iterators_);
  }

  // Calls `handler` with `input` (JSON text); the output document, or the
  // error.
  Result<json::Document> Call(Handler handler, const std::string& input) {
    json::Document request;
    std::string body = input;  // parsed in place; outlives the handler call
    EXPECT_TRUE(DecodeJsonObject(body, request)) << input;
    http::RequestContext context{"request", kAccount, "us-east-1", "Test"};
    std::unique_ptr<Encoder> output = NewJsonEncoder();
    if (Status s = ((*api_).*handler)(context, request, *output); !s.ok())
      return s;
    json::Document out;
    std::string text = output->Empty() ? "{}" : output->Take();
    out.Parse(text.data(), text.size());  // a copy: `text` dies here
    EXPECT_TRUE(!out.HasParseError() && out.IsObject()) << text;
    return out;
  }

  Status CallStatus(Handler handler, const std::string& input) {
    auto result = Call(handler, input);
    return result.ok() ? Status::Ok() : result.status();
  }

  std::shared_ptr<LiveStream> Stream(const std::string& name) {
    auto stream = streams_->Find({kAccount, "us-east-1", name});
    EXPECT_TRUE(stream.ok());
    return stream.ok() ? *stream : nullptr;
  }

  ManualClock clock_{kStart};
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<StreamManager> streams_;
  std::unique_ptr<ConsumerRegistry> consumers_;
  std::unique_ptr<ShardIteratorCodec> iterators_;
  std::unique_ptr<KinesisApi> api_;
};

TEST_F(KinesisApiTest, DecreasingRetentionTrimsAtOnce) {
  ASSERT_TRUE(CallStatus(&KinesisApi::CreateStream,
                         R"({"StreamName": "s", "ShardCount": 1})")
                  .ok());
  ASSERT_TRUE(CallStatus(&KinesisApi::IncreaseStreamRetentionPeriod,
                         R"({"StreamName": "s", "RetentionPeriodHours": 48})")
                  .ok());
  clock_.Advance(500);  // out of UPDATING
  ASSERT_TRUE(CallStatus(&KinesisApi::PutRecord,
                         R"({"StreamName": "s", "Data": "eA==",
                             "PartitionKey": "k"})")
                  .ok());
  clock_.Advance(30 * kHour);
  streams_->RunMaintenance();  // 30 hours old is inside 48: kept
  EXPECT_EQ(Stream("s")->shards[0].log->TrimHorizon(), 0u);

  ASSERT_TRUE(CallStatus(&KinesisApi::DecreaseStreamRetentionPeriod,
                         R"({"StreamName": "s", "RetentionPeriodHours": 24})")
                  .ok());
  // Gone without a maintenance run, and before UPDATING ends.
  std::shared_ptr<LiveStream> stream = Stream("s");
  EXPECT_EQ(stream->record.status, catalog::StreamStatus::kUpdating);
  EXPECT_EQ(stream->record.retention_hours, 24);
  EXPECT_EQ(stream->shards[0].log->TrimHorizon(), 1u);
}

TEST_F(KinesisApiTest, ChangesPassThroughUpdatingAndWarmThroughputCatchesUp) {
  ASSERT_TRUE(CallStatus(&KinesisApi::CreateStream,
                         R"({"StreamName": "w",
                             "StreamModeDetails": {"StreamMode": "ON_DEMAND"}})")
                  .ok());
  ASSERT_TRUE(CallStatus(&KinesisApi::UpdateAccountSettings,
                         R"({"MinimumThroughputBillingCommitment":
                             {"Status": "ENABLED"}})")
                  .ok());
  auto answer = Call(&KinesisApi::UpdateStreamWarmThroughput,
                     R"({"StreamName": "w", "WarmThroughputMiBps": 200})");
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  // Still scaling: the target is set, the current value is not there yet.
  const json::Value& warm = (*answer)["WarmThroughput"];
  EXPECT_EQ(warm["TargetMiBps"].GetInt(), 200);
  EXPECT_FALSE(warm.HasMember("CurrentMiBps"));
  EXPECT_THAT(
      CallStatus(&KinesisApi::UpdateStreamWarmThroughput,
                 R"({"StreamName": "w", "WarmThroughputMiBps": 300})"),
      ::testing::Property(&Status::message,
                          std::string("Stream w under account ") + kAccount +
                              " not ACTIVE, instead in state "
                              "UPDATING"));

  clock_.Advance(500);
  auto summary =
      Call(&KinesisApi::DescribeStreamSummary, R"({"StreamName": "w"})");
  ASSERT_TRUE(summary.ok());
  const json::Value& description = (*summary)["StreamDescriptionSummary"];
  EXPECT_STREQ(description["StreamStatus"].GetString(), "ACTIVE");
  EXPECT_EQ(description["WarmThroughput"]["TargetMiBps"].GetInt(), 200);
  EXPECT_EQ(description["WarmThroughput"]["CurrentMiBps"].GetInt(), 200);
}

TEST_F(KinesisApiTest, ListShardsTokensExpireAfterFiveMinutes) {
  ASSERT_TRUE(CallStatus(&KinesisApi::CreateStream,
                         R"({"StreamName": "p", "ShardCount": 3})")
                  .ok());
  auto page =
      Call(&KinesisApi::ListShards, R"({"StreamName": "p", "MaxResults": 1})");
  ASSERT_TRUE(page.ok());
  std::string token = (*page)["NextToken"].GetString();
  std::string next = R"({"NextToken": ")" + token + R"("})";

  clock_.Advance(300'000);
  auto rest = Call(&KinesisApi::ListShards, next);
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  EXPECT_EQ((*rest)["Shards"].Size(), 2u);

  clock_.Advance(1);
  Status expired = CallStatus(&KinesisApi::ListShards, next);
  EXPECT_EQ(expired.code(), ErrorCode::kExpiredNextToken);
  EXPECT_EQ(expired.message(), "The timestamp of the NextToken has expired.");
}

TEST_F(KinesisApiTest, ListShardsTokenDoesNotReachANewIncarnation) {
  ASSERT_TRUE(CallStatus(&KinesisApi::CreateStream,
                         R"({"StreamName": "p", "ShardCount": 2})")
                  .ok());
  auto page =
      Call(&KinesisApi::ListShards, R"({"StreamName": "p", "MaxResults": 1})");
  ASSERT_TRUE(page.ok());
  std::string next = R"({"NextToken": ")" +
                     std::string((*page)["NextToken"].GetString()) + R"("})";
  ASSERT_TRUE(
      CallStatus(&KinesisApi::DeleteStream, R"({"StreamName": "p"})").ok());
  ASSERT_TRUE(CallStatus(&KinesisApi::CreateStream,
                         R"({"StreamName": "p", "ShardCount": 2})")
                  .ok());
  Status gone = CallStatus(&KinesisApi::ListShards, next);
  EXPECT_EQ(gone.code(), ErrorCode::kResourceNotFound);
  EXPECT_EQ(gone.message(),
            std::string("Stream p under account ") + kAccount + " not found.");
}

TEST_F(KinesisApiTest, ListStreamConsumersTokensExpireAfterFiveMinutes) {
  ASSERT_TRUE(CallStatus(&KinesisApi::CreateStream,
                         R"({"StreamName": "p", "ShardCount": 1})")
                  .ok());
  const std::string stream_arn =
      std::string("arn:aws:kinesis:us-east-1:") + kAccount + ":stream/p";
  for (const char* name : {"a", "b", "c"}) {
    ASSERT_TRUE(CallStatus(&KinesisApi::RegisterStreamConsumer,
                           R"({"StreamARN": ")" + stream_arn +
                               R"(", "ConsumerName": ")" + name + R"("})")
                    .ok());
  }
  auto page =
      Call(&KinesisApi::ListStreamConsumers,
           R"({"StreamARN": ")" + stream_arn + R"(", "MaxResults": 1})");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ((*page)["Consumers"].Size(), 1u);
  std::string next = R"({"StreamARN": ")" + stream_arn +
                     R"(", "NextToken": ")" + (*page)["NextToken"].GetString() +
                     R"("})";

  clock_.Advance(300'000);
  auto rest = Call(&KinesisApi::ListStreamConsumers, next);
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  ASSERT_EQ((*rest)["Consumers"].Size(), 2u);
  EXPECT_STREQ((*rest)["Consumers"][0]["ConsumerName"].GetString(), "b");
  EXPECT_FALSE(rest->HasMember("NextToken"));

  clock_.Advance(1);
  Status expired = CallStatus(&KinesisApi::ListStreamConsumers, next);
  EXPECT_EQ(expired.code(), ErrorCode::kExpiredNextToken);

  // Nor does a token reach a new incarnation of the stream.
  ASSERT_TRUE(
      CallStatus(&KinesisApi::DeleteStream,
                 R"({"StreamName": "p", "EnforceConsumerDeletion": true})")
          .ok());
  ASSERT_TRUE(CallStatus(&KinesisApi::CreateStream,
                         R"({"StreamName": "p", "ShardCount": 1})")
                  .ok());
  clock_.Set(kStart);
  EXPECT_EQ(CallStatus(&KinesisApi::ListStreamConsumers, next),
            Status(ErrorCode::kInvalidArgument, "Invalid NextToken."));
}

}  // namespace
}  // namespace sluice::kinesis
