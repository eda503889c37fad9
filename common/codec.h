// The seam between API handlers and wire formats. A handler writes its output
// once, through an Encoder; the request's codec (JSON 1.1 in json_codec.h,
// CBOR 1.1 in cbor_codec.h) decides how blobs and timestamps look on the wire.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace sluice {

// A streaming writer for one response document, in the style of a SAX writer.
// Calls must nest properly: Key() before each member value inside an object.
// Not thread-safe; one per response.
class Encoder {
 public:
  virtual ~Encoder() = default;

  virtual void StartObject() = 0;
  virtual void EndObject() = 0;
  virtual void StartArray() = 0;
  virtual void EndArray() = 0;
  virtual void Key(std::string_view name) = 0;
  virtual void String(std::string_view value) = 0;
  virtual void Bool(bool value) = 0;
  virtual void Int(int64_t value) = 0;
  virtual void Double(double value) = 0;
  virtual void Null() = 0;
  // Raw bytes: base64 text in JSON, a byte string in CBOR.
  virtual void Blob(std::string_view bytes) = 0;
  // An instant: epoch seconds with a millisecond fraction in JSON, tag 1 with
  // integer milliseconds in CBOR.
  virtual void Timestamp(EpochMillis millis) = 0;

  // True when nothing has been written yet.
  virtual bool Empty() const = 0;
  // The finished document; the Encoder is spent afterwards.
  virtual std::string Take() = 0;
};

}  // namespace sluice
