// Delivery of one planned batch to an HTTP endpoint destination, as Firehose
// does it: one POST of the batch; a failed attempt is retried, backing off,
// until RetryOptions.DurationInSeconds has passed since the first attempt
// (by the injectable clock); then the records go to the backup bucket as
// error records under the error output type "http-endpoint-failed". With
// S3BackupMode AllData every batch is also copied to the backup bucket under
// its Prefix.
//
// The batch's progress (request id, attempts, the failure once final) lives
// in the delivery plan, saved before each step that depends on it, so a
// restart resends the same request id (the endpoint may see a request twice:
// at least once, as with AWS) and writes backup objects under the same keys.
// Runs on the delivery engine's thread or a flush's, never an I/O thread.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "server/firehose/destination.h"
#include "server/firehose/http_endpoint.h"
#include "server/storage/file_ops.h"
#include "server/storage/shard_log.h"

namespace sluice::firehose {

// How long one request may take (connect, send, answer). AWS waits 3
// minutes; Sluice less, so that a silent endpoint cannot hold shutdown long.
inline constexpr std::chrono::milliseconds kHttpEndpointTimeout{30000};
// The longest wait between two attempts.
inline constexpr std::chrono::milliseconds kMaxHttpRetryDelay{30000};

struct HttpDeliveryState {
  std::string request_id;         // the same for every attempt
  EpochMillis first_attempt = 0;  // 0 until an attempt failed
  int64_t attempts = 0;           // failed attempts so far
  // Set once retries are over: the batch goes to the error output at
  // `error_key`.
  std::optional<HttpEndpointFailure> failure;
  EpochMillis attempt_ending = 0;
  std::string error_key;

  static HttpDeliveryState New();  // a fresh request id
  std::string ToJson() const;
  static Result<HttpDeliveryState> FromJson(std::string_view json);
};

// The wait after `attempts` failed attempts: `base` doubled per attempt, at
// most kMaxHttpRetryDelay.
std::chrono::milliseconds HttpRetryDelay(int64_t attempts,
                                         std::chrono::milliseconds base);

struct HttpBatch {
  const S3Destination& destination;  // with http_endpoint set
  std::string_view stream_name;
  int64_t version_id = 0;
  std::string_view stream_arn;                     // X-Amz-Firehose-Source-Arn
  std::span<const storage::StoredRecord> records;  // not empty
  std::filesystem::path bucket_dir;  // the backup bucket's directory
  std::string_view all_data_key;     // the AllData copy's key
};

struct HttpDeliveryEnv {
  const Clock& clock;
  storage::FileOps& file_ops;
  std::chrono::milliseconds base_retry_delay;
  std::chrono::milliseconds timeout = kHttpEndpointTimeout;
  // Saves `state` in the plan (the catalog) before it is relied on.
  std::function<Status(const HttpDeliveryState&)> save;
};

struct HttpBatchOutcome {
  // Delivered, or written to the error output: the checkpoint may move.
  bool finished = false;
  // When not finished: the failed attempt, and when to try again.
  Status failure = Status::Ok();
  EpochMillis retry_at = 0;
  // Objects written to the backup bucket (error records, AllData copy).
  std::vector<std::string> backup_keys;
};

// One step of the batch: an attempt (unless retries are already over), then,
// once its fate is known, the backup objects. A non-OK Result is a local
// failure (catalog, disk) to retry as the engine retries any.
Result<HttpBatchOutcome> DeliverHttpBatch(const HttpBatch& batch,
                                          const HttpDeliveryEnv& env,
                                          HttpDeliveryState& state);

}  // namespace sluice::firehose
