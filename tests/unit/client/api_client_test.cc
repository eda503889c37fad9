#include "client/api_client.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace sluice::client {
namespace {

ClientOptions WithEndpoint(std::string endpoint) {
  ClientOptions options;
  options.endpoint = std::move(endpoint);
  return options;
}

TEST(ApiClientTest, AcceptsHttpEndpoints) {
  for (const char* endpoint : {
           "http://127.0.0.1:4567",
           "http://127.0.0.1:4567/",
           "http://localhost",
       }) {
    EXPECT_TRUE(ApiClient::Create(WithEndpoint(endpoint)).ok()) << endpoint;
  }
}

TEST(ApiClientTest, RefusesWhatItCannotReach) {
  for (const char* endpoint :
       {"https://kinesis.us-east-1.amazonaws.com", "127.0.0.1:4567", "http://",
        "http://host:port", "http://host:4567/path", "http://host:"}) {
    auto client = ApiClient::Create(WithEndpoint(endpoint));
    ASSERT_FALSE(client.ok()) << endpoint;
    EXPECT_EQ(client.status().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(ApiClientTest, ACallToANonListeningPortFailsAsUnavailable) {
  ClientOptions options = WithEndpoint("http://127.0.0.1:1");
  options.max_attempts = 2;
  options.base_backoff = std::chrono::milliseconds(1);
  auto client = ApiClient::Create(options);
  ASSERT_TRUE(client.ok());
  auto answer = (*client)->Call(Api::kKinesis, "ListStreams", "{}");
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.status().code(), ErrorCode::kServiceUnavailable);
}

TEST(JitteredBackoffTest, StaysBelowTheGrowingCap) {
  ClientOptions options;
  options.base_backoff = std::chrono::milliseconds(10);
  options.max_backoff = std::chrono::milliseconds(300);
  for (int attempt = 1; attempt < 40; ++attempt) {
    const auto cap =
        std::min<int64_t>(300, int64_t{10} << std::min(attempt, 20));
    for (int i = 0; i < 50; ++i) {
      const auto wait = JitteredBackoff(options, attempt).count();
      EXPECT_GE(wait, 0);
      EXPECT_LE(wait, cap);
    }
  }
}

TEST(ClientOptionsTest, ReadsTheAwsEnvironment) {
  setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9", 1);
  setenv("AWS_ENDPOINT_URL_KINESIS", "http://127.0.0.1:10", 1);
  setenv("AWS_DEFAULT_REGION", "eu-west-1", 1);
  unsetenv("AWS_REGION");
  ClientOptions options = ClientOptions::FromEnvironment();
  EXPECT_EQ(options.endpoint, "http://127.0.0.1:10");
  EXPECT_EQ(options.region, "eu-west-1");
  unsetenv("AWS_ENDPOINT_URL_KINESIS");
  EXPECT_EQ(ClientOptions::FromEnvironment().endpoint, "http://127.0.0.1:9");
  unsetenv("AWS_ENDPOINT_URL");
  unsetenv("AWS_DEFAULT_REGION");
  EXPECT_EQ(ClientOptions::FromEnvironment().endpoint, kDefaultEndpoint);
}

}  // namespace
}  // namespace sluice::client
