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
  std::array<uint64_t, 3> n = words_;
  uint64_t chunks[4];
  int chunk_count = 0;
  do {
    Uint128 remainder = 0;
    for (int i = 2; i >= 0; --i) {
      Uint128 current = (remainder << 64) | n[static_cast<size_t>(i)];
      n[static_cast<size_t>(i)] = static_cast<uint64_t>(current / kTenPow19);
      remainder = current % kTenPow19;
    }
    chunks[chunk_count++] = static_cast<uint64_t>(remainder);
  } while (n[0] != 0 || n[1] != 0 || n[2] != 0);

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
