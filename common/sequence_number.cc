#include "common/sequence_number.h"

#include "common/uint192.h"

namespace sluice {
namespace {

// Bit fields, low bit and width, from aws-behaviour.md 2.3.
struct Field {
  unsigned low_bit;
  unsigned width;
};
constexpr Field kMarker{0, 4};  // always 2
constexpr Field kShardIndex{4, 32};
constexpr Field kArrivalSeconds{36, 36};
constexpr Field kZeroByte{72, 8};
constexpr Field kOffset{80, 64};
constexpr Field kShardIndexNibble{144, 4};
constexpr Field kCreationSeconds{148, 36};
constexpr Field kVersion{184, 4};
constexpr uint64_t kMarkerValue = 2;

void Set(Uint192& n, Field field, uint64_t value) {
  n.SetBits(field.low_bit, field.width, value);
}
uint64_t Get(const Uint192& n, Field field) {
  return n.GetBits(field.low_bit, field.width);
}

}  // namespace

std::string EncodeSequenceNumber(const SequenceNumberParts& parts) {
  Uint192 n;
  Set(n, kMarker, kMarkerValue);
  Set(n, kShardIndex, parts.shard_index);
  Set(n, kArrivalSeconds, parts.arrival_seconds);
  Set(n, kOffset, parts.offset);
  Set(n, kShardIndexNibble, parts.shard_index & 0xF);
  Set(n, kCreationSeconds, parts.shard_creation_seconds);
  Set(n, kVersion, kSequenceNumberVersion);
  return n.ToDecimal();
}

std::optional<SequenceNumberParts> DecodeSequenceNumber(std::string_view text) {
  std::optional<Uint192> n = Uint192::FromDecimal(text);
  if (!n) return std::nullopt;
  // Bits 188-191 lie above the layout and must be zero.
  if (n->GetBits(188, 4) != 0) return std::nullopt;
  if (Get(*n, kVersion) != kSequenceNumberVersion) return std::nullopt;
  if (Get(*n, kMarker) != kMarkerValue) return std::nullopt;
  if (Get(*n, kZeroByte) != 0) return std::nullopt;
  SequenceNumberParts parts;
  parts.shard_index = static_cast<uint32_t>(Get(*n, kShardIndex));
  if (Get(*n, kShardIndexNibble) != (parts.shard_index & 0xF)) {
    return std::nullopt;
  }
  parts.shard_creation_seconds = Get(*n, kCreationSeconds);
  parts.offset = Get(*n, kOffset);
  parts.arrival_seconds = Get(*n, kArrivalSeconds);
  return parts;
}

}  // namespace sluice
