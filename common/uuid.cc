#include "common/uuid.h"

#include <cstdint>
#include <random>

namespace sluice {

std::string NewUuid() {
  // One generator per thread, seeded from the OS once: no lock on the hot path.
  thread_local std::mt19937_64 generator{std::random_device{}()};
  uint64_t high = generator();
  uint64_t low = generator();
  high = (high & ~0xF000ULL) | 0x4000ULL;            // version 4
  low = (low & ~(0xC0ULL << 56)) | (0x80ULL << 56);  // RFC 4122 variant

  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  int pos = 0;
  auto put = [&](uint64_t word) {
    for (int shift = 60; shift >= 0; shift -= 4) {
      if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
      out[static_cast<size_t>(pos++)] = kHex[(word >> shift) & 0xF];
    }
  };
  put(high);
  put(low);
  return out;
}

}  // namespace sluice
