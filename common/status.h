// Status and Result: the one error model of Sluice, shaped like the AWS wire.
// A Status is an ErrorCode plus a human message; common/error_code.cc maps each
// code to its AWS `__type` and HTTP status. Exceptions never cross our
// functions.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace sluice {

enum class ErrorCode {
  kOk,
  // Protocol-level errors, raised before an operation runs.
  kUnknownOperation,
  kSerialization,
  kMissingAuthenticationToken,
  kIncompleteSignature,
  kInvalidSignature,
  kUnrecognizedClient,
  kAccessDenied,
  // Operation errors shared by Kinesis and Firehose.
  kValidation,
  kInvalidArgument,
  kResourceNotFound,
  kResourceInUse,
  kLimitExceeded,
  kProvisionedThroughputExceeded,
  kExpiredIterator,
  kExpiredNextToken,
  kConcurrentModification,
  kInvalidSource,
  kInvalidKmsResource,
  kInternalFailure,
  kServiceUnavailable,  // keep last: ErrorCodeNamed() walks up to it
};

// How an ErrorCode appears on the wire.
struct ErrorInfo {
  std::string_view aws_type;  // the `__type` and `x-amzn-ErrorType` value
  unsigned http_status;
};

// The one mapping from code to wire shape (common/error_code.cc).
const ErrorInfo& InfoFor(ErrorCode code);
// The reverse, for clients reading an answer: the code whose aws_type is
// `aws_type` ("ns#Name" or "Name"), or `otherwise` for a type Sluice does
// not know.
ErrorCode ErrorCodeNamed(std::string_view aws_type, ErrorCode otherwise);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(ErrorCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "ResourceNotFoundException: Stream s under account a not found." for logs.
  std::string ToString() const;

  friend bool operator==(const Status&, const Status&) = default;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

// A value of type T, or the non-OK Status that explains why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    assert(!status_.ok() && "a Result without a value needs an error");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;  // OK whenever value_ is set
};

}  // namespace sluice
