#include "server/http/api_router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>

namespace sluice::http {
namespace {

constexpr char kAuth[] =
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/eu-west-1/kinesis/"
    "aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";

ApiRequest ListStreams(std::string body = "{}") {
  ApiRequest request;
  request.method = "POST";
  request.content_type = "application/x-amz-json-1.1";
  request.target = "Kinesis_20131202.ListStreams";
  request.authorization = kAuth;
  request.has_date_header = true;
  request.body = std::move(body);
  return request;
}

class ApiRouterTest : public ::testing::Test {
 protected:
  ApiRouterTest() : router_(RouterOptions{"us-east-1", "123456789012"}) {
    router_.Register("Kinesis_20131202", "ListStreams",
                     [this](const RequestContext& context,
                            const json::Value& input, Encoder& output) {
                       seen_ = context;
                       seen_operation_ = std::string(context.operation);
                       ++calls_;
                       if (input.HasMember("Fail")) {
                         return Status(ErrorCode::kResourceNotFound,
                                       "Stream x under account y not found.");
                       }
                       if (input.HasMember("Throw"))
                         throw std::runtime_error("boom");
                       output.StartObject();
                       output.Key("StreamNames");
                       output.StartArray();
                       output.EndArray();
                       output.EndObject();
                       return Status::Ok();
                     });
  }

  ApiRouter router_;
  RequestContext seen_;
  std::string seen_operation_;
  int calls_ = 0;
};

TEST_F(ApiRouterTest, RunsTheHandlerWithRegionAndAccountFromTheCredential) {
  ApiResponse response = router_.Handle(ListStreams());
  EXPECT_EQ(response.status, 200u);
  EXPECT_EQ(response.content_type, "application/x-amz-json-1.1");
  EXPECT_EQ(response.body, R"({"StreamNames":[]})");
  EXPECT_TRUE(response.error_type.empty());
  EXPECT_EQ(response.request_id.size(), 36u);
  EXPECT_EQ(seen_.region, "eu-west-1");
  EXPECT_EQ(seen_.account_id, "123456789012");  // the default account
  EXPECT_EQ(seen_operation_, "ListStreams");
  EXPECT_EQ(seen_.request_id, response.request_id);
}

TEST_F(ApiRouterTest, TakesATwelveDigitAccessKeyAsTheAccount) {
  ApiRequest request = ListStreams();
  request.authorization =
      "AWS4-HMAC-SHA256 Credential=111122223333/20240101/ap-south-1/kinesis/"
      "aws4_request, SignedHeaders=host, Signature=abc";
  EXPECT_EQ(router_.Handle(request).status, 200u);
  EXPECT_EQ(seen_.account_id, "111122223333");
  EXPECT_EQ(seen_.region, "ap-south-1");
}

TEST_F(ApiRouterTest, AcceptsContentTypeParameters) {
  ApiRequest request = ListStreams();
  request.content_type = "application/x-amz-json-1.1; charset=utf-8";
  EXPECT_EQ(router_.Handle(request).status, 200u);
}

TEST_F(ApiRouterTest, AnswersCborInCbor) {
  ApiRequest request = ListStreams("\xbf\xff");  // {_ }
  request.content_type = "application/x-amz-cbor-1.1";
  ApiResponse response = router_.Handle(request);
  EXPECT_EQ(response.status, 200u);
  EXPECT_EQ(response.content_type, "application/x-amz-cbor-1.1");
  // {_ "StreamNames": [_ ]}
  EXPECT_EQ(response.body, "\xbf\x6bStreamNames\x9f\xff\xff");
  EXPECT_EQ(calls_, 1);
}

TEST_F(ApiRouterTest, AnswersCborErrorsInCbor) {
  ApiRequest request = ListStreams(
      "\xa1\x64"
      "Fail"
      "\xf5");  // {"Fail": true}
  request.content_type = "application/x-amz-cbor-1.1";
  ApiResponse response = router_.Handle(request);
  EXPECT_EQ(response.status, 400u);
  EXPECT_EQ(response.content_type, "application/x-amz-cbor-1.1");
  EXPECT_EQ(response.error_type, "ResourceNotFoundException");
  EXPECT_EQ(response.body,
            "\xbf\x66__type\x78\x19ResourceNotFoundException"
            "\x67message\x78\x23Stream x under account y not found.\xff");

  request.body = "{}";  // JSON sent as CBOR: a bare SerializationException
  response = router_.Handle(request);
  EXPECT_EQ(response.status, 400u);
  EXPECT_EQ(response.content_type, "application/x-amz-cbor-1.1");
  EXPECT_EQ(response.body, "\xbf\x66__type\x76SerializationException\xff");
  EXPECT_EQ(calls_, 1);
}

TEST_F(ApiRouterTest, WrongContentTypeIs404WithoutJson) {
  for (const char* type :
       {"application/json", "text/plain", "", "application/x-amz-json-1.0",
        "application/x-amz-cbor-1.0", "application/cbor"}) {
    ApiRequest request = ListStreams();
    request.content_type = type;
    ApiResponse response = router_.Handle(request);
    EXPECT_EQ(response.status, 404u) << type;
    EXPECT_EQ(response.body, "<UnknownOperationException/>\n");
    EXPECT_TRUE(response.content_type.empty());
  }
  EXPECT_EQ(calls_, 0);
}

TEST_F(ApiRouterTest, EmptyBodyIsSerializationForAKnownTarget) {
  ApiResponse response = router_.Handle(ListStreams(""));
  EXPECT_EQ(response.status, 400u);
  EXPECT_EQ(response.body, R"({"__type":"SerializationException"})");
  EXPECT_EQ(response.error_type, "SerializationException");
}

TEST_F(ApiRouterTest, EmptyBodyIsUnknownOperationForAnUnknownTarget) {
  ApiRequest request = ListStreams("");
  request.target = "Kinesis_20131202.ListStream";
  EXPECT_EQ(router_.Handle(request).body,
            R"({"__type":"UnknownOperationException"})");
}

TEST_F(ApiRouterTest, UnparsableBodyIsSerializationBeforeTheTargetIsChecked) {
  for (const char* body : {"{", "[]", "5", "null", "{}x"}) {
    ApiRequest request = ListStreams(body);
    EXPECT_EQ(router_.Handle(request).body,
              R"({"__type":"SerializationException"})")
        << body;
    request.target = "Nope.Nope";
    EXPECT_EQ(router_.Handle(request).body,
              R"({"__type":"SerializationException"})")
        << body;
  }
}

TEST_F(ApiRouterTest, UnknownOrMissingTargetIsUnknownOperation) {
  for (const char* target :
       {"", "Kinesis_20131202.ListStream", "Kinesis_20131202.PutRecord",
        "Firehose_20150804.ListDeliveryStreams", "Kinesis_20131202",
        "ListStreams"}) {
    ApiRequest request = ListStreams();
    request.target = target;
    ApiResponse response = router_.Handle(request);
    EXPECT_EQ(response.status, 400u) << target;
    EXPECT_EQ(response.body, R"({"__type":"UnknownOperationException"})");
    EXPECT_EQ(response.error_type, "UnknownOperationException");
  }
}

TEST_F(ApiRouterTest, UnknownTargetIsReportedBeforeMissingAuthentication) {
  ApiRequest request = ListStreams();
  request.target = "Kinesis_20131202.Nope";
  request.authorization.clear();
  EXPECT_EQ(router_.Handle(request).error_type, "UnknownOperationException");
}

TEST_F(ApiRouterTest, MissingAuthenticationIsReportedWithAwsMessage) {
  ApiRequest request = ListStreams();
  request.authorization.clear();
  ApiResponse response = router_.Handle(request);
  EXPECT_EQ(response.status, 400u);
  EXPECT_EQ(response.body, R"({"__type":"MissingAuthenticationTokenException",)"
                           R"("message":"Missing Authentication Token"})");
  EXPECT_EQ(calls_, 0);
}

TEST_F(ApiRouterTest, HandlerErrorsAreShapedFromTheErrorTable) {
  ApiResponse response = router_.Handle(ListStreams(R"({"Fail": true})"));
  EXPECT_EQ(response.status, 400u);
  EXPECT_EQ(response.error_type, "ResourceNotFoundException");
  EXPECT_EQ(response.body,
            R"({"__type":"ResourceNotFoundException",)"
            R"("message":"Stream x under account y not found."})");
}

TEST_F(ApiRouterTest, AThrowingHandlerIsAnInternalFailureNotACrash) {
  ApiResponse response = router_.Handle(ListStreams(R"({"Throw": true})"));
  EXPECT_EQ(response.status, 500u);
  EXPECT_EQ(response.error_type, "InternalFailureException");
}

TEST_F(ApiRouterTest, NonPostIsRefusedWithAwsXml) {
  ApiRequest request = ListStreams();
  request.method = "GET";
  ApiResponse signed_get = router_.Handle(request);
  EXPECT_EQ(signed_get.status, 403u);
  EXPECT_EQ(signed_get.body,
            "<AccessDeniedException>\n  <Message>Unable to determine "
            "service/operation name to be authorized</Message>\n"
            "</AccessDeniedException>\n");
  request.authorization.clear();
  EXPECT_EQ(router_.Handle(request).body,
            "<MissingAuthenticationTokenException>\n  <Message>Missing "
            "Authentication Token</Message>\n"
            "</MissingAuthenticationTokenException>\n");
}

TEST_F(ApiRouterTest, EveryAnswerHasItsOwnRequestId) {
  EXPECT_NE(router_.Handle(ListStreams()).request_id,
            router_.Handle(ListStreams("{")).request_id);
}

}  // namespace
}  // namespace sluice::http

namespace sluice::http {
namespace {

TEST(ApiRouterPathTest, ServesRegisteredPathsOnlyAndExactly) {
  ApiRouter router(RouterOptions{});
  router.RegisterPath("/api/events", [](PathRequest request) {
    PathResponse response;
    response.status = 201;
    response.body = request.method + " " + std::string(request.Header("x-k"));
    return response;
  });
  EXPECT_EQ(router.FindPath("/"), nullptr);
  EXPECT_EQ(router.FindPath("/api/events/"), nullptr);
  EXPECT_EQ(router.FindPath("/api"), nullptr);
  const PathHandler* handler = router.FindPath("/api/events");
  ASSERT_NE(handler, nullptr);
  PathRequest request;
  request.method = "POST";
  request.headers = {{"x-k", "v"}, {"x-k", "second"}};
  PathResponse response = (*handler)(request);
  EXPECT_EQ(response.status, 201u);
  EXPECT_EQ(response.body, "POST v");  // the first of repeated headers
}

}  // namespace
}  // namespace sluice::http
