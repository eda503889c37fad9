// The frame: how one record is laid out in a segment file
// (docs/storage-format.md, "Frame"). Pure encoding and decoding, no I/O, so
// recovery, readers and tests share one definition of a good frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace sluice::storage {

inline constexpr size_t kFrameHeaderBytes = 32;
inline constexpr uint8_t kFrameVersion = 1;
// Records are at most 10 MiB; anything larger in a header is damage.
inline constexpr uint32_t kMaxFramePayloadBytes = 16u << 20;
inline constexpr size_t kMaxPartitionKeyBytes = 0xFFFF;
inline constexpr size_t kMaxExplicitHashKeyBytes = 0xFF;

struct FrameFields {
  uint64_t offset = 0;
  EpochMillis arrival_millis = 0;
  std::string_view partition_key{};
  std::optional<std::string_view> explicit_hash_key{};
  std::string_view data{};
};

// Bytes the frame of these fields takes on disk.
size_t FrameBytes(const FrameFields& fields);

// Appends the frame to `out`. REQUIRES: key sizes within the limits above and
// the payload at most kMaxFramePayloadBytes.
void EncodeFrame(const FrameFields& fields, std::string& out);

enum class FrameCheck {
  kComplete,   // a good frame; `fields` and `frame_bytes` are set
  kTruncated,  // `bytes` end inside the frame (a torn tail if nothing follows)
  kCorrupt,    // a checksum or field is wrong; `problem` says which
};

struct DecodedFrame {
  FrameCheck check = FrameCheck::kCorrupt;
  FrameFields fields;      // views into the decoded bytes
  size_t frame_bytes = 0;  // whole frame size once the header checked out
  const char* problem = "";
};

// Decodes the frame at the start of `bytes`. The header CRC is checked before
// the length is believed, so a damaged length can never ask for a huge read.
DecodedFrame DecodeFrame(std::string_view bytes);

}  // namespace sluice::storage
