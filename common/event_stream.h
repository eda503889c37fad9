// AWS event-stream messages (application/vnd.amazon.eventstream), the framing
// of SubscribeToShard's answer. A message is, big-endian:
//
//   total length u32 | headers length u32 | CRC32 of those 8 bytes |
//   headers | payload | CRC32 of every byte before it
//
// and each header is name length u8 | name | type u8 | value. Both checksums
// are CRC32 as zlib's crc32() (the gzip polynomial), not the CRC32C the shard
// log uses. Only string headers (type 7: u16 length, then bytes) are written:
// they are all SubscribeToShard needs (:message-type, :event-type,
// :exception-type, :content-type).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice {

inline constexpr std::string_view kEventStreamContentType =
    "application/vnd.amazon.eventstream";

// A header name is at most 255 bytes (its length is one byte), a string
// value at most 32767 (botocore and the JS SDK refuse longer ones).
inline constexpr size_t kMaxEventHeaderNameBytes = 255;
inline constexpr size_t kMaxEventHeaderValueBytes = 32767;

struct EventStreamMessage {
  // In wire order; names and values as strings.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload;

  // The value of header `name`, if present.
  std::optional<std::string_view> Header(std::string_view name) const;
};

// The message's bytes on the wire.
// REQUIRES: names and values within the limits above.
std::string EncodeEventStreamMessage(const EventStreamMessage& message);

// Reads one message from the front of `bytes` and removes it; nullopt when
// `bytes` does not start with a whole, well-formed message (short, a bad
// checksum, a header type other than string). For tests and tools: the
// server never reads event streams.
std::optional<EventStreamMessage> DecodeEventStreamMessage(
    std::string_view& bytes);

// CRC32 as zlib computes it, continued from `crc` (0 to start).
uint32_t Crc32(uint32_t crc, std::string_view bytes);

}  // namespace sluice
