#include "server/storage/frame.h"

#include <cassert>
#include <cstring>

#include "common/crc32c.h"

namespace sluice::storage {
namespace {

// Header positions, docs/storage-format.md.
constexpr size_t kHeaderCrcAt = 0;
constexpr size_t kPayloadLengthAt = 4;
constexpr size_t kPayloadCrcAt = 8;
constexpr size_t kVersionAt = 12;
constexpr size_t kHashKeyLengthAt = 13;
constexpr size_t kPartitionKeyLengthAt = 14;
constexpr size_t kOffsetAt = 16;
constexpr size_t kArrivalAt = 24;
constexpr size_t kHeaderCrcCovers = kHeaderCrcAt + 4;

// Little-endian on disk; x86-64 and arm64 are little-endian, so memcpy is the
// conversion.
template <class T>
void Put(char* at, T value) {
  std::memcpy(at, &value, sizeof value);
}
template <class T>
T Get(const char* at) {
  T value;
  std::memcpy(&value, at, sizeof value);
  return value;
}

size_t PayloadBytes(const FrameFields& fields) {
  return fields.partition_key.size() +
         (fields.explicit_hash_key ? fields.explicit_hash_key->size() : 0) +
         fields.data.size();
}

}  // namespace

size_t FrameBytes(const FrameFields& fields) {
  return kFrameHeaderBytes + PayloadBytes(fields);
}

void EncodeFrame(const FrameFields& fields, std::string& out) {
  size_t hash_key_bytes =
      fields.explicit_hash_key ? fields.explicit_hash_key->size() : 0;
  size_t payload_bytes = PayloadBytes(fields);
  assert(fields.partition_key.size() <= kMaxPartitionKeyBytes);
  assert(hash_key_bytes <= kMaxExplicitHashKeyBytes);
  assert(payload_bytes <= kMaxFramePayloadBytes);

  size_t start = out.size();
  out.resize(start + kFrameHeaderBytes);
  out.append(fields.partition_key);
  if (fields.explicit_hash_key) out.append(*fields.explicit_hash_key);
  out.append(fields.data);

  char* header = out.data() + start;
  const char* payload = header + kFrameHeaderBytes;
  Put<uint32_t>(header + kPayloadLengthAt,
                static_cast<uint32_t>(payload_bytes));
  Put<uint32_t>(header + kPayloadCrcAt,
                Crc32cExtend(0, payload, payload_bytes));
  Put<uint8_t>(header + kVersionAt, kFrameVersion);
  Put<uint8_t>(header + kHashKeyLengthAt, static_cast<uint8_t>(hash_key_bytes));
  Put<uint16_t>(header + kPartitionKeyLengthAt,
                static_cast<uint16_t>(fields.partition_key.size()));
  Put<uint64_t>(header + kOffsetAt, fields.offset);
  Put<int64_t>(header + kArrivalAt, fields.arrival_millis);
  Put<uint32_t>(header + kHeaderCrcAt,
                Crc32cExtend(0, header + kHeaderCrcCovers,
                             kFrameHeaderBytes - kHeaderCrcCovers));
}

DecodedFrame DecodeFrame(std::string_view bytes) {
  DecodedFrame result;
  if (bytes.size() < kFrameHeaderBytes) {
    result.check = FrameCheck::kTruncated;
    result.problem = "short header";
    return result;
  }
  const char* header = bytes.data();
  if (Get<uint32_t>(header + kHeaderCrcAt) !=
      Crc32cExtend(0, header + kHeaderCrcCovers,
                   kFrameHeaderBytes - kHeaderCrcCovers)) {
    result.problem = "bad header checksum";
    return result;
  }
  if (Get<uint8_t>(header + kVersionAt) != kFrameVersion) {
    result.problem = "unknown frame version";
    return result;
  }
  auto payload_bytes = Get<uint32_t>(header + kPayloadLengthAt);
  auto hash_key_bytes = Get<uint8_t>(header + kHashKeyLengthAt);
  auto partition_key_bytes = Get<uint16_t>(header + kPartitionKeyLengthAt);
  if (payload_bytes > kMaxFramePayloadBytes ||
      size_t{partition_key_bytes} + hash_key_bytes > payload_bytes) {
    result.problem = "impossible lengths";
    return result;
  }
  result.frame_bytes = kFrameHeaderBytes + payload_bytes;
  if (bytes.size() < result.frame_bytes) {
    result.check = FrameCheck::kTruncated;
    result.problem = "short payload";
    return result;
  }
  const char* payload = header + kFrameHeaderBytes;
  if (Get<uint32_t>(header + kPayloadCrcAt) !=
      Crc32cExtend(0, payload, payload_bytes)) {
    result.problem = "bad payload checksum";
    return result;
  }
  result.check = FrameCheck::kComplete;
  result.problem = "";
  FrameFields& fields = result.fields;
  fields.offset = Get<uint64_t>(header + kOffsetAt);
  fields.arrival_millis = Get<int64_t>(header + kArrivalAt);
  fields.partition_key = std::string_view(payload, partition_key_bytes);
  if (hash_key_bytes > 0) {
    fields.explicit_hash_key =
        std::string_view(payload + partition_key_bytes, hash_key_bytes);
  }
  size_t data_at = size_t{partition_key_bytes} + hash_key_bytes;
  fields.data = std::string_view(payload + data_at, payload_bytes - data_at);
  return result;
}

}  // namespace sluice::storage
