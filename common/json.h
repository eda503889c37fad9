// The only way Sluice includes RapidJSON: it fixes the configuration macros so
// every translation unit agrees on them. Callers check IsString() and friends
// before every access: a wrong type is a SerializationException, never a crash.
#pragma once

#ifndef RAPIDJSON_HAS_STDSTRING
#define RAPIDJSON_HAS_STDSTRING 1
#endif
// RapidJSON asserts on misuse by default; we check types ourselves and want a
// wrong access in release builds to be a bug we see in tests, not an abort.
#ifndef RAPIDJSON_ASSERT
#include <cassert>
#define RAPIDJSON_ASSERT(x) assert(x)
#endif

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>
#include <string_view>

namespace sluice::json {

using Document = rapidjson::Document;
using Value = rapidjson::Value;

// Parse flags for request bodies: strict UTF-8, nothing but whitespace after
// the document, full-precision doubles.
inline constexpr unsigned kParseFlags =
    rapidjson::kParseValidateEncodingFlag | rapidjson::kParseFullPrecisionFlag;

inline std::string_view AsView(const Value& v) {
  return std::string_view(v.GetString(), v.GetStringLength());
}

// `text` as a JSON string literal, quotes and escapes included.
inline std::string Quote(std::string_view text) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace sluice::json
