// Firehose data transformation: the `Lambda` processor of a destination's
// ProcessingConfiguration, run in-process. LambdaArn's function name picks
// the transform: `sluice-builtin-*` names a built-in one (add a field, drop
// by a predicate, multiply two fields, turn a record into a CSV row), any
// other name a handler program,
// `<lambda handlers dir>/<function name>`, that reads the exact Firehose
// transform event on stdin and writes the exact response on stdout.
//
// Here: reading and checking the processor (ParseLambdaProcessor), the event
// and response shapes (BuildTransformEvent, ParseTransformResponse), one
// invocation (Transformer::Invoke), a batch with retries (Transformer::Run)
// and the error record written for a failed one (ErrorRecordLine).
//
// Transformer is immutable once built and thread-safe. Invoke and Run block
// for as long as a handler runs (up to the timeout per attempt): call them
// from the delivery engine's thread or a worker, never an I/O thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/json.h"
#include "common/status.h"

namespace sluice::firehose {

inline constexpr int64_t kDefaultLambdaRetries = 3;
inline constexpr int64_t kMaxLambdaRetries = 300;
inline constexpr uint64_t kDefaultLambdaBufferBytes = 1u << 20;  // 1 MB
inline constexpr double kMinLambdaBufferMb = 0.2;
inline constexpr double kMaxLambdaBufferMb = 3;
inline constexpr int64_t kDefaultLambdaIntervalSeconds = 60;
inline constexpr int64_t kMaxLambdaIntervalSeconds = 900;
// `!{firehose:error-output-type}` of records a transform failed.
inline constexpr std::string_view kProcessingFailedOutputType =
    "processing-failed";
// The prefix of the function names of Sluice's built-in transforms.
inline constexpr std::string_view kBuiltinPrefix = "sluice-builtin-";

// Where handler programs live and how long one may run. From the config
// file (firehose.lambda_handlers_dir, firehose.lambda_timeout_seconds) or
// the flags of the same names.
struct LambdaOptions {
  // Function F runs the executable <handlers_dir>/F. Empty: only built-in
  // transforms exist.
  std::string handlers_dir;
  std::chrono::milliseconds timeout{60'000};

  friend bool operator==(const LambdaOptions&, const LambdaOptions&) = default;
};

// A checked Lambda processor.
struct LambdaProcessor {
  std::string lambda_arn;
  std::string function_name;  // the ARN's name after "function:"
  // What follows the name after a ':' (a qualifier; a built-in's argument).
  std::string qualifier;
  int64_t number_of_retries = kDefaultLambdaRetries;
  // Input data per invocation (BufferSizeInMBs).
  uint64_t buffer_bytes = kDefaultLambdaBufferBytes;
  int64_t buffer_interval_seconds = kDefaultLambdaIntervalSeconds;

  friend bool operator==(const LambdaProcessor&,
                         const LambdaProcessor&) = default;
};

// Reads a processor of Type Lambda (its shape already checked against the
// model): Parameters LambdaArn (required), NumberOfRetries 0-300,
// BufferSizeInMBs 0.2-3, BufferIntervalInSeconds 0-900, RoleArn; each at
// most once. A parameter Lambda does not take, a bad value, a malformed ARN
// or an unknown or badly argued built-in is kInvalidArgument naming it.
Result<LambdaProcessor> ParseLambdaProcessor(const json::Value& processor);

// The processor from the parts a delivery plan keeps (arn, retries, buffer).
Result<LambdaProcessor> LambdaProcessorFromArn(std::string_view lambda_arn,
                                               int64_t number_of_retries,
                                               uint64_t buffer_bytes);

// kinesisRecordMetadata of a record from a Kinesis source.
struct KinesisRecordMetadata {
  std::string shard_id;
  // Empty when the source record is no longer in its shard (trimmed, or the
  // stream deleted): then only shardId and the arrival time are sent.
  std::string partition_key;
  std::string sequence_number;
  // A user record's place in its KPL aggregate; 0 for a whole record.
  uint32_t subsequence_number = 0;
};

// One record as the transform sees it.
struct TransformRecord {
  std::string record_id;  // unique in its invocation
  EpochMillis arrival_millis = 0;
  std::string_view data;                         // the record as received
  std::optional<KinesisRecordMetadata> kinesis;  // Kinesis source only
};

// What the event says besides its records.
struct TransformContext {
  std::string delivery_stream_arn;
  std::string region;
  std::optional<std::string> source_stream_arn;  // Kinesis source only
};

// {"invocationId", "deliveryStreamArn", "sourceKinesisStreamArn"?, "region",
//  "records": [{"recordId", "approximateArrivalTimestamp" (epoch ms),
//  "data" (base64), "kinesisRecordMetadata"?}]}
std::string BuildTransformEvent(std::string_view invocation_id,
                                const TransformContext& context,
                                const std::vector<TransformRecord>& records);

enum class RecordResult { kOk, kDropped, kProcessingFailed };

// What became of one record.
struct RecordOutcome {
  RecordResult result = RecordResult::kOk;
  std::string data;  // kOk: the new data (decoded)
  // kProcessingFailed: errorCode and errorMessage of its error record.
  std::string error_code;
  std::string error_message;
};

// Why an invocation failed as a whole (errorCode / errorMessage).
struct InvocationFailure {
  std::string code;
  std::string message;
};

// The outcome of one invocation: one outcome per record, in event order, or
// a failure of the whole invocation.
struct Invocation {
  std::vector<RecordOutcome> outcomes;
  std::optional<InvocationFailure> failure;
  // Cancel() stopped it: neither a success nor a failure of the function.
  bool cancelled = false;
};

// Reads {"records": [{"recordId", "result", "data"}]}: every recordId of
// `records` exactly once (any order), result Ok (with base64 data),
// Dropped or ProcessingFailed. Anything else fails the invocation: bad JSON,
// a missing, unknown or repeated recordId, a bad result, Ok without data.
Invocation ParseTransformResponse(std::string_view response,
                                  const std::vector<TransformRecord>& records);

// A record after its transform, with retries: kOk and kDropped as the
// handler said; kProcessingFailed when the handler said so or when every
// attempt failed (then error_code/error_message are the last failure's).
struct TransformedRecord {
  RecordOutcome outcome;
  int64_t attempts_made = 0;
  EpochMillis attempt_ending_millis = 0;
};

// An object's records after the transform: the bytes of the object (Ok
// records' data, each followed by a newline with AppendDelimiterToRecord)
// and of its error object (one ErrorRecordLine and a newline per failed
// record).
struct TransformedObject {
  std::string body;
  std::string errors;
  uint64_t body_records = 0;
  uint64_t error_records = 0;
};

// Runs Lambda processors. Owned by the DeliveryEngine; any thread may call
// it (each call blocks, see above). Cancel() makes running and later
// handler invocations end at once, for a prompt shutdown.
class Transformer {
 public:
  explicit Transformer(LambdaOptions options) : options_(std::move(options)) {}

  // Kills running handler programs and refuses to start more (built-ins
  // still run) until Resume().
  void Cancel() { cancelled_.store(true); }
  void Resume() { cancelled_.store(false); }

  // One invocation of the processor's function on `records`.
  Invocation Invoke(const LambdaProcessor& processor,
                    const TransformContext& context,
                    const std::vector<TransformRecord>& records) const;

  // Invokes until one invocation succeeds or 1 + NumberOfRetries have
  // failed. Returns one entry per record, in order. `clock` stamps
  // attemptEndingTimestamp. kServiceUnavailable when cancelled: the
  // records have no outcome, and their object must be redone later.
  Result<std::vector<TransformedRecord>> Run(
      const LambdaProcessor& processor, const TransformContext& context,
      const std::vector<TransformRecord>& records, const Clock& clock) const;

  // Runs `records` through the processor in invocations of at most
  // BufferSizeInMBs of data each (at least one record each), with Run.
  Result<TransformedObject> Apply(const LambdaProcessor& processor,
                                  const TransformContext& context,
                                  const std::vector<TransformRecord>& records,
                                  bool append_delimiter,
                                  const Clock& clock) const;

 private:
  Invocation RunHandler(const LambdaProcessor& processor,
                        const TransformContext& context,
                        const std::vector<TransformRecord>& records) const;

  const LambdaOptions options_;
  std::atomic<bool> cancelled_{false};
};

// One line of an error object (without its newline): {"attemptsMade",
// "arrivalTimestamp", "errorCode", "errorMessage", "attemptEndingTimestamp",
// "rawData" (base64 of the record as received), "lambdaArn"}.
std::string ErrorRecordLine(const TransformedRecord& record,
                            const TransformRecord& input,
                            std::string_view lambda_arn);

}  // namespace sluice::firehose
