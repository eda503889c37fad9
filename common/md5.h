// MD5 (RFC 1321). Kinesis routes a record by the MD5 of its partition key, so
// this digest decides which shard a record lands on; it is not used for
// anything that needs collision resistance.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace sluice {

std::array<uint8_t, 16> Md5(std::string_view bytes);

}  // namespace sluice
