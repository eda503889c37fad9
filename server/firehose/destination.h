// A delivery stream's S3 destination: ExtendedS3DestinationConfiguration (or
// the older S3DestinationConfiguration) read, checked against what AWS and
// Sluice accept, and written back as DescribeDeliveryStream shows it. The
// catalog keeps the configuration as given (JSON text); Parse() fills in the
// defaults each time it is read, so an update merges into what the user
// actually said.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/codec.h"
#include "common/json.h"
#include "common/status.h"
#include "server/firehose/transform.h"

namespace sluice::firehose {

inline constexpr int64_t kDefaultBufferSizeMb = 5;
inline constexpr int64_t kDefaultBufferIntervalSeconds = 300;
// The only destination a delivery stream has.
inline constexpr std::string_view kDestinationId = "destinationId-000000000001";

struct HttpEndpointDestination;  // http_endpoint.h

struct S3Destination {
  bool extended = true;  // ExtendedS3 (else the legacy S3 configuration)
  std::string role_arn;
  std::string bucket_arn;
  std::string bucket;  // the bucket name from BucketARN
  std::optional<std::string> prefix;
  std::optional<std::string> error_output_prefix;
  int64_t size_mb = kDefaultBufferSizeMb;
  int64_t interval_seconds = kDefaultBufferIntervalSeconds;
  std::string compression = "UNCOMPRESSED";  // compression.h
  // Echoed as given (JSON text), with AWS's defaults when absent.
  std::string encryption_json;
  std::string cloudwatch_json;
  std::optional<std::string> processing_json;
  // ProcessingConfiguration holds an enabled AppendDelimiterToRecord.
  bool append_delimiter = false;
  // ProcessingConfiguration holds an enabled Lambda processor (transform.h).
  std::optional<LambdaProcessor> lambda;
  std::string s3_backup_mode = "Disabled";
  std::optional<std::string> file_extension;
  std::optional<std::string> custom_time_zone;
  // Set for an HttpEndpoint destination, whose records go to the endpoint;
  // the fields above then describe its S3Configuration (http_endpoint.h).
  std::shared_ptr<const HttpEndpointDestination> http_endpoint;

  // The object name suffix: FileExtension if set, else the compression's.
  std::string Extension() const;
  uint64_t SizeBytes() const { return static_cast<uint64_t>(size_mb) << 20; }
};

// Reads a model-validated configuration object and checks the rules beyond
// the model: bucket name, prefixes (s3_key.h), and the features Sluice does
// not honour yet, each refused by name (kInvalidArgument).
Result<S3Destination> ParseS3Destination(const json::Value& config,
                                         bool extended);

// A ProcessingConfiguration: echoed as given into `dest.processing_json`;
// the processors Sluice runs set their fields of `dest`, the others are
// refused by name (kInvalidArgument).
Status ParseProcessingConfiguration(const json::Value& processing,
                                    S3Destination& dest);

// The stored form: {"Extended": bool, "Configuration": {...as given...}}
// (an HttpEndpoint destination's: http_endpoint.h).
std::string StoreDestination(const json::Value& config, bool extended);
Result<S3Destination> LoadDestination(std::string_view stored);

// UpdateDestination: the update's members replace the stored ones
// (BufferingHints member by member); the result is parsed again as a whole.
// Returns the new stored form and its parsed destination.
Result<std::pair<std::string, S3Destination>> MergeDestination(
    std::string_view stored, const json::Value& update, bool extended_update);

// Writes the members of one entry of "Destinations" after DestinationId:
// "S3DestinationDescription" and "ExtendedS3DestinationDescription" (an
// HttpEndpoint destination's: http_endpoint.h).
void WriteDestinationDescription(Encoder& out, const S3Destination& dest);
// The members of an S3DestinationDescription (`extended`: of an
// ExtendedS3DestinationDescription), inside an object the caller opened.
void WriteS3DescriptionMembers(Encoder& out, const S3Destination& dest,
                               bool extended);

// Any JSON value through an Encoder, as it is.
void WriteJson(Encoder& out, const json::Value& value);
std::string SerializeJson(const json::Value& value);

}  // namespace sluice::firehose
