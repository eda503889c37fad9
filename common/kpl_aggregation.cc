#include "common/kpl_aggregation.h"

#include <array>
#include <cstdint>
#include <map>

#include "common/md5.h"

namespace sluice::kpl {
namespace {

constexpr std::string_view kMagic("\xF3\x89\x9A\xC2", 4);
constexpr size_t kDigestBytes = 16;

// Protobuf wire types used here.
constexpr uint32_t kVarint = 0;
constexpr uint32_t kLengthDelimited = 2;

// Reads protobuf fields from a byte range; every read checks its bounds.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}

  bool done() const { return rest_.empty(); }

  bool Varint(uint64_t& out) {
    out = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (rest_.empty()) return false;
      const auto byte = static_cast<uint8_t>(rest_.front());
      rest_.remove_prefix(1);
      out |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;  // more than ten bytes
  }

  bool Tag(uint32_t& field, uint32_t& wire_type) {
    uint64_t tag = 0;
    if (!Varint(tag) || (tag >> 3) == 0 || (tag >> 3) > UINT32_MAX) {
      return false;
    }
    field = static_cast<uint32_t>(tag >> 3);
    wire_type = static_cast<uint32_t>(tag & 7);
    return true;
  }

  bool Bytes(std::string_view& out) {
    uint64_t size = 0;
    if (!Varint(size) || size > rest_.size()) return false;
    out = rest_.substr(0, size);
    rest_.remove_prefix(size);
    return true;
  }

  // Skips a field of a type this message does not use (unknown fields are
  // allowed in proto2).
  bool Skip(uint32_t wire_type) {
    uint64_t ignored = 0;
    std::string_view bytes;
    switch (wire_type) {
      case kVarint:
        return Varint(ignored);
      case kLengthDelimited:
        return Bytes(bytes);
      case 1:  // 64-bit
        if (rest_.size() < 8) return false;
        rest_.remove_prefix(8);
        return true;
      case 5:  // 32-bit
        if (rest_.size() < 4) return false;
        rest_.remove_prefix(4);
        return true;
      default:
        return false;  // groups are not used by this message
    }
  }

 private:
  std::string_view rest_;
};

struct ParsedRecord {
  std::optional<uint64_t> partition_key_index;
  std::optional<uint64_t> explicit_hash_key_index;
  std::optional<std::string_view> data;
};

bool ParseRecord(std::string_view bytes, ParsedRecord& out) {
  Reader reader(bytes);
  while (!reader.done()) {
    uint32_t field = 0;
    uint32_t wire_type = 0;
    if (!reader.Tag(field, wire_type)) return false;
    uint64_t number = 0;
    std::string_view text;
    if (field == 1 && wire_type == kVarint) {
      if (!reader.Varint(number)) return false;
      out.partition_key_index = number;
    } else if (field == 2 && wire_type == kVarint) {
      if (!reader.Varint(number)) return false;
      out.explicit_hash_key_index = number;
    } else if (field == 3 && wire_type == kLengthDelimited) {
      if (!reader.Bytes(text)) return false;
      out.data = text;
    } else if (!reader.Skip(wire_type)) {  // tags (4) and unknown fields
      return false;
    }
  }
  return out.partition_key_index.has_value() && out.data.has_value();
}

void PutVarint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out += static_cast<char>((value & 0x7f) | 0x80);
    value >>= 7;
  }
  out += static_cast<char>(value);
}

void PutBytes(std::string& out, uint32_t field, std::string_view bytes) {
  PutVarint(out, (field << 3) | kLengthDelimited);
  PutVarint(out, bytes.size());
  out.append(bytes);
}

}  // namespace

std::optional<std::vector<UserRecord>> Deaggregate(std::string_view bytes) {
  if (bytes.size() < kMagic.size() + kDigestBytes ||
      bytes.substr(0, kMagic.size()) != kMagic) {
    return std::nullopt;
  }
  const std::string_view message =
      bytes.substr(kMagic.size(), bytes.size() - kMagic.size() - kDigestBytes);
  const std::array<uint8_t, 16> digest = Md5(message);
  if (bytes.substr(bytes.size() - kDigestBytes) !=
      std::string_view(reinterpret_cast<const char*>(digest.data()),
                       digest.size())) {
    return std::nullopt;
  }

  std::vector<std::string_view> partition_keys;
  std::vector<std::string_view> hash_keys;
  std::vector<ParsedRecord> parsed;
  Reader reader(message);
  while (!reader.done()) {
    uint32_t field = 0;
    uint32_t wire_type = 0;
    if (!reader.Tag(field, wire_type)) return std::nullopt;
    std::string_view value;
    if (field >= 1 && field <= 3 && wire_type == kLengthDelimited) {
      if (!reader.Bytes(value)) return std::nullopt;
      if (field == 1) partition_keys.push_back(value);
      if (field == 2) hash_keys.push_back(value);
      if (field == 3 && !ParseRecord(value, parsed.emplace_back())) {
        return std::nullopt;
      }
    } else if (!reader.Skip(wire_type)) {
      return std::nullopt;
    }
  }

  std::vector<UserRecord> records;
  records.reserve(parsed.size());
  for (const ParsedRecord& record : parsed) {
    if (*record.partition_key_index >= partition_keys.size()) {
      return std::nullopt;
    }
    UserRecord& out = records.emplace_back();
    out.partition_key = partition_keys[*record.partition_key_index];
    if (record.explicit_hash_key_index) {
      if (*record.explicit_hash_key_index >= hash_keys.size()) {
        return std::nullopt;
      }
      out.explicit_hash_key = hash_keys[*record.explicit_hash_key_index];
    }
    out.data = *record.data;
  }
  return records;
}

std::string Aggregate(const std::vector<UserRecord>& records) {
  std::map<std::string_view, uint64_t> partition_index;
  std::map<std::string_view, uint64_t> hash_index;
  std::string tables;
  for (const UserRecord& record : records) {
    if (partition_index.emplace(record.partition_key, partition_index.size())
            .second) {
      PutBytes(tables, 1, record.partition_key);
    }
  }
  for (const UserRecord& record : records) {
    if (record.explicit_hash_key &&
        hash_index.emplace(*record.explicit_hash_key, hash_index.size())
            .second) {
      PutBytes(tables, 2, *record.explicit_hash_key);
    }
  }
  std::string message = std::move(tables);
  for (const UserRecord& record : records) {
    std::string inner;
    PutVarint(inner, (1 << 3) | kVarint);
    PutVarint(inner, partition_index.at(record.partition_key));
    if (record.explicit_hash_key) {
      PutVarint(inner, (2 << 3) | kVarint);
      PutVarint(inner, hash_index.at(*record.explicit_hash_key));
    }
    PutBytes(inner, 3, record.data);
    PutBytes(message, 3, inner);
  }
  const std::array<uint8_t, 16> digest = Md5(message);
  std::string out(kMagic);
  out += message;
  out.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  return out;
}

}  // namespace sluice::kpl
