// A fixed-width 192-bit unsigned integer: just enough arithmetic to pack bit
// fields into a Kinesis sequence number (186 bits) and print or parse it in
// decimal. Not a general big-integer type.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

class Uint192 {
 public:
  Uint192() = default;

  // Sets bits [low_bit, low_bit + width) to the low `width` bits of `value`.
  // REQUIRES: width <= 64, low_bit + width <= 192, those bits were zero.
  void SetBits(unsigned low_bit, unsigned width, uint64_t value);
  // Reads bits [low_bit, low_bit + width). REQUIRES: width <= 64.
  uint64_t GetBits(unsigned low_bit, unsigned width) const;

  std::string ToDecimal() const;
  // Accepts 1-58 ASCII digits without a leading zero (except "0"); rejects
  // anything that does not fit in 192 bits.
  static std::optional<Uint192> FromDecimal(std::string_view text);

  friend bool operator==(const Uint192&, const Uint192&) = default;

 private:
  std::array<uint64_t, 3> words_{};  // words_[0] holds the lowest 64 bits
};

}  // namespace sluice
