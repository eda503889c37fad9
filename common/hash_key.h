// Kinesis hash keys: the unsigned 128-bit numbers that route records to shards.
// A record's hash key is the MD5 of its partition key, or its ExplicitHashKey
// as given; each open shard owns an inclusive range of keys, and a stream's
// open shards tile 0..2^128-1 exactly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice {

// GCC and Clang's native 128-bit integer; __extension__ keeps -Wpedantic quiet
// about a type ISO C++ lacks.
__extension__ typedef unsigned __int128 HashKey;

inline constexpr HashKey kMaxHashKey = ~HashKey{0};  // 2^128 - 1

// Reads a decimal hash key as AWS accepts one: exactly `0|([1-9]\d{0,38})`
// and below 2^128. No sign, no leading zeros, no spaces; nullopt otherwise.
std::optional<HashKey> ParseHashKey(std::string_view decimal);

// The decimal form AWS prints (StartingHashKey, EndingHashKey).
std::string ToDecimal(HashKey key);

// MD5 of the partition key's UTF-8 bytes, read as an unsigned big-endian
// number. The caller passes the bytes as received; no normalisation happens.
HashKey HashKeyForPartitionKey(std::string_view partition_key_utf8);

// Both ends inclusive.
struct HashKeyRange {
  HashKey start;
  HashKey end;

  bool Contains(HashKey key) const { return start <= key && key <= end; }
  friend bool operator==(const HashKeyRange&, const HashKeyRange&) = default;
};

// How CreateStream splits the key space among `shard_count` new shards:
// step = floor(2^128 / N), shard i = [i*step, (i+1)*step - 1], and the last
// shard also takes the remainder, ending at 2^128 - 1. Empty for 0.
std::vector<HashKeyRange> EvenHashKeyRanges(uint32_t shard_count);

// AWS's InvalidArgumentException for an ExplicitHashKey that ParseHashKey
// rejects; `value` is printed as the client sent it.
Status InvalidExplicitHashKey(std::string_view value);

}  // namespace sluice
