#include "common/sha256.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace sluice {
namespace {

constexpr size_t kBlockSize = 64;

// First 32 bits of the fractional parts of the cube roots of the first 64
// primes (FIPS 180-4 4.2.2).
constexpr std::array<uint32_t, 64> kRound = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

// Incremental, so HMAC can hash the key pad and then the message without
// copying the message.
class Sha256State {
 public:
  void Update(const unsigned char* data, size_t size) {
    length_ += size;
    if (buffered_ > 0) {
      size_t take = std::min(size, kBlockSize - buffered_);
      std::memcpy(buffer_.data() + buffered_, data, take);
      buffered_ += take;
      data += take;
      size -= take;
      if (buffered_ < kBlockSize) return;
      Block(buffer_.data());
      buffered_ = 0;
    }
    for (; size >= kBlockSize; data += kBlockSize, size -= kBlockSize) {
      Block(data);
    }
    if (size > 0) std::memcpy(buffer_.data(), data, size);
    buffered_ = size;
  }
  void Update(std::string_view bytes) {
    Update(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  }

  Sha256Digest Finish() {
    // Padding: 0x80, zeros to 56 mod 64, then the bit length big-endian.
    uint64_t bit_length = static_cast<uint64_t>(length_) * 8;
    std::array<unsigned char, kBlockSize + 8> padding{};
    padding[0] = 0x80;
    size_t zeros = (buffered_ < 56 ? 56 : 120) - buffered_;
    for (size_t i = 0; i < 8; ++i) {
      padding[zeros + i] =
          static_cast<unsigned char>(bit_length >> (56 - 8 * i));
    }
    Update(padding.data(), zeros + 8);
    Sha256Digest out;
    for (size_t i = 0; i < 32; ++i) {
      out[i] = static_cast<uint8_t>(h_[i / 4] >> (24 - 8 * (i % 4)));
    }
    return out;
  }

 private:
  void Block(const unsigned char* block) {
    std::array<uint32_t, 64> w;
    for (size_t i = 0; i < 16; ++i) {
      w[i] = static_cast<uint32_t>(block[4 * i]) << 24 |
             static_cast<uint32_t>(block[4 * i + 1]) << 16 |
             static_cast<uint32_t>(block[4 * i + 2]) << 8 |
             static_cast<uint32_t>(block[4 * i + 3]);
    }
    for (size_t i = 16; i < 64; ++i) {
      uint32_t s0 =
          std::rotr(w[i - 15], 7) ^ std::rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      uint32_t s1 =
          std::rotr(w[i - 2], 17) ^ std::rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3];
    uint32_t e = h_[4], f = h_[5], g = h_[6], h = h_[7];
    for (size_t i = 0; i < 64; ++i) {
      uint32_t s1 = std::rotr(e, 6) ^ std::rotr(e, 11) ^ std::rotr(e, 25);
      uint32_t choose = (e & f) ^ (~e & g);
      uint32_t t1 = h + s1 + choose + kRound[i] + w[i];
      uint32_t s0 = std::rotr(a, 2) ^ std::rotr(a, 13) ^ std::rotr(a, 22);
      uint32_t majority = (a & b) ^ (a & c) ^ (b & c);
      uint32_t t2 = s0 + majority;
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    h_[0] += a;
    h_[1] += b;
    h_[2] += c;
    h_[3] += d;
    h_[4] += e;
    h_[5] += f;
    h_[6] += g;
    h_[7] += h;
  }

  std::array<uint32_t, 8> h_ = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::array<unsigned char, kBlockSize> buffer_{};
  size_t buffered_ = 0;
  uint64_t length_ = 0;
};

std::string_view AsChars(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

Sha256Digest Sha256(std::string_view bytes) {
  Sha256State state;
  state.Update(bytes);
  return state.Finish();
}

Sha256Digest HmacSha256(std::string_view key, std::string_view message) {
  // Keys longer than a block are hashed first; shorter ones are zero-padded.
  std::array<unsigned char, kBlockSize> block_key{};
  if (key.size() > kBlockSize) {
    Sha256Digest hashed = Sha256(key);
    std::memcpy(block_key.data(), hashed.data(), hashed.size());
  } else if (!key.empty()) {
    std::memcpy(block_key.data(), key.data(), key.size());
  }
  std::array<unsigned char, kBlockSize> inner_pad;
  std::array<unsigned char, kBlockSize> outer_pad;
  for (size_t i = 0; i < kBlockSize; ++i) {
    inner_pad[i] = static_cast<unsigned char>(block_key[i] ^ 0x36);
    outer_pad[i] = static_cast<unsigned char>(block_key[i] ^ 0x5c);
  }
  Sha256State inner;
  inner.Update(inner_pad.data(), inner_pad.size());
  inner.Update(message);
  Sha256Digest inner_digest = inner.Finish();
  Sha256State outer;
  outer.Update(outer_pad.data(), outer_pad.size());
  outer.Update(inner_digest.data(), inner_digest.size());
  return outer.Finish();
}

Sha256Digest HmacSha256(std::span<const uint8_t> key,
                        std::string_view message) {
  return HmacSha256(AsChars(key), message);
}

std::string HexEncode(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t byte : bytes) {
    out += kDigits[byte >> 4];
    out += kDigits[byte & 0x0f];
  }
  return out;
}

std::string HexEncode(std::string_view bytes) {
  return HexEncode(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  // Accumulate every difference instead of returning at the first one. The
  // volatile keeps the compiler from turning the loop into an early exit.
  volatile unsigned char difference = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    difference = static_cast<unsigned char>(
        difference |
        (static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i])));
  }
  return difference == 0;
}

}  // namespace sluice
