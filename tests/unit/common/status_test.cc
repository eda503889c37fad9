#include "common/status.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, CarriesCodeAndMessage) {
  Status s(ErrorCode::kResourceNotFound, "Stream x not found.");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kResourceNotFound);
  EXPECT_EQ(s.ToString(), "ResourceNotFoundException: Stream x not found.");
}

TEST(StatusTest, ClientErrorsAre400AndFailuresAre5xx) {
  EXPECT_EQ(InfoFor(ErrorCode::kLimitExceeded).http_status, 400u);
  EXPECT_EQ(InfoFor(ErrorCode::kProvisionedThroughputExceeded).http_status,
            400u);
  EXPECT_EQ(InfoFor(ErrorCode::kInternalFailure).http_status, 500u);
  EXPECT_EQ(InfoFor(ErrorCode::kInternalFailure).aws_type,
            "InternalFailureException");
  EXPECT_EQ(InfoFor(ErrorCode::kServiceUnavailable).http_status, 503u);
  EXPECT_EQ(InfoFor(ErrorCode::kInvalidKmsResource).aws_type,
            "InvalidKMSResourceException");
}

TEST(ResultTest, HoldsValueOrError) {
  Result<int> good = 7;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 7);
  Result<int> bad = Status(ErrorCode::kInvalidArgument, "no");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace sluice
