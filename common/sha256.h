// SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104): SigV4 request signing and
// the MACs on shard iterators. Written here rather than linked so sluice_common
// keeps its no-dependency rule; checked against the published test vectors.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace sluice {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest Sha256(std::string_view bytes);

Sha256Digest HmacSha256(std::string_view key, std::string_view message);
// For SigV4's key chain, where each key is the previous digest.
Sha256Digest HmacSha256(std::span<const uint8_t> key, std::string_view message);

// Lowercase hex, two digits per byte, as SigV4 writes hashes and signatures.
std::string HexEncode(std::span<const uint8_t> bytes);
std::string HexEncode(std::string_view bytes);

// Whether `a` and `b` hold the same bytes, taking time that depends only on
// their lengths, so that comparing a secret MAC or signature does not reveal
// how many leading bytes a guess got right. Lengths are not secret.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace sluice
