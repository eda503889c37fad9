#include "server/storage/frame.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "common/crc32c.h"

namespace sluice::storage {
namespace {

std::string Encode(const FrameFields& fields) {
  std::string out;
  EncodeFrame(fields, out);
  return out;
}

TEST(FrameTest, RoundTripsEveryField) {
  std::string data(1000, 'x');
  data[7] = '\0';  // binary data survives
  FrameFields fields{
      .offset = 123456789,
      .arrival_millis = 1700000000123,
      .partition_key = "user-42",
      .explicit_hash_key = "340282366920938463463374607431768211455",
      .data = data};
  std::string bytes = Encode(fields);
  EXPECT_EQ(bytes.size(), FrameBytes(fields));

  DecodedFrame frame = DecodeFrame(bytes);
  ASSERT_EQ(frame.check, FrameCheck::kComplete) << frame.problem;
  EXPECT_EQ(frame.frame_bytes, bytes.size());
  EXPECT_EQ(frame.fields.offset, fields.offset);
  EXPECT_EQ(frame.fields.arrival_millis, fields.arrival_millis);
  EXPECT_EQ(frame.fields.partition_key, fields.partition_key);
  EXPECT_EQ(frame.fields.explicit_hash_key, fields.explicit_hash_key);
  EXPECT_EQ(frame.fields.data, fields.data);
}

TEST(FrameTest, RoundTripsEmptyDataWithoutHashKey) {
  std::string bytes = Encode({.offset = 0, .partition_key = "k"});
  DecodedFrame frame = DecodeFrame(bytes);
  ASSERT_EQ(frame.check, FrameCheck::kComplete);
  EXPECT_EQ(frame.fields.partition_key, "k");
  EXPECT_FALSE(frame.fields.explicit_hash_key.has_value());
  EXPECT_EQ(frame.fields.data, "");
}

TEST(FrameTest, DecodesOnlyTheFirstOfSeveralFrames) {
  std::string bytes = Encode({.offset = 1, .partition_key = "a", .data = "1"});
  size_t first = bytes.size();
  EncodeFrame({.offset = 2, .partition_key = "b", .data = "22"}, bytes);
  DecodedFrame frame = DecodeFrame(bytes);
  ASSERT_EQ(frame.check, FrameCheck::kComplete);
  EXPECT_EQ(frame.frame_bytes, first);
  EXPECT_EQ(frame.fields.data, "1");
}

TEST(FrameTest, EveryProperPrefixIsTruncated) {
  std::string bytes =
      Encode({.offset = 9, .partition_key = "key", .data = "payload"});
  for (size_t size = 0; size < bytes.size(); ++size) {
    EXPECT_EQ(DecodeFrame(std::string_view(bytes).substr(0, size)).check,
              FrameCheck::kTruncated)
        << "prefix of " << size << " bytes";
  }
}

TEST(FrameTest, EveryFlippedByteIsCorrupt) {
  std::string good =
      Encode({.offset = 9, .partition_key = "key", .data = "payload"});
  for (size_t at = 0; at < good.size(); ++at) {
    std::string bad = good;
    bad[at] = static_cast<char>(bad[at] ^ 0x40);
    DecodedFrame frame = DecodeFrame(bad);
    EXPECT_EQ(frame.check, FrameCheck::kCorrupt) << "flipped byte " << at;
  }
}

TEST(FrameTest, RejectsALengthBeyondTheLimitEvenWithAGoodHeaderCrc) {
  // A header that checks out but claims more than any record can be is
  // still damage: it must not make a reader wait for 4 GiB.
  std::string bytes = Encode({.offset = 1, .partition_key = "k"});
  uint32_t huge = kMaxFramePayloadBytes + 1;
  std::memcpy(bytes.data() + 4, &huge, 4);
  uint32_t crc = Crc32cExtend(0, bytes.data() + 4, kFrameHeaderBytes - 4);
  std::memcpy(bytes.data(), &crc, 4);
  DecodedFrame frame = DecodeFrame(bytes);
  EXPECT_EQ(frame.check, FrameCheck::kCorrupt);
  EXPECT_STREQ(frame.problem, "impossible lengths");
}

}  // namespace
}  // namespace sluice::storage
