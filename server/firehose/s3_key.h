// Firehose's S3 object keys, as AWS builds them: the Prefix and
// ErrorOutputPrefix grammar (`!{timestamp:<pattern>}`,
// `!{firehose:random-string}`, `!{firehose:error-output-type}`), the rules
// CreateDeliveryStream applies to them, the object name
// `<name>-<version>-yyyy-MM-dd-HH-mm-ss-<uuid><extension>`, and the mapping of
// a key to a file under its bucket directory that no key can escape.
// Pure functions; any thread.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"

namespace sluice::firehose {

// The prefix AWS uses, and appends to a Prefix without a timestamp
// expression.
inline constexpr std::string_view kDefaultTimestampPattern = "yyyy/MM/dd/HH/";
// Neither prefix may be longer than this once evaluated.
inline constexpr size_t kMaxEvaluatedPrefixLength = 512;

// Formats `millis` (UTC) with a Java DateTimeFormatter pattern. Supported
// letters: y u (year), M L (month: M, MM, MMM, MMMM), d, D (day of year), H,
// h, k, K, m, s, S (fraction), E (day name), a (AM/PM); 'quoted' text and ''
// for a quote; other non-letters are literal. kInvalidArgument naming the
// letter for any other letter.
Result<std::string> FormatTimestamp(std::string_view pattern,
                                    EpochMillis millis);

// AWS's create-time rules for an S3 destination's prefixes (null and empty
// are the same): `!{` only opens a well-formed expression of a known
// namespace; timestamp patterns must be valid; a Prefix with expressions
// needs an ErrorOutputPrefix; an ErrorOutputPrefix must contain
// `!{firehose:error-output-type}` when it has expressions; a Prefix may not.
// Dynamic-partitioning namespaces are refused: Sluice does not support them.
Status ValidatePrefixes(std::string_view prefix,
                        std::string_view error_output_prefix);

// What an object's key is evaluated with. `random_string` is called once per
// `!{firehose:random-string}`.
struct KeyContext {
  EpochMillis first_arrival = 0;  // the oldest record in the object
  std::function<std::string()> random_string;
};

// The evaluated Prefix of a delivered object: its expressions replaced, and
// the default timestamp prefix appended when it has no timestamp expression.
// REQUIRES: `prefix` passed ValidatePrefixes().
Result<std::string> EvaluatePrefix(std::string_view prefix,
                                   const KeyContext& context);

// The evaluated prefix of an object of failed records: ErrorOutputPrefix with
// `error_output_type` for its expression or, when there is none,
// "<Prefix><error_output_type>/yyyy/MM/dd/HH/".
Result<std::string> EvaluateErrorPrefix(std::string_view prefix,
                                        std::string_view error_output_prefix,
                                        std::string_view error_output_type,
                                        const KeyContext& context);

// "<name>-<version>-yyyy-MM-dd-HH-mm-ss-<uuid><extension>", the time being
// `first_arrival` in UTC.
std::string ObjectName(std::string_view stream_name, int64_t version_id,
                       EpochMillis first_arrival, std::string_view uuid,
                       std::string_view extension);

// 11 characters of [a-zA-Z0-9], as `!{firehose:random-string}` gives.
std::string RandomString();

// The file that holds S3 key `key` under `bucket_dir`. An S3 key is any
// string, a path is not: segments "." and ".." become "%2E" and "%2E%2E",
// empty segments (a leading "/", "//") become "%2F", and NUL becomes "%00",
// so the result always lies strictly inside `bucket_dir`.
std::filesystem::path ObjectPath(const std::filesystem::path& bucket_dir,
                                 std::string_view key);

}  // namespace sluice::firehose
