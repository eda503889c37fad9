#include "common/uint192.h"

#include <algorithm>
#include <cassert>

namespace sluice {
namespace {

__extension__ typedef unsigned __int128 Uint128;

constexpr size_t kMaxDigits = 58;  // 2^192 - 1 has 58 digits

}  // namespace

void Uint192::SetBits(unsigned low_bit, unsigned width, uint64_t value) {
  assert(width <= 64 && low_bit + width <= 192);
  if (width == 0) return;
  if (width < 64) value &= (uint64_t{1} << width) - 1;
  unsigned word = low_bit / 64;
  unsigned shift = low_bit % 64;
  words_[word] |= value << shift;
  if (shift != 0 && shift + width > 64) {
    words_[word + 1] |= value >> (64 - shift);
  }
}

uint64_t Uint192::GetBits(unsigned low_bit, unsigned width) const {
  assert(width <= 64 && low_bit + width <= 192);
  if (width == 0) return 0;
  unsigned word = low_bit / 64;
  unsigned shift = low_bit % 64;
  uint64_t value = words_[word] >> shift;
  if (shift != 0 && shift + width > 64) {
    value |= words_[word + 1] << (64 - shift);
  }
  if (width < 64) value &= (uint64_t{1} << width) - 1;
  return value;
}

std::string Uint192::ToDecimal() const {
  // Long division by 10^9 over 32-bit limbs: every step divides a 64-bit
  // value by a constant, which compilers turn into a multiply. 128-bit
  // division (a library call, or divq) was a quarter of a sequential read's
  // time, and readers format a sequence number for every record.
  constexpr uint64_t kTenPow9 = 1'000'000'000;
  std::array<uint32_t, 6> limbs;  // limbs[0] is the lowest
  for (size_t i = 0; i < 3; ++i) {
    limbs[2 * i] = static_cast<uint32_t>(words_[i]);
    limbs[2 * i + 1] = static_cast<uint32_t>(words_[i] >> 32);
  }
  size_t top = limbs.size();
  while (top > 0 && limbs[top - 1] == 0) --top;
  uint32_t chunks[7];  // 9 digits each, lowest first; 58 digits need 7
  int chunk_count = 0;
  do {
    uint64_t remainder = 0;
    for (size_t i = top; i-- > 0;) {
      uint64_t current = (remainder << 32) | limbs[i];
      limbs[i] = static_cast<uint32_t>(current / kTenPow9);
      remainder = current % kTenPow9;
    }
    chunks[chunk_count++] = static_cast<uint32_t>(remainder);
    while (top > 0 && limbs[top - 1] == 0) --top;
  } while (top > 0);

  std::string out = std::to_string(chunks[chunk_count - 1]);
  for (int i = chunk_count - 2; i >= 0; --i) {
    char digits[9];
    uint32_t chunk = chunks[i];
    for (int d = 8; d >= 0; --d) {
      digits[d] = static_cast<char>('0' + chunk % 10);
      chunk /= 10;
    }
    out.append(digits, sizeof digits);
  }
  return out;
}

std::optional<Uint192> Uint192::FromDecimal(std::string_view text) {
  if (text.empty() || text.size() > kMaxDigits) return std::nullopt;
  if (text.size() > 1 && text[0] == '0') return std::nullopt;
  Uint192 result;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    // result = result * 10 + digit, watching for a carry out of 192 bits.
    uint64_t carry = static_cast<uint64_t>(c - '0');
    for (uint64_t& word : result.words_) {
      Uint128 product = Uint128{word} * 10 + carry;
      word = static_cast<uint64_t>(product);
      carry = static_cast<uint64_t>(product >> 64);
    }
    if (carry != 0) return std::nullopt;
  }
  return result;
}

}  // namespace sluice
