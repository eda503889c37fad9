#include "server/firehose/transform.h"

#include <gtest/gtest.h>

#include "common/base64.h"
#include "tests/unit/catalog/test_util.h"

namespace sluice::firehose {
namespace {

using catalog::test::IsOk;

constexpr std::string_view kArn =
    "arn:aws:lambda:us-east-1:000000000000:function:my-transform";

// A Lambda processor with `parameters` (name, value), as the model passes it.
json::Document Processor(
    const std::vector<std::pair<std::string, std::string>>& parameters) {
  json::Document doc(rapidjson::kObjectType);
  auto& allocator = doc.GetAllocator();
  doc.AddMember("Type", "Lambda", allocator);
  json::Value list(rapidjson::kArrayType);
  for (const auto& [name, value] : parameters) {
    json::Value parameter(rapidjson::kObjectType);
    parameter.AddMember("ParameterName", json::Value(name, allocator),
                        allocator);
    parameter.AddMember("ParameterValue", json::Value(value, allocator),
                        allocator);
    list.PushBack(parameter, allocator);
  }
  doc.AddMember("Parameters", list, allocator);
  return doc;
}

std::string ParseError(
    const std::vector<std::pair<std::string, std::string>>& parameters) {
  Result<LambdaProcessor> parsed = ParseLambdaProcessor(Processor(parameters));
  if (parsed.ok()) return "(accepted)";
  EXPECT_EQ(parsed.status().code(), ErrorCode::kInvalidArgument);
  return std::string(parsed.status().message());
}

TEST(LambdaProcessorTest, TakesAwsDefaults) {
  auto parsed =
      ParseLambdaProcessor(Processor({{"LambdaArn", std::string(kArn)}}));
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->lambda_arn, kArn);
  EXPECT_EQ(parsed->function_name, "my-transform");
  EXPECT_EQ(parsed->qualifier, "");
  EXPECT_EQ(parsed->number_of_retries, 3);
  EXPECT_EQ(parsed->buffer_bytes, 1u << 20);
  EXPECT_EQ(parsed->buffer_interval_seconds, 60);
}

TEST(LambdaProcessorTest, ReadsEveryLambdaParameterAtBothEndsOfItsRange) {
  auto low = ParseLambdaProcessor(Processor({
      {"LambdaArn", std::string(kArn) + ":$LATEST"},
      {"NumberOfRetries", "0"},
      {"BufferSizeInMBs", "0.2"},
      {"BufferIntervalInSeconds", "0"},
      {"RoleArn", "arn:aws:iam::000000000000:role/r"},
  }));
  ASSERT_THAT(low, IsOk());
  EXPECT_EQ(low->function_name, "my-transform");
  EXPECT_EQ(low->qualifier, "$LATEST");
  EXPECT_EQ(low->number_of_retries, 0);
  EXPECT_EQ(low->buffer_bytes, 209715u);  // 0.2 MiB
  EXPECT_EQ(low->buffer_interval_seconds, 0);
  auto high = ParseLambdaProcessor(Processor({
      {"LambdaArn", std::string(kArn)},
      {"NumberOfRetries", "300"},
      {"BufferSizeInMBs", "3"},
      {"BufferIntervalInSeconds", "900"},
  }));
  ASSERT_THAT(high, IsOk());
  EXPECT_EQ(high->number_of_retries, 300);
  EXPECT_EQ(high->buffer_bytes, 3u << 20);
  EXPECT_EQ(high->buffer_interval_seconds, 900);
}

TEST(LambdaProcessorTest, RefusesBadParametersByName) {
  const std::string arn(kArn);
  EXPECT_EQ(ParseError({}),
            "Processor of type Lambda requires the parameter LambdaArn.");
  EXPECT_EQ(ParseError({{"LambdaArn", arn}, {"SubRecordType", "JSON"}}),
            "Processor parameter SubRecordType is not valid for processor "
            "type Lambda; it takes LambdaArn, NumberOfRetries, RoleArn, "
            "BufferSizeInMBs and BufferIntervalInSeconds.");
  EXPECT_EQ(ParseError({{"LambdaArn", arn}, {"LambdaArn", arn}}),
            "Processor parameter LambdaArn is specified more than once.");
  EXPECT_EQ(ParseError({{"LambdaArn", arn}, {"NumberOfRetries", "301"}}),
            "NumberOfRetries must be an integer from 0 to 300; got '301'.");
  EXPECT_EQ(ParseError({{"LambdaArn", arn}, {"NumberOfRetries", "-1"}}),
            "NumberOfRetries must be an integer from 0 to 300; got '-1'.");
  EXPECT_EQ(ParseError({{"LambdaArn", arn}, {"NumberOfRetries", "two"}}),
            "NumberOfRetries must be an integer from 0 to 300; got 'two'.");
  EXPECT_EQ(ParseError({{"LambdaArn", arn}, {"BufferSizeInMBs", "0.1"}}),
            "BufferSizeInMBs must be a number from 0.2 to 3; got '0.1'.");
  EXPECT_EQ(ParseError({{"LambdaArn", arn}, {"BufferSizeInMBs", "3.01"}}),
            "BufferSizeInMBs must be a number from 0.2 to 3; got '3.01'.");
  EXPECT_EQ(
      ParseError({{"LambdaArn", arn}, {"BufferIntervalInSeconds", "901"}}),
      "BufferIntervalInSeconds must be an integer from 0 to 900; got '901'.");
}

TEST(LambdaProcessorTest, RefusesArnsThatNameNoFunction) {
  for (std::string arn :
       {"my-transform", "arn:aws:lambda:us-east-1:000000000000:layer:x",
        "arn:aws:s3:::bucket", "arn:aws:lambda:us-east-1:0:function:",
        "arn:aws:lambda:us-east-1:0:function:../../bin/sh",
        "arn:aws:lambda:us-east-1:0:function:a/b"}) {
    EXPECT_EQ(ParseError({{"LambdaArn", arn}}),
              "LambdaArn " + arn +
                  " is not a Lambda function ARN "
                  "(arn:aws:lambda:<region>:<account>:function:<name>).")
        << arn;
  }
}

TEST(LambdaProcessorTest, ChecksBuiltinsAndTheirArguments) {
  const std::string base = "arn:aws:lambda:us-east-1:000000000000:function:";
  for (std::string good : {"sluice-builtin-add-field:source=web",
                           "sluice-builtin-add-field:empty=",
                           "sluice-builtin-add-arrival-timestamp:received_at",
                           "sluice-builtin-drop-if:level=debug",
                           "sluice-builtin-multiply:EXTRA2=fuel*lap",
                           "sluice-builtin-to-csv:speed",
                           "sluice-builtin-to-csv:speed,rpm,temps.engine"}) {
    EXPECT_EQ(ParseError({{"LambdaArn", base + good}}), "(accepted)") << good;
  }
  EXPECT_EQ(ParseError({{"LambdaArn", base + "sluice-builtin-add-field"}}),
            "LambdaArn " + base +
                "sluice-builtin-add-field: the built-in "
                "sluice-builtin-add-field takes its argument after the name, "
                "as in function:sluice-builtin-add-field:FIELD=VALUE.");
  EXPECT_EQ(
      ParseError({{"LambdaArn", base + "sluice-builtin-drop-if:=x"}}),
      "LambdaArn " + base +
          "sluice-builtin-drop-if:=x: the built-in sluice-builtin-drop-if "
          "takes its argument after the name, as in "
          "function:sluice-builtin-drop-if:FIELD=VALUE.");
  EXPECT_EQ(ParseError({{"LambdaArn",
                         base + "sluice-builtin-add-arrival-timestamp:a=b"}}),
            "LambdaArn " + base +
                "sluice-builtin-add-arrival-timestamp:a=b: the built-in "
                "sluice-builtin-add-arrival-timestamp takes its argument "
                "after the name, as in "
                "function:sluice-builtin-add-arrival-timestamp:FIELD.");
  EXPECT_EQ(ParseError({{"LambdaArn", base + "sluice-builtin-upper"}}),
            "LambdaArn " + base +
                "sluice-builtin-upper names sluice-builtin-upper, which is "
                "not a Sluice built-in transform; built-ins are "
                "sluice-builtin-add-field, "
                "sluice-builtin-add-arrival-timestamp, "
                "sluice-builtin-drop-if, sluice-builtin-multiply and "
                "sluice-builtin-to-csv.");
  for (std::string bad :
       {"sluice-builtin-multiply:out=a", "sluice-builtin-multiply:out=a*",
        "sluice-builtin-multiply:=a*b", "sluice-builtin-multiply:o=a*b*c"}) {
    EXPECT_EQ(ParseError({{"LambdaArn", base + bad}}),
              "LambdaArn " + base + bad +
                  ": the built-in sluice-builtin-multiply takes its argument "
                  "after the name, as in "
                  "function:sluice-builtin-multiply:FIELD=A*B.");
  }
  for (std::string bad :
       {"sluice-builtin-to-csv", "sluice-builtin-to-csv:a,,b",
        "sluice-builtin-to-csv:a,", "sluice-builtin-to-csv:,a"}) {
    EXPECT_EQ(ParseError({{"LambdaArn", base + bad}}),
              "LambdaArn " + base + bad +
                  ": the built-in sluice-builtin-to-csv takes its argument "
                  "after the name, as in "
                  "function:sluice-builtin-to-csv:FIELD,FIELD,....");
  }
}

std::vector<TransformRecord> Records() {
  static const std::string kFirst = "{\"a\":1}\n";
  static const std::string kSecond = std::string("\x00\xff", 2);
  return {{"1", 1700000000123, kFirst, std::nullopt},
          {"2", 1700000000456, kSecond,
           KinesisRecordMetadata{
               "shardId-000000000003", "pk",
               "49546986683135544286507457936321625675700192471156785154"}}};
}

TEST(TransformEventTest, HasTheExactFirehoseShape) {
  TransformContext context{
      "arn:aws:firehose:us-east-1:000000000000:deliverystream/s", "us-east-1",
      std::nullopt};
  EXPECT_EQ(
      BuildTransformEvent("inv-1", context, {Records()[0]}),
      R"({"invocationId":"inv-1",)"
      R"("deliveryStreamArn":"arn:aws:firehose:us-east-1:000000000000:deliverystream/s",)"
      R"("region":"us-east-1","records":[{"recordId":"1",)"
      R"("approximateArrivalTimestamp":1700000000123,"data":"eyJhIjoxfQo="}]})");
  context.source_stream_arn = "arn:aws:kinesis:us-east-1:000000000000:stream/k";
  EXPECT_EQ(
      BuildTransformEvent("inv-2", context, {Records()[1]}),
      R"({"invocationId":"inv-2",)"
      R"("deliveryStreamArn":"arn:aws:firehose:us-east-1:000000000000:deliverystream/s",)"
      R"("sourceKinesisStreamArn":"arn:aws:kinesis:us-east-1:000000000000:stream/k",)"
      R"("region":"us-east-1","records":[{"recordId":"2",)"
      R"("approximateArrivalTimestamp":1700000000456,"data":"AP8=",)"
      R"("kinesisRecordMetadata":{"shardId":"shardId-000000000003",)"
      R"("partitionKey":"pk","approximateArrivalTimestamp":1700000000456,)"
      R"("sequenceNumber":)"
      R"("49546986683135544286507457936321625675700192471156785154",)"
      R"("subsequenceNumber":0}}]})");
}

TEST(TransformResponseTest, ReadsEveryResultInAnyOrder) {
  Invocation invocation = ParseTransformResponse(
      R"({"records":[
          {"recordId":"2","result":"ProcessingFailed"},
          {"recordId":"1","result":"Ok","data":"bmV3"}]})",
      Records());
  ASSERT_FALSE(invocation.failure.has_value());
  ASSERT_EQ(invocation.outcomes.size(), 2u);
  EXPECT_EQ(invocation.outcomes[0].result, RecordResult::kOk);
  EXPECT_EQ(invocation.outcomes[0].data, "new");
  EXPECT_EQ(invocation.outcomes[1].result, RecordResult::kProcessingFailed);
  EXPECT_EQ(invocation.outcomes[1].error_code, "Lambda.ProcessingFailed");

  invocation = ParseTransformResponse(
      R"({"records":[{"recordId":"1","result":"Dropped"},
                     {"recordId":"2","result":"Ok","data":""}]})",
      Records());
  ASSERT_FALSE(invocation.failure.has_value());
  EXPECT_EQ(invocation.outcomes[0].result, RecordResult::kDropped);
  EXPECT_EQ(invocation.outcomes[1].result, RecordResult::kOk);
  EXPECT_EQ(invocation.outcomes[1].data, "");
}

TEST(TransformResponseTest, AnyBrokenAnswerFailsTheWholeInvocation) {
  struct Case {
    std::string response;
    std::string code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"not json", "Lambda.JsonProcessingException",
       "The response is not JSON: Invalid value. at byte 1"},
      {"[]", "Lambda.JsonProcessingException",
       "The response is not an object with a records array."},
      {R"({"records":{}})", "Lambda.JsonProcessingException",
       "The response is not an object with a records array."},
      {R"({"records":[1]})", "Lambda.JsonProcessingException",
       "An entry of records is not a JSON object."},
      {R"({"records":[{"recordId":"1","result":"Dropped"}]})",
       "Lambda.MissingRecordId", "The response has no record with recordId 2."},
      {R"({"records":[{"result":"Dropped"},{"recordId":"1","result":"Ok","data":""},{"recordId":"2","result":"Ok","data":""}]})",
       "Lambda.MissingRecordId", "A record in the response has no recordId."},
      {R"({"records":[{"recordId":1,"result":"Dropped"}]})",
       "Lambda.MissingRecordId", "A record in the response has no recordId."},
      {R"({"records":[{"recordId":"1","result":"Dropped"},{"recordId":"1","result":"Dropped"}]})",
       "Lambda.DuplicatedRecordId",
       "The response has recordId 1 more than once."},
      {R"({"records":[{"recordId":"9","result":"Dropped"}]})",
       "Lambda.InvalidRecordId",
       "The response has a record with recordId 9, which the invocation did "
       "not send."},
      {R"({"records":[{"recordId":"1","result":"OK","data":""},{"recordId":"2","result":"Dropped"}]})",
       "Lambda.InvalidResult",
       "The record with recordId 1 has result 'OK'; it must be Ok, Dropped "
       "or ProcessingFailed."},
      {R"({"records":[{"recordId":"1","data":""},{"recordId":"2","result":"Dropped"}]})",
       "Lambda.InvalidResult",
       "The record with recordId 1 has result ''; it must be Ok, Dropped or "
       "ProcessingFailed."},
      {R"({"records":[{"recordId":"1","result":"Ok"},{"recordId":"2","result":"Dropped"}]})",
       "Lambda.InvalidData",
       "The record with recordId 1 is Ok but its data is missing."},
      {R"({"records":[{"recordId":"1","result":"Ok","data":"!!"},{"recordId":"2","result":"Dropped"}]})",
       "Lambda.InvalidData",
       "The record with recordId 1 is Ok but its data is not base64."},
  };
  for (const Case& c : cases) {
    Invocation invocation = ParseTransformResponse(c.response, Records());
    ASSERT_TRUE(invocation.failure.has_value()) << c.response;
    EXPECT_EQ(invocation.failure->code, c.code) << c.response;
    EXPECT_EQ(invocation.failure->message, c.message) << c.response;
  }
}

LambdaProcessor Builtin(std::string_view name_and_argument) {
  return LambdaProcessorFromArn(
             "arn:aws:lambda:us-east-1:000000000000:function:" +
                 std::string(name_and_argument),
             3, 1 << 20)
      .value();
}

std::vector<TransformRecord> JsonRecords(
    const std::vector<std::string>& texts) {
  std::vector<TransformRecord> records;
  for (size_t i = 0; i < texts.size(); ++i) {
    records.push_back({std::to_string(i),
                       1700000000000 + static_cast<int64_t>(i), texts[i],
                       std::nullopt});
  }
  return records;
}

TEST(BuiltinTransformTest, AddsAConstantOrComputedField) {
  Transformer transformer({});
  const std::vector<std::string> texts = {"{\"a\":1}\n",
                                          "{\"source\":\"old\",\"b\":[1]}"};
  Invocation added = transformer.Invoke(
      Builtin("sluice-builtin-add-field:source=web"), {}, JsonRecords(texts));
  ASSERT_FALSE(added.failure.has_value());
  EXPECT_EQ(added.outcomes[0].data, "{\"a\":1,\"source\":\"web\"}\n");
  EXPECT_EQ(added.outcomes[1].data, "{\"source\":\"web\",\"b\":[1]}");
  Invocation stamped =
      transformer.Invoke(Builtin("sluice-builtin-add-arrival-timestamp:at"), {},
                         JsonRecords(texts));
  EXPECT_EQ(stamped.outcomes[0].data, "{\"a\":1,\"at\":1700000000000}\n");
  EXPECT_EQ(stamped.outcomes[1].data,
            "{\"source\":\"old\",\"b\":[1],\"at\":1700000000001}");
}

TEST(BuiltinTransformTest, MultipliesTwoNumberFields) {
  Transformer transformer({});
  Invocation multiplied = transformer.Invoke(
      Builtin("sluice-builtin-multiply:EXTRA2=fuel_consumption*lap_time"), {},
      JsonRecords({"{\"fuel_consumption\":2,\"lap_time\":80.5}\n",
                   "{\"fuel_consumption\":1.5,\"lap_time\":4,\"EXTRA2\":0}",
                   "{\"fuel_consumption\":\"2\",\"lap_time\":80}",
                   "{\"lap_time\":80}"}));
  ASSERT_FALSE(multiplied.failure.has_value());
  EXPECT_EQ(multiplied.outcomes[0].data,
            "{\"fuel_consumption\":2,\"lap_time\":80.5,\"EXTRA2\":161.0}\n");
  EXPECT_EQ(multiplied.outcomes[1].data,
            "{\"fuel_consumption\":1.5,\"lap_time\":4,\"EXTRA2\":6.0}");
  // A factor that is not a number, or missing, fails the record.
  EXPECT_EQ(multiplied.outcomes[2].result, RecordResult::kProcessingFailed);
  EXPECT_EQ(multiplied.outcomes[3].result, RecordResult::kProcessingFailed);
  EXPECT_EQ(multiplied.outcomes[3].error_message,
            "sluice-builtin-multiply: the record has no number "
            "fuel_consumption");
}

TEST(BuiltinTransformTest, WritesTheNamedFieldsAsOneCsvRow) {
  Transformer transformer({});
  Invocation rows = transformer.Invoke(
      Builtin("sluice-builtin-to-csv:speed,rpm,gear,throttle,EXTRA2"), {},
      JsonRecords({"{\"speed\":231.5,\"rpm\":11800,\"gear\":7,"
                   "\"throttle\":1,\"EXTRA2\":161.0,\"brakes\":0}\n",
                   "{\"gear\":3,\"speed\":190}",
                   "{\"speed\":null,\"rpm\":\"a,\\\"b\\\"\",\"gear\":true,"
                   "\"throttle\":[1,2]}"}));
  ASSERT_FALSE(rows.failure.has_value());
  ASSERT_EQ(rows.outcomes.size(), 3u);
  for (const RecordOutcome& outcome : rows.outcomes) {
    EXPECT_EQ(outcome.result, RecordResult::kOk);
  }
  // Columns in the order named, whatever the record's order; numbers as
  // written in JSON; one newline per row, whether or not the record had one.
  EXPECT_EQ(rows.outcomes[0].data, "231.5,11800,7,1,161.0\n");
  // A missing field is an empty field.
  EXPECT_EQ(rows.outcomes[1].data, "190,,3,,\n");
  // null is empty; text with a comma or quote is quoted (RFC 4180);
  // booleans and arrays as their JSON.
  EXPECT_EQ(rows.outcomes[2].data, ",\"a,\"\"b\"\"\",true,\"[1,2]\",\n");
}

TEST(BuiltinTransformTest, ReadsCsvColumnsFromNestedObjects) {
  Transformer transformer({});
  Invocation rows = transformer.Invoke(
      Builtin("sluice-builtin-to-csv:temperatures.engine,a.b,gear,gear.x"), {},
      JsonRecords({"{\"temperatures\":{\"engine\":104.5},\"a.b\":\"dotted\","
                   "\"a\":{\"b\":\"nested\"},\"gear\":6}"}));
  ASSERT_FALSE(rows.failure.has_value());
  // A top-level field whose name has a dot wins over the path; a path
  // through a non-object is missing.
  EXPECT_EQ(rows.outcomes[0].data, "104.5,dotted,6,\n");
}

TEST(BuiltinTransformTest, FailsCsvRecordsThatAreNotJsonObjects) {
  Transformer transformer({});
  Invocation rows = transformer.Invoke(
      Builtin("sluice-builtin-to-csv:speed"), {},
      JsonRecords({"speed=200", "[200]", "200", "{\"speed\":200}"}));
  ASSERT_FALSE(rows.failure.has_value());
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(rows.outcomes[i].result, RecordResult::kProcessingFailed) << i;
    EXPECT_EQ(rows.outcomes[i].error_code, "Lambda.ProcessingFailed");
    EXPECT_EQ(rows.outcomes[i].error_message,
              "sluice-builtin-to-csv: the record is not a JSON object");
  }
  EXPECT_EQ(rows.outcomes[3].data, "200\n");
}

TEST(BuiltinTransformTest, DropsRecordsWhoseFieldMatches) {
  Transformer transformer({});
  const std::vector<std::string> texts = {
      "{\"level\":\"debug\"}\n", "{\"level\":\"info\"}\n", "{\"n\":42}",
      "{\"other\":1}", "{\"level\":true}"};
  Invocation by_string = transformer.Invoke(
      Builtin("sluice-builtin-drop-if:level=debug"), {}, JsonRecords(texts));
  std::vector<RecordResult> results;
  for (const auto& outcome : by_string.outcomes) {
    results.push_back(outcome.result);
  }
  EXPECT_EQ(results,
            (std::vector<RecordResult>{RecordResult::kDropped,
                                       RecordResult::kOk, RecordResult::kOk,
                                       RecordResult::kOk, RecordResult::kOk}));
  // Kept records are passed on byte for byte.
  EXPECT_EQ(by_string.outcomes[1].data, "{\"level\":\"info\"}\n");
  Invocation by_number = transformer.Invoke(
      Builtin("sluice-builtin-drop-if:n=42"), {}, JsonRecords(texts));
  EXPECT_EQ(by_number.outcomes[2].result, RecordResult::kDropped);
  Invocation by_bool = transformer.Invoke(
      Builtin("sluice-builtin-drop-if:level=true"), {}, JsonRecords(texts));
  EXPECT_EQ(by_bool.outcomes[4].result, RecordResult::kDropped);
  EXPECT_EQ(by_bool.outcomes[0].result, RecordResult::kOk);
}

TEST(BuiltinTransformTest, FailsRecordsThatAreNotJsonObjects) {
  Transformer transformer({});
  Invocation invocation =
      transformer.Invoke(Builtin("sluice-builtin-drop-if:a=b"), {},
                         JsonRecords({"plain text", "[1]", "{\"a\":\"c\"}"}));
  ASSERT_FALSE(invocation.failure.has_value());
  EXPECT_EQ(invocation.outcomes[0].result, RecordResult::kProcessingFailed);
  EXPECT_EQ(invocation.outcomes[0].error_code, "Lambda.ProcessingFailed");
  EXPECT_EQ(invocation.outcomes[0].error_message,
            "sluice-builtin-drop-if: the record is not a JSON object");
  EXPECT_EQ(invocation.outcomes[1].result, RecordResult::kProcessingFailed);
  EXPECT_EQ(invocation.outcomes[2].result, RecordResult::kOk);
}

TEST(TransformerTest, AFunctionWithoutHandlerFailsEveryAttemptThenEveryRecord) {
  Transformer transformer({});  // no handlers directory
  ManualClock clock(1700000009000);
  LambdaProcessor processor = LambdaProcessorFromArn(kArn, 2, 1 << 20).value();
  Result<std::vector<TransformedRecord>> run =
      transformer.Run(processor, {}, Records(), clock);
  ASSERT_THAT(run, IsOk());
  const std::vector<TransformedRecord>& results = *run;
  ASSERT_EQ(results.size(), 2u);
  for (const TransformedRecord& result : results) {
    EXPECT_EQ(result.outcome.result, RecordResult::kProcessingFailed);
    EXPECT_EQ(result.outcome.error_code, "Lambda.ResourceNotFound");
    EXPECT_EQ(result.attempts_made, 3);  // 1 + NumberOfRetries
    EXPECT_EQ(result.attempt_ending_millis, 1700000009000);
  }
  EXPECT_EQ(ErrorRecordLine(results[1], Records()[1], kArn),
            R"({"attemptsMade":3,"arrivalTimestamp":1700000000456,)"
            R"("errorCode":"Lambda.ResourceNotFound","errorMessage":"Function )"
            R"(not found: arn:aws:lambda:us-east-1:000000000000:function:)"
            R"x(my-transform (Sluice runs <lambda handlers dir>/my-transform )x"
            R"x(and no --lambda-handlers-dir is set)",)x"
            R"("attemptEndingTimestamp":1700000009000,"rawData":"AP8=",)"
            R"("lambdaArn":"arn:aws:lambda:us-east-1:000000000000:function:)"
            R"(my-transform"})");
}

TEST(TransformerTest, ACancelledTransformerGivesNoOutcomeToHandlerRecords) {
  Transformer transformer({});
  ManualClock clock(1700000009000);
  transformer.Cancel();
  Result<std::vector<TransformedRecord>> run = transformer.Run(
      LambdaProcessorFromArn(kArn, 3, 1 << 20).value(), {}, Records(), clock);
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), ErrorCode::kServiceUnavailable);
  EXPECT_EQ(run.status().message(),
            "Delivery stopped while " + std::string(kArn) +
                " was running; the object is delivered later.");
  // Built-ins run in-process and finish at once: cancelling spares them.
  EXPECT_THAT(transformer.Run(Builtin("sluice-builtin-drop-if:a=b"), {},
                              JsonRecords({"{}"}), clock),
              IsOk());
  transformer.Resume();
  EXPECT_THAT(transformer.Run(LambdaProcessorFromArn(kArn, 0, 1 << 20).value(),
                              {}, Records(), clock),
              IsOk());  // the function fails, but the run completes
}

TEST(TransformerTest, ApplySplitsObjectsIntoOkAndErrorBytes) {
  Transformer transformer({});
  ManualClock clock(1700000009000);
  Result<TransformedObject> applied = transformer.Apply(
      Builtin("sluice-builtin-drop-if:drop=yes"), {},
      JsonRecords({"{\"drop\":\"yes\"}", "{\"drop\":\"no\"}", "oops"}),
      /*append_delimiter=*/true, clock);
  ASSERT_THAT(applied, IsOk());
  const TransformedObject& object = *applied;
  EXPECT_EQ(object.body, "{\"drop\":\"no\"}\n");
  EXPECT_EQ(object.body_records, 1u);
  EXPECT_EQ(object.error_records, 1u);
  EXPECT_EQ(object.errors,
            R"({"attemptsMade":1,"arrivalTimestamp":1700000000002,)"
            R"("errorCode":"Lambda.ProcessingFailed","errorMessage":)"
            R"("sluice-builtin-drop-if: the record is not a JSON object",)"
            R"("attemptEndingTimestamp":1700000009000,"rawData":"b29wcw==",)"
            R"("lambdaArn":"arn:aws:lambda:us-east-1:000000000000:function:)"
            R"(sluice-builtin-drop-if:drop=yes"})"
            "\n");
}

}  // namespace
}  // namespace sluice::firehose
