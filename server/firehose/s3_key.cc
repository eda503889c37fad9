#include "server/firehose/s3_key.h"

#include <time.h>

#include <array>
#include <cstdio>
#include <random>
#include <vector>

namespace sluice::firehose {
namespace {

constexpr std::array<std::string_view, 12> kMonthNames = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};
constexpr std::array<std::string_view, 7> kDayNames = {
    "Sunday",   "Monday", "Tuesday", "Wednesday",
    "Thursday", "Friday", "Saturday"};

// The longest file name Linux file systems take (NAME_MAX).
constexpr size_t kMaxSegmentBytes = 255;

Status Invalid(std::string message) {
  return Status(ErrorCode::kInvalidArgument, std::move(message));
}

bool IsLetter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// `value` in decimal, zero-padded to `width`.
std::string Padded(int64_t value, size_t width) {
  std::string digits = std::to_string(value);
  if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
  return digits;
}

struct CivilTime {
  struct tm tm {};
  int millis = 0;
};

CivilTime ToCivil(EpochMillis millis) {
  CivilTime out;
  int64_t seconds = millis / 1000;
  int64_t rest = millis % 1000;
  if (rest < 0) {
    rest += 1000;
    --seconds;
  }
  time_t t = static_cast<time_t>(seconds);
  gmtime_r(&t, &out.tm);
  out.millis = static_cast<int>(rest);
  return out;
}

// One run of the same pattern letter, formatted; nullopt for a letter we do
// not know (the caller names it).
std::optional<std::string> FormatField(char letter, size_t count,
                                       const CivilTime& time) {
  const struct tm& tm = time.tm;
  const int year = tm.tm_year + 1900;
  switch (letter) {
    case 'y':
    case 'u':
      if (count == 2) return Padded(year % 100, 2);
      return Padded(year, count);
    case 'M':
    case 'L':
      if (count == 3) return std::string(kMonthNames[tm.tm_mon].substr(0, 3));
      if (count == 4) return std::string(kMonthNames[tm.tm_mon]);
      if (count == 5) return std::string(kMonthNames[tm.tm_mon].substr(0, 1));
      return Padded(tm.tm_mon + 1, count);
    case 'd':
      return Padded(tm.tm_mday, count);
    case 'D':
      return Padded(tm.tm_yday + 1, count);
    case 'H':
      return Padded(tm.tm_hour, count);
    case 'k':
      return Padded(tm.tm_hour == 0 ? 24 : tm.tm_hour, count);
    case 'K':
      return Padded(tm.tm_hour % 12, count);
    case 'h':
      return Padded(tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12, count);
    case 'm':
      return Padded(tm.tm_min, count);
    case 's':
      return Padded(tm.tm_sec, count);
    case 'S': {
      // A fraction of the second, to `count` digits.
      std::string fraction = Padded(time.millis, 3);
      fraction.resize(count, '0');
      return fraction;
    }
    case 'E':
      if (count >= 4) return std::string(kDayNames[tm.tm_wday]);
      return std::string(kDayNames[tm.tm_wday].substr(0, 3));
    case 'a':
      return std::string(tm.tm_hour < 12 ? "AM" : "PM");
    default:
      return std::nullopt;
  }
}

// One `!{namespace:value}` expression, or literal text between them.
struct Piece {
  bool expression = false;
  std::string_view text;   // literal text
  std::string_view space;  // expression namespace
  std::string_view value;  // expression value
};

// Splits `prefix` at its expressions; `field` names it in errors.
Result<std::vector<Piece>> Parse(std::string_view prefix,
                                 std::string_view field) {
  std::vector<Piece> pieces;
  size_t at = 0;
  while (at < prefix.size()) {
    size_t open = prefix.find("!{", at);
    if (open == std::string_view::npos) {
      pieces.push_back({false, prefix.substr(at), {}, {}});
      break;
    }
    if (open > at)
      pieces.push_back({false, prefix.substr(at, open - at), {}, {}});
    size_t close = prefix.find('}', open + 2);
    if (close == std::string_view::npos) {
      return Invalid(std::string(field) + " '" + std::string(prefix) +
                     "' is invalid: '!{' at position " + std::to_string(open) +
                     " does not open an expression of the form "
                     "!{namespace:value}.");
    }
    std::string_view inside = prefix.substr(open + 2, close - open - 2);
    size_t colon = inside.find(':');
    if (colon == std::string_view::npos || colon == 0 ||
        colon + 1 == inside.size()) {
      return Invalid(std::string(field) + " '" + std::string(prefix) +
                     "' is invalid: '!{" + std::string(inside) +
                     "}' is not of the form !{namespace:value}.");
    }
    Piece piece{true, {}, inside.substr(0, colon), inside.substr(colon + 1)};
    if (piece.space == "partitionKeyFromQuery" ||
        piece.space == "partitionKeyFromLambda") {
      return Invalid(std::string(field) + " '" + std::string(prefix) +
                     "' uses !{" + std::string(piece.space) +
                     ":...}: dynamic partitioning is not supported by Sluice "
                     "yet.");
    }
    if (piece.space == "firehose") {
      if (piece.value != "random-string" &&
          piece.value != "error-output-type") {
        return Invalid(std::string(field) + " '" + std::string(prefix) +
                       "' is invalid: unknown firehose expression '!{" +
                       std::string(inside) +
                       "}'; use !{firehose:random-string} or "
                       "!{firehose:error-output-type}.");
      }
    } else if (piece.space == "timestamp") {
      Result<std::string> formatted = FormatTimestamp(piece.value, 0);
      if (!formatted.ok()) {
        return Invalid(std::string(field) + " '" + std::string(prefix) +
                       "' is invalid: " + formatted.status().message());
      }
    } else {
      return Invalid(std::string(field) + " '" + std::string(prefix) +
                     "' is invalid: unknown namespace '" +
                     std::string(piece.space) +
                     "'; expressions use the namespaces timestamp and "
                     "firehose.");
    }
    pieces.push_back(piece);
    at = close + 1;
  }
  return pieces;
}

bool HasExpression(const std::vector<Piece>& pieces, std::string_view space,
                   std::string_view value = {}) {
  for (const Piece& piece : pieces) {
    if (piece.expression && (space.empty() || piece.space == space) &&
        (value.empty() || piece.value == value)) {
      return true;
    }
  }
  return false;
}

Result<std::string> Evaluate(const std::vector<Piece>& pieces,
                             std::string_view error_output_type,
                             const KeyContext& context) {
  std::string out;
  for (const Piece& piece : pieces) {
    if (!piece.expression) {
      out += piece.text;
    } else if (piece.space == "timestamp") {
      Result<std::string> formatted =
          FormatTimestamp(piece.value, context.first_arrival);
      if (!formatted.ok()) return formatted.status();
      out += *formatted;
    } else if (piece.value == "random-string") {
      out += context.random_string ? context.random_string() : RandomString();
    } else {
      out += error_output_type;
    }
  }
  if (!HasExpression(pieces, "timestamp")) {
    Result<std::string> formatted =
        FormatTimestamp(kDefaultTimestampPattern, context.first_arrival);
    if (!formatted.ok()) return formatted.status();
    out += *formatted;
  }
  return out;
}

}  // namespace

Result<std::string> FormatTimestamp(std::string_view pattern,
                                    EpochMillis millis) {
  const CivilTime time = ToCivil(millis);
  std::string out;
  size_t i = 0;
  while (i < pattern.size()) {
    char c = pattern[i];
    if (c == '\'') {
      // 'literal text', with '' standing for one quote.
      size_t end = i + 1;
      if (end < pattern.size() && pattern[end] == '\'') {
        out += '\'';
        i += 2;
        continue;
      }
      std::string literal;
      while (true) {
        if (end >= pattern.size()) {
          return Invalid("timestamp pattern '" + std::string(pattern) +
                         "' has an unterminated quote.");
        }
        if (pattern[end] == '\'') {
          if (end + 1 < pattern.size() && pattern[end + 1] == '\'') {
            literal += '\'';
            end += 2;
            continue;
          }
          break;
        }
        literal += pattern[end++];
      }
      out += literal;
      i = end + 1;
      continue;
    }
    if (c == '[' || c == ']') {  // optional section markers: always printed
      ++i;
      continue;
    }
    if (c == '#' || c == '{' || c == '}') {
      return Invalid("timestamp pattern '" + std::string(pattern) +
                     "' uses the reserved character '" + std::string(1, c) +
                     "'.");
    }
    if (!IsLetter(c)) {
      out += c;
      ++i;
      continue;
    }
    size_t count = 1;
    while (i + count < pattern.size() && pattern[i + count] == c) ++count;
    std::optional<std::string> field = FormatField(c, count, time);
    if (!field) {
      return Invalid("timestamp pattern '" + std::string(pattern) +
                     "' uses the pattern letter '" + std::string(1, c) +
                     "', which Sluice does not support.");
    }
    out += *field;
    i += count;
  }
  return out;
}

Status ValidatePrefixes(std::string_view prefix,
                        std::string_view error_output_prefix) {
  Result<std::vector<Piece>> main = Parse(prefix, "Prefix");
  if (!main.ok()) return main.status();
  Result<std::vector<Piece>> error =
      Parse(error_output_prefix, "ErrorOutputPrefix");
  if (!error.ok()) return error.status();
  if (HasExpression(*main, "firehose", "error-output-type")) {
    return Invalid(
        "Prefix cannot contain the expression !{firehose:error-output-type}; "
        "only ErrorOutputPrefix may.");
  }
  if (HasExpression(*main, "") && error_output_prefix.empty()) {
    return Invalid(
        "ErrorOutputPrefix must be specified when Prefix contains "
        "expressions.");
  }
  if (HasExpression(*error, "") &&
      !HasExpression(*error, "firehose", "error-output-type")) {
    return Invalid(
        "ErrorOutputPrefix must contain the expression "
        "!{firehose:error-output-type} when it contains expressions.");
  }
  // Evaluated lengths, at an instant whose fields all have their widest
  // numeric form.
  KeyContext sample{1'000'000'000'000, nullptr};
  for (auto [pieces, field] :
       {std::pair{&*main, "Prefix"}, std::pair{&*error, "ErrorOutputPrefix"}}) {
    Result<std::string> evaluated =
        Evaluate(*pieces, "format-conversion-failed", sample);
    if (!evaluated.ok()) return evaluated.status();
    if (evaluated->size() > kMaxEvaluatedPrefixLength) {
      return Invalid(std::string(field) + " must not be longer than " +
                     std::to_string(kMaxEvaluatedPrefixLength) +
                     " characters once evaluated.");
    }
    // Each segment becomes a directory name in the archive.
    for (size_t start = 0; start <= evaluated->size();) {
      size_t slash = evaluated->find('/', start);
      if (slash == std::string::npos) slash = evaluated->size();
      if (slash - start > kMaxSegmentBytes) {
        return Invalid(std::string(field) +
                       " has a part between slashes "
                       "longer than " +
                       std::to_string(kMaxSegmentBytes) +
                       " bytes, which the archive cannot store as a "
                       "directory name.");
      }
      start = slash + 1;
    }
  }
  return Status::Ok();
}

Result<std::string> EvaluatePrefix(std::string_view prefix,
                                   const KeyContext& context) {
  Result<std::vector<Piece>> pieces = Parse(prefix, "Prefix");
  if (!pieces.ok()) return pieces.status();
  return Evaluate(*pieces, {}, context);
}

Result<std::string> EvaluateErrorPrefix(std::string_view prefix,
                                        std::string_view error_output_prefix,
                                        std::string_view error_output_type,
                                        const KeyContext& context) {
  if (error_output_prefix.empty()) {
    Result<std::string> timestamp =
        FormatTimestamp(kDefaultTimestampPattern, context.first_arrival);
    if (!timestamp.ok()) return timestamp.status();
    return std::string(prefix) + std::string(error_output_type) + "/" +
           *timestamp;
  }
  Result<std::vector<Piece>> pieces =
      Parse(error_output_prefix, "ErrorOutputPrefix");
  if (!pieces.ok()) return pieces.status();
  return Evaluate(*pieces, error_output_type, context);
}

std::string ObjectName(std::string_view stream_name, int64_t version_id,
                       EpochMillis first_arrival, std::string_view uuid,
                       std::string_view extension) {
  Result<std::string> time =
      FormatTimestamp("yyyy-MM-dd-HH-mm-ss", first_arrival);
  std::string name(stream_name);
  name += '-';
  name += std::to_string(version_id);
  name += '-';
  name += time.value();
  name += '-';
  name += uuid;
  name += extension;
  return name;
}

std::string RandomString() {
  static constexpr std::string_view kAlphabet =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  thread_local std::mt19937_64 generator{std::random_device{}()};
  std::uniform_int_distribution<size_t> pick(0, kAlphabet.size() - 1);
  std::string out(11, ' ');
  for (char& c : out) c = kAlphabet[pick(generator)];
  return out;
}

std::filesystem::path ObjectPath(const std::filesystem::path& bucket_dir,
                                 std::string_view key) {
  std::filesystem::path path = bucket_dir;
  size_t at = 0;
  while (true) {
    size_t slash = key.find('/', at);
    std::string_view segment =
        key.substr(at, slash == std::string_view::npos ? std::string_view::npos
                                                       : slash - at);
    std::string safe;
    if (segment.empty()) {
      safe = "%2F";
    } else if (segment == ".") {
      safe = "%2E";
    } else if (segment == "..") {
      safe = "%2E%2E";
    } else {
      for (char c : segment) {
        if (c == '\0') {
          safe += "%00";
        } else {
          safe += c;
        }
      }
    }
    path /= safe;
    if (slash == std::string_view::npos) break;
    at = slash + 1;
  }
  return path;
}

}  // namespace sluice::firehose
