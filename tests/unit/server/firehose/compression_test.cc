#include "server/firehose/compression.h"

#include <gtest/gtest.h>
#include <snappy.h>
#include <zlib.h>

#include <cstdint>

#include "tests/unit/catalog/test_util.h"

namespace sluice::firehose {
namespace {

using catalog::test::IsOk;

std::string Inflate(std::string_view compressed, int window_bits,
                    size_t expected_size) {
  z_stream stream{};
  EXPECT_EQ(inflateInit2(&stream, window_bits), Z_OK);
  std::string out(expected_size + 1, '\0');
  stream.next_in =
      reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  inflateEnd(&stream);
  return out;
}

uint32_t BigEndian32(std::string_view bytes, size_t at) {
  auto byte = [&](size_t i) {
    return static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + i]));
  };
  return byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3);
}

uint32_t LittleEndian32(std::string_view bytes, size_t at) {
  auto byte = [&](size_t i) {
    return static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + i]));
  };
  return byte(3) << 24 | byte(2) << 16 | byte(1) << 8 | byte(0);
}

uint16_t LittleEndian16(std::string_view bytes, size_t at) {
  return static_cast<uint16_t>(static_cast<unsigned char>(bytes[at]) |
                               static_cast<unsigned char>(bytes[at + 1]) << 8);
}

std::string RawSnappy(std::string_view block) {
  std::string out;
  EXPECT_TRUE(snappy::Uncompress(block.data(), block.size(), &out));
  return out;
}

// Text that compresses, more than one Snappy block long.
std::string Records(int count) {
  std::string input;
  for (int i = 0; i < count; ++i) {
    input += "{\"record\":" + std::to_string(i) + ",\"pad\":\"abcabcabc\"}\n";
  }
  return input;
}

TEST(CompressionTest, GzipRoundTripsAndIsDeterministic) {
  const std::string input = Records(10000);
  Result<std::string> first = GzipCompress(input);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->substr(0, 2), "\x1f\x8b");  // the gzip magic
  EXPECT_LT(first->size(), input.size());
  EXPECT_EQ(Inflate(*first, 15 + 16, input.size()), input);
  EXPECT_EQ(GzipCompress(input).value(), *first);
  EXPECT_EQ(Inflate(GzipCompress("").value(), 15 + 16, 0), "");
}

TEST(CompressionTest, ZipHoldsOneDeflatedEntryReadByItsDirectory) {
  const std::string input = Records(5000);
  Result<std::string> zip = ZipCompress("orders-1-2026", input);
  ASSERT_THAT(zip, IsOk());
  EXPECT_EQ(ZipCompress("orders-1-2026", input).value(), *zip);
  // Read it as unzip does: from the end of central directory record.
  const std::string& z = *zip;
  const size_t end = z.size() - 22;
  ASSERT_EQ(LittleEndian32(z, end), 0x06054b50u);
  EXPECT_EQ(LittleEndian16(z, end + 10), 1);  // one entry
  const uint32_t directory = LittleEndian32(z, end + 16);
  ASSERT_EQ(LittleEndian32(z, directory), 0x02014b50u);
  EXPECT_EQ(LittleEndian16(z, directory + 10), 8);  // deflated
  const uint32_t crc = LittleEndian32(z, directory + 16);
  const uint32_t compressed_size = LittleEndian32(z, directory + 20);
  EXPECT_EQ(LittleEndian32(z, directory + 24), input.size());
  const uint16_t name_size = LittleEndian16(z, directory + 28);
  EXPECT_EQ(z.substr(directory + 46, name_size), "orders-1-2026");
  const uint32_t local = LittleEndian32(z, directory + 42);
  ASSERT_EQ(LittleEndian32(z, local), 0x04034b50u);
  const size_t data = local + 30 + LittleEndian16(z, local + 26) +
                      LittleEndian16(z, local + 28);
  const std::string plain =
      Inflate(z.substr(data, compressed_size), -15, input.size());
  EXPECT_EQ(plain, input);
  EXPECT_EQ(crc, static_cast<uint32_t>(
                     crc32(0, reinterpret_cast<const Bytef*>(input.data()),
                           static_cast<uInt>(input.size()))));
}

TEST(CompressionTest, ZipEntryIsNamedAfterTheObjectsUuid) {
  constexpr std::string_view kUuid = "0f8fad5b-d9cb-469f-a165-70867728950e";
  Result<std::string> zip = CompressObject(
      "ZIP",
      "2026/12/02/07/s.v-1-2026-12-02-07-00-00-" + std::string(kUuid) + ".zip",
      "x");
  ASSERT_THAT(zip, IsOk());
  EXPECT_EQ(LittleEndian16(*zip, 26), kUuid.size());  // the name length
  EXPECT_EQ(zip->substr(30, kUuid.size()), kUuid);
  // A key without one (Sluice always names objects with one): the name.
  zip = CompressObject("ZIP", "a/b/name.zip", "x");
  ASSERT_THAT(zip, IsOk());
  EXPECT_EQ(LittleEndian16(*zip, 26), 4);
  EXPECT_EQ(zip->substr(30, 4), "name");
}

TEST(CompressionTest, SnappyJavaStreamHasHeaderAndLengthPrefixedBlocks) {
  const std::string input = Records(3000);  // several 32 KiB blocks
  const std::string out = SnappyJavaCompress(input);
  ASSERT_GE(out.size(), 16u);
  EXPECT_EQ(out.substr(0, 8), std::string("\x82SNAPPY\0", 8));
  EXPECT_EQ(BigEndian32(out, 8), 1u);
  EXPECT_EQ(BigEndian32(out, 12), 1u);
  std::string plain;
  int blocks = 0;
  for (size_t at = 16; at < out.size(); ++blocks) {
    const uint32_t length = BigEndian32(out, at);
    plain += RawSnappy(std::string_view(out).substr(at + 4, length));
    at += 4 + length;
  }
  EXPECT_EQ(plain, input);
  EXPECT_GT(blocks, 1);
  EXPECT_LT(out.size(), input.size());
}

TEST(CompressionTest, HadoopSnappyBlocksCarryBothLengths) {
  const std::string input = Records(2000);
  const std::string out = HadoopSnappyCompress(input);
  std::string plain;
  int blocks = 0;
  for (size_t at = 0; at < out.size(); ++blocks) {
    const uint32_t raw_length = BigEndian32(out, at);
    const uint32_t length = BigEndian32(out, at + 4);
    std::string block = RawSnappy(std::string_view(out).substr(at + 8, length));
    EXPECT_EQ(block.size(), raw_length);
    plain += block;
    at += 8 + length;
  }
  EXPECT_EQ(plain, input);
  EXPECT_GT(blocks, 1);
}

TEST(CompressionTest, ExtensionsAndSupportedFormats) {
  EXPECT_EQ(CompressionExtension("UNCOMPRESSED"), "");
  EXPECT_EQ(CompressionExtension("GZIP"), ".gz");
  EXPECT_EQ(CompressionExtension("ZIP"), ".zip");
  EXPECT_EQ(CompressionExtension("Snappy"), ".snappy");
  EXPECT_EQ(CompressionExtension("HADOOP_SNAPPY"), ".snappy");
  for (const char* format :
       {"UNCOMPRESSED", "GZIP", "ZIP", "Snappy", "HADOOP_SNAPPY"}) {
    EXPECT_TRUE(IsSupportedCompression(format)) << format;
  }
  EXPECT_FALSE(IsSupportedCompression("SNAPPY"));
  EXPECT_FALSE(CompressObject("LZ4", "k", "x").ok());
  EXPECT_EQ(CompressObject("UNCOMPRESSED", "k", "as is").value(), "as is");
}

}  // namespace
}  // namespace sluice::firehose
