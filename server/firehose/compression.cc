#include "server/firehose/compression.h"

#include <snappy.h>
#include <zlib.h>

#include <cstdint>
#include <limits>

namespace sluice::firehose {
namespace {

// Input per Snappy chunk: snappy-java's default block size, which its
// Hadoop-compatible stream uses too (what the service was seen to write).
constexpr size_t kSnappyJavaBlock = 32 * 1024;
constexpr size_t kHadoopSnappyBlock = 32 * 1024;

void PutBigEndian32(std::string& out, uint32_t value) {
  out += static_cast<char>(value >> 24);
  out += static_cast<char>((value >> 16) & 0xff);
  out += static_cast<char>((value >> 8) & 0xff);
  out += static_cast<char>(value & 0xff);
}

void PutLittleEndian16(std::string& out, uint16_t value) {
  out += static_cast<char>(value & 0xff);
  out += static_cast<char>(value >> 8);
}

void PutLittleEndian32(std::string& out, uint32_t value) {
  PutLittleEndian16(out, static_cast<uint16_t>(value & 0xffff));
  PutLittleEndian16(out, static_cast<uint16_t>(value >> 16));
}

// `bytes` through zlib's deflate with `window_bits` (15 + 16: gzip framing;
// -15: raw deflate, as ZIP entries hold it).
Result<std::string> Deflate(std::string_view bytes, int window_bits) {
  z_stream stream{};
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return Status(ErrorCode::kInternalFailure, "deflateInit2 failed");
  }
  std::string out(deflateBound(&stream, static_cast<uLong>(bytes.size())) + 32,
                  '\0');
  stream.next_in =
      reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));  // NOLINT
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  int result = deflate(&stream, Z_FINISH);
  size_t written = stream.total_out;
  deflateEnd(&stream);
  if (result != Z_STREAM_END) {
    return Status(
        ErrorCode::kInternalFailure,
        "deflate compression failed with zlib code " + std::to_string(result));
  }
  out.resize(written);
  return out;
}

// The last UUID (8-4-4-4-12 hex digits) in `name`, or `name` without a
// ".zip" suffix when it holds none.
std::string_view ZipEntryName(std::string_view name) {
  constexpr std::string_view kShape = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
  auto is_uuid_at = [&](size_t at) {
    for (size_t i = 0; i < kShape.size(); ++i) {
      const char c = name[at + i];
      const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      if (kShape[i] == '-' ? c != '-' : !hex) return false;
    }
    return true;
  };
  for (size_t at = name.size(); at-- > 0;) {
    if (at + kShape.size() <= name.size() && is_uuid_at(at)) {
      return name.substr(at, kShape.size());
    }
  }
  if (name.ends_with(".zip")) name.remove_suffix(4);
  return name;
}

// One raw Snappy block of `input`.
std::string SnappyBlock(std::string_view input) {
  std::string block;
  snappy::Compress(input.data(), input.size(), &block);
  return block;
}

}  // namespace

bool IsSupportedCompression(std::string_view format) {
  return format == "UNCOMPRESSED" || format == "GZIP" || format == "ZIP" ||
         format == "Snappy" || format == "HADOOP_SNAPPY";
}

std::string_view CompressionExtension(std::string_view format) {
  if (format == "GZIP") return ".gz";
  if (format == "ZIP") return ".zip";
  // Both Snappy variants: what the service was seen to write; AWS's object
  // name page says ".hsnappy" for HADOOP_SNAPPY (docs/firehose.md).
  if (format == "Snappy" || format == "HADOOP_SNAPPY") return ".snappy";
  return "";
}

Result<std::string> CompressObject(std::string_view format,
                                   std::string_view key, std::string body) {
  if (format == "UNCOMPRESSED") return body;
  if (format == "GZIP") return GzipCompress(body);
  if (format == "Snappy") return SnappyJavaCompress(body);
  if (format == "HADOOP_SNAPPY") return HadoopSnappyCompress(body);
  if (format == "ZIP") {
    return ZipCompress(ZipEntryName(key.substr(key.rfind('/') + 1)), body);
  }
  return Status(ErrorCode::kInternalFailure,
                "unknown compression format " + std::string(format));
}

Result<std::string> GzipCompress(std::string_view bytes) {
  return Deflate(bytes, 15 + 16);
}

Result<std::string> ZipCompress(std::string_view entry_name,
                                std::string_view bytes) {
  constexpr uint32_t kMax = std::numeric_limits<uint32_t>::max();
  if (bytes.size() >= kMax || entry_name.size() > 0xffff) {
    return Status(ErrorCode::kInternalFailure,
                  "object too large for a ZIP archive without ZIP64");
  }
  Result<std::string> deflated = Deflate(bytes, -15);
  if (!deflated.ok()) return deflated.status();
  if (deflated->size() >= kMax) {
    return Status(ErrorCode::kInternalFailure,
                  "object too large for a ZIP archive without ZIP64");
  }
  const uint32_t crc = static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(bytes.data()),
            static_cast<uInt>(bytes.size())));
  const auto compressed_size = static_cast<uint32_t>(deflated->size());
  const auto size = static_cast<uint32_t>(bytes.size());
  const auto name_size = static_cast<uint16_t>(entry_name.size());
  constexpr uint16_t kVersion = 20;  // 2.0: deflate
  constexpr uint16_t kDeflated = 8;  // compression method
  constexpr uint16_t kDosTime = 0;   // 00:00:00
  constexpr uint16_t kDosDate = 33;  // 1980-01-01: (0 << 9) | (1 << 5) | 1
  constexpr uint16_t kUtf8Name = 1 << 11;  // general purpose flag bit 11

  // The fields a local header and its central directory entry share.
  auto common = [&](std::string& out) {
    PutLittleEndian16(out, kVersion);  // version needed to extract
    PutLittleEndian16(out, kUtf8Name);
    PutLittleEndian16(out, kDeflated);
    PutLittleEndian16(out, kDosTime);
    PutLittleEndian16(out, kDosDate);
    PutLittleEndian32(out, crc);
    PutLittleEndian32(out, compressed_size);
    PutLittleEndian32(out, size);
    PutLittleEndian16(out, name_size);
    PutLittleEndian16(out, 0);  // extra field length
  };
  std::string out;
  out.reserve(deflated->size() + 2 * entry_name.size() + 128);
  PutLittleEndian32(out, 0x04034b50);  // local file header
  common(out);
  out += entry_name;
  out += *deflated;
  const auto directory_offset = static_cast<uint32_t>(out.size());
  PutLittleEndian32(out, 0x02014b50);           // central directory file header
  PutLittleEndian16(out, (3 << 8) | kVersion);  // made by: Unix, 2.0
  common(out);
  PutLittleEndian16(out, 0);               // file comment length
  PutLittleEndian16(out, 0);               // disk number start
  PutLittleEndian16(out, 0);               // internal attributes
  PutLittleEndian32(out, 0100644u << 16);  // external: a regular file, 0644
  PutLittleEndian32(out, 0);               // local header offset
  out += entry_name;
  const auto directory_size =
      static_cast<uint32_t>(out.size() - directory_offset);
  PutLittleEndian32(out, 0x06054b50);  // end of central directory
  PutLittleEndian16(out, 0);           // this disk
  PutLittleEndian16(out, 0);           // disk with the directory
  PutLittleEndian16(out, 1);           // entries on this disk
  PutLittleEndian16(out, 1);           // entries in all
  PutLittleEndian32(out, directory_size);
  PutLittleEndian32(out, directory_offset);
  PutLittleEndian16(out, 0);  // comment length
  return out;
}

std::string SnappyJavaCompress(std::string_view bytes) {
  std::string out("\x82SNAPPY\0", 8);
  PutBigEndian32(out, 1);  // version
  PutBigEndian32(out, 1);  // compatible version
  for (size_t at = 0; at < bytes.size(); at += kSnappyJavaBlock) {
    std::string block = SnappyBlock(bytes.substr(at, kSnappyJavaBlock));
    PutBigEndian32(out, static_cast<uint32_t>(block.size()));
    out += block;
  }
  return out;
}

std::string HadoopSnappyCompress(std::string_view bytes) {
  std::string out;
  for (size_t at = 0; at < bytes.size(); at += kHadoopSnappyBlock) {
    std::string_view input = bytes.substr(at, kHadoopSnappyBlock);
    std::string block = SnappyBlock(input);
    PutBigEndian32(out, static_cast<uint32_t>(input.size()));
    PutBigEndian32(out, static_cast<uint32_t>(block.size()));
    out += block;
  }
  return out;
}

}  // namespace sluice::firehose
