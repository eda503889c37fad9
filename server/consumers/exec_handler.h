// The `exec` handler: runs the user's program once per batch with the exact
// event a Lambda function receives from a Kinesis event source on stdin,
// and reads the function's response from its stdout.
//
//   {"type": "exec", "command": ["python3", "handler.py"],
//    "timeout_seconds": 60}
//
// The response: nothing, `null`, or a JSON object. With
// {"batchItemFailures": [{"itemIdentifier": "<sequence number>"}, ...]} it
// reports failed items (acted on when the consumer has
// FunctionResponseTypes ["ReportBatchItemFailures"]). A crash, a non-zero
// exit, the timeout, or a response that is not JSON is a function error
// ("Unhandled"), subject to retries and bisecting.
#pragma once

#include <memory>
#include <string>

#include "server/consumers/handler.h"

namespace sluice::consumers {

inline constexpr int64_t kDefaultExecTimeoutSeconds = 60;
inline constexpr int64_t kMaxExecTimeoutSeconds = 900;  // Lambda's maximum

// The Lambda Kinesis event for `batch`:
// {"Records": [{"kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey",
// "sequenceNumber", "data" (base64), "approximateArrivalTimestamp" (epoch
// seconds with milliseconds)}, "eventSource": "aws:kinesis",
// "eventVersion": "1.0", "eventID": "<shard id>:<sequence number>",
// "eventName": "aws:kinesis:record", "invokeIdentityArn", "awsRegion",
// "eventSourceARN"}, ...]}
std::string KinesisEventJson(const Batch& batch, std::string_view region,
                             std::string_view invoke_identity_arn);

// A function's response (stdout) as a HandlerResult: empty or `null` is
// success; an object's batchItemFailures become failed items (an item whose
// itemIdentifier is missing, empty or not a string fails the whole batch);
// text that is not JSON is a function error.
HandlerResult ParseFunctionResponse(std::string_view response);

Result<std::unique_ptr<Handler>> MakeExecHandler(const HandlerSpec& spec);

}  // namespace sluice::consumers
