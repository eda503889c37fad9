#include "server/firehose/s3_key.h"

#include <gtest/gtest.h>

#include "tests/unit/catalog/test_util.h"

namespace sluice::firehose {
namespace {

using catalog::test::HasError;
using catalog::test::IsOk;

// 2024-03-05T07:08:09.123Z, a Tuesday, day 65 of a leap year.
constexpr EpochMillis kInstant = 1709622489123;

std::string Format(std::string_view pattern) {
  Result<std::string> formatted = FormatTimestamp(pattern, kInstant);
  EXPECT_THAT(formatted, IsOk());
  return formatted.ok() ? *formatted : "";
}

TEST(FormatTimestampTest, FormatsJavaPatternLetters) {
  EXPECT_EQ(Format("yyyy/MM/dd/HH/"), "2024/03/05/07/");
  EXPECT_EQ(Format("yy-M-d-H-m-s"), "24-3-5-7-8-9");
  EXPECT_EQ(Format("yyyy-MM-dd'T'HH:mm:ss.SSS"), "2024-03-05T07:08:09.123");
  EXPECT_EQ(Format("MMM MMMM EEE EEEE"), "Mar March Tue Tuesday");
  EXPECT_EQ(Format("DDD hh a"), "065 07 AM");
  EXPECT_EQ(Format("'it''s' ''"), "it's '");
  EXPECT_EQ(Format("uuuu=dd"), "2024=05");
}

TEST(FormatTimestampTest, RefusesUnknownLettersAndBadQuotes) {
  EXPECT_THAT(FormatTimestamp("yyyy-QQ", kInstant),
              HasError(ErrorCode::kInvalidArgument,
                       "timestamp pattern 'yyyy-QQ' uses the pattern letter "
                       "'Q', which Sluice does not support."));
  EXPECT_THAT(FormatTimestamp("'open", kInstant),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(FormatTimestamp("yyyy#", kInstant),
              HasError(ErrorCode::kInvalidArgument));
}

TEST(ValidatePrefixesTest, AcceptsAwsExamples) {
  EXPECT_THAT(ValidatePrefixes("", ""), IsOk());
  EXPECT_THAT(ValidatePrefixes("literal/", ""), IsOk());
  EXPECT_THAT(ValidatePrefixes("", "errors/"), IsOk());
  EXPECT_THAT(ValidatePrefixes("year=!{timestamp:yyyy}/month=!{timestamp:MM}/",
                               "errors/!{firehose:error-output-type}/"
                               "!{timestamp:yyyy/MM/dd}/"),
              IsOk());
  EXPECT_THAT(ValidatePrefixes("a/!{firehose:random-string}/",
                               "e/!{firehose:error-output-type}/"),
              IsOk());
}

TEST(ValidatePrefixesTest, AppliesAwsRules) {
  EXPECT_THAT(ValidatePrefixes("a/!{timestamp:yyyy}/", ""),
              HasError(ErrorCode::kInvalidArgument,
                       "ErrorOutputPrefix must be specified when Prefix "
                       "contains expressions."));
  EXPECT_THAT(ValidatePrefixes("a/", "e/!{timestamp:yyyy}/"),
              HasError(ErrorCode::kInvalidArgument,
                       "ErrorOutputPrefix must contain the expression "
                       "!{firehose:error-output-type} when it contains "
                       "expressions."));
  EXPECT_THAT(ValidatePrefixes("a/!{firehose:error-output-type}",
                               "e/!{firehose:error-output-type}"),
              HasError(ErrorCode::kInvalidArgument,
                       "Prefix cannot contain the expression "
                       "!{firehose:error-output-type}; only ErrorOutputPrefix "
                       "may."));
  EXPECT_THAT(ValidatePrefixes("a/!{timestamp:yyyy", ""),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(ValidatePrefixes("a/!{firehose:other}/", "e/"),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(ValidatePrefixes("a/!{timestamp:}/", "e/"),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(ValidatePrefixes("!{partitionKeyFromQuery:k}/",
                               "e/!{firehose:error-output-type}"),
              HasError(ErrorCode::kInvalidArgument));
}

TEST(ValidatePrefixesTest, LimitsTheEvaluatedLength) {
  const std::string half(249, 'a');
  // 498 characters and the 14 of the default timestamp prefix.
  EXPECT_THAT(ValidatePrefixes(half + "/" + half.substr(1), ""), IsOk());
  EXPECT_THAT(ValidatePrefixes(half + "/" + half, ""),
              HasError(ErrorCode::kInvalidArgument,
                       "Prefix must not be longer than 512 characters once "
                       "evaluated."));
  EXPECT_THAT(ValidatePrefixes(std::string(255, 'a') + "/", ""), IsOk());
  EXPECT_THAT(ValidatePrefixes(std::string(256, 'a') + "/", ""),
              HasError(ErrorCode::kInvalidArgument,
                       "Prefix has a part between slashes longer than 255 "
                       "bytes, which the archive cannot store as a directory "
                       "name."));
}

TEST(EvaluatePrefixTest, AppendsTheDefaultWithoutATimestamp) {
  KeyContext context{kInstant, [] { return std::string("RANDOMSTRNG"); }};
  EXPECT_EQ(EvaluatePrefix("", context).value(), "2024/03/05/07/");
  EXPECT_EQ(EvaluatePrefix("logs/", context).value(), "logs/2024/03/05/07/");
  EXPECT_EQ(EvaluatePrefix("r/!{firehose:random-string}/", context).value(),
            "r/RANDOMSTRNG/2024/03/05/07/");
  EXPECT_EQ(
      EvaluatePrefix("y=!{timestamp:yyyy}/h=!{timestamp:HH}/", context).value(),
      "y=2024/h=07/");
}

TEST(EvaluatePrefixTest, RandomStringIsElevenAlphanumerics) {
  std::string first = RandomString();
  EXPECT_EQ(first.size(), 11u);
  for (char c : first) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)));
  EXPECT_NE(first, RandomString());
}

TEST(EvaluateErrorPrefixTest, UsesTheErrorTypeOrTheDefaultShape) {
  KeyContext context{kInstant, nullptr};
  EXPECT_EQ(EvaluateErrorPrefix("p/", "", "processing-failed", context).value(),
            "p/processing-failed/2024/03/05/07/");
  EXPECT_EQ(EvaluateErrorPrefix("p/", "e/!{firehose:error-output-type}/",
                                "processing-failed", context)
                .value(),
            "e/processing-failed/2024/03/05/07/");
}

TEST(ObjectNameTest, IsNameVersionTimeUuidExtension) {
  EXPECT_EQ(
      ObjectName("orders", 3, kInstant, "3f2b8c1e-9d4a-4f6b-8e2a-1c5d7e9f0a2b",
                 ".gz"),
      "orders-3-2024-03-05-07-08-09-3f2b8c1e-9d4a-4f6b-8e2a-1c5d7e9f0a2b.gz");
}

TEST(ObjectPathTest, NoKeyLeavesTheBucket) {
  const std::filesystem::path bucket = "/archive/bucket";
  EXPECT_EQ(ObjectPath(bucket, "a/b/c.gz"), "/archive/bucket/a/b/c.gz");
  EXPECT_EQ(ObjectPath(bucket, "../../etc/passwd"),
            "/archive/bucket/%2E%2E/%2E%2E/etc/passwd");
  EXPECT_EQ(ObjectPath(bucket, "/abs/x"), "/archive/bucket/%2F/abs/x");
  EXPECT_EQ(ObjectPath(bucket, "a//./b"), "/archive/bucket/a/%2F/%2E/b");
  EXPECT_EQ(ObjectPath(bucket, std::string("a\0b", 3)),
            "/archive/bucket/a%00b");
  for (std::string_view key : {"..", "../", "/", "a/../../..", "./.."}) {
    std::filesystem::path path = ObjectPath(bucket, key);
    std::filesystem::path relative =
        path.lexically_normal().lexically_relative(bucket);
    EXPECT_FALSE(relative.empty()) << key;
    EXPECT_NE(*relative.begin(), "..") << key;
    EXPECT_NE(relative, ".") << key;
  }
}

}  // namespace
}  // namespace sluice::firehose
