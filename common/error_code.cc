// The only table that says how each ErrorCode looks on the wire. Every client
// error is 400, including throttles: botocore's legacy Kinesis retry rule only
// recognises LimitExceededException with status 400 (aws-behaviour.md 1.2).
#include "common/status.h"

namespace sluice {

const ErrorInfo& InfoFor(ErrorCode code) {
  static const ErrorInfo kOk{"", 200};
  static const ErrorInfo kUnknownOperation{"UnknownOperationException", 400};
  static const ErrorInfo kSerialization{"SerializationException", 400};
  static const ErrorInfo kMissingToken{"MissingAuthenticationTokenException",
                                       400};
  static const ErrorInfo kIncompleteSignature{"IncompleteSignatureException",
                                              400};
  static const ErrorInfo kInvalidSignature{"InvalidSignatureException", 400};
  static const ErrorInfo kUnrecognizedClient{"UnrecognizedClientException",
                                             400};
  static const ErrorInfo kAccessDenied{"AccessDeniedException", 400};
  static const ErrorInfo kValidation{"ValidationException", 400};
  static const ErrorInfo kInvalidArgument{"InvalidArgumentException", 400};
  static const ErrorInfo kResourceNotFound{"ResourceNotFoundException", 400};
  static const ErrorInfo kResourceInUse{"ResourceInUseException", 400};
  static const ErrorInfo kLimitExceeded{"LimitExceededException", 400};
  static const ErrorInfo kThroughput{"ProvisionedThroughputExceededException",
                                     400};
  static const ErrorInfo kExpiredIterator{"ExpiredIteratorException", 400};
  static const ErrorInfo kExpiredNextToken{"ExpiredNextTokenException", 400};
  static const ErrorInfo kConcurrentModification{
      "ConcurrentModificationException", 400};
  static const ErrorInfo kInvalidSource{"InvalidSourceException", 400};
  static const ErrorInfo kInvalidKms{"InvalidKMSResourceException", 400};
  static const ErrorInfo kInternalFailure{"InternalFailureException", 500};
  static const ErrorInfo kServiceUnavailable{"ServiceUnavailableException",
                                             503};

  switch (code) {
    case ErrorCode::kOk:
      return kOk;
    case ErrorCode::kUnknownOperation:
      return kUnknownOperation;
    case ErrorCode::kSerialization:
      return kSerialization;
    case ErrorCode::kMissingAuthenticationToken:
      return kMissingToken;
    case ErrorCode::kIncompleteSignature:
      return kIncompleteSignature;
    case ErrorCode::kInvalidSignature:
      return kInvalidSignature;
    case ErrorCode::kUnrecognizedClient:
      return kUnrecognizedClient;
    case ErrorCode::kAccessDenied:
      return kAccessDenied;
    case ErrorCode::kValidation:
      return kValidation;
    case ErrorCode::kInvalidArgument:
      return kInvalidArgument;
    case ErrorCode::kResourceNotFound:
      return kResourceNotFound;
    case ErrorCode::kResourceInUse:
      return kResourceInUse;
    case ErrorCode::kLimitExceeded:
      return kLimitExceeded;
    case ErrorCode::kProvisionedThroughputExceeded:
      return kThroughput;
    case ErrorCode::kExpiredIterator:
      return kExpiredIterator;
    case ErrorCode::kExpiredNextToken:
      return kExpiredNextToken;
    case ErrorCode::kConcurrentModification:
      return kConcurrentModification;
    case ErrorCode::kInvalidSource:
      return kInvalidSource;
    case ErrorCode::kInvalidKmsResource:
      return kInvalidKms;
    case ErrorCode::kInternalFailure:
      return kInternalFailure;
    case ErrorCode::kServiceUnavailable:
      return kServiceUnavailable;
  }
  return kInternalFailure;  // unreachable with a valid enum value
}

ErrorCode ErrorCodeNamed(std::string_view aws_type, ErrorCode otherwise) {
  if (size_t hash = aws_type.rfind('#'); hash != std::string_view::npos) {
    aws_type.remove_prefix(hash + 1);
  }
  for (int i = static_cast<int>(ErrorCode::kOk) + 1;
       i <= static_cast<int>(ErrorCode::kServiceUnavailable); ++i) {
    const auto code = static_cast<ErrorCode>(i);
    if (InfoFor(code).aws_type == aws_type) return code;
  }
  return otherwise;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(InfoFor(code_).aws_type);
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

}  // namespace sluice
