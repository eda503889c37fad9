#include "server/kinesis/tag_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sluice::kinesis {
namespace {

TEST(TagRulesTest, AllowsLettersDigitsSpaceAndTheListedPunctuation) {
  EXPECT_TRUE(IsValidTagText("Team 1_a.b/c=d+e-f%g@h:i"));
  EXPECT_TRUE(IsValidTagText(""));
  EXPECT_TRUE(IsValidTagText("\xc3\xa9t\xc3\xa9"));  // "été"
}

TEST(TagRulesTest, RefusesOtherCharacters) {
  for (const char* text : {"a*b", "a#", "x!", "(y)", "a,b", "q?", "a&b"}) {
    EXPECT_FALSE(IsValidTagText(text)) << text;
  }
}

TEST(TagRulesTest, AwsPrefixIsReservedInAnyCase) {
  EXPECT_TRUE(HasReservedTagPrefix("aws:x"));
  EXPECT_TRUE(HasReservedTagPrefix("AWS:"));
  EXPECT_FALSE(HasReservedTagPrefix("aws"));
  EXPECT_FALSE(HasReservedTagPrefix("awsx:"));
  EXPECT_FALSE(HasReservedTagPrefix("my:aws:x"));
}

TEST(TagRulesTest, CheckTagCharactersNamesTheValidSet) {
  Status s = CheckTagCharacters({{"ok", "fine"}, {"bad", "v*"}});
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "Some tags contain invalid characters. Valid characters: Unicode "
            "letters, digits, white space, _ . / = + - % @ :.");
  EXPECT_TRUE(CheckTagCharacters({{"k", ""}}).ok());
  EXPECT_EQ(CheckTagKeyCharacters("a$").code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace sluice::kinesis
