#include "common/hash_key.h"

#include <algorithm>
#include <array>

#include "common/md5.h"

namespace sluice {

std::optional<HashKey> ParseHashKey(std::string_view decimal) {
  // 2^128 - 1 has 39 digits, so anything longer is out of range anyway.
  if (decimal.empty() || decimal.size() > 39) return std::nullopt;
  if (decimal[0] == '0' && decimal.size() > 1) return std::nullopt;
  HashKey value = 0;
  for (char c : decimal) {
    if (c < '0' || c > '9') return std::nullopt;
    auto digit = static_cast<HashKey>(c - '0');
    if (value > (kMaxHashKey - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

std::string ToDecimal(HashKey key) {
  std::string out;
  do {
    out += static_cast<char>('0' + static_cast<int>(key % 10));
    key /= 10;
  } while (key != 0);
  std::reverse(out.begin(), out.end());
  return out;
}

HashKey HashKeyForPartitionKey(std::string_view partition_key_utf8) {
  std::array<uint8_t, 16> digest = Md5(partition_key_utf8);
  HashKey key = 0;
  for (uint8_t byte : digest) key = key << 8 | byte;
  return key;
}

std::vector<HashKeyRange> EvenHashKeyRanges(uint32_t shard_count) {
  std::vector<HashKeyRange> ranges;
  if (shard_count == 0) return ranges;
  ranges.reserve(shard_count);
  // floor(2^128 / N) without 2^128 itself: floor((max + 1) / N) is one more
  // than floor(max / N) exactly when N divides 2^128. For N = 1 that would be
  // 2^128; the single shard is the last one and never uses the step.
  HashKey n = shard_count;
  HashKey step = kMaxHashKey / n + (kMaxHashKey % n == n - 1 ? 1 : 0);
  for (uint32_t i = 0; i < shard_count; ++i) {
    HashKey start = step * i;
    HashKey end = i + 1 == shard_count ? kMaxHashKey : start + step - 1;
    ranges.push_back({start, end});
  }
  return ranges;
}

Status InvalidExplicitHashKey(std::string_view value) {
  return Status(ErrorCode::kInvalidArgument,
                "Invalid ExplicitHashKey. ExplicitHashKey must be in the "
                "range: [0, 2^128-1]. Specified value was " +
                    std::string(value));
}

}  // namespace sluice
