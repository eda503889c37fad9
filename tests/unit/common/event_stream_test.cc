#include "common/event_stream.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

namespace sluice {
namespace {

std::string Bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

// Vectors from aws-sdk-js-v3's eventstream test fixtures
// (TestVectors.fixture.ts), which every SDK's codec is checked against.
const std::string kEmptyMessage =
    Bytes({0, 0, 0, 16, 0, 0, 0, 0, 5, 194, 72, 235, 125, 152, 200, 255});
const std::string kPayloadNoHeaders =
    Bytes({0,   0,   0,  29, 0,  0,  0,  0,   253, 82,  140, 90,  123, 39, 102,
           111, 111, 39, 58, 39, 98, 97, 114, 39,  125, 195, 101, 57,  54});
const std::string kPayloadOneStringHeader =
    Bytes({0,  0,   0,   61,  0,   0,   0,   32,  7,   253, 131, 150, 12,
           99, 111, 110, 116, 101, 110, 116, 45,  116, 121, 112, 101, 7,
           0,  16,  97,  112, 112, 108, 105, 99,  97,  116, 105, 111, 110,
           47, 106, 115, 111, 110, 123, 39,  102, 111, 111, 39,  58,  39,
           98, 97,  114, 39,  125, 141, 156, 8,   177});

TEST(EventStreamTest, Crc32IsZlibsCrc32) {
  EXPECT_EQ(Crc32(0, "123456789"), 0xCBF43926u);  // the CRC-32 check value
  EXPECT_EQ(Crc32(Crc32(0, "1234"), "56789"), 0xCBF43926u);
}

TEST(EventStreamTest, EncodesTheEmptyMessageVector) {
  EXPECT_EQ(EncodeEventStreamMessage({}), kEmptyMessage);
}

TEST(EventStreamTest, EncodesThePayloadWithoutHeadersVector) {
  EXPECT_EQ(EncodeEventStreamMessage({{}, "{'foo':'bar'}"}), kPayloadNoHeaders);
}

TEST(EventStreamTest, EncodesTheOneStringHeaderVector) {
  EventStreamMessage message{{{"content-type", "application/json"}},
                             "{'foo':'bar'}"};
  EXPECT_EQ(EncodeEventStreamMessage(message), kPayloadOneStringHeader);
}

TEST(EventStreamTest, DecodesWhatItEncodesAndConsumesOneMessage) {
  EventStreamMessage first{{{":message-type", "event"},
                            {":event-type", "SubscribeToShardEvent"},
                            {":content-type", "application/x-amz-json-1.1"}},
                           R"({"Records":[]})"};
  EventStreamMessage second{{{":message-type", "exception"}}, "{}"};
  std::string wire =
      EncodeEventStreamMessage(first) + EncodeEventStreamMessage(second);
  std::string_view rest = wire;

  auto decoded = DecodeEventStreamMessage(rest);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->headers, first.headers);
  EXPECT_EQ(decoded->payload, first.payload);
  EXPECT_EQ(decoded->Header(":event-type"), "SubscribeToShardEvent");
  EXPECT_EQ(decoded->Header(":exception-type"), std::nullopt);

  decoded = DecodeEventStreamMessage(rest);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->Header(":message-type"), "exception");
  EXPECT_TRUE(rest.empty());
}

TEST(EventStreamTest, RefusesShortInputAndBadChecksums) {
  for (size_t cut = 0; cut < kPayloadOneStringHeader.size(); ++cut) {
    std::string_view shorter =
        std::string_view(kPayloadOneStringHeader).substr(0, cut);
    EXPECT_FALSE(DecodeEventStreamMessage(shorter).has_value()) << cut;
  }
  for (size_t at :
       {size_t{9}, size_t{30}, kPayloadOneStringHeader.size() - 1}) {
    std::string damaged = kPayloadOneStringHeader;
    damaged[at] = static_cast<char>(damaged[at] ^ 1);
    std::string_view view = damaged;
    EXPECT_FALSE(DecodeEventStreamMessage(view).has_value()) << at;
  }
}

TEST(EventStreamTest, CarriesLongestHeaderValue) {
  EventStreamMessage message{{{std::string(kMaxEventHeaderNameBytes, 'n'),
                               std::string(kMaxEventHeaderValueBytes, 'v')}},
                             "x"};
  std::string wire = EncodeEventStreamMessage(message);
  std::string_view view = wire;
  auto decoded = DecodeEventStreamMessage(view);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->headers, message.headers);
}

}  // namespace
}  // namespace sluice
