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

// Records [from, to) of `log`, in order. kInternalFailure when one is gone.
Result<std::vector<storage::StoredRecord>> ReadLogRange(storage::ShardLog& log,
                                                        uint64_t from,
                                                        uint64_t to);

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
