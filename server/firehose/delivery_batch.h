// What the delivery paths share about one planned batch of records: reading
// it back from the delivery stream's log, and writing the records that could
// not be delivered to the error output as AWS does (one JSON document per
// record, under ErrorOutputPrefix with `!{firehose:error-output-type}`, or
// "<Prefix><error-output-type>/yyyy/MM/dd/HH/" without one). Used by the
// HTTP endpoint delivery (http_delivery.h); meant for every error output
// (processing-failed too). Any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "server/firehose/destination.h"
#include "server/storage/file_ops.h"
#include "server/storage/shard_log.h"

namespace sluice::firehose {

// A record as Firehose delivers it: a record of the delivery stream's log
// or, for a Kinesis source, one user record of a KPL aggregated record in it
// (Firehose de-aggregates what it reads from Kinesis; aws-behaviour.md 5).
struct DeliveryRecord {
  uint64_t offset = 0;  // in the delivery stream's log
  EpochMillis arrival_millis = 0;
  // The log record's partition key: "<shard index>:<offset>" of the source
  // record for a Kinesis source (kinesis_source.h).
  std::string origin;
  std::string data;
  // A user record of an aggregate: its place in it and its own key.
  std::optional<uint32_t> subsequence;
  std::string user_partition_key;
};

struct DeliveryRange {
  std::vector<DeliveryRecord> records;
  uint64_t log_bytes = 0;  // data bytes of the log records (as buffered)
};

// Records [from, to) of `log`, in order; with `deaggregate`, a KPL
// aggregated record becomes its user records (anything else stays as it
// is). kInternalFailure when a record is gone.
Result<DeliveryRange> ReadDeliveryRecords(storage::ShardLog& log, uint64_t from,
                                          uint64_t to, bool deaggregate);

// One record that failed, with why (AWS's error-record fields).
struct ErrorRecord {
  int64_t attempts_made = 0;
  EpochMillis arrival = 0;
  std::string error_code;
  std::string error_message;
  EpochMillis attempt_ending = 0;
  std::string raw_data;                   // the record as received
  std::optional<std::string> lambda_arn;  // for processing failures
};

// The error object's body: per record {"attemptsMade", "arrivalTimestamp",
// "errorCode", "errorMessage", "attemptEndingTimestamp", "rawData" (base64)
// [, "lambdaArn"]}, each followed by a newline.
std::string ErrorRecordDocuments(std::span<const ErrorRecord> records);

// The key of an error object of `error_output_type` for records whose oldest
// arrived at `first_arrival`: the evaluated error prefix and the usual object
// name, with the destination's compression suffix.
Result<std::string> ErrorObjectKey(const S3Destination& destination,
                                   std::string_view error_output_type,
                                   std::string_view stream_name,
                                   int64_t version_id,
                                   EpochMillis first_arrival);

// Compresses `body` as the destination says and writes it durably as `key`
// under `bucket_dir` (object_writer.h).
Status WriteArchiveObject(const std::filesystem::path& bucket_dir,
                          const S3Destination& destination,
                          std::string_view key, std::string body,
                          storage::FileOps& ops);

}  // namespace sluice::firehose
