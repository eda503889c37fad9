#include "server/model/service_model.h"

#include <gtest/gtest.h>

#include <string>

#include "common/base64.h"
#include "tests/unit/server/model/status_printer.h"

namespace sluice::model {
namespace {

// Parses `text` (which must be valid JSON) and validates it as `operation`.
Status Validate(const ServiceModel& model, std::string_view operation,
                const std::string& text) {
  json::Document doc;
  doc.Parse<json::kParseFlags>(text.data(), text.size());
  EXPECT_FALSE(doc.HasParseError()) << text;
  return ValidateInput(model, operation, doc);
}

Status Kinesis(std::string_view operation, const std::string& text) {
  return Validate(KinesisModel(), operation, text);
}

Status Invalid(std::string message) {
  return Status(ErrorCode::kValidation, std::move(message));
}

Status Unreadable(std::string message) {
  return Status(ErrorCode::kSerialization, std::move(message));
}

TEST(ServiceModelTest, EveryPatternCompiles) {
  EXPECT_TRUE(KinesisModel().UnsupportedPatterns().empty());
  EXPECT_TRUE(FirehoseModel().UnsupportedPatterns().empty());
}

TEST(ServiceModelTest, FindsOperationsByName) {
  EXPECT_NE(KinesisModel().InputShape("PutRecords"), nullptr);
  EXPECT_EQ(KinesisModel().InputShape("PutRecords")->name, "PutRecordsInput");
  EXPECT_EQ(KinesisModel().InputShape("NoSuchThing"), nullptr);
  EXPECT_TRUE(FirehoseModel().HasOperation("PutRecordBatch"));
  EXPECT_FALSE(FirehoseModel().HasOperation("PutRecords"));
}

TEST(ValidateInputTest, AcceptsAValidRequest) {
  EXPECT_TRUE(Kinesis("PutRecords", R"({"StreamName": "s", "Records": [
      {"PartitionKey": "a", "Data": ""},
      {"PartitionKey": "b", "Data": "AAEC", "ExplicitHashKey": "0"}]})")
                  .ok());
  EXPECT_TRUE(Kinesis("ListStreams", "{}").ok());
}

TEST(ValidateInputTest, NamesTheListItemAndMemberOneBased) {
  EXPECT_EQ(Kinesis("PutRecords", R"({"StreamName": "s", "Records": [
      {"PartitionKey": "a", "Data": ""},
      {"PartitionKey": "b", "Data": ""},
      {"PartitionKey": "", "Data": ""}]})"),
            Invalid("1 validation error detected: Value '' at "
                    "'records.3.member.partitionKey' failed to satisfy "
                    "constraint: Member must have length greater than or "
                    "equal to 1"));
}

TEST(ValidateInputTest, MissingRequiredMembersAreNull) {
  EXPECT_EQ(Kinesis("PutRecord", "{}"),
            Invalid("2 validation errors detected: Value null at "
                    "'partitionKey' failed to satisfy constraint: Member must "
                    "not be null; Value null at 'data' failed to satisfy "
                    "constraint: Member must not be null"));
  // JSON null is the same as leaving the member out.
  EXPECT_EQ(Kinesis("PutRecords", R"({"Records": null})"),
            Invalid("1 validation error detected: Value null at 'records' "
                    "failed to satisfy constraint: Member must not be null"));
  EXPECT_EQ(Kinesis("PutRecords", R"({"Records": [{"Data": ""}]})"),
            Invalid("1 validation error detected: Value null at "
                    "'records.1.member.partitionKey' failed to satisfy "
                    "constraint: Member must not be null"));
}

// The order AWS answered with (kinesalite's tests record it).
TEST(ValidateInputTest, ListsViolationsInAwsOrder) {
  EXPECT_EQ(
      Kinesis("PutRecord",
              R"({"StreamName": "", "PartitionKey": "", "Data": "",
                  "ExplicitHashKey": "", "SequenceNumberForOrdering": ""})"),
      Invalid("5 validation errors detected: "
              "Value '' at 'sequenceNumberForOrdering' failed to satisfy "
              "constraint: Member must satisfy regular expression pattern: "
              "0|([1-9]\\d{0,128}); "
              "Value '' at 'partitionKey' failed to satisfy constraint: "
              "Member must have length greater than or equal to 1; "
              "Value '' at 'explicitHashKey' failed to satisfy constraint: "
              "Member must satisfy regular expression pattern: "
              "0|([1-9]\\d{0,38}); "
              "Value '' at 'streamName' failed to satisfy constraint: "
              "Member must satisfy regular expression pattern: "
              "[a-zA-Z0-9_.-]+; "
              "Value '' at 'streamName' failed to satisfy constraint: "
              "Member must have length greater than or equal to 1"));
  EXPECT_EQ(Kinesis("PutRecords", R"({"StreamName": "", "Records": []})"),
            Invalid("3 validation errors detected: "
                    "Value '[]' at 'records' failed to satisfy constraint: "
                    "Member must have length greater than or equal to 1; "
                    "Value '' at 'streamName' failed to satisfy constraint: "
                    "Member must satisfy regular expression pattern: "
                    "[a-zA-Z0-9_.-]+; "
                    "Value '' at 'streamName' failed to satisfy constraint: "
                    "Member must have length greater than or equal to 1"));
}

TEST(ValidateInputTest, ListStreamsAnswersAsAwsDid) {
  EXPECT_EQ(
      Kinesis("ListStreams", R"({"ExclusiveStartStreamName": "", "Limit": 0})"),
      Invalid("3 validation errors detected: "
              "Value '0' at 'limit' failed to satisfy constraint: Member must "
              "have value greater than or equal to 1; "
              "Value '' at 'exclusiveStartStreamName' failed to satisfy "
              "constraint: Member must satisfy regular expression pattern: "
              "[a-zA-Z0-9_.-]+; "
              "Value '' at 'exclusiveStartStreamName' failed to satisfy "
              "constraint: Member must have length greater than or equal to "
              "1"));
  std::string name(129, 'a');
  EXPECT_EQ(Kinesis("ListStreams", R"({"ExclusiveStartStreamName": ")" + name +
                                       R"(", "Limit": 1000000})"),
            Invalid("2 validation errors detected: "
                    "Value '1000000' at 'limit' failed to satisfy constraint: "
                    "Member must have value less than or equal to 10000; "
                    "Value '" +
                    name +
                    "' at 'exclusiveStartStreamName' failed to satisfy "
                    "constraint: Member must have length less than or equal "
                    "to 128"));
}

// AWS stops at ten and counts only those: 501 bad records and a bad name
// answer "10 validation errors detected".
TEST(ValidateInputTest, ReportsAtMostTenViolations) {
  std::string records;
  for (int i = 0; i < 12; ++i) {
    records += i ? "," : "";
    records += R"({"PartitionKey": "", "Data": ""})";
  }
  Status s = Kinesis("PutRecords",
                     R"({"StreamName": "", "Records": [)" + records + "]}");
  std::string expected = "10 validation errors detected: ";
  for (int i = 1; i <= 10; ++i) {
    if (i > 1) expected += "; ";
    expected += "Value '' at 'records." + std::to_string(i) +
                ".member.partitionKey' failed to satisfy constraint: Member "
                "must have length greater than or equal to 1";
  }
  EXPECT_EQ(s, Invalid(expected));
}

TEST(ValidateInputTest, PrintsListsOfStructuresAsJavaObjects) {
  std::string records;
  for (int i = 0; i < 501; ++i) {
    records += i ? "," : "";
    records += R"({"PartitionKey": "a", "Data": ""})";
  }
  Status s = Kinesis("PutRecords",
                     R"({"StreamName": "s", "Records": [)" + records + "]}");
  ASSERT_EQ(s.code(), ErrorCode::kValidation);
  EXPECT_TRUE(s.message().starts_with(
      "1 validation error detected: Value "
      "'[com.amazonaws.kinesis.v20131202.PutRecordsRequestEntry@"))
      << s.message();
  EXPECT_TRUE(s.message().ends_with(
      "]' at 'records' failed to satisfy constraint: Member must have length "
      "less than or equal to 500"))
      << s.message();
}

TEST(ValidateInputTest, RangesOnIntegers) {
  EXPECT_EQ(Kinesis("ListStreams", R"({"Limit": 0})"),
            Invalid("1 validation error detected: Value '0' at 'limit' failed "
                    "to satisfy constraint: Member must have value greater "
                    "than or equal to 1"));
  EXPECT_EQ(Kinesis("ListStreams", R"({"Limit": 10001})"),
            Invalid("1 validation error detected: Value '10001' at 'limit' "
                    "failed to satisfy constraint: Member must have value "
                    "less than or equal to 10000"));
  EXPECT_TRUE(Kinesis("ListStreams", R"({"Limit": 10000})").ok());
  // AWS truncates a fraction and holds an Integer to Java's int range.
  EXPECT_TRUE(Kinesis("ListStreams", R"({"Limit": 2.7})").ok());
  EXPECT_EQ(Kinesis("ListStreams", R"({"Limit": 0.9})").message(),
            "1 validation error detected: Value '0' at 'limit' failed to "
            "satisfy constraint: Member must have value greater than or "
            "equal to 1");
  EXPECT_EQ(Kinesis("ListStreams", R"({"Limit": 1e12})").message(),
            "1 validation error detected: Value '2147483647' at 'limit' "
            "failed to satisfy constraint: Member must have value less than "
            "or equal to 10000");
}

TEST(ValidateInputTest, ChecksPatternsAndEnums) {
  EXPECT_EQ(Kinesis("ListStreams", R"({"ExclusiveStartStreamName": "bad!"})"),
            Invalid("1 validation error detected: Value 'bad!' at "
                    "'exclusiveStartStreamName' failed to satisfy constraint: "
                    "Member must satisfy regular expression pattern: "
                    "[a-zA-Z0-9_.-]+"));
  EXPECT_TRUE(
      Kinesis("ListStreams", R"({"ExclusiveStartStreamName": "ok_1.2-3"})")
          .ok());
  EXPECT_EQ(
      Kinesis("GetShardIterator",
              R"({"StreamName": "s", "ShardId": "shardId-0",
                  "ShardIteratorType": "NEWEST"})"),
      Invalid("1 validation error detected: Value 'NEWEST' at "
              "'shardIteratorType' failed to satisfy constraint: Member must "
              "satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, "
              "AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]"));
  EXPECT_EQ(Kinesis("PutRecord", R"({"StreamName": "s", "PartitionKey": "a",
                      "Data": "", "ExplicitHashKey": "01"})"),
            Invalid("1 validation error detected: Value '01' at "
                    "'explicitHashKey' failed to satisfy constraint: Member "
                    "must satisfy regular expression pattern: "
                    "0|([1-9]\\d{0,38})"));
  EXPECT_TRUE(Kinesis("PutRecord", R"({"StreamName": "s", "PartitionKey": "a",
                      "Data": "", "ExplicitHashKey": ")" +
                                       std::string("1") + std::string(38, '0') +
                                       R"("})")
                  .ok());
}

TEST(ValidateInputTest, ChecksNestedStructures) {
  EXPECT_EQ(Kinesis("ListShards", R"({"ShardFilter": {"ShardId": "x"}})"),
            Invalid("1 validation error detected: Value null at "
                    "'shardFilter.type' failed to satisfy constraint: Member "
                    "must not be null"));
  EXPECT_EQ(
      Kinesis("ListShards", R"({"ShardFilter": {"Type": "AT_LATEST",
                                "ShardId": ""}})"),
      Invalid("2 validation errors detected: Value '' at "
              "'shardFilter.shardId' failed to satisfy constraint: Member "
              "must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; "
              "Value '' at 'shardFilter.shardId' failed to satisfy "
              "constraint: Member must have length greater than or equal to "
              "1"));
}

TEST(ValidateInputTest, ReportsMapKeysAndValuesOnceAtTheMap) {
  EXPECT_EQ(Kinesis("AddTagsToStream", R"({"StreamName": "s", "Tags": {}})"),
            Invalid("1 validation error detected: Value '{}' at 'tags' failed "
                    "to satisfy constraint: Member must have length greater "
                    "than or equal to 1"));
  std::string long_key(129, 'k');
  EXPECT_EQ(
      Kinesis("AddTagsToStream",
              R"({"Tags": {"a": "1", ")" + long_key + R"(": "2"}})"),
      Invalid("1 validation error detected: Value '{a=1, " + long_key +
              "=2}' at 'tags' failed to satisfy constraint: Map keys must "
              "satisfy constraint: [Member must have length less than or "
              "equal to 128, Member must have length greater than or equal "
              "to 1]"));
  std::string long_value(257, 'v');
  EXPECT_EQ(
      Kinesis("AddTagsToStream", R"({"Tags": {"a": ")" + long_value + R"("}})"),
      Invalid("1 validation error detected: Value '{a=" + long_value +
              "}' at 'tags' failed to satisfy constraint: Map value "
              "must satisfy constraint: [Member must have length less "
              "than or equal to 256, Member must have length greater "
              "than or equal to 0]"));
}

TEST(ValidateInputTest, ReportsBadListItemsOnceAtTheList) {
  std::string name(129, 'a');
  EXPECT_EQ(Kinesis("RemoveTagsFromStream",
                    R"({"TagKeys": ["a", ")" + name + R"(", "b"]})"),
            Invalid("1 validation error detected: Value '[a, " + name +
                    ", b]' at 'tagKeys' failed to satisfy constraint: Member "
                    "must satisfy constraint: [Member must have length less "
                    "than or equal to 128, Member must have length greater "
                    "than or equal to 1]"));
}

TEST(ValidateInputTest, CountsStringsInUtf16Units) {
  EXPECT_EQ(Utf16Length("abc"), 3u);
  EXPECT_EQ(Utf16Length("\xC3\xA9"), 1u);          // é
  EXPECT_EQ(Utf16Length("\xE2\x82\xAC"), 1u);      // €
  EXPECT_EQ(Utf16Length("\xF0\x9F\x98\x80"), 2u);  // 😀, a surrogate pair
  std::string emoji;
  for (int i = 0; i < 128; ++i) emoji += "\xF0\x9F\x98\x80";
  std::string body = R"({"StreamName": "s", "Data": "", "PartitionKey": ")";
  EXPECT_TRUE(Kinesis("PutRecord", body + emoji + R"("})").ok());
  EXPECT_EQ(Kinesis("PutRecord", body + emoji + "x\"}").message(),
            "1 validation error detected: Value '" + emoji +
                "x' at 'partitionKey' failed to satisfy constraint: Member "
                "must have length less than or equal to 256");
}

TEST(ValidateInputTest, PrintsBlobsAsByteBuffersOfTheirDecodedLength) {
  const ServiceModel& firehose = FirehoseModel();
  std::string data = Base64Encode(std::string(1024001, 'x'));
  EXPECT_EQ(
      Validate(firehose, "PutRecord",
               R"({"DeliveryStreamName": "d", "Record": {"Data": ")" + data +
                   R"("}})"),
      Invalid("1 validation error detected: Value "
              "'java.nio.HeapByteBuffer[pos=0 lim=1024001 cap=1024001]' at "
              "'record.data' failed to satisfy constraint: Member must have "
              "length less than or equal to 1024000"));
  EXPECT_TRUE(Validate(firehose, "PutRecord",
                       R"({"DeliveryStreamName": "d", "Record": {"Data": ")" +
                           Base64Encode(std::string(1024000, 'x')) + R"("}})")
                  .ok());
}

TEST(ValidateInputTest, FirehoseRequiredMembers) {
  EXPECT_EQ(Validate(FirehoseModel(), "PutRecordBatch", "{}"),
            Invalid("2 validation errors detected: Value null at "
                    "'deliveryStreamName' failed to satisfy constraint: "
                    "Member must not be null; Value null at 'records' failed "
                    "to satisfy constraint: Member must not be null"));
}

TEST(ValidateInputTest, IgnoresUnknownMembers) {
  EXPECT_TRUE(
      Kinesis("ListStreams", R"({"Bogus": [1, {"x": true}], "Limit": 5})")
          .ok());
}

TEST(ValidateInputTest, RejectsInvalidBase64AsAwsWordsIt) {
  auto put = [](std::string data) {
    return Kinesis("PutRecord", R"({"StreamName": "s", "PartitionKey": "a",
                   "Data": ")" + data +
                                    R"("})");
  };
  EXPECT_EQ(put("23456"),
            Unreadable("'23456' can not be converted to a Blob: Base64 "
                       "encoded length is expected a multiple of 4 bytes but "
                       "found: 5"));
  EXPECT_EQ(put("=+/="), Unreadable("'=+/=' can not be converted to a Blob: "
                                    "Invalid Base64 character: '='"));
  EXPECT_EQ(put("ab*d"), Unreadable("'ab*d' can not be converted to a Blob: "
                                    "Invalid Base64 character: '*'"));
  // AWS spells "dectected" so.
  EXPECT_EQ(put("+/+="),
            Unreadable("'+/+=' can not be converted to a Blob: Invalid last "
                       "non-pad Base64 character dectected"));
  EXPECT_TRUE(put("+/8=").ok());
  EXPECT_TRUE(put("AA==").ok());
}

TEST(ValidateInputTest, WrongJsonTypesAreSerializationErrors) {
  const std::string number_class =
      "class com.amazon.coral.value.json.numbers.TruncatingBigNumber";
  struct Case {
    std::string_view operation;
    std::string body;
    std::string message;
  };
  const Case cases[] = {
      // String
      {"ListStreams", R"({"ExclusiveStartStreamName": true})",
       "class java.lang.Boolean can not be converted to an String"},
      {"ListStreams", R"({"ExclusiveStartStreamName": 23})",
       number_class + " can not be converted to an String"},
      {"ListStreams", R"({"ExclusiveStartStreamName": 34.56})",
       number_class + " can not be converted to an String"},
      {"ListStreams", R"({"ExclusiveStartStreamName": []})",
       "Start of list found where not expected"},
      {"ListStreams", R"({"ExclusiveStartStreamName": {}})",
       "Start of structure or map found where not expected."},
      // Integer
      {"ListStreams", R"({"Limit": "23"})",
       "class java.lang.String can not be converted to an Integer"},
      {"ListStreams", R"({"Limit": true})",
       "class java.lang.Boolean can not be converted to an Integer"},
      {"ListStreams", R"({"Limit": []})",
       "Start of list found where not expected"},
      {"ListStreams", R"({"Limit": {}})",
       "Start of structure or map found where not expected."},
      // Boolean
      {"DeleteStream", R"({"EnforceConsumerDeletion": "23"})",
       "'23' can not be converted to an Boolean"},
      {"DeleteStream", R"({"EnforceConsumerDeletion": "yes"})",
       "'YES' can not be converted to an Boolean"},
      {"DeleteStream", R"({"EnforceConsumerDeletion": 23})",
       number_class + " can not be converted to an Boolean"},
      {"DeleteStream", R"({"EnforceConsumerDeletion": []})",
       "Start of list found where not expected"},
      // Blob
      {"PutRecord", R"({"Data": true})",
       "class java.lang.Boolean can not be converted to a Blob"},
      {"PutRecord", R"({"Data": 23})",
       number_class + " can not be converted to a Blob"},
      {"PutRecord", R"({"Data": {}})",
       "Start of structure or map found where not expected."},
      // List
      {"PutRecords", R"({"Records": "23"})", "Expected list or null"},
      {"PutRecords", R"({"Records": 23})", "Expected list or null"},
      {"PutRecords", R"({"Records": {}})",
       "Start of structure or map found where not expected."},
      // Structure, inside a list
      {"PutRecords", R"({"Records": [true]})", "Expected null"},
      {"PutRecords", R"({"Records": [[]]})",
       "Start of list found where not expected"},
      {"PutRecords", R"({"Records": [{"PartitionKey": 5}]})",
       number_class + " can not be converted to an String"},
      // Map
      {"AddTagsToStream", R"({"Tags": "23"})", "Expected map or null"},
      {"AddTagsToStream", R"({"Tags": []})",
       "Start of list found where not expected"},
      {"AddTagsToStream", R"({"Tags": {"a": 1}})",
       number_class + " can not be converted to an String"},
      // Timestamp
      {"ListShards", R"({"StreamCreationTimestamp": "2020-01-01"})",
       "class java.lang.String can not be converted to milliseconds since "
       "epoch"},
      {"ListShards", R"({"StreamCreationTimestamp": false})",
       "class java.lang.Boolean can not be converted to milliseconds since "
       "epoch"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Kinesis(c.operation, c.body), Unreadable(c.message)) << c.body;
  }
  EXPECT_TRUE(
      Kinesis("DeleteStream", R"({"EnforceConsumerDeletion": "TRUE"})").ok());
  EXPECT_TRUE(
      Kinesis("ListShards", R"({"StreamCreationTimestamp": 1.7e9})").ok());
}

TEST(ValidateInputTest, TypeErrorsWinOverViolations) {
  EXPECT_EQ(Kinesis("PutRecord", R"({"PartitionKey": "", "Data": 1})"),
            Unreadable("class com.amazon.coral.value.json.numbers."
                       "TruncatingBigNumber can not be converted to a Blob"));
}

TEST(ValidateInputTest, ChecksDoublesDeepInFirehoseConfigurations) {
  auto create = [](std::string tolerance) {
    return Validate(FirehoseModel(), "CreateDeliveryStream",
                    R"({"DeliveryStreamName": "d",
        "ExtendedS3DestinationConfiguration": {
          "RoleARN": "arn:aws:iam::123456789012:role/r",
          "BucketARN": "arn:aws:s3:::b",
          "DataFormatConversionConfiguration": {"OutputFormatConfiguration":
            {"Serializer": {"OrcSerDe": {"PaddingTolerance": )" +
                        tolerance + "}}}}}}");
  };
  EXPECT_TRUE(create("0.25").ok());
  EXPECT_EQ(create("1.5"),
            Invalid("1 validation error detected: Value '1.5' at "
                    "'extendedS3DestinationConfiguration."
                    "dataFormatConversionConfiguration."
                    "outputFormatConfiguration.serializer.orcSerDe."
                    "paddingTolerance' failed to satisfy constraint: Member "
                    "must have value less than or equal to 1"));
}

TEST(GetTest, ReadsValidatedMembers) {
  json::Document doc;
  doc.Parse(R"({"Limit": 2.7, "Name": "n", "Null": null, "Yes": true,
                 "No": "False", "AlsoYes": "TRUE"})");
  EXPECT_EQ(GetBool(doc, "Yes"), true);
  EXPECT_EQ(GetBool(doc, "No"), false);
  EXPECT_EQ(GetBool(doc, "AlsoYes"), true);
  EXPECT_EQ(GetBool(doc, "Null"), std::nullopt);
  EXPECT_EQ(GetInteger(doc, "Limit"), 2);
  EXPECT_EQ(GetInteger(doc, "Absent"), std::nullopt);
  EXPECT_EQ(GetString(doc, "Name"), "n");
  EXPECT_EQ(GetString(doc, "Null"), std::nullopt);
}

}  // namespace
}  // namespace sluice::model
