#include "server/model/service_model.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <regex>

namespace sluice::model {

// ---------------------------------------------------------------------------
// Patterns. The models' patterns are Java regexes matched against the whole
// value. The ones on the PutRecord(s) path are hand-written for speed; the
// \p{...} classes and look-behind, which ECMAScript lacks, are hand-written
// or rewritten; the rest run as std::wregex over code points, so a class like
// [\u0001-\uFFFF] sees characters, not UTF-8 bytes.

namespace {

enum class MatcherKind {
  kNameChars,  // [a-zA-Z0-9_.-]+
  kDecimal,    // 0|([1-9]\d{0,N})
  kAnyLine,    // .*
  kTagChars,   // ^[\p{L}\p{Z}\p{N}_.:\/=+\-@%]*$ (optionally (?!aws:))
  kRegex,
  kUnsupported,  // failed to compile: matches everything
};

struct Matcher {
  MatcherKind kind = MatcherKind::kRegex;
  size_t max_digits = 0;    // kDecimal
  bool refuse_aws = false;  // kTagChars: the (?!aws:) variant
  std::wregex regex;        // kRegex
};

// Java regexes that ECMAScript cannot express, with an equivalent it can.
struct Rewrite {
  std::string_view java;
  std::string_view ecmascript;
};
constexpr Rewrite kRewrites[] = {
    // (?!-)[A-Za-z0-9-]{1,63}(?<!-) is a DNS label: no look-behind needed.
    {"jdbc:(redshift|postgresql)://((?!-)[A-Za-z0-9-]{1,63}(?<!-)\\.)+"
     "(redshift(-serverless)?)\\.([a-zA-Z0-9\\.\\-]+):\\d{1,5}/"
     "[a-zA-Z0-9_$-]+",
     "jdbc:(redshift|postgresql)://"
     "(([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]{0,61}[A-Za-z0-9])\\.)+"
     "(redshift(-serverless)?)\\.([a-zA-Z0-9\\.\\-]+):\\d{1,5}/"
     "[a-zA-Z0-9_$-]+"},
};

// Decodes UTF-8 into code points; RapidJSON has validated the encoding, so a
// malformed byte only becomes U+FFFD.
std::wstring ToCodePoints(std::string_view utf8) {
  std::wstring out;
  out.reserve(utf8.size());
  for (size_t i = 0; i < utf8.size();) {
    auto b = static_cast<unsigned char>(utf8[i]);
    uint32_t cp = 0xFFFD;
    size_t extra = 0;
    if (b < 0x80) {
      cp = b;
    } else if ((b & 0xE0) == 0xC0) {
      cp = b & 0x1Fu;
      extra = 1;
    } else if ((b & 0xF0) == 0xE0) {
      cp = b & 0x0Fu;
      extra = 2;
    } else if ((b & 0xF8) == 0xF0) {
      cp = b & 0x07u;
      extra = 3;
    }
    ++i;
    for (size_t k = 0; k < extra; ++k, ++i) {
      if (i >= utf8.size() ||
          (static_cast<unsigned char>(utf8[i]) & 0xC0) != 0x80) {
        cp = 0xFFFD;
        break;
      }
      cp = (cp << 6) | (static_cast<unsigned char>(utf8[i]) & 0x3Fu);
    }
    out += static_cast<wchar_t>(cp);
  }
  return out;
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

// \p{L}, \p{Z} or \p{N} without ICU: exact for ASCII and Latin-1; above that
// every code point counts except controls, general punctuation and symbols
// blocks, which is close enough for tag keys and values.
bool IsLetterSpaceOrNumber(uint32_t cp) {
  if (cp < 0x80) {
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
           (cp >= '0' && cp <= '9') || cp == ' ';
  }
  if (cp < 0xA0) return false;
  if (cp < 0x100) {
    return cp == 0xA0 || cp == 0xAA || cp == 0xB2 || cp == 0xB3 || cp == 0xB5 ||
           cp == 0xB9 || cp == 0xBA || (cp >= 0xBC && cp <= 0xBE) ||
           (cp >= 0xC0 && cp != 0xD7 && cp != 0xF7);
  }
  if (cp >= 0x2000 && cp <= 0x200A) return true;  // spaces
  if (cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
      cp == 0x3000) {
    return true;
  }
  if (cp >= 0x2000 && cp <= 0x2BFF) return false;  // punctuation, symbols
  if (cp >= 0xD800 && cp <= 0xDFFF) return false;
  if (cp >= 0xE000 && cp <= 0xF8FF) return false;  // private use
  return true;
}

bool MatchTagChars(std::string_view text, bool refuse_aws) {
  if (refuse_aws && text.starts_with("aws:")) return false;
  for (wchar_t c : ToCodePoints(text)) {
    auto cp = static_cast<uint32_t>(c);
    if (IsLetterSpaceOrNumber(cp)) continue;
    switch (cp) {
      case '_':
      case '.':
      case ':':
      case '/':
      case '=':
      case '+':
      case '-':
      case '@':
      case '%':
        continue;
      default:
        return false;
    }
  }
  return true;
}

}  // namespace

class CompiledPatterns {
 public:
  explicit CompiledPatterns(std::span<const std::string_view> patterns) {
    matchers_.resize(patterns.size());
    for (size_t i = 0; i < patterns.size(); ++i) {
      Compile(patterns[i], matchers_[i]);
    }
  }

  bool Matches(size_t index, std::string_view text) const {
    const Matcher& m = matchers_[index];
    switch (m.kind) {
      case MatcherKind::kNameChars:
        return !text.empty() &&
               std::all_of(text.begin(), text.end(), IsNameChar);
      case MatcherKind::kDecimal:
        if (text == "0") return true;
        if (text.empty() || text.size() > m.max_digits + 1 || text[0] < '1' ||
            text[0] > '9') {
          return false;
        }
        return std::all_of(text.begin(), text.end(),
                           [](char c) { return c >= '0' && c <= '9'; });
      case MatcherKind::kAnyLine:
        // Java's '.' stops at \n, \r, U+0085, U+2028 and U+2029.
        return text.find_first_of("\n\r") == std::string_view::npos &&
               text.find("\xC2\x85") == std::string_view::npos &&
               text.find("\xE2\x80\xA8") == std::string_view::npos &&
               text.find("\xE2\x80\xA9") == std::string_view::npos;
      case MatcherKind::kTagChars:
        return MatchTagChars(text, m.refuse_aws);
      case MatcherKind::kRegex:
        return std::regex_match(ToCodePoints(text), m.regex);
      case MatcherKind::kUnsupported:
        return true;
    }
    return true;
  }

  bool Supported(size_t index) const {
    return matchers_[index].kind != MatcherKind::kUnsupported;
  }

 private:
  static void Compile(std::string_view java, Matcher& m) {
    if (java == "[a-zA-Z0-9_.-]+") {
      m.kind = MatcherKind::kNameChars;
      return;
    }
    constexpr std::string_view kDecimalHead = "0|([1-9]\\d{0,";
    if (java.starts_with(kDecimalHead) && java.ends_with("})")) {
      std::string_view digits = java.substr(
          kDecimalHead.size(), java.size() - kDecimalHead.size() - 2);
      size_t n = 0;
      auto [end, ec] =
          std::from_chars(digits.data(), digits.data() + digits.size(), n);
      if (ec == std::errc() && end == digits.data() + digits.size()) {
        m.kind = MatcherKind::kDecimal;
        m.max_digits = n;
        return;
      }
    }
    if (java == ".*") {
      m.kind = MatcherKind::kAnyLine;
      return;
    }
    if (java == "^[\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@%]*$" ||
        java == "^(?!aws:)[\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@%]*$") {
      m.kind = MatcherKind::kTagChars;
      m.refuse_aws = java.find("(?!aws:)") != std::string_view::npos;
      return;
    }
    std::string_view source = java;
    for (const Rewrite& rewrite : kRewrites) {
      if (rewrite.java == java) source = rewrite.ecmascript;
    }
    try {
      m.regex = std::wregex(ToCodePoints(source),
                            std::regex::ECMAScript | std::regex::optimize);
      m.kind = MatcherKind::kRegex;
    } catch (const std::regex_error&) {
      m.kind = MatcherKind::kUnsupported;
    }
  }

  std::vector<Matcher> matchers_;
};

ServiceModel::ServiceModel(Tables tables)
    : tables_(tables),
      compiled_(std::make_unique<CompiledPatterns>(tables.patterns)) {}

ServiceModel::~ServiceModel() = default;

const Shape* ServiceModel::InputShape(std::string_view operation) const {
  auto it = std::lower_bound(tables_.operations.begin(),
                             tables_.operations.end(), operation,
                             [](const Operation& op, std::string_view name) {
                               return op.name < name;
                             });
  if (it == tables_.operations.end() || it->name != operation ||
      it->input == kNoShape) {
    return nullptr;
  }
  return &tables_.shapes[it->input];
}

bool ServiceModel::HasOperation(std::string_view operation) const {
  auto it = std::lower_bound(tables_.operations.begin(),
                             tables_.operations.end(), operation,
                             [](const Operation& op, std::string_view name) {
                               return op.name < name;
                             });
  return it != tables_.operations.end() && it->name == operation;
}

bool ServiceModel::Matches(int index, std::string_view text) const {
  return compiled_->Matches(static_cast<size_t>(index), text);
}

std::vector<std::string_view> ServiceModel::UnsupportedPatterns() const {
  std::vector<std::string_view> out;
  for (size_t i = 0; i < tables_.patterns.size(); ++i) {
    if (!compiled_->Supported(i)) out.push_back(tables_.patterns[i]);
  }
  return out;
}

size_t Utf16Length(std::string_view utf8) {
  size_t units = 0;
  for (char c : utf8) {
    auto b = static_cast<unsigned char>(c);
    if ((b & 0xC0) != 0x80) ++units;  // each code point's lead byte
    if (b >= 0xF0) ++units;           // beyond the BMP: a surrogate pair
  }
  return units;
}

// ---------------------------------------------------------------------------
// Validation.

namespace {

inline constexpr size_t kMaxReported = 10;  // AWS stops after ten

Status SerializationError(std::string message) {
  return Status(ErrorCode::kSerialization, std::move(message));
}

// AWS's decoder names a JSON number it cannot use this way.
constexpr std::string_view kNumberClass =
    "class com.amazon.coral.value.json.numbers.TruncatingBigNumber";

Status WrongContainer(const json::Value& value) {
  return SerializationError(value.IsArray()
                                ? "Start of list found where not expected"
                                : "Start of structure or map found where not "
                                  "expected.");
}

// The integer AWS reads from a JSON number: truncated toward zero and held
// to the range of the Java type.
int64_t ToInteger(const json::Value& value, bool is_int32) {
  int64_t lo = is_int32 ? std::numeric_limits<int32_t>::min()
                        : std::numeric_limits<int64_t>::min();
  int64_t hi = is_int32 ? std::numeric_limits<int32_t>::max()
                        : std::numeric_limits<int64_t>::max();
  if (value.IsInt64()) return std::clamp(value.GetInt64(), lo, hi);
  if (value.IsUint64()) return hi;
  double d = std::trunc(value.GetDouble());
  if (!(d > static_cast<double>(lo))) return lo;
  if (!(d < static_cast<double>(hi))) return hi;
  return static_cast<int64_t>(d);
}

constexpr std::array<int8_t, 256> kBase64Value = [] {
  std::array<int8_t, 256> t{};
  t.fill(-1);
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < kAlphabet.size(); ++i) {
    t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  }
  return t;
}();

// The decoded length of base64 that passed Base64Error().
size_t DecodedLength(std::string_view text) {
  size_t pad = 0;
  while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') {
    ++pad;
  }
  return text.size() / 4 * 3 - pad;
}

// What AWS says of a string given for a blob; empty when it is valid base64.
std::string Base64Error(std::string_view text) {
  auto prefix = [&] {
    std::string head = "'";
    head.append(text);
    head.append("' can not be converted to a Blob: ");
    return head;
  };
  if (text.size() % 4 != 0) {
    return prefix() +
           "Base64 encoded length is expected a multiple of 4 bytes but "
           "found: " +
           std::to_string(text.size());
  }
  size_t pad = 0;
  while (pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
  // Records are mostly base64 bytes: one branch-free pass over them says
  // whether the slower search for the offending character is needed.
  int8_t invalid = 0;
  for (size_t i = 0; i < text.size() - pad; ++i) {
    invalid |= kBase64Value[static_cast<unsigned char>(text[i])];
  }
  if (invalid < 0) {
    for (size_t i = 0; i < text.size(); ++i) {
      auto b = static_cast<unsigned char>(text[i]);
      if (kBase64Value[b] >= 0) continue;
      if (b == '=' && (i + 1 == text.size() || text[i + 1] == '=')) continue;
      // The offending character, whole even when it takes several bytes.
      size_t n = 1;
      while (b >= 0xC0 && i + n < text.size() &&
             (static_cast<unsigned char>(text[i + n]) & 0xC0) == 0x80) {
        ++n;
      }
      return prefix() + "Invalid Base64 character: '" +
             std::string(text.substr(i, n)) + "'";
    }
  }
  // Only trailing '=' remain; AWS wants at most two and no stray bits in the
  // last character before them.
  bool canonical = pad <= 2;
  if (canonical && pad > 0) {
    int last =
        kBase64Value[static_cast<unsigned char>(text[text.size() - 1 - pad])];
    canonical = (last & (pad == 1 ? 0x3 : 0xF)) == 0;
  }
  if (!canonical) {
    return prefix() + "Invalid last non-pad Base64 character dectected";
  }
  return "";
}

const Member* FindMember(const ServiceModel& model, const Shape& structure,
                         std::string_view name) {
  for (const Member& member : model.MembersOf(structure)) {
    if (member.name == name) return &member;
  }
  return nullptr;
}

// Pass 1: JSON types, in document order as AWS's streaming decoder meets them.
Status CheckTypes(const ServiceModel& model, const Shape& shape,
                  const json::Value& value) {
  if (value.IsNull()) return Status::Ok();
  switch (shape.type) {
    case ShapeType::kStructure:
      if (!value.IsObject()) {
        return value.IsArray() ? WrongContainer(value)
                               : SerializationError("Expected null");
      }
      for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it) {
        const Member* member = FindMember(model, shape, json::AsView(it->name));
        if (member == nullptr) continue;  // AWS ignores unknown members
        if (Status s = CheckTypes(model, model.shape(member->shape), it->value);
            !s.ok()) {
          return s;
        }
      }
      return Status::Ok();
    case ShapeType::kList:
      if (!value.IsArray()) {
        return value.IsObject() ? WrongContainer(value)
                                : SerializationError("Expected list or null");
      }
      for (const json::Value& item : value.GetArray()) {
        if (Status s = CheckTypes(model, model.shape(shape.element), item);
            !s.ok()) {
          return s;
        }
      }
      return Status::Ok();
    case ShapeType::kMap:
      if (!value.IsObject()) {
        return value.IsArray() ? WrongContainer(value)
                               : SerializationError("Expected map or null");
      }
      for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it) {
        if (Status s = CheckTypes(model, model.shape(shape.value), it->value);
            !s.ok()) {
          return s;
        }
      }
      return Status::Ok();
    case ShapeType::kString:
      if (value.IsString()) return Status::Ok();
      if (value.IsBool()) {
        return SerializationError(
            "class java.lang.Boolean can not be converted to an String");
      }
      if (value.IsNumber()) {
        return SerializationError(std::string(kNumberClass) +
                                  " can not be converted to an String");
      }
      return WrongContainer(value);
    case ShapeType::kBlob:
      if (value.IsString()) {
        std::string error = Base64Error(json::AsView(value));
        if (!error.empty()) return SerializationError(std::move(error));
        return Status::Ok();
      }
      if (value.IsBool()) {
        return SerializationError(
            "class java.lang.Boolean can not be converted to a Blob");
      }
      if (value.IsNumber()) {
        return SerializationError(std::string(kNumberClass) +
                                  " can not be converted to a Blob");
      }
      return WrongContainer(value);
    case ShapeType::kInteger:
    case ShapeType::kLong:
    case ShapeType::kDouble: {
      if (value.IsNumber()) return Status::Ok();
      std::string_view java = shape.type == ShapeType::kInteger ? "Integer"
                              : shape.type == ShapeType::kLong  ? "Long"
                                                                : "Double";
      if (value.IsString()) {
        return SerializationError(
            "class java.lang.String can not be converted to an " +
            std::string(java));
      }
      if (value.IsBool()) {
        return SerializationError(
            "class java.lang.Boolean can not be converted to an " +
            std::string(java));
      }
      return WrongContainer(value);
    }
    case ShapeType::kBoolean:
      if (value.IsBool()) return Status::Ok();
      if (value.IsString()) {
        // AWS reads "true"/"false" in any case, and echoes anything else in
        // upper case.
        std::string upper(json::AsView(value));
        for (char& c : upper) {
          if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        }
        if (upper == "TRUE" || upper == "FALSE") return Status::Ok();
        return SerializationError("'" + upper +
                                  "' can not be converted to an Boolean");
      }
      if (value.IsNumber()) {
        return SerializationError(std::string(kNumberClass) +
                                  " can not be converted to an Boolean");
      }
      return WrongContainer(value);
    case ShapeType::kTimestamp:
      if (value.IsNumber()) return Status::Ok();
      if (value.IsString()) {
        return SerializationError(
            "class java.lang.String can not be converted to milliseconds "
            "since epoch");
      }
      if (value.IsBool()) {
        return SerializationError(
            "class java.lang.Boolean can not be converted to milliseconds "
            "since epoch");
      }
      return WrongContainer(value);
  }
  return Status::Ok();
}

// Java's Double.toString for the values models bound (no exponents needed).
std::string JavaDouble(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  std::array<char, 64> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), d);
  std::string text(buf.data(), end);
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

// Java's String.hashCode over the item's JSON, standing in for the object
// hash AWS prints after a structure's class name.
uint32_t ItemHash(const json::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  uint32_t h = 0;
  for (size_t i = 0; i < buffer.GetSize(); ++i) {
    h = 31 * h + static_cast<unsigned char>(buffer.GetString()[i]);
  }
  return h;
}

class Validator {
 public:
  explicit Validator(const ServiceModel& model) : model_(model) {}

  bool Full() const { return items_.size() >= kMaxReported; }

  // Checks `value` (an object) as `shape`; path_ names it ("" at the top).
  void CheckStructure(const Shape& shape, const json::Value& value) {
    auto order =
        model_.tables().check_order.subspan(shape.check_first, shape.count);
    const size_t mark = path_.size();
    for (uint16_t index : order) {
      if (Full()) return;
      const Member& member = model_.tables().members[index];
      auto it = value.FindMember(json::Value(
          rapidjson::StringRef(member.name.data(), member.name.size())));
      bool absent = it == value.MemberEnd() || it->value.IsNull();
      if (absent && !member.required) continue;
      // AWS names members with the first letter lowered: StreamName is
      // 'streamName'.
      if (mark > 0) path_ += '.';
      char head = member.name[0];
      if (head >= 'A' && head <= 'Z')
        head = static_cast<char>(head - 'A' + 'a');
      path_ += head;
      path_.append(member.name.substr(1));
      if (absent) {
        Add("null", "Member must not be null", false);
      } else {
        CheckValue(model_.shape(member.shape), it->value);
      }
      path_.resize(mark);
    }
  }

  Status ToStatus() const {
    if (items_.empty()) return Status::Ok();
    std::string message = std::to_string(items_.size());
    message += items_.size() == 1 ? " validation error detected: "
                                  : " validation errors detected: ";
    for (size_t i = 0; i < items_.size(); ++i) {
      if (i > 0) message += "; ";
      message += items_[i];
    }
    return Status(ErrorCode::kValidation, std::move(message));
  }

 private:
  // Records a violation at path_.
  void Add(std::string_view shown, std::string_view rule, bool quoted = true) {
    if (Full()) return;
    std::string item = "Value ";
    if (quoted) item += '\'';
    item += shown;
    if (quoted) item += '\'';
    item += " at '";
    item += path_;
    item += "' failed to satisfy constraint: ";
    item += rule;
    items_.push_back(std::move(item));
  }

  // How AWS prints a value in "Value '...' at".
  std::string Render(const Shape& shape, const json::Value& value) const {
    if (value.IsNull()) return "null";
    switch (shape.type) {
      case ShapeType::kString:
        return std::string(json::AsView(value));
      case ShapeType::kBlob: {
        std::string n = std::to_string(DecodedLength(json::AsView(value)));
        return "java.nio.HeapByteBuffer[pos=0 lim=" + n + " cap=" + n + "]";
      }
      case ShapeType::kInteger:
      case ShapeType::kLong:
        return std::to_string(
            ToInteger(value, shape.type == ShapeType::kInteger));
      case ShapeType::kDouble:
        return JavaDouble(value.GetDouble());
      case ShapeType::kBoolean:
        return value.IsBool() ? (value.GetBool() ? "true" : "false")
                              : std::string(json::AsView(value));
      case ShapeType::kTimestamp: {
        rapidjson::StringBuffer buffer;
        rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
        value.Accept(writer);
        return buffer.GetString();
      }
      case ShapeType::kStructure: {
        char hex[16];
        auto [end, ec] =
            std::to_chars(hex, hex + sizeof(hex), ItemHash(value), 16);
        return std::string(model_.tables().java_package) + "." +
               std::string(shape.name) + "@" + std::string(hex, end);
      }
      case ShapeType::kList: {
        std::string out = "[";
        bool first = true;
        for (const json::Value& item : value.GetArray()) {
          if (!first) out += ", ";
          first = false;
          out += Render(model_.shape(shape.element), item);
        }
        return out + "]";
      }
      case ShapeType::kMap: {
        std::string out = "{";
        bool first = true;
        for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it) {
          if (!first) out += ", ";
          first = false;
          out.append(json::AsView(it->name));
          out += '=';
          out += Render(model_.shape(shape.value), it->value);
        }
        return out + "}";
      }
    }
    return "";
  }

  // The length a limit applies to, or nullopt for shapes without one.
  static std::optional<int64_t> LengthOf(const Shape& shape,
                                         const json::Value& value) {
    switch (shape.type) {
      case ShapeType::kString:
        return static_cast<int64_t>(Utf16Length(json::AsView(value)));
      case ShapeType::kBlob:
        return static_cast<int64_t>(DecodedLength(json::AsView(value)));
      case ShapeType::kList:
        return static_cast<int64_t>(value.Size());
      case ShapeType::kMap:
        return static_cast<int64_t>(value.MemberCount());
      default:
        return std::nullopt;
    }
  }

  bool IsNumeric(const Shape& shape) const {
    return shape.type == ShapeType::kInteger ||
           shape.type == ShapeType::kLong || shape.type == ShapeType::kDouble;
  }

  // Each constraint `value` breaks, in the order AWS lists them: enum,
  // pattern, then the lower and upper limit.
  template <class Sink>
  void ForEachBroken(const Shape& shape, const json::Value& value,
                     Sink&& sink) const {
    if (shape.type == ShapeType::kString) {
      std::string_view text = json::AsView(value);
      if (shape.count > 0) {
        auto values = model_.EnumOf(shape);
        if (std::find(values.begin(), values.end(), text) == values.end()) {
          sink(EnumRule(shape));
        }
      }
      if (shape.pattern >= 0 && !model_.Matches(shape.pattern, text)) {
        sink(PatternRule(shape));
      }
    }
    if (IsNumeric(shape)) {
      if (shape.type != ShapeType::kDouble) {
        int64_t n = ToInteger(value, shape.type == ShapeType::kInteger);
        if (shape.has_min && n < shape.min) sink(MinValueRule(shape));
        if (shape.has_max && n > shape.max) sink(MaxValueRule(shape));
      } else {
        double d = value.GetDouble();
        if (shape.has_min && d < static_cast<double>(shape.min)) {
          sink(MinValueRule(shape));
        }
        if (shape.has_max && d > static_cast<double>(shape.max)) {
          sink(MaxValueRule(shape));
        }
      }
      return;
    }
    if (!shape.has_min && !shape.has_max) return;
    std::optional<int64_t> length = LengthOf(shape, value);
    if (!length) return;
    if (shape.has_min && *length < shape.min) sink(MinLengthRule(shape));
    if (shape.has_max && *length > shape.max) sink(MaxLengthRule(shape));
  }

  static std::string MinLengthRule(const Shape& s) {
    return "Member must have length greater than or equal to " +
           std::to_string(s.min);
  }
  static std::string MaxLengthRule(const Shape& s) {
    return "Member must have length less than or equal to " +
           std::to_string(s.max);
  }
  static std::string MinValueRule(const Shape& s) {
    return "Member must have value greater than or equal to " +
           std::to_string(s.min);
  }
  static std::string MaxValueRule(const Shape& s) {
    return "Member must have value less than or equal to " +
           std::to_string(s.max);
  }
  std::string PatternRule(const Shape& s) const {
    return "Member must satisfy regular expression pattern: " +
           std::string(
               model_.tables().patterns[static_cast<size_t>(s.pattern)]);
  }
  std::string EnumRule(const Shape& s) const {
    std::string rule = "Member must satisfy enum value set: [";
    bool first = true;
    for (std::string_view v : model_.EnumOf(s)) {
      if (!first) rule += ", ";
      first = false;
      rule += v;
    }
    return rule + "]";
  }

  // All of a scalar shape's constraints, as AWS lists them when items of a
  // list or map break any: "[Member must have length less than or equal to
  // 128, Member must have length greater than or equal to 1]".
  std::string AllRules(const Shape& s) const {
    std::vector<std::string> rules;
    bool numeric = IsNumeric(s);
    if (s.has_max)
      rules.push_back(numeric ? MaxValueRule(s) : MaxLengthRule(s));
    if (s.has_min)
      rules.push_back(numeric ? MinValueRule(s) : MinLengthRule(s));
    if (s.pattern >= 0) rules.push_back(PatternRule(s));
    if (s.type == ShapeType::kString && s.count > 0) {
      rules.push_back(EnumRule(s));
    }
    std::string out = "[";
    for (size_t i = 0; i < rules.size(); ++i) {
      if (i > 0) out += ", ";
      out += rules[i];
    }
    return out + "]";
  }

  bool Breaks(const Shape& shape, const json::Value& value) const {
    if (value.IsNull()) return false;
    bool broken = false;
    ForEachBroken(shape, value, [&](const std::string&) { broken = true; });
    return broken;
  }

  bool IsScalar(const Shape& shape) const {
    return shape.type != ShapeType::kStructure &&
           shape.type != ShapeType::kList && shape.type != ShapeType::kMap;
  }

  // Checks `value` (not null) as `shape`, and what it holds; path_ names it.
  void CheckValue(const Shape& shape, const json::Value& value) {
    ForEachBroken(shape, value, [&](const std::string& rule) {
      Add(Render(shape, value), rule);
    });
    switch (shape.type) {
      case ShapeType::kStructure:
        CheckStructure(shape, value);
        return;
      case ShapeType::kList: {
        const Shape& element = model_.shape(shape.element);
        if (IsScalar(element)) {
          // AWS reports broken items once, at the list.
          for (const json::Value& item : value.GetArray()) {
            if (Breaks(element, item)) {
              Add(Render(shape, value),
                  "Member must satisfy constraint: " + AllRules(element));
              break;
            }
          }
          return;
        }
        rapidjson::SizeType i = 0;
        for (const json::Value& item : value.GetArray()) {
          ++i;
          if (Full()) return;
          if (item.IsNull()) continue;
          // List items are named 1-based: records.3.member.partitionKey.
          const size_t mark = path_.size();
          char digits[16];
          auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), i);
          path_ += '.';
          path_.append(digits, end);
          path_ += ".member";
          CheckValue(element, item);
          path_.resize(mark);
        }
        return;
      }
      case ShapeType::kMap: {
        const Shape& key = model_.shape(shape.element);
        const Shape& val = model_.shape(shape.value);
        for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it) {
          if (Breaks(key, it->name)) {
            Add(Render(shape, value),
                "Map keys must satisfy constraint: " + AllRules(key));
            break;
          }
        }
        if (IsScalar(val)) {
          for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it) {
            if (Breaks(val, it->value)) {
              Add(Render(shape, value),
                  "Map value must satisfy constraint: " + AllRules(val));
              break;
            }
          }
          return;
        }
        for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it) {
          if (Full()) return;
          if (it->value.IsNull()) continue;
          const size_t mark = path_.size();
          path_ += '.';
          path_.append(json::AsView(it->name));
          path_ += ".member";
          CheckValue(val, it->value);
          path_.resize(mark);
        }
        return;
      }
      default:
        return;
    }
  }

  const ServiceModel& model_;
  std::string path_;  // where the value being checked sits, e.g. "records.3"
  std::vector<std::string> items_;
};

}  // namespace

Status ValidateInput(const ServiceModel& model, std::string_view operation,
                     const json::Value& input) {
  const Shape* shape = model.InputShape(operation);
  if (shape == nullptr) return Status::Ok();
  if (Status s = CheckTypes(model, *shape, input); !s.ok()) return s;
  if (!input.IsObject()) return Status::Ok();  // null: no members given
  Validator validator(model);
  validator.CheckStructure(*shape, input);
  return validator.ToStatus();
}

std::optional<int64_t> GetInteger(const json::Value& input,
                                  std::string_view member) {
  auto it = input.FindMember(
      json::Value(rapidjson::StringRef(member.data(), member.size())));
  if (it == input.MemberEnd() || !it->value.IsNumber()) return std::nullopt;
  return ToInteger(it->value, false);
}

std::optional<std::string_view> GetString(const json::Value& input,
                                          std::string_view member) {
  auto it = input.FindMember(
      json::Value(rapidjson::StringRef(member.data(), member.size())));
  if (it == input.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return json::AsView(it->value);
}

std::optional<bool> GetBool(const json::Value& input, std::string_view member) {
  auto it = input.FindMember(
      json::Value(rapidjson::StringRef(member.data(), member.size())));
  if (it == input.MemberEnd()) return std::nullopt;
  if (it->value.IsBool()) return it->value.GetBool();
  if (!it->value.IsString()) return std::nullopt;
  std::string_view text = json::AsView(it->value);
  return text.size() == 4;  // validated: "true" or "false" in any case
}

}  // namespace sluice::model
