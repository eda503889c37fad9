// Standard base64 (RFC 4648, '+' and '/', '=' padding), as AWS JSON protocols
// carry blobs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice {

std::string Base64Encode(std::string_view bytes);

// Only the standard alphabet with '=' padding to a multiple of four; anything
// else is nullopt. Unused low bits in the last group are ignored, as Java's
// decoder (and so AWS) ignores them. An empty string decodes to empty bytes.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace sluice
