#include "server/kinesis/validation.h"

#include <gtest/gtest.h>

namespace sluice::kinesis {
namespace {

TEST(ViolationsTest, NoneIsOk) { EXPECT_TRUE(Violations().ToStatus().ok()); }

TEST(ViolationsTest, OneIsWordedInTheSingular) {
  Violations v;
  CheckRange(v, 0, "limit", 1, 10000);
  EXPECT_EQ(
      v.ToStatus(),
      Status(ErrorCode::kValidation,
             "1 validation error detected: Value '0' at 'limit' failed to "
             "satisfy constraint: Member must have value greater than or "
             "equal to 1"));
}

TEST(ViolationsTest, SeveralAreJoinedAndCappedAtTen) {
  Violations v;
  for (int i = 0; i < 12; ++i) CheckRange(v, 10001, "limit", 1, 10000);
  Status s = v.ToStatus();
  EXPECT_EQ(
      s.message().rfind("12 validation errors detected: Value '10001' at "
                        "'limit' failed to satisfy constraint: Member must "
                        "have value less than or equal to 10000; ",
                        0),
      0u);
  size_t items = 0;
  for (size_t at = s.message().find("Value '"); at != std::string::npos;
       at = s.message().find("Value '", at + 1)) {
    ++items;
  }
  EXPECT_EQ(items, 10u);
}

TEST(CheckNameTest, ChecksLengthAndPattern) {
  Violations v;
  CheckName(v, "fine_name.1-2", "streamName", 128);
  EXPECT_TRUE(v.ToStatus().ok());
  CheckName(v, "bad name!", "streamName", 128);
  EXPECT_EQ(v.ToStatus().message(),
            "1 validation error detected: Value 'bad name!' at 'streamName' "
            "failed to satisfy constraint: Member must satisfy regular "
            "expression pattern: [a-zA-Z0-9_.-]+");
  Violations empty;
  CheckName(empty, "", "streamName", 128);
  EXPECT_EQ(empty.ToStatus().message(),
            "1 validation error detected: Value '' at 'streamName' failed to "
            "satisfy constraint: Member must have length greater than or equal "
            "to 1");
  Violations long_name;
  CheckName(long_name, std::string(129, 'a'), "streamName", 128);
  EXPECT_NE(long_name.ToStatus().message().find(
                "Member must have length less than or equal to 128"),
            std::string::npos);
}

TEST(ReadOptionalTest, WrongJsonTypesAreSerializationErrors) {
  json::Document doc;
  doc.Parse(R"({"Limit": "abc", "Name": ["x"], "Frac": 2.7, "N": 5})");
  int64_t number = 0;
  bool present = false;
  EXPECT_EQ(ReadOptionalInt(doc, "Limit", number, present).code(),
            ErrorCode::kSerialization);
  ASSERT_TRUE(ReadOptionalInt(doc, "Frac", number, present).ok());
  EXPECT_EQ(number, 2);
  ASSERT_TRUE(ReadOptionalInt(doc, "N", number, present).ok());
  EXPECT_TRUE(present);
  EXPECT_EQ(number, 5);
  ASSERT_TRUE(ReadOptionalInt(doc, "Absent", number, present).ok());
  EXPECT_FALSE(present);
  std::string text;
  EXPECT_EQ(ReadOptionalString(doc, "Name", text, present).code(),
            ErrorCode::kSerialization);
}

}  // namespace
}  // namespace sluice::kinesis
