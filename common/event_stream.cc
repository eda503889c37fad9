#include "common/event_stream.h"

#include <zlib.h>

#include <cassert>

namespace sluice {
namespace {

constexpr uint8_t kStringHeaderType = 7;
constexpr size_t kPreludeBytes = 12;  // two lengths and the prelude CRC
constexpr size_t kMessageCrcBytes = 4;

void AppendU32(std::string& out, uint32_t value) {
  out.push_back(static_cast<char>((value >> 24) & 0xFF));
  out.push_back(static_cast<char>((value >> 16) & 0xFF));
  out.push_back(static_cast<char>((value >> 8) & 0xFF));
  out.push_back(static_cast<char>(value & 0xFF));
}

uint32_t ReadU32(std::string_view bytes, size_t at) {
  return (uint32_t{static_cast<uint8_t>(bytes[at])} << 24) |
         (uint32_t{static_cast<uint8_t>(bytes[at + 1])} << 16) |
         (uint32_t{static_cast<uint8_t>(bytes[at + 2])} << 8) |
         uint32_t{static_cast<uint8_t>(bytes[at + 3])};
}

}  // namespace

uint32_t Crc32(uint32_t crc, std::string_view bytes) {
  // zlib takes a uInt length; feed larger inputs in pieces.
  while (!bytes.empty()) {
    size_t piece = std::min<size_t>(bytes.size(), 1u << 30);
    crc = static_cast<uint32_t>(
        crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()),
              static_cast<uInt>(piece)));
    bytes.remove_prefix(piece);
  }
  return crc;
}

std::optional<std::string_view> EventStreamMessage::Header(
    std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

std::string EncodeEventStreamMessage(const EventStreamMessage& message) {
  std::string headers;
  for (const auto& [name, value] : message.headers) {
    assert(name.size() <= kMaxEventHeaderNameBytes);
    assert(value.size() <= kMaxEventHeaderValueBytes);
    headers.push_back(static_cast<char>(name.size()));
    headers.append(name);
    headers.push_back(static_cast<char>(kStringHeaderType));
    headers.push_back(static_cast<char>((value.size() >> 8) & 0xFF));
    headers.push_back(static_cast<char>(value.size() & 0xFF));
    headers.append(value);
  }
  size_t total = kPreludeBytes + headers.size() + message.payload.size() +
                 kMessageCrcBytes;
  std::string out;
  out.reserve(total);
  AppendU32(out, static_cast<uint32_t>(total));
  AppendU32(out, static_cast<uint32_t>(headers.size()));
  AppendU32(out, Crc32(0, out));
  out.append(headers);
  out.append(message.payload);
  AppendU32(out, Crc32(0, out));
  return out;
}

std::optional<EventStreamMessage> DecodeEventStreamMessage(
    std::string_view& bytes) {
  if (bytes.size() < kPreludeBytes + kMessageCrcBytes) return std::nullopt;
  uint32_t total = ReadU32(bytes, 0);
  uint32_t headers_length = ReadU32(bytes, 4);
  if (total < kPreludeBytes + kMessageCrcBytes || total > bytes.size() ||
      headers_length > total - kPreludeBytes - kMessageCrcBytes) {
    return std::nullopt;
  }
  if (ReadU32(bytes, 8) != Crc32(0, bytes.substr(0, 8))) return std::nullopt;
  if (ReadU32(bytes, total - kMessageCrcBytes) !=
      Crc32(0, bytes.substr(0, total - kMessageCrcBytes))) {
    return std::nullopt;
  }

  EventStreamMessage message;
  std::string_view headers = bytes.substr(kPreludeBytes, headers_length);
  while (!headers.empty()) {
    size_t name_length = static_cast<uint8_t>(headers[0]);
    if (headers.size() < 1 + name_length + 3) return std::nullopt;
    std::string name(headers.substr(1, name_length));
    headers.remove_prefix(1 + name_length);
    if (static_cast<uint8_t>(headers[0]) != kStringHeaderType) {
      return std::nullopt;
    }
    size_t value_length = (size_t{static_cast<uint8_t>(headers[1])} << 8) |
                          static_cast<uint8_t>(headers[2]);
    headers.remove_prefix(3);
    if (headers.size() < value_length) return std::nullopt;
    message.headers.emplace_back(std::move(name),
                                 std::string(headers.substr(0, value_length)));
    headers.remove_prefix(value_length);
  }
  size_t payload_at = kPreludeBytes + headers_length;
  message.payload = std::string(
      bytes.substr(payload_at, total - kMessageCrcBytes - payload_at));
  bytes.remove_prefix(total);
  return message;
}

}  // namespace sluice
