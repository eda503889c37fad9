#include "common/sequence_number.h"

#include <cassert>

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

// 2^80 in decimal: one more offset, the field at bit 80.
constexpr std::string_view kTwoPow80 = "1208925819614629174706176";
constexpr uint64_t kArrivalSecondsMask = (uint64_t{1} << 36) - 1;

// Adds kTwoPow80 to the decimal number in `digits`, in place. Branch-free
// per digit: carries are data-dependent and mispredicted branches made this
// the most expensive step of a sequential read.
void AddTwoPow80(std::string& digits) {
  assert(digits.size() >= kTwoPow80.size());
  char* low = digits.data() + digits.size() - kTwoPow80.size();
  int carry = 0;
  for (size_t j = kTwoPow80.size(); j-- > 0;) {
    int sum = (low[j] - '0') + (kTwoPow80[j] - '0') + carry;  // 0..19
    carry = (sum + 6) >> 4;  // 1 exactly when sum >= 10
    low[j] = static_cast<char>('0' + sum - 10 * carry);
  }
  for (size_t i = digits.size() - kTwoPow80.size(); carry != 0;) {
    if (i == 0) {  // the sum grew a digit
      digits.insert(digits.begin(), '1');
      return;
    }
    --i;
    int sum = (digits[i] - '0') + carry;
    carry = (sum + 6) >> 4;
    digits[i] = static_cast<char>('0' + sum - 10 * carry);
  }
}

}  // namespace

SequenceNumberFormatter::SequenceNumberFormatter(
    uint64_t shard_creation_seconds, uint32_t shard_index) {
  last_parts_.shard_creation_seconds = shard_creation_seconds;
  last_parts_.shard_index = shard_index;
}

const std::string& SequenceNumberFormatter::Format(uint64_t offset,
                                                   uint64_t arrival_seconds) {
  arrival_seconds &= kArrivalSecondsMask;  // as the encoder stores it
  if (!last_.empty() && offset == last_parts_.offset + 1 && offset != 0 &&
      arrival_seconds == last_parts_.arrival_seconds) {
    AddTwoPow80(last_);
  } else {
    last_parts_.arrival_seconds = arrival_seconds;
    last_parts_.offset = offset;
    last_ = EncodeSequenceNumber(last_parts_);
  }
  last_parts_.offset = offset;
  return last_;
}

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
