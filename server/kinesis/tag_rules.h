// The rules Kinesis applies to tags beyond the service model's lengths:
// allowed characters, the reserved "aws:" prefix and the 50-tag limit. Pure
// functions, shared by AddTagsToStream, TagResource and CreateStream.
#pragma once

#include <cstddef>
#include <string_view>

#include "common/status.h"
#include "server/catalog/catalog.h"

namespace sluice::kinesis {

// Tags one stream or consumer may carry.
inline constexpr size_t kMaxTagsPerResource = 50;

// Unicode letters (any non-ASCII character counts as one), digits, white
// space and _ . / = + - % @ :.
bool IsValidTagText(std::string_view text);

// "aws:" in any case starts only AWS's own tags.
bool HasReservedTagPrefix(std::string_view key);

// InvalidArgument "Some tags contain invalid characters. ..." when a key or
// value has a character outside the allowed set.
Status CheckTagCharacters(const catalog::Tags& tags);
Status CheckTagKeyCharacters(std::string_view key);

}  // namespace sluice::kinesis
