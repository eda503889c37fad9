#include "server/firehose/http_endpoint.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <map>

#include "common/base64.h"
#include "server/firehose/delivery_batch.h"
#include "server/firehose/http_delivery.h"
#include "tests/unit/catalog/test_util.h"

namespace sluice::firehose {
namespace {

using catalog::test::HasError;
using catalog::test::IsOk;

json::Document Parse(std::string_view text) {
  json::Document doc;
  doc.Parse(text.data(), text.size());
  EXPECT_FALSE(doc.HasParseError()) << text;
  return doc;
}

std::map<std::string, std::string> Headers(const HttpEndpointRequest& r) {
  return {r.headers.begin(), r.headers.end()};
}

std::string Gunzip(const std::string& compressed) {
  z_stream stream{};
  EXPECT_EQ(inflateInit2(&stream, 15 + 16), Z_OK);
  std::string out(1 << 16, '\0');
  stream.next_in =
      reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  inflateEnd(&stream);
  return out;
}

constexpr std::string_view kArn =
    "arn:aws:firehose:us-east-1:000000000000:deliverystream/s";

TEST(HttpEndpointUrlTest, SplitsHostPortAndTarget) {
  auto url = ParseHttpEndpointUrl("http://127.0.0.1:8080/in/put?key=1");
  ASSERT_THAT(url, IsOk());
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, "8080");
  EXPECT_EQ(url->target, "/in/put?key=1");
  url = ParseHttpEndpointUrl("http://receiver.local");
  ASSERT_THAT(url, IsOk());
  EXPECT_EQ(url->port, "80");
  EXPECT_EQ(url->target, "/");
  url = ParseHttpEndpointUrl("http://[::1]:9000?x");
  ASSERT_THAT(url, IsOk());
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, "9000");
  EXPECT_EQ(url->target, "/?x");
}

TEST(HttpEndpointUrlTest, HttpsDefaultsToPort443) {
  auto url = ParseHttpEndpointUrl("https://receiver.example.com/in");
  ASSERT_THAT(url, IsOk());
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->host, "receiver.example.com");
  EXPECT_EQ(url->port, "443");
  EXPECT_EQ(url->target, "/in");
  url = ParseHttpEndpointUrl("http://receiver.example.com/in");
  ASSERT_THAT(url, IsOk());
  EXPECT_FALSE(url->tls);
  EXPECT_EQ(url->port, "80");
}

TEST(HttpEndpointUrlTest, RefusesMalformedUrls) {
  for (const char* bad : {"ftp://x/", "http://", "https://", "http://:80/",
                          "http://h:0/", "http://h:65536/", "http://h:8x/",
                          "http://user:pw@h/", "http://[::1/"}) {
    EXPECT_THAT(ParseHttpEndpointUrl(bad),
                HasError(ErrorCode::kInvalidArgument))
        << bad;
  }
}

TEST(HttpEndpointDestinationTest, ReadsDefaultsAndTheBackupBucket) {
  json::Document config = Parse(R"({
    "EndpointConfiguration": {"Url": "http://127.0.0.1:1/", "Name": "n"},
    "S3Configuration": {"RoleARN": "r", "BucketARN": "arn:aws:s3:::backup",
                        "BufferingHints": {"SizeInMBs": 7,
                                           "IntervalInSeconds": 70}},
    "ProcessingConfiguration": {"Enabled": true, "Processors": [
      {"Type": "AppendDelimiterToRecord"}]}})");
  auto dest = ParseHttpEndpointDestination(config);
  ASSERT_THAT(dest, IsOk());
  ASSERT_NE(dest->http_endpoint, nullptr);
  EXPECT_EQ(dest->bucket, "backup");
  EXPECT_EQ(dest->size_mb, kDefaultHttpBufferSizeMb);
  EXPECT_EQ(dest->interval_seconds, kDefaultHttpBufferIntervalSeconds);
  EXPECT_TRUE(dest->append_delimiter);
  EXPECT_EQ(dest->http_endpoint->retry_seconds, 300);
  EXPECT_EQ(dest->http_endpoint->s3_backup_mode, "FailedDataOnly");
  EXPECT_EQ(dest->http_endpoint->backup_size_mb, 7);
  EXPECT_EQ(dest->http_endpoint->backup_interval_seconds, 70);
  EXPECT_EQ(dest->http_endpoint->content_encoding, "NONE");
}

TEST(HttpEndpointDestinationTest, UpdatesMergeMemberByMember) {
  json::Document config = Parse(R"({
    "EndpointConfiguration": {"Url": "http://127.0.0.1:1/", "AccessKey": "k"},
    "BufferingHints": {"SizeInMBs": 2, "IntervalInSeconds": 60},
    "RetryOptions": {"DurationInSeconds": 10},
    "S3Configuration": {"RoleARN": "r", "BucketARN": "arn:aws:s3:::b"}})");
  json::Document update = Parse(R"({
    "BufferingHints": {"IntervalInSeconds": 0},
    "S3Update": {"Prefix": "backup/"},
    "RequestConfiguration": {"ContentEncoding": "GZIP"}})");
  auto merged = MergeHttpEndpointDestination(
      StoreHttpEndpointDestination(config), update);
  ASSERT_THAT(merged, IsOk());
  const S3Destination& dest = merged->second;
  EXPECT_EQ(dest.size_mb, 2);
  EXPECT_EQ(dest.interval_seconds, 0);
  EXPECT_EQ(dest.prefix, "backup/");
  EXPECT_EQ(dest.bucket, "b");
  EXPECT_EQ(dest.http_endpoint->access_key, "k");
  EXPECT_EQ(dest.http_endpoint->retry_seconds, 10);
  EXPECT_EQ(dest.http_endpoint->content_encoding, "GZIP");
  EXPECT_TRUE(IsHttpEndpointStored(Parse(merged->first)));
}

TEST(HttpEndpointRequestTest, BodyAndHeadersFollowFirehose) {
  HttpEndpointDestination dest;
  dest.access_key = "secret";
  dest.common_attributes = {{"team", "a"}, {"env", "test"}};
  const std::vector<std::string> records = {"one", std::string("\0two", 4)};
  auto request =
      BuildHttpEndpointRequest(dest, kArn, "id-1", 1700000000123, records);
  ASSERT_THAT(request, IsOk());
  json::Document body = Parse(request->body);
  EXPECT_EQ(json::AsView(body["requestId"]), "id-1");
  EXPECT_EQ(body["timestamp"].GetInt64(), 1700000000123);
  ASSERT_EQ(body["records"].Size(), 2u);
  EXPECT_EQ(Base64Decode(json::AsView(body["records"][1]["data"])), records[1]);
  auto headers = Headers(*request);
  EXPECT_EQ(headers["Content-Type"], "application/json");
  EXPECT_EQ(headers["X-Amz-Firehose-Protocol-Version"], "1.0");
  EXPECT_EQ(headers["X-Amz-Firehose-Request-Id"], "id-1");
  EXPECT_EQ(headers["X-Amz-Firehose-Source-Arn"], kArn);
  EXPECT_EQ(headers["X-Amz-Firehose-Access-Key"], "secret");
  EXPECT_EQ(headers["X-Amz-Firehose-Common-Attributes"],
            R"({"commonAttributes":{"team":"a","env":"test"}})");
  EXPECT_EQ(headers.count("Content-Encoding"), 0u);
}

TEST(HttpEndpointRequestTest, GzipEncodingCompressesTheBody) {
  HttpEndpointDestination dest;
  dest.content_encoding = "GZIP";
  const std::vector<std::string> records = {"a record"};
  auto request = BuildHttpEndpointRequest(dest, kArn, "id", 1, records);
  ASSERT_THAT(request, IsOk());
  auto headers = Headers(*request);
  EXPECT_EQ(headers["Content-Encoding"], "gzip");
  EXPECT_EQ(headers.count("X-Amz-Firehose-Access-Key"), 0u);
  EXPECT_EQ(headers.count("X-Amz-Firehose-Common-Attributes"), 0u);
  json::Document body = Parse(Gunzip(request->body));
  EXPECT_EQ(json::AsView(body["requestId"]), "id");
}

TEST(HttpEndpointResponseTest, OnlyA200WithTheRequestIdIsSuccess) {
  EXPECT_FALSE(CheckHttpEndpointResponse(
                   200, R"({"requestId":"r1","timestamp":1})", "r1")
                   .has_value());
  auto refused = CheckHttpEndpointResponse(503, "busy", "r1");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->error_code, "HttpEndpoint.DestinationException");
  EXPECT_NE(refused->message.find("503: busy"), std::string::npos);
  EXPECT_TRUE(CheckHttpEndpointResponse(
                  201, R"({"requestId":"r1","timestamp":1})", "r1")
                  .has_value());
  for (const char* body :
       {R"({"requestId":"other","timestamp":1})", R"({"timestamp":1})",
        R"({"requestId":"r1"})", R"({"requestId":"r1","timestamp":"1"})",
        "not json", "[]"}) {
    auto invalid = CheckHttpEndpointResponse(200, body, "r1");
    ASSERT_TRUE(invalid.has_value()) << body;
    EXPECT_EQ(invalid->error_code,
              "HttpEndpoint.InvalidResponseFromDestination");
  }
}

TEST(HttpDeliveryTest, RetryDelayDoublesUpToTheCap) {
  using std::chrono::milliseconds;
  EXPECT_EQ(HttpRetryDelay(1, milliseconds(100)), milliseconds(100));
  EXPECT_EQ(HttpRetryDelay(2, milliseconds(100)), milliseconds(200));
  EXPECT_EQ(HttpRetryDelay(4, milliseconds(100)), milliseconds(800));
  EXPECT_EQ(HttpRetryDelay(100, milliseconds(100)), kMaxHttpRetryDelay);
}

TEST(HttpDeliveryTest, StateSurvivesItsJson) {
  HttpDeliveryState state = HttpDeliveryState::New();
  EXPECT_EQ(state.request_id.size(), 36u);
  state.first_attempt = 5;
  state.attempts = 3;
  auto back = HttpDeliveryState::FromJson(state.ToJson());
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->request_id, state.request_id);
  EXPECT_EQ(back->attempts, 3);
  EXPECT_FALSE(back->failure.has_value());
  state.failure = HttpEndpointFailure{"HttpEndpoint.ConnectionFailed", "no"};
  state.attempt_ending = 9;
  state.error_key = "http-endpoint-failed/k";
  back = HttpDeliveryState::FromJson(state.ToJson());
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->failure->error_code, "HttpEndpoint.ConnectionFailed");
  EXPECT_EQ(back->attempt_ending, 9);
  EXPECT_EQ(back->error_key, "http-endpoint-failed/k");
  EXPECT_THAT(HttpDeliveryState::FromJson(R"({"requestId":1})"),
              HasError(ErrorCode::kInternalFailure));
}

TEST(ErrorRecordsTest, OneJsonDocumentPerLine) {
  const std::vector<ErrorRecord> records = {
      {3, 100, "HttpEndpoint.DestinationException", "500: no", 200, "raw",
       std::nullopt},
      {1, 101, "Lambda.FunctionError", "x", 201, "b", "arn:aws:lambda:f"}};
  const std::string text = ErrorRecordDocuments(records);
  const size_t newline = text.find('\n');
  ASSERT_NE(newline, std::string::npos);
  json::Document first = Parse(text.substr(0, newline));
  EXPECT_EQ(first["attemptsMade"].GetInt64(), 3);
  EXPECT_EQ(first["arrivalTimestamp"].GetInt64(), 100);
  EXPECT_EQ(json::AsView(first["errorCode"]),
            "HttpEndpoint.DestinationException");
  EXPECT_EQ(json::AsView(first["errorMessage"]), "500: no");
  EXPECT_EQ(first["attemptEndingTimestamp"].GetInt64(), 200);
  EXPECT_EQ(Base64Decode(json::AsView(first["rawData"])), "raw");
  EXPECT_FALSE(first.HasMember("lambdaArn"));
  json::Document second =
      Parse(text.substr(newline + 1, text.size() - newline - 2));
  EXPECT_EQ(json::AsView(second["lambdaArn"]), "arn:aws:lambda:f");
  EXPECT_EQ(text.back(), '\n');
}

}  // namespace
}  // namespace sluice::firehose
