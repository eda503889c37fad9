#include "common/uint192.h"

#include <algorithm>
#include <cassert>

namespace sluice {
namespace {

__extension__ typedef unsigned __int128 Uint128;

// The largest power of ten in a uint64_t: ToDecimal peels off 19 digits per
// division, so a 56-digit number costs three rounds.
constexpr uint64_t kTenPow19 = 10'000'000'000'000'000'000ULL;
constexpr size_t kMaxDigits = 58;  // 2^192 - 1 has 58 digits

// (high:low) / divisor, with the remainder in `remainder`.
// REQUIRES: high < divisor, so the quotient fits in 64 bits. On x86-64 this
// is one divq; the generic 128-bit division is a much slower library call,
// and sequence numbers are formatted for every record a reader returns.
inline uint64_t DivideWithRemainder(uint64_t high, uint64_t low,
                                    uint64_t divisor, uint64_t& remainder) {
#if defined(__x86_64__)
  uint64_t quotient;
  __asm__("divq %4"
          : "=a"(quotient), "=d"(remainder)
          : "a"(low), "d"(high), "rm"(divisor));
  return quotient;
#else
  Uint128 numerator = (Uint128{high} << 64) | low;
  remainder = static_cast<uint64_t>(numerator % divisor);
  return static_cast<uint64_t>(numerator / divisor);
#endif
}

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
  // Repeatedly divide by 10^19; each remainder is 19 digits of the answer.
  // Leading zero words are skipped, so a 56-digit number costs six
  // 128-by-64-bit divisions.
  std::array<uint64_t, 3> n = words_;
  size_t top = 3;
  while (top > 0 && n[top - 1] == 0) --top;
  uint64_t chunks[4];
  int chunk_count = 0;
  do {
    uint64_t remainder = 0;
    for (size_t i = top; i-- > 0;) {
      n[i] = DivideWithRemainder(remainder, n[i], kTenPow19, remainder);
    }
    chunks[chunk_count++] = remainder;
    while (top > 0 && n[top - 1] == 0) --top;
  } while (top > 0);

  std::string out = std::to_string(chunks[chunk_count - 1]);
  for (int i = chunk_count - 2; i >= 0; --i) {
    char digits[19];
    uint64_t chunk = chunks[i];
    for (int d = 18; d >= 0; --d) {
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
