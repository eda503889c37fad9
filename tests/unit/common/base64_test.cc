#include "common/base64.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(Base64Test, EncodesRfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
}

TEST(Base64Test, RoundTripsEveryByteValue) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (size_t length = 0; length <= bytes.size(); length += 37) {
    std::string part = bytes.substr(0, length);
    EXPECT_EQ(Base64Decode(Base64Encode(part)), part);
  }
}

TEST(Base64Test, RejectsTextOutsideTheStandardAlphabet) {
  EXPECT_FALSE(Base64Decode("Zg").has_value());        // no padding
  EXPECT_FALSE(Base64Decode("Zm9v!A==").has_value());  // bad character
  EXPECT_FALSE(Base64Decode("Zm-_").has_value());      // URL alphabet
  EXPECT_FALSE(Base64Decode("=Zm9").has_value());
}

TEST(Base64Test, IgnoresUnusedLowBitsLikeJava) {
  EXPECT_EQ(Base64Decode("Zh=="), "f");
}

}  // namespace
}  // namespace sluice
