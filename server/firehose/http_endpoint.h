// A delivery stream's HTTP endpoint destination
// (HttpEndpointDestinationConfiguration): read and checked, stored, merged by
// UpdateDestination, described as HttpEndpointDestinationDescription; and the
// request Firehose POSTs to the endpoint and the answer it accepts
// (AWS's "HTTP endpoint delivery request and response specifications").
//
// An HTTP endpoint stream's S3Destination describes its S3Configuration (the
// backup bucket: Prefix, ErrorOutputPrefix, CompressionFormat), except that
// its buffering hints and AppendDelimiterToRecord are the HTTP endpoint's, so
// the delivery engine plans requests like objects. `http_endpoint` holds the
// rest. Pure functions; any thread. The sending is http_delivery.h's.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/codec.h"
#include "common/json.h"
#include "common/status.h"
#include "server/firehose/destination.h"

namespace sluice::firehose {

inline constexpr int64_t kDefaultHttpBufferSizeMb = 5;
inline constexpr int64_t kDefaultHttpBufferIntervalSeconds = 300;
inline constexpr int64_t kDefaultHttpRetrySeconds = 300;
// `!{firehose:error-output-type}` of records the endpoint never took.
inline constexpr std::string_view kHttpEndpointErrorOutputType =
    "http-endpoint-failed";

// Where requests go: the parts of an http:// or https:// URL.
struct HttpEndpointUrl {
  bool tls = false;  // https://
  std::string host;
  std::string port;    // 80 or 443 when the URL names none
  std::string target;  // path and query, "/" when empty
};

// http[s]://host[:port][/path][?query]; kInvalidArgument for anything else.
Result<HttpEndpointUrl> ParseHttpEndpointUrl(std::string_view url);

struct HttpEndpointDestination {
  std::string url;
  HttpEndpointUrl endpoint;
  std::optional<std::string> name;
  std::optional<std::string> access_key;
  std::string content_encoding = "NONE";  // or GZIP
  std::vector<std::pair<std::string, std::string>> common_attributes;
  int64_t retry_seconds = kDefaultHttpRetrySeconds;
  std::string s3_backup_mode = "FailedDataOnly";  // or AllData
  std::optional<std::string> role_arn;
  std::string cloudwatch_json;
  std::optional<std::string> processing_json;
  // The S3Configuration's own buffering hints: described, not used (backup
  // objects are written when a request's fate is known).
  int64_t backup_size_mb = kDefaultBufferSizeMb;
  int64_t backup_interval_seconds = kDefaultBufferIntervalSeconds;

  bool BackupAllData() const { return s3_backup_mode == "AllData"; }
};

// Reads a model-validated HttpEndpointDestinationConfiguration and checks
// what the model does not: the URL, the backup bucket and prefixes, the
// processors Sluice runs, the fields it cannot honour (kInvalidArgument).
Result<S3Destination> ParseHttpEndpointDestination(const json::Value& config);

// The stored form: {"HttpEndpoint": true, "Configuration": {...as given...}}.
std::string StoreHttpEndpointDestination(const json::Value& config);
// Whether a parsed stored form is an HTTP endpoint's.
bool IsHttpEndpointStored(const json::Value& stored);

// UpdateDestination with HttpEndpointDestinationUpdate: on an HTTP endpoint
// stream its members replace the stored ones (BufferingHints, RetryOptions,
// RequestConfiguration and S3Update member by member); on another stream
// the update replaces the destination and must be complete. Returns the new
// stored form and its parsed destination.
Result<std::pair<std::string, S3Destination>> MergeHttpEndpointDestination(
    std::string_view stored, const json::Value& update);

// The members of a "Destinations" entry after DestinationId:
// "HttpEndpointDestinationDescription" (the access key is never shown).
// REQUIRES: dest.http_endpoint.
void WriteHttpEndpointDescription(Encoder& out, const S3Destination& dest);

// One POST to the endpoint.
struct HttpEndpointRequest {
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// {"requestId", "timestamp", "records": [{"data": base64}]} with the
// X-Amz-Firehose-* headers, gzipped when ContentEncoding is GZIP.
Result<HttpEndpointRequest> BuildHttpEndpointRequest(
    const HttpEndpointDestination& dest, std::string_view source_arn,
    std::string_view request_id, EpochMillis timestamp,
    std::span<const std::string> records);

// Why an attempt failed, as the error records name it.
struct HttpEndpointFailure {
  std::string error_code;  // e.g. "HttpEndpoint.DestinationException"
  std::string message;
};

// The endpoint's answer accepted, or why not: anything but a 200 whose JSON
// body has the request's requestId and a numeric timestamp is a failure.
std::optional<HttpEndpointFailure> CheckHttpEndpointResponse(
    int status, std::string_view body, std::string_view request_id);

}  // namespace sluice::firehose
