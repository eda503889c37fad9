#include "server/http/sigv4.h"

#include <gtest/gtest.h>

namespace sluice::http {
namespace {

TEST(ReadCredentialTest, ReadsTheScopeOfAnAuthorizationHeader) {
  auto credential = ReadCredential(
      "AWS4-HMAC-SHA256 "
      "Credential=AKID/20240101/eu-west-1/kinesis/aws4_request, "
      "SignedHeaders=content-type;host;x-amz-date, Signature=0123abcd",
      "", true);
  ASSERT_TRUE(credential.ok()) << credential.status().ToString();
  EXPECT_EQ(credential->access_key_id, "AKID");
  EXPECT_EQ(credential->date, "20240101");
  EXPECT_EQ(credential->region, "eu-west-1");
  EXPECT_EQ(credential->service, "kinesis");
}

TEST(ReadCredentialTest, ToleratesSpacesOrCommasBetweenParameters) {
  for (const char* header :
       {"AWS4-HMAC-SHA256 Credential=A/d/r/s/aws4_request SignedHeaders=h "
        "Signature=s",
        "AWS4-HMAC-SHA256 "
        "Credential=A/d/r/s/aws4_request,SignedHeaders=h,Signature=s"}) {
    auto credential = ReadCredential(header, "", true);
    ASSERT_TRUE(credential.ok()) << header;
    EXPECT_EQ(credential->region, "r");
  }
}

TEST(ReadCredentialTest, LeavesRegionEmptyForANonStandardScope) {
  auto credential = ReadCredential(
      "AWS4-HMAC-SHA256 Credential=AKID, SignedHeaders=h, Signature=s", "",
      true);
  ASSERT_TRUE(credential.ok());
  EXPECT_EQ(credential->access_key_id, "AKID");
  EXPECT_EQ(credential->region, "");
}

TEST(ReadCredentialTest, MissingAuthentication) {
  auto credential = ReadCredential("", "", true);
  EXPECT_EQ(credential.status(), Status(ErrorCode::kMissingAuthenticationToken,
                                        "Missing Authentication Token"));
}

TEST(ReadCredentialTest, IncompleteHeaderNamesEveryMissingPart) {
  auto credential = ReadCredential("X", "", false);
  EXPECT_EQ(credential.status(),
            Status(ErrorCode::kIncompleteSignature,
                   "Authorization header requires 'Credential' parameter. "
                   "Authorization header requires 'Signature' parameter. "
                   "Authorization header requires 'SignedHeaders' parameter. "
                   "Authorization header requires existence of either a "
                   "'X-Amz-Date' or a 'Date' header. Authorization=X"));
  credential = ReadCredential("AWS4- Signature=b, Credential=a", "", true);
  EXPECT_EQ(credential.status(),
            Status(ErrorCode::kIncompleteSignature,
                   "Authorization header requires 'SignedHeaders' parameter. "
                   "Authorization=AWS4- Signature=b, Credential=a"));
}

TEST(ReadCredentialTest, BothHeaderAndQueryIsInvalid) {
  auto credential = ReadCredential("X", "X-Amz-Algorithm", true);
  EXPECT_EQ(credential.status(),
            Status(ErrorCode::kInvalidSignature,
                   "Found both 'X-Amz-Algorithm' as a query-string param and "
                   "'Authorization' as HTTP header."));
}

TEST(ReadCredentialTest, ReadsPresignedQueryParameters) {
  auto credential = ReadCredential(
      "",
      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240101%2F"
      "us-west-2%2Fkinesis%2Faws4_request&X-Amz-Signature=s&"
      "X-Amz-SignedHeaders=host&X-Amz-Date=20240101T000000Z",
      false);
  ASSERT_TRUE(credential.ok()) << credential.status().ToString();
  EXPECT_EQ(credential->region, "us-west-2");
}

TEST(ReadCredentialTest, IncompleteQueryNamesEveryMissingParameter) {
  auto credential = ReadCredential("", "X-Amz-Algorithm", false);
  EXPECT_EQ(
      credential.status(),
      Status(ErrorCode::kIncompleteSignature,
             "AWS query-string parameters must include 'X-Amz-Algorithm'. "
             "AWS query-string parameters must include 'X-Amz-Credential'. "
             "AWS query-string parameters must include 'X-Amz-Signature'. "
             "AWS query-string parameters must include 'X-Amz-SignedHeaders'. "
             "AWS query-string parameters must include 'X-Amz-Date'. "
             "Re-examine the query-string parameters."));
}

TEST(PercentDecodeTest, DecodesEscapesAndKeepsMalformedOnes) {
  EXPECT_EQ(PercentDecode("a%2Fb%2fc"), "a/b/c");
  EXPECT_EQ(PercentDecode("100%"), "100%");
  EXPECT_EQ(PercentDecode("%zz%4"), "%zz%4");
  EXPECT_EQ(PercentDecode("a+b"), "a+b");
}

}  // namespace
}  // namespace sluice::http
