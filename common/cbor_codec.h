// CBOR 1.1 (application/x-amz-cbor-1.1): the default Kinesis codec of the AWS
// Java SDK v1 and v2, and so of the KCL and the KPL's Java side.
//
// Our own small codec rather than libcbor: requests must land in the same
// RapidJSON document the JSON decoder fills (so handlers and the model
// validator stay codec-blind) and responses go through the streaming Encoder;
// a library would add a third representation to convert through, and its
// item-tree decoder allocates before it knows the input holds the bytes.
// RFC 8949; only what AWS's CBOR protocol uses is mapped (see
// DecodeCborObject).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/codec.h"
#include "common/json.h"

namespace sluice {

inline constexpr std::string_view kCborContentType =
    "application/x-amz-cbor-1.1";

// Writes as the Java SDK's own generator (Jackson) writes: maps and arrays of
// indefinite length (0xBF/0x9F ... 0xFF, since a streaming writer does not
// know sizes up front; Jackson's parser, which both Java SDKs read with,
// accepts them), definite-length text and byte strings, integers in their
// shortest form, blobs as byte strings (major type 2), timestamps as tag 1
// with integer epoch milliseconds (the SDK reads the number as milliseconds).
// Also used for event-stream payloads answered to CBOR requests.
std::unique_ptr<Encoder> NewCborEncoder();

// Decodes a request body that must be exactly one CBOR map, into the
// document a JSON body would give:
//   - maps (text-string keys only) and arrays, definite or indefinite length;
//   - text strings (strict UTF-8) and byte strings, definite or chunked; byte
//     strings become standard base64 text, as blobs are in JSON;
//   - integers of every width, half/single/double floats (not NaN or
//     infinite: JSON cannot carry them), true, false, null (undefined too);
//   - tag 1 on a number: epoch milliseconds, as the Java SDK writes them,
//     which become epoch seconds (ms / 1000.0) as JSON gives them; an
//     untagged number stays a number, read as seconds like JSON's;
//   - tag 55799 (self-described CBOR) is ignored; every other tag is refused.
// False for anything else: truncated or trailing bytes, reserved additional
// info, a break outside an indefinite-length item, nesting deeper than JSON
// allows. Lengths are checked against the bytes left before anything is
// allocated. The document owns copies of its strings; `body` is not changed
// (the signature matches the in-situ JSON decoder's).
bool DecodeCborObject(std::string& body, json::Document& out);

}  // namespace sluice
