#include "common/json_codec.h"

#include <cinttypes>
#include <cstdio>
#include <string>

#include "common/base64.h"
#include "common/json.h"

namespace sluice {
namespace {

class JsonEncoder final : public Encoder {
 public:
  JsonEncoder() : writer_(buffer_) {}

  void StartObject() override { writer_.StartObject(); }
  void EndObject() override { writer_.EndObject(); }
  void StartArray() override { writer_.StartArray(); }
  void EndArray() override { writer_.EndArray(); }
  void Key(std::string_view name) override {
    writer_.Key(name.data(), Length(name));
  }
  void String(std::string_view value) override {
    writer_.String(value.data(), Length(value));
  }
  void Bool(bool value) override { writer_.Bool(value); }
  void Int(int64_t value) override { writer_.Int64(value); }
  void Double(double value) override { writer_.Double(value); }
  void Null() override { writer_.Null(); }
  void Blob(std::string_view bytes) override { String(Base64Encode(bytes)); }
  void Timestamp(EpochMillis millis) override {
    // Seconds with exactly three decimals; floor division keeps pre-1970
    // instants right too.
    int64_t seconds = millis / 1000;
    int64_t fraction = millis % 1000;
    if (fraction < 0) {
      fraction += 1000;
      seconds -= 1;
    }
    char text[32];
    int n = std::snprintf(text, sizeof text, "%" PRId64 ".%03" PRId64, seconds,
                          fraction);
    writer_.RawValue(text, static_cast<size_t>(n), rapidjson::kNumberType);
  }

  bool Empty() const override { return buffer_.GetSize() == 0; }
  std::string Take() override {
    return std::string(buffer_.GetString(), buffer_.GetSize());
  }

 private:
  static rapidjson::SizeType Length(std::string_view text) {
    return static_cast<rapidjson::SizeType>(text.size());
  }

  rapidjson::StringBuffer buffer_;
  rapidjson::Writer<rapidjson::StringBuffer> writer_;
};

}  // namespace

std::unique_ptr<Encoder> NewJsonEncoder() {
  return std::make_unique<JsonEncoder>();
}

namespace {

// No AWS input shape nests deeper than a handful of levels; Jackson, which
// parses for AWS, stops at 1000.
constexpr int kMaxJsonDepth = 1000;

// True when no array or object in `text` nests deeper than kMaxJsonDepth.
// Checked before parsing because a DOM that deep would overflow the stack
// when it is destroyed, even though the parser itself is iterative.
bool NestingWithinLimit(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // skip the escaped character
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxJsonDepth) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

}  // namespace

bool DecodeJsonObject(std::string_view body, json::Document& out) {
  if (!NestingWithinLimit(body)) return false;
  out.Parse<json::kParseFlags>(body.data(), body.size());
  return !out.HasParseError() && out.IsObject();
}

}  // namespace sluice
