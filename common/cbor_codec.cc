#include "common/cbor_codec.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "common/base64.h"

namespace sluice {
namespace {

// Major types (RFC 8949 §3.1), the high three bits of an item's first byte.
enum Major : uint8_t {
  kUnsigned = 0,
  kNegative = 1,
  kBytes = 2,
  kText = 3,
  kArray = 4,
  kMap = 5,
  kTag = 6,
  kSimple = 7,  // simple values and floats
};

constexpr uint8_t kBreak = 0xFF;
constexpr uint8_t kIndefinite = 31;  // additional info of a streamed item
constexpr uint64_t kEpochTag = 1;
constexpr uint64_t kSelfDescribedTag = 55799;

// ---------------------------------------------------------------------------
// Encoding.

class CborEncoder final : public Encoder {
 public:
  void StartObject() override { out_.push_back(Byte(kMap, kIndefinite)); }
  void EndObject() override { out_.push_back(static_cast<char>(kBreak)); }
  void StartArray() override { out_.push_back(Byte(kArray, kIndefinite)); }
  void EndArray() override { out_.push_back(static_cast<char>(kBreak)); }
  void Key(std::string_view name) override { String(name); }
  void String(std::string_view value) override {
    Head(kText, value.size());
    out_.append(value);
  }
  void Bool(bool value) override { out_.push_back(value ? '\xF5' : '\xF4'); }
  void Int(int64_t value) override {
    // A negative n is major type 1 with argument -1 - n, which for INT64_MIN
    // is still in range: ~n as unsigned.
    if (value >= 0) {
      Head(kUnsigned, static_cast<uint64_t>(value));
    } else {
      Head(kNegative, ~static_cast<uint64_t>(value));
    }
  }
  void Double(double value) override {
    // Single precision when that loses nothing; every CBOR reader widens it.
    auto single = static_cast<float>(value);
    if (static_cast<double>(single) == value || std::isnan(value)) {
      out_.push_back('\xFA');
      BigEndian(std::bit_cast<uint32_t>(single), 4);
    } else {
      out_.push_back('\xFB');
      BigEndian(std::bit_cast<uint64_t>(value), 8);
    }
  }
  void Null() override { out_.push_back('\xF6'); }
  void Blob(std::string_view bytes) override {
    Head(kBytes, bytes.size());
    out_.append(bytes);
  }
  void Timestamp(EpochMillis millis) override {
    Head(kTag, kEpochTag);
    Int(millis);
  }

  bool Empty() const override { return out_.empty(); }
  std::string Take() override { return std::move(out_); }

 private:
  static char Byte(Major major, uint8_t info) {
    return static_cast<char>((major << 5) | info);
  }

  // An item's head in its shortest form: the argument inside the first byte
  // below 24, else in the 1, 2, 4 or 8 bytes that follow.
  void Head(Major major, uint64_t argument) {
    if (argument < 24) {
      out_.push_back(Byte(major, static_cast<uint8_t>(argument)));
    } else if (argument <= 0xFF) {
      out_.push_back(Byte(major, 24));
      BigEndian(argument, 1);
    } else if (argument <= 0xFFFF) {
      out_.push_back(Byte(major, 25));
      BigEndian(argument, 2);
    } else if (argument <= 0xFFFFFFFF) {
      out_.push_back(Byte(major, 26));
      BigEndian(argument, 4);
    } else {
      out_.push_back(Byte(major, 27));
      BigEndian(argument, 8);
    }
  }

  void BigEndian(uint64_t value, int bytes) {
    for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8) {
      out_.push_back(static_cast<char>((value >> shift) & 0xFF));
    }
  }

  std::string out_;
};

// ---------------------------------------------------------------------------
// Decoding.

// As deep as the JSON decoder lets a document nest (its kMaxJsonDepth).
constexpr size_t kMaxDepth = 1000;

// True when `text` is UTF-8 as RFC 3629 defines it: shortest forms only, no
// surrogates, nothing above U+10FFFF. RapidJSON's validating parser refuses
// the same, so both codecs hand handlers the same kind of strings.
bool IsValidUtf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char* end = p + text.size();
  while (p < end) {
    unsigned char b = *p;
    if (b < 0x80) {
      ++p;
      continue;
    }
    size_t n;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;  // bounds of the second byte
    if (b >= 0xC2 && b <= 0xDF) {
      n = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      n = 3;
      if (b == 0xE0) lo = 0xA0;  // overlong
      if (b == 0xED) hi = 0x9F;  // surrogates
    } else if (b >= 0xF0 && b <= 0xF4) {
      n = 4;
      if (b == 0xF0) lo = 0x90;  // overlong
      if (b == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return false;
    }
    if (static_cast<size_t>(end - p) < n) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (size_t i = 2; i < n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
    }
    p += n;
  }
  return true;
}

// IEEE 754 half precision (RFC 8949 Appendix D).
double HalfToDouble(uint16_t half) {
  int exponent = (half >> 10) & 0x1F;
  int mantissa = half & 0x3FF;
  double value;
  if (exponent == 0) {
    value = std::ldexp(mantissa, -24);
  } else if (exponent != 31) {
    value = std::ldexp(mantissa + 1024, exponent - 25);
  } else {
    value = mantissa == 0 ? std::numeric_limits<double>::infinity()
                          : std::numeric_limits<double>::quiet_NaN();
  }
  return (half & 0x8000) ? -value : value;
}

// Reads one CBOR map from `input` as SAX events into a RapidJSON document;
// the generator for Document::Populate(). Iterative, so hostile nesting costs
// a vector, not the stack.
class CborReader {
 public:
  explicit CborReader(std::string_view input) : input_(input) {}

  // The generator Document::Populate() calls; its result is kept for
  // Succeeded(), since Populate() does not pass it on.
  bool operator()(json::Document& doc) {
    succeeded_ = Read(doc);
    return succeeded_;
  }
  bool Succeeded() const { return succeeded_; }

 private:
  bool Read(json::Document& doc) {
    // RapidJSON counts members in 32 bits; request bodies are far smaller.
    if (input_.size() >= std::numeric_limits<rapidjson::SizeType>::max()) {
      return false;
    }
    if (!ReadValue(doc) || open_.empty() || !open_.back().is_map) {
      return false;
    }
    while (!open_.empty()) {
      Container& top = open_.back();
      bool ended = top.indefinite
                       ? pos_ < input_.size() &&
                             static_cast<uint8_t>(input_[pos_]) == kBreak
                       : top.remaining == 0;
      if (ended) {
        if (top.indefinite) ++pos_;
        if (top.is_map) {
          if (top.items % 2 != 0) return false;  // a key without a value
          doc.EndObject(top.items / 2);
        } else {
          doc.EndArray(top.items);
        }
        open_.pop_back();
        continue;
      }
      if (!top.indefinite) --top.remaining;
      bool is_key = top.is_map && top.items % 2 == 0;
      ++top.items;
      // ReadValue may push onto open_, so `top` is not used past here.
      if (!(is_key ? ReadKey(doc) : ReadValue(doc))) return false;
    }
    return pos_ == input_.size();
  }

  struct Container {
    bool is_map;
    bool indefinite;
    uint64_t remaining;         // items (keys and values) left, if definite
    rapidjson::SizeType items;  // items read so far
  };

  struct Head {
    Major major;
    uint8_t info;       // the low five bits of the first byte
    uint64_t argument;  // count, length, value or float bits
  };

  size_t Left() const { return input_.size() - pos_; }

  bool ReadHead(Head& head) {
    if (Left() == 0) return false;
    auto first = static_cast<uint8_t>(input_[pos_++]);
    head.major = static_cast<Major>(first >> 5);
    head.info = first & 0x1F;
    head.argument = 0;
    if (head.info < 24) {
      head.argument = head.info;
    } else if (head.info <= 27) {
      size_t size = size_t{1} << (head.info - 24);
      if (Left() < size) return false;
      for (size_t i = 0; i < size; ++i) {
        head.argument =
            (head.argument << 8) | static_cast<uint8_t>(input_[pos_++]);
      }
    } else if (head.info != kIndefinite) {
      return false;  // 28-30 are reserved
    }
    return true;
  }

  // A text or byte string's content, definite or chunked. A chunked one is
  // gathered in scratch_, so the view lives until the next string is read.
  bool ReadString(const Head& head, std::string_view& out) {
    if (head.info != kIndefinite) {
      if (head.argument > Left()) return false;
      out = input_.substr(pos_, head.argument);
      pos_ += head.argument;
      return head.major != kText || IsValidUtf8(out);
    }
    scratch_.clear();
    while (true) {
      if (Left() == 0) return false;
      if (static_cast<uint8_t>(input_[pos_]) == kBreak) {
        ++pos_;
        out = scratch_;
        return true;
      }
      // Each chunk: a definite-length string of the same major type, and
      // for text, whole characters (RFC 8949 §3.2.3).
      Head chunk;
      if (!ReadHead(chunk) || chunk.major != head.major ||
          chunk.info == kIndefinite || chunk.argument > Left()) {
        return false;
      }
      std::string_view piece = input_.substr(pos_, chunk.argument);
      if (head.major == kText && !IsValidUtf8(piece)) return false;
      scratch_.append(piece);
      pos_ += chunk.argument;
    }
  }

  bool ReadKey(json::Document& doc) {
    Head head;
    std::string_view key;
    if (!ReadHead(head) || head.major != kText || !ReadString(head, key)) {
      return false;
    }
    return doc.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()),
                   true);
  }

  // One value; a map or array is opened here and filled by the caller's loop.
  bool ReadValue(json::Document& doc) {
    Head head;
    if (!ReadHead(head)) return false;
    while (head.major == kTag && head.argument == kSelfDescribedTag) {
      if (!ReadHead(head)) return false;
    }
    if (head.info == kIndefinite && head.major != kBytes &&
        head.major != kText && head.major != kArray && head.major != kMap) {
      return false;  // includes a break where no streamed item is open
    }
    switch (head.major) {
      case kUnsigned:
        return doc.Uint64(head.argument);
      case kNegative:
        return Negative(doc, head.argument);
      case kBytes: {
        std::string_view bytes;
        if (!ReadString(head, bytes)) return false;
        return Base64Into(doc, bytes);
      }
      case kText: {
        std::string_view text;
        if (!ReadString(head, text)) return false;
        return doc.String(text.data(),
                          static_cast<rapidjson::SizeType>(text.size()), true);
      }
      case kArray:
      case kMap:
        return Open(doc, head);
      case kTag:
        return head.argument == kEpochTag && ReadEpochMillis(doc);
      case kSimple:
        switch (head.info) {
          case 20:
            return doc.Bool(false);
          case 21:
            return doc.Bool(true);
          case 22:  // null
          case 23:  // undefined: JSON has only null
            return doc.Null();
          case 25:
          case 26:
          case 27: {
            double value = FloatOf(head);
            return std::isfinite(value) && doc.Double(value);
          }
          default:  // unassigned simple values (24 is their two-byte form)
            return false;
        }
    }
    return false;
  }

  // -1 - n: an int64 when it fits, else (below -2^63) a double, as RapidJSON
  // holds a JSON number that large.
  static bool Negative(json::Document& doc, uint64_t n) {
    if (n <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return doc.Int64(-1 - static_cast<int64_t>(n));
    }
    return doc.Double(-1.0 - static_cast<double>(n));
  }

  bool Open(json::Document& doc, const Head& head) {
    if (open_.size() >= kMaxDepth) return false;
    bool is_map = head.major == kMap;
    uint64_t remaining = 0;
    if (head.info != kIndefinite) {
      // Every item takes at least a byte: a count the input cannot hold is
      // refused before it can size anything.
      uint64_t per_entry = is_map ? 2 : 1;
      if (head.argument > Left() / per_entry) return false;
      remaining = head.argument * per_entry;
    }
    open_.push_back({is_map, head.info == kIndefinite, remaining, 0});
    return is_map ? doc.StartObject() : doc.StartArray();
  }

  // A half, single or double float's value; REQUIRES: info 25, 26 or 27.
  static double FloatOf(const Head& head) {
    switch (head.info) {
      case 25:
        return HalfToDouble(static_cast<uint16_t>(head.argument));
      case 26:
        return static_cast<double>(
            std::bit_cast<float>(static_cast<uint32_t>(head.argument)));
      default:
        return std::bit_cast<double>(head.argument);
    }
  }

  // Tag 1's content: epoch milliseconds (integer as the Java SDK writes it,
  // or a float), handed on as epoch seconds like a JSON timestamp.
  bool ReadEpochMillis(json::Document& doc) {
    Head head;
    if (!ReadHead(head) || head.info == kIndefinite) return false;
    double millis;
    switch (head.major) {
      case kUnsigned:
        millis = static_cast<double>(head.argument);
        break;
      case kNegative:
        millis = -1.0 - static_cast<double>(head.argument);
        break;
      case kSimple:
        if (head.info < 25 || head.info > 27) return false;
        millis = FloatOf(head);
        if (!std::isfinite(millis)) return false;
        break;
      default:
        return false;
    }
    // The double nearest ms / 1000 may sit just below it, and handlers take
    // milliseconds back as floor(seconds * 1000): one ulp up makes that the
    // same millisecond again (e.g. 1089724113116 would come back ...115).
    double seconds = millis / 1000.0;
    if (std::floor(seconds * 1000.0) < std::floor(millis)) {
      seconds =
          std::nextafter(seconds, std::numeric_limits<double>::infinity());
    }
    return doc.Double(seconds);
  }

  bool Base64Into(json::Document& doc, std::string_view bytes) {
    // Encoded straight into the document's pool: one copy, no temporary.
    size_t size = Base64EncodedSize(bytes.size());
    if (size >= std::numeric_limits<rapidjson::SizeType>::max()) return false;
    auto* text = static_cast<char*>(doc.GetAllocator().Malloc(size + 1));
    if (text == nullptr) return false;
    Base64EncodeTo(bytes, text);
    text[size] = '\0';
    return doc.String(text, static_cast<rapidjson::SizeType>(size), false);
  }

  std::string_view input_;
  size_t pos_ = 0;
  std::vector<Container> open_;  // innermost last
  std::string scratch_;          // a chunked string's gathered content
  bool succeeded_ = false;
};

}  // namespace

std::unique_ptr<Encoder> NewCborEncoder() {
  return std::make_unique<CborEncoder>();
}

bool DecodeCborObject(std::string& body, json::Document& out) {
  CborReader reader(body);
  out.Populate(reader);
  return reader.Succeeded() && out.IsObject();
}

}  // namespace sluice
