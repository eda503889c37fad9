// What a consumer is: its source stream, its handler and the settings of a
// Lambda event-source mapping for Kinesis (aws-behaviour.md section 4), as
// one JSON object. The same object is a "consumers" item of the config file,
// the body of SluiceAdmin.CreateConsumer, and what the catalog stores.
//
//   {"ConsumerName": "orders", "StreamName": "events",  (or
//    "DeliveryStreamName": "raw-events", a delivery stream's log as one shard)
//    "Handler": {"type": "exec", "command": ["python3", "handler.py"]},
//    "StartingPosition": "TRIM_HORIZON", "BatchSize": 100,
//    "MaximumBatchingWindowInSeconds": 0, "ParallelizationFactor": 1,
//    "MaximumRetryAttempts": -1, "MaximumRecordAgeInSeconds": -1,
//    "BisectBatchOnFunctionError": false,
//    "FunctionResponseTypes": ["ReportBatchItemFailures"],
//    "DestinationConfig": {"OnFailure": {"Destination": "file:failed.jsonl"}}}
#pragma once

#include <cstdint>
#include <string>

#include "common/clock.h"
#include "common/json.h"
#include "common/status.h"

namespace sluice::consumers {

// AWS's ranges, each checked on both sides in consumer_definition_test.cc.
inline constexpr int64_t kMinBatchSize = 1;
inline constexpr int64_t kMaxBatchSize = 10000;
inline constexpr int64_t kDefaultBatchSize = 100;
inline constexpr int64_t kMaxBatchingWindowSeconds = 300;
inline constexpr int64_t kMaxParallelizationFactor = 10;
inline constexpr int64_t kMaxRetryAttempts = 10000;
inline constexpr int64_t kMinRecordAgeSeconds = 60;
inline constexpr int64_t kMaxRecordAgeSeconds = 604800;
// Lambda's payload limit: a batch stops before the record that passes it.
inline constexpr size_t kMaxBatchBytes = 6u << 20;
inline constexpr size_t kMaxConsumerNameLength = 64;

enum class StartingPosition { kTrimHorizon, kLatest, kAtTimestamp };

// Where a batch that ran out of retries or age is reported.
struct OnFailureDestination {
  enum class Kind { kNone, kStream, kFile };
  Kind kind = Kind::kNone;
  std::string destination;  // as given: the ARN or "file:<path>"
  // kStream: the stream's ARN parts.
  std::string stream_region;
  std::string stream_account_id;
  std::string stream_name;
  // kFile: a relative path, no "..", resolved under the consumer root.
  std::string file_path;
};

struct ConsumerDefinition {
  std::string name;
  // The source: a Kinesis stream, or ("DeliveryStreamName") a Firehose
  // delivery stream's own record log, read as one shard. Exactly one is set.
  std::string stream_name;
  std::string delivery_stream_name;
  std::string handler_type;
  std::string handler_json;  // the "Handler" object, as JSON text
  StartingPosition starting_position = StartingPosition::kTrimHorizon;
  EpochMillis starting_timestamp = 0;  // kAtTimestamp only
  int64_t batch_size = kDefaultBatchSize;
  int64_t batching_window_seconds = 0;
  int64_t parallelization_factor = 1;
  int64_t maximum_retry_attempts = -1;      // -1: until the records expire
  int64_t maximum_record_age_seconds = -1;  // -1: no limit
  bool bisect_on_function_error = false;
  bool report_batch_item_failures = false;
  OnFailureDestination on_failure;

  // The definition as a CreateConsumer request with every setting spelled
  // out (defaults included): what the catalog stores and Describe shows.
  std::string ToJson() const;
};

// Reads and checks a CreateConsumer request. Unknown members, wrong types
// and values out of AWS's ranges are errors naming the setting:
// kValidation "1 validation error detected: Value '20000' at 'batchSize'
// failed to satisfy constraint: Member must have value less than or equal
// to 10000" for the model's ranges, kInvalidArgument for Lambda's own rules
// (MaximumRecordAgeInSeconds, a missing StartingPositionTimestamp, an
// unknown handler type). The handler's own settings are checked by its
// factory when the consumer starts.
Result<ConsumerDefinition> ParseConsumerDefinition(const json::Value& request);
// The same from JSON text.
Result<ConsumerDefinition> ParseConsumerDefinition(std::string_view text);

std::string_view ToString(StartingPosition position);

}  // namespace sluice::consumers
