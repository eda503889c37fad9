// JSON 1.1 (application/x-amz-json-1.1): the codec of boto3, the AWS CLI, the
// JavaScript SDK and Firehose.
#pragma once

#include <memory>
#include <string_view>

#include "common/codec.h"
#include "common/json.h"

namespace sluice {

inline constexpr std::string_view kJsonContentType =
    "application/x-amz-json-1.1";

// Blobs as standard base64, timestamps as epoch seconds with a millisecond
// fraction ("1700000000.123"), which every SDK reads as a number.
std::unique_ptr<Encoder> NewJsonEncoder();

// Parses a request body that must be one JSON object (strict UTF-8, nothing
// after it). False for anything else; AWS answers those with a bare
// SerializationException, so no detail is kept. Parses in place: the
// document's strings point into `body`, which must outlive it, and whose
// contents are no longer the original text afterwards.
bool DecodeJsonObject(std::string& body, json::Document& out);

}  // namespace sluice
