#include "common/json_codec.h"

#include <charconv>
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
  void Blob(std::string_view bytes) override {
    // Base64 never needs JSON escaping, so it goes in raw, quotes and all,
    // instead of through the writer's per-character escaping.
    scratch_.assign(1, '"');
    scratch_ += Base64Encode(bytes);
    scratch_ += '"';
    writer_.RawValue(scratch_.data(), scratch_.size(), rapidjson::kStringType);
  }
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
    char* end = std::to_chars(text, text + sizeof text - 4, seconds).ptr;
    *end++ = '.';
    *end++ = static_cast<char>('0' + fraction / 100);
    *end++ = static_cast<char>('0' + fraction / 10 % 10);
    *end++ = static_cast<char>('0' + fraction % 10);
    writer_.RawValue(text, static_cast<size_t>(end - text),
                     rapidjson::kNumberType);
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
  std::string scratch_;  // reused for each blob
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

bool DecodeJsonObject(std::string& body, json::Document& out) {
  if (!NestingWithinLimit(body)) return false;
  // In place: strings (megabytes of base64 in a PutRecords) are not copied.
  // std::string keeps a terminating NUL after its data, which the in-situ
  // parser needs.
  out.ParseInsitu<json::kParseFlags>(body.data());
  return !out.HasParseError() && out.IsObject();
}

}  // namespace sluice
