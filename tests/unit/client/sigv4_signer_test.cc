#include "client/sigv4_signer.h"

#include <gtest/gtest.h>

namespace sluice::client {
namespace {

// The expected values were produced by botocore's SigV4Auth (an independent
// implementation) for the same request, credentials and instant.
TEST(SignPostTest, MatchesBotocore) {
  SignedHeaders signed_headers =
      SignPost("/",
               {{"content-type", "application/x-amz-json-1.1"},
                {"host", "127.0.0.1:4567"},
                {"x-amz-target", "Kinesis_20131202.DescribeStreamSummary"}},
               R"({"StreamName":"orders"})", "us-east-1", "kinesis",
               {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""},
               1796196114000);
  EXPECT_EQ(signed_headers.amz_date, "20261202T072154Z");
  EXPECT_EQ(signed_headers.authorization,
            "AWS4-HMAC-SHA256 "
            "Credential=AKIDEXAMPLE/20261202/us-east-1/kinesis/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
            "Signature="
            "69e7faed3993969c1dc56fe18e8f8110665c58414d6d86f380347eb7cefc704c");
}

TEST(SignPostTest, ASessionTokenIsSigned) {
  SignedHeaders signed_headers =
      SignPost("/", {{"host", "h"}}, "", "eu-west-1", "firehose",
               {"AKID", "secret", "token"}, 0);
  EXPECT_EQ(signed_headers.amz_date, "19700101T000000Z");
  EXPECT_NE(signed_headers.authorization.find(
                "SignedHeaders=host;x-amz-date;x-amz-security-token,"),
            std::string::npos)
      << signed_headers.authorization;
  EXPECT_NE(signed_headers.authorization.find(
                "Credential=AKID/19700101/eu-west-1/firehose/aws4_request"),
            std::string::npos);
}

}  // namespace
}  // namespace sluice::client
