#include "server/consumers/consumer_definition.h"

#include <cctype>
#include <cmath>

#include "server/consumers/handler.h"

namespace sluice::consumers {
namespace {

std::string FirstLower(std::string_view name) {
  std::string out(name);
  if (!out.empty()) out[0] = static_cast<char>(std::tolower(out[0]));
  return out;
}

// The model's range message, in the member's camelCase as AWS writes it.
Status OutOfRange(std::string_view member, const std::string& value,
                  bool too_small, int64_t bound) {
  return Status(ErrorCode::kValidation,
                "1 validation error detected: Value '" + value + "' at '" +
                    FirstLower(member) +
                    "' failed to satisfy constraint: Member must have value " +
                    (too_small ? "greater" : "less") + " than or equal to " +
                    std::to_string(bound));
}

Status WrongType(std::string_view member, std::string_view type) {
  return Status(ErrorCode::kSerialization, "Value of '" + std::string(member) +
                                               "' must be " +
                                               std::string(type) + ".");
}

Status Invalid(std::string message) {
  return Status(ErrorCode::kInvalidArgument, std::move(message));
}

Result<int64_t> IntegerIn(const json::Value& value, std::string_view member,
                          int64_t low, int64_t high) {
  if (!value.IsInt64()) return WrongType(member, "an integer");
  int64_t got = value.GetInt64();
  if (got < low) return OutOfRange(member, std::to_string(got), true, low);
  if (got > high) return OutOfRange(member, std::to_string(got), false, high);
  return got;
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxConsumerNameLength) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' &&
        c != '.') {
      return false;
    }
  }
  return true;
}

// A relative path of plain components: it cannot leave its root.
bool ValidRelativePath(std::string_view path) {
  if (path.empty() || path.front() == '/') return false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return path.find('\0') == std::string_view::npos;
}

Status ParseOnFailure(const json::Value& config, OnFailureDestination& out) {
  if (!config.IsObject()) return WrongType("DestinationConfig", "an object");
  for (auto& member : config.GetObject()) {
    std::string_view key = json::AsView(member.name);
    if (key == "OnSuccess") {
      return Invalid(
          "DestinationConfig.OnSuccess is not supported for Kinesis event "
          "sources.");
    }
    if (key != "OnFailure") {
      return Invalid("Unknown member DestinationConfig." + std::string(key) +
                     ".");
    }
    const json::Value& on_failure = member.value;
    if (!on_failure.IsObject()) {
      return WrongType("DestinationConfig.OnFailure", "an object");
    }
    for (auto& inner : on_failure.GetObject()) {
      if (json::AsView(inner.name) != "Destination") {
        return Invalid("Unknown member DestinationConfig.OnFailure." +
                       std::string(json::AsView(inner.name)) + ".");
      }
    }
    auto destination = on_failure.FindMember("Destination");
    if (destination == on_failure.MemberEnd()) continue;  // none
    if (!destination->value.IsString()) {
      return WrongType("DestinationConfig.OnFailure.Destination", "a string");
    }
    std::string_view text = json::AsView(destination->value);
    out.destination = std::string(text);
    constexpr std::string_view kFile = "file:";
    constexpr std::string_view kStreamArn = "arn:aws:kinesis:";
    if (text.starts_with(kFile)) {
      std::string_view path = text.substr(kFile.size());
      if (!ValidRelativePath(path)) {
        return Invalid(
            "DestinationConfig.OnFailure.Destination '" + std::string(text) +
            "' must be file:<relative path> without '.' or '..' parts (the "
            "file lives under the consumer root).");
      }
      out.kind = OnFailureDestination::Kind::kFile;
      out.file_path = std::string(path);
    } else if (text.starts_with(kStreamArn)) {
      // arn:aws:kinesis:<region>:<account>:stream/<name>
      std::string_view rest = text.substr(kStreamArn.size());
      size_t colon = rest.find(':');
      size_t colon2 =
          colon == std::string_view::npos ? colon : rest.find(':', colon + 1);
      std::string_view tail =
          colon2 == std::string_view::npos ? "" : rest.substr(colon2 + 1);
      if (colon2 == std::string_view::npos || !tail.starts_with("stream/") ||
          !ValidName(tail.substr(7)) || colon == 0 || colon2 == colon + 1) {
        return Invalid("DestinationConfig.OnFailure.Destination '" +
                       std::string(text) +
                       "' is not a Kinesis stream ARN "
                       "(arn:aws:kinesis:<region>:<account>:stream/<name>).");
      }
      out.kind = OnFailureDestination::Kind::kStream;
      out.stream_region = std::string(rest.substr(0, colon));
      out.stream_account_id =
          std::string(rest.substr(colon + 1, colon2 - colon - 1));
      out.stream_name = std::string(tail.substr(7));
    } else {
      return Invalid("DestinationConfig.OnFailure.Destination '" +
                     std::string(text) +
                     "' must be a Kinesis stream ARN or file:<relative path>.");
    }
  }
  return Status::Ok();
}

std::string ToJsonText(const json::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

std::string_view ToString(StartingPosition position) {
  switch (position) {
    case StartingPosition::kTrimHorizon:
      return "TRIM_HORIZON";
    case StartingPosition::kLatest:
      return "LATEST";
    case StartingPosition::kAtTimestamp:
      return "AT_TIMESTAMP";
  }
  return "TRIM_HORIZON";
}

Result<ConsumerDefinition> ParseConsumerDefinition(const json::Value& request) {
  if (!request.IsObject()) {
    return WrongType("the consumer", "a JSON object");
  }
  ConsumerDefinition out;
  bool has_position = false;
  std::optional<double> timestamp;
  for (auto& member : request.GetObject()) {
    std::string_view key = json::AsView(member.name);
    const json::Value& value = member.value;
    if (key == "ConsumerName") {
      if (!value.IsString()) return WrongType(key, "a string");
      out.name = std::string(json::AsView(value));
      if (!ValidName(out.name)) {
        return Status(ErrorCode::kValidation,
                      "1 validation error detected: Value '" + out.name +
                          "' at 'consumerName' failed to satisfy constraint: "
                          "Member must be 1 to 64 letters, digits, '_', '.' "
                          "or '-'");
      }
    } else if (key == "StreamName") {
      if (!value.IsString()) return WrongType(key, "a string");
      out.stream_name = std::string(json::AsView(value));
      if (!ValidName(out.stream_name) || out.stream_name.size() > 128) {
        return Status(ErrorCode::kValidation,
                      "1 validation error detected: Value '" + out.stream_name +
                          "' at 'streamName' failed to satisfy constraint: "
                          "Member must satisfy regular expression pattern: "
                          "[a-zA-Z0-9_.-]+");
      }
    } else if (key == "DeliveryStreamName") {
      if (!value.IsString()) return WrongType(key, "a string");
      out.delivery_stream_name = std::string(json::AsView(value));
      if (!ValidName(out.delivery_stream_name)) {
        return Status(ErrorCode::kValidation,
                      "1 validation error detected: Value '" +
                          out.delivery_stream_name +
                          "' at 'deliveryStreamName' failed to satisfy "
                          "constraint: Member must satisfy regular expression "
                          "pattern: [a-zA-Z0-9_.-]+");
      }
    } else if (key == "Handler") {
      if (!value.IsObject()) return WrongType(key, "an object");
      auto type = value.FindMember("type");
      if (type == value.MemberEnd() || !type->value.IsString()) {
        return Invalid("Handler.type must name a handler type.");
      }
      out.handler_type = std::string(json::AsView(type->value));
      if (FindHandlerType(out.handler_type) == nullptr) {
        std::string known;
        for (const std::string& name : HandlerTypeNames()) {
          known += (known.empty() ? "" : ", ") + name;
        }
        return Invalid("Handler.type '" + out.handler_type +
                       "' is not a handler type; known types: " + known + ".");
      }
      out.handler_json = ToJsonText(value);
    } else if (key == "StartingPosition") {
      if (!value.IsString()) return WrongType(key, "a string");
      std::string_view text = json::AsView(value);
      if (text == "TRIM_HORIZON") {
        out.starting_position = StartingPosition::kTrimHorizon;
      } else if (text == "LATEST") {
        out.starting_position = StartingPosition::kLatest;
      } else if (text == "AT_TIMESTAMP") {
        out.starting_position = StartingPosition::kAtTimestamp;
      } else {
        return Status(ErrorCode::kValidation,
                      "1 validation error detected: Value '" +
                          std::string(text) +
                          "' at 'startingPosition' failed to satisfy "
                          "constraint: Member must satisfy enum value set: "
                          "[TRIM_HORIZON, LATEST, AT_TIMESTAMP]");
      }
      has_position = true;
    } else if (key == "StartingPositionTimestamp") {
      if (!value.IsNumber()) return WrongType(key, "a number (epoch seconds)");
      timestamp = value.GetDouble();
    } else if (key == "BatchSize") {
      auto got = IntegerIn(value, key, kMinBatchSize, kMaxBatchSize);
      if (!got.ok()) return got.status();
      out.batch_size = *got;
    } else if (key == "MaximumBatchingWindowInSeconds") {
      auto got = IntegerIn(value, key, 0, kMaxBatchingWindowSeconds);
      if (!got.ok()) return got.status();
      out.batching_window_seconds = *got;
    } else if (key == "ParallelizationFactor") {
      auto got = IntegerIn(value, key, 1, kMaxParallelizationFactor);
      if (!got.ok()) return got.status();
      out.parallelization_factor = *got;
    } else if (key == "MaximumRetryAttempts") {
      auto got = IntegerIn(value, key, -1, kMaxRetryAttempts);
      if (!got.ok()) return got.status();
      out.maximum_retry_attempts = *got;
    } else if (key == "MaximumRecordAgeInSeconds") {
      auto got = IntegerIn(value, key, -1, kMaxRecordAgeSeconds);
      if (!got.ok()) return got.status();
      if (*got != -1 && *got < kMinRecordAgeSeconds) {
        return Invalid(
            "MaximumRecordAgeInSeconds must be -1 (no limit) or between 60 "
            "and 604800.");
      }
      out.maximum_record_age_seconds = *got;
    } else if (key == "BisectBatchOnFunctionError") {
      if (!value.IsBool()) return WrongType(key, "a boolean");
      out.bisect_on_function_error = value.GetBool();
    } else if (key == "FunctionResponseTypes") {
      if (!value.IsArray()) return WrongType(key, "an array of strings");
      out.report_batch_item_failures = false;
      for (const json::Value& item : value.GetArray()) {
        if (!item.IsString() ||
            json::AsView(item) != "ReportBatchItemFailures") {
          return Status(ErrorCode::kValidation,
                        "1 validation error detected: Value at "
                        "'functionResponseTypes' failed to satisfy "
                        "constraint: Member must satisfy constraint: "
                        "[Member must satisfy enum value set: "
                        "[ReportBatchItemFailures]]");
        }
        out.report_batch_item_failures = true;
      }
    } else if (key == "DestinationConfig") {
      if (Status s = ParseOnFailure(value, out.on_failure); !s.ok()) return s;
    } else {
      return Invalid("Unknown member " + std::string(key) +
                     " in the consumer; see docs/consumers.md.");
    }
  }
  if (out.name.empty()) return Invalid("ConsumerName is required.");
  if (out.stream_name.empty() == out.delivery_stream_name.empty()) {
    return Invalid(
        "Exactly one of StreamName and DeliveryStreamName is required.");
  }
  if (out.handler_type.empty()) return Invalid("Handler is required.");
  if (!has_position) {
    return Invalid(
        "StartingPosition is required: TRIM_HORIZON, LATEST or "
        "AT_TIMESTAMP.");
  }
  if (out.starting_position == StartingPosition::kAtTimestamp) {
    if (!timestamp || !std::isfinite(*timestamp) || *timestamp < 0) {
      return Invalid(
          "StartingPositionTimestamp (epoch seconds) is required with "
          "StartingPosition AT_TIMESTAMP.");
    }
    out.starting_timestamp = EpochMillisFromSeconds(*timestamp);
  } else if (timestamp) {
    return Invalid(
        "StartingPositionTimestamp is only allowed with StartingPosition "
        "AT_TIMESTAMP.");
  }
  return out;
}

Result<ConsumerDefinition> ParseConsumerDefinition(std::string_view text) {
  json::Document doc;
  doc.Parse<json::kParseFlags>(text.data(), text.size());
  if (doc.HasParseError()) {
    return Status(ErrorCode::kSerialization, "the consumer is not valid JSON");
  }
  return ParseConsumerDefinition(doc);
}

std::string ConsumerDefinition::ToJson() const {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("ConsumerName");
  w.String(name.c_str());
  if (delivery_stream_name.empty()) {
    w.Key("StreamName");
    w.String(stream_name.c_str());
  } else {
    w.Key("DeliveryStreamName");
    w.String(delivery_stream_name.c_str());
  }
  w.Key("Handler");
  w.RawValue(handler_json.data(), handler_json.size(), rapidjson::kObjectType);
  w.Key("StartingPosition");
  std::string position(ToString(starting_position));
  w.String(position.c_str());
  if (starting_position == StartingPosition::kAtTimestamp) {
    w.Key("StartingPositionTimestamp");
    w.Double(static_cast<double>(starting_timestamp) / 1000.0);
  }
  w.Key("BatchSize");
  w.Int64(batch_size);
  w.Key("MaximumBatchingWindowInSeconds");
  w.Int64(batching_window_seconds);
  w.Key("ParallelizationFactor");
  w.Int64(parallelization_factor);
  w.Key("MaximumRetryAttempts");
  w.Int64(maximum_retry_attempts);
  w.Key("MaximumRecordAgeInSeconds");
  w.Int64(maximum_record_age_seconds);
  w.Key("BisectBatchOnFunctionError");
  w.Bool(bisect_on_function_error);
  w.Key("FunctionResponseTypes");
  w.StartArray();
  if (report_batch_item_failures) w.String("ReportBatchItemFailures");
  w.EndArray();
  w.Key("DestinationConfig");
  w.StartObject();
  if (on_failure.kind != OnFailureDestination::Kind::kNone) {
    w.Key("OnFailure");
    w.StartObject();
    w.Key("Destination");
    w.String(on_failure.destination.c_str());
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace sluice::consumers
