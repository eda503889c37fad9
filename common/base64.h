// Standard base64 (RFC 4648, '+' and '/', '=' padding), as AWS JSON protocols
// carry blobs.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

std::string Base64Encode(std::string_view bytes);

// The length of Base64Encode(bytes) for `size` bytes.
constexpr size_t Base64EncodedSize(size_t size) { return (size + 2) / 3 * 4; }

// Writes Base64Encode(bytes) to `out`, which has room for
// Base64EncodedSize(bytes.size()) characters; for callers that own the
// destination memory (a document's allocator) and would otherwise copy.
void Base64EncodeTo(std::string_view bytes, char* out);

// Only the standard alphabet with '=' padding to a multiple of four; anything
// else is nullopt. Unused low bits in the last group are ignored, as Java's
// decoder (and so AWS) ignores them. An empty string decodes to empty bytes.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace sluice
