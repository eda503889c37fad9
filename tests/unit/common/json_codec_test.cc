#include "common/json_codec.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(JsonEncoderTest, WritesBlobsAsBase64AndTimestampsAsSecondsWithMillis) {
  auto out = NewJsonEncoder();
  EXPECT_TRUE(out->Empty());
  out->StartObject();
  out->Key("Data");
  out->Blob(std::string("\x00\xff", 2));
  out->Key("At");
  out->Timestamp(1700000000123);
  out->Key("Zero");
  out->Timestamp(1700000000000);
  out->Key("Before1970");
  out->Timestamp(-1);
  out->Key("List");
  out->StartArray();
  out->Int(-5);
  out->Bool(true);
  out->Null();
  out->String("q\"uote");
  out->EndArray();
  out->EndObject();
  EXPECT_FALSE(out->Empty());
  EXPECT_EQ(out->Take(),
            R"({"Data":"AP8=","At":1700000000.123,"Zero":1700000000.000,)"
            R"("Before1970":-1.999,"List":[-5,true,null,"q\"uote"]})");
}

TEST(DecodeJsonObjectTest, AcceptsOnlyOneObject) {
  json::Document doc;
  EXPECT_TRUE(DecodeJsonObject(R"({"a": 1})", doc));
  EXPECT_TRUE(doc.IsObject());
  EXPECT_TRUE(DecodeJsonObject(" {} \n", doc));
  EXPECT_FALSE(DecodeJsonObject("", doc));
  EXPECT_FALSE(DecodeJsonObject("{", doc));
  EXPECT_FALSE(DecodeJsonObject("[]", doc));
  EXPECT_FALSE(DecodeJsonObject("5", doc));
  EXPECT_FALSE(DecodeJsonObject("{} {}", doc));
  EXPECT_FALSE(DecodeJsonObject("{\"a\": \"\xff\"}", doc));  // not UTF-8
}

TEST(DecodeJsonObjectTest, RefusesNestingDeeperThanAThousandLevels) {
  json::Document doc;
  auto nested = [](int depth) {
    return "{\"a\":" + std::string(static_cast<size_t>(depth), '[') +
           std::string(static_cast<size_t>(depth), ']') + "}";
  };
  EXPECT_TRUE(DecodeJsonObject(nested(999), doc));
  EXPECT_FALSE(DecodeJsonObject(nested(1000), doc));
  EXPECT_FALSE(DecodeJsonObject(nested(1000000), doc));
  // Brackets inside strings are text, not nesting.
  EXPECT_TRUE(
      DecodeJsonObject("{\"a\":\"" + std::string(5000, '[') + "\\\"\"}", doc));
}

}  // namespace
}  // namespace sluice
