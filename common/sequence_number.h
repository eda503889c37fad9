// Kinesis sequence numbers: decimal strings that sort like the per-shard
// record offset and decode back to (shard, offset) in O(1). The bit layout is
// the one KCL 2/3 reads (aws-behaviour.md 2.3, docs/storage-format.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

inline constexpr unsigned kSequenceNumberVersion = 2;

// What a sequence number carries. Times are truncated to their low 36 bits
// (enough until the year 4147).
struct SequenceNumberParts {
  uint64_t shard_creation_seconds = 0;  // epoch s; children above parents
  uint32_t shard_index = 0;             // as in shardId-000000000007
  uint64_t offset = 0;                  // the record's per-shard offset
  uint64_t arrival_seconds = 0;         // the record's arrival, epoch s

  friend bool operator==(const SequenceNumberParts&,
                         const SequenceNumberParts&) = default;
};

std::string EncodeSequenceNumber(const SequenceNumberParts& parts);

// Formats the sequence numbers of one shard's records in offset order, which
// is how readers return them. When a record directly follows the previous one
// in the same arrival second its number is the previous one plus 2^80, so the
// formatter adds that in decimal instead of converting 186 bits again (the
// conversion dominated sequential reads). Same output as
// EncodeSequenceNumber. Not thread-safe; one per reader call.
class SequenceNumberFormatter {
 public:
  SequenceNumberFormatter(uint64_t shard_creation_seconds,
                          uint32_t shard_index);

  // The sequence number of `offset` arriving at `arrival_seconds`; valid
  // until the next call.
  const std::string& Format(uint64_t offset, uint64_t arrival_seconds);

 private:
  SequenceNumberParts last_parts_;
  std::string last_;  // empty until the first call
};

// Returns nullopt for anything EncodeSequenceNumber cannot have produced: not
// decimal, a leading zero, more than 192 bits, another version, a bad marker
// nibble or zero byte, or a shard-index nibble that disagrees with the index.
std::optional<SequenceNumberParts> DecodeSequenceNumber(std::string_view text);

}  // namespace sluice
