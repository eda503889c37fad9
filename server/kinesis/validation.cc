#include "server/kinesis/validation.h"

#include <cmath>

namespace sluice::kinesis {

inline constexpr size_t kMaxReported = 10;  // AWS lists at most ten

void Violations::Add(std::string_view shown, std::string_view path,
                     std::string_view rule) {
  std::string item = "Value '";
  item += shown;
  item += "' at '";
  item += path;
  item += "' failed to satisfy constraint: ";
  item += rule;
  items_.push_back(std::move(item));
}

Status Violations::ToStatus() const {
  if (items_.empty()) return Status::Ok();
  std::string message = std::to_string(items_.size());
  message += items_.size() == 1 ? " validation error detected: "
                                : " validation errors detected: ";
  for (size_t i = 0; i < items_.size() && i < kMaxReported; ++i) {
    if (i > 0) message += "; ";
    message += items_[i];
  }
  return Status(ErrorCode::kValidation, std::move(message));
}

Status ReadOptionalInt(const json::Value& input, const char* member,
                       int64_t& out, bool& present) {
  auto it = input.FindMember(member);
  present = it != input.MemberEnd() && !it->value.IsNull();
  if (!present) return Status::Ok();
  const json::Value& value = it->value;
  if (value.IsInt64()) {
    out = value.GetInt64();
  } else if (value.IsNumber() && std::isfinite(value.GetDouble()) &&
             std::fabs(value.GetDouble()) < 9.2e18) {
    // Java's decoder truncates a fractional number given for an integer.
    out = static_cast<int64_t>(value.GetDouble());
  } else if (value.IsString()) {
    return Status(ErrorCode::kSerialization,
                  "class java.lang.String can not be converted to an Integer");
  } else {
    return Status(ErrorCode::kSerialization,
                  std::string("Unexpected value for ") + member);
  }
  return Status::Ok();
}

Status ReadOptionalString(const json::Value& input, const char* member,
                          std::string& out, bool& present) {
  auto it = input.FindMember(member);
  present = it != input.MemberEnd() && !it->value.IsNull();
  if (!present) return Status::Ok();
  const json::Value& value = it->value;
  if (value.IsString()) {
    out.assign(value.GetString(), value.GetStringLength());
  } else if (value.IsBool() || value.IsNumber()) {
    // Jackson renders scalars as text when a string is expected.
    out = value.IsBool()    ? (value.GetBool() ? "true" : "false")
          : value.IsInt64() ? std::to_string(value.GetInt64())
                            : std::to_string(value.GetDouble());
  } else {
    return Status(ErrorCode::kSerialization,
                  std::string("Unexpected value for ") + member);
  }
  return Status::Ok();
}

void CheckName(Violations& violations, std::string_view value,
               std::string_view path, size_t max_length) {
  if (value.empty()) {
    violations.Add(value, path,
                   "Member must have length greater than or equal to 1");
  } else if (value.size() > max_length) {
    violations.Add(value, path,
                   "Member must have length less than or equal to " +
                       std::to_string(max_length));
  }
  for (char c : value) {
    bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                   (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!allowed) {
      violations.Add(value, path,
                     "Member must satisfy regular expression pattern: "
                     "[a-zA-Z0-9_.-]+");
      break;
    }
  }
}

void CheckRange(Violations& violations, int64_t value, std::string_view path,
                int64_t min, int64_t max) {
  if (value < min) {
    violations.Add(std::to_string(value), path,
                   "Member must have value greater than or equal to " +
                       std::to_string(min));
  } else if (value > max) {
    violations.Add(
        std::to_string(value), path,
        "Member must have value less than or equal to " + std::to_string(max));
  }
}

}  // namespace sluice::kinesis
