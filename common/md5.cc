#include "common/md5.h"

#include <bit>
#include <cstring>

namespace sluice {
namespace {

// Per-round shift amounts and the sine-derived constants of RFC 1321 3.4.
constexpr std::array<int, 64> kShift = {
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
    5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
    4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
    6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};

constexpr std::array<uint32_t, 64> kSine = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a,
    0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
    0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
    0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8,
    0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
    0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
    0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
    0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
    0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};

class Md5State {
 public:
  void Block(const unsigned char* block) {
    std::array<uint32_t, 16> m;
    for (size_t i = 0; i < 16; ++i) {
      // MD5 reads words little-endian, whatever the host order.
      m[i] = static_cast<uint32_t>(block[4 * i]) |
             static_cast<uint32_t>(block[4 * i + 1]) << 8 |
             static_cast<uint32_t>(block[4 * i + 2]) << 16 |
             static_cast<uint32_t>(block[4 * i + 3]) << 24;
    }
    uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3];
    for (size_t i = 0; i < 64; ++i) {
      uint32_t f;
      size_t g;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) % 16;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) % 16;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) % 16;
      }
      uint32_t rotated = std::rotl(a + f + kSine[i] + m[g], kShift[i]);
      a = d;
      d = c;
      c = b;
      b = b + rotated;
    }
    h_[0] += a;
    h_[1] += b;
    h_[2] += c;
    h_[3] += d;
  }

  std::array<uint8_t, 16> Digest() const {
    std::array<uint8_t, 16> out;
    for (size_t i = 0; i < 16; ++i) {
      out[i] = static_cast<uint8_t>(h_[i / 4] >> (8 * (i % 4)));
    }
    return out;
  }

 private:
  std::array<uint32_t, 4> h_ = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
};

}  // namespace

std::array<uint8_t, 16> Md5(std::string_view bytes) {
  Md5State state;
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t full = bytes.size() / 64 * 64;
  for (size_t i = 0; i < full; i += 64) state.Block(data + i);

  // Padding: 0x80, zeros to 56 mod 64, then the bit length little-endian.
  // The tail plus padding takes one block, or two when 56 or more bytes remain.
  std::array<unsigned char, 128> tail{};
  size_t rest = bytes.size() - full;
  if (rest > 0) std::memcpy(tail.data(), data + full, rest);
  tail[rest] = 0x80;
  size_t tail_size = rest < 56 ? 64 : 128;
  uint64_t bit_length = static_cast<uint64_t>(bytes.size()) * 8;
  for (size_t i = 0; i < 8; ++i) {
    tail[tail_size - 8 + i] = static_cast<unsigned char>(bit_length >> (8 * i));
  }
  for (size_t i = 0; i < tail_size; i += 64) state.Block(tail.data() + i);
  return state.Digest();
}

}  // namespace sluice
