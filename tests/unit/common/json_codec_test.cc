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

// True when `text` decodes; the document dies with the text it points into.
bool Decodes(std::string text) {
  json::Document doc;
  return DecodeJsonObject(text, doc) && doc.IsObject();
}

TEST(DecodeJsonObjectTest, AcceptsOnlyOneObject) {
  EXPECT_TRUE(Decodes(R"({"a": 1})"));
  EXPECT_TRUE(Decodes(" {} \n"));
  EXPECT_FALSE(Decodes(""));
  EXPECT_FALSE(Decodes("{"));
  EXPECT_FALSE(Decodes("[]"));
  EXPECT_FALSE(Decodes("5"));
  EXPECT_FALSE(Decodes("{} {}"));
  EXPECT_FALSE(Decodes("{\"a\": \"\xff\"}"));  // not UTF-8
}

TEST(DecodeJsonObjectTest, ParsesInPlaceWithEscapesDecoded) {
  std::string body = R"({"k": "a\"b\u00e9", "n": 5})";
  json::Document doc;
  ASSERT_TRUE(DecodeJsonObject(body, doc));
  EXPECT_EQ(json::AsView(doc["k"]), "a\"b\xc3\xa9");
  EXPECT_EQ(doc["n"].GetInt(), 5);
}

TEST(DecodeJsonObjectTest, RefusesNestingDeeperThanAThousandLevels) {
  auto nested = [](int depth) {
    return "{\"a\":" + std::string(static_cast<size_t>(depth), '[') +
           std::string(static_cast<size_t>(depth), ']') + "}";
  };
  EXPECT_TRUE(Decodes(nested(999)));
  EXPECT_FALSE(Decodes(nested(1000)));
  EXPECT_FALSE(Decodes(nested(1000000)));
  // Brackets inside strings are text, not nesting.
  EXPECT_TRUE(Decodes("{\"a\":\"" + std::string(5000, '[') + "\\\"\"}"));
}

}  // namespace
}  // namespace sluice
