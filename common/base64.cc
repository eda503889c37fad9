#include "common/base64.h"

#include <array>
#include <cstdint>

namespace sluice {
namespace {

constexpr char kAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> MakeDecodeTable() {
  std::array<int8_t, 256> table{};
  for (auto& entry : table) entry = -1;
  for (int i = 0; i < 64; ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  }
  return table;
}
constexpr std::array<int8_t, 256> kDecode = MakeDecodeTable();

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out(Base64EncodedSize(bytes.size()), '=');
  Base64EncodeTo(bytes, out.data());
  return out;
}

void Base64EncodeTo(std::string_view bytes, char* out) {
  auto at = [&](size_t k) {
    return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k]));
  };
  char* o = out;
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t n = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    *o++ = kAlphabet[(n >> 18) & 63];
    *o++ = kAlphabet[(n >> 12) & 63];
    *o++ = kAlphabet[(n >> 6) & 63];
    *o++ = kAlphabet[n & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t n = (at(i) << 16) | (rest == 2 ? at(i + 1) << 8 : 0);
    *o++ = kAlphabet[(n >> 18) & 63];
    *o++ = kAlphabet[(n >> 12) & 63];
    *o++ = rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    *o++ = '=';
  }
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    int8_t c0 = kDecode[static_cast<unsigned char>(text[i])];
    int8_t c1 = kDecode[static_cast<unsigned char>(text[i + 1])];
    if (c0 < 0 || c1 < 0) return std::nullopt;
    uint32_t n =
        (static_cast<uint32_t>(c0) << 18) | (static_cast<uint32_t>(c1) << 12);
    if (last && text[i + 2] == '=' && text[i + 3] == '=') {
      out += static_cast<char>(n >> 16);
      break;
    }
    int8_t c2 = kDecode[static_cast<unsigned char>(text[i + 2])];
    if (c2 < 0) return std::nullopt;
    n |= static_cast<uint32_t>(c2) << 6;
    if (last && text[i + 3] == '=') {
      out += static_cast<char>(n >> 16);
      out += static_cast<char>((n >> 8) & 0xFF);
      break;
    }
    int8_t c3 = kDecode[static_cast<unsigned char>(text[i + 3])];
    if (c3 < 0) return std::nullopt;
    n |= static_cast<uint32_t>(c3);
    out += static_cast<char>(n >> 16);
    out += static_cast<char>((n >> 8) & 0xFF);
    out += static_cast<char>(n & 0xFF);
  }
  return out;
}

}  // namespace sluice
