#include "common/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace sluice {
namespace {

TEST(Crc32cTest, MatchesTheStandardCheckValue) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(internal::Crc32cExtendSoftware(0, "123456789", 9), 0xE3069283u);
  EXPECT_EQ(internal::Crc32cExtendHardware(0, "123456789", 9), 0xE3069283u);
}

TEST(Crc32cTest, EmptyInputIsZero) { EXPECT_EQ(Crc32c(""), 0u); }

TEST(Crc32cTest, ExtendingOverPiecesEqualsOneCall) {
  std::string text = "The quick brown fox jumps over the lazy dog";
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    uint32_t first = Crc32cExtend(0, text.data(), cut);
    EXPECT_EQ(Crc32cExtend(first, text.data() + cut, text.size() - cut),
              Crc32c(text))
        << "cut at " << cut;
  }
}

TEST(Crc32cTest, SoftwareAndHardwareAgreeOnEveryLengthAndAlignment) {
  std::mt19937 random(42);
  std::string bytes(300, '\0');
  for (char& c : bytes) c = static_cast<char>(random());
  for (size_t start = 0; start < 8; ++start) {
    for (size_t size = 0; start + size <= bytes.size(); size += 7) {
      EXPECT_EQ(internal::Crc32cExtendSoftware(5, bytes.data() + start, size),
                internal::Crc32cExtendHardware(5, bytes.data() + start, size));
    }
  }
}

}  // namespace
}  // namespace sluice
