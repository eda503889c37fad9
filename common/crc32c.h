// CRC32C (Castagnoli), the checksum of every frame, index entry and marker the
// shard log writes. Uses the SSE4.2 crc32 instruction when the CPU has it and a
// slicing-by-8 table otherwise; both give the same values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice {

// Continues `crc` (a finished CRC32C of earlier bytes, or 0 for none) over
// `size` more bytes, so a checksum can be computed over pieces.
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t size);

inline uint32_t Crc32c(std::string_view bytes) {
  return Crc32cExtend(0, bytes.data(), bytes.size());
}

namespace internal {
// Both implementations, so tests can check they agree.
uint32_t Crc32cExtendSoftware(uint32_t crc, const void* data, size_t size);
uint32_t Crc32cExtendHardware(uint32_t crc, const void* data, size_t size);
bool Crc32cHardwareAvailable();
}  // namespace internal

}  // namespace sluice
