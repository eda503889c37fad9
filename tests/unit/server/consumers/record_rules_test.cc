#include "server/consumers/record_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/catalog/test_util.h"

namespace sluice::consumers {
namespace {

using catalog::test::HasError;
using catalog::test::IsOk;

// 2026-12-02T07:05:09.042Z
constexpr EpochMillis kArrival = 1796195109042;

json::Document Parse(std::string_view text) {
  json::Document doc;
  doc.Parse(text.data(), text.size());
  EXPECT_FALSE(doc.HasParseError()) << text;
  return doc;
}

class TemplateTest : public ::testing::Test {
 protected:
  TemplateTest() {
    record_.partition_key = "user-7";
    record_.sequence_number = "4961";
    record_.arrival_millis = kArrival;
  }

  // The expansion of `text` against `json`, or "MISSING <placeholder>".
  std::string Expand(std::string_view text, std::string_view json) {
    Result<Template> parsed = Template::Parse(text, "t");
    EXPECT_THAT(parsed, IsOk());
    if (!parsed.ok()) return "";
    json::Document doc = Parse(json);
    std::string out;
    std::string_view missing;
    if (!parsed->Expand(RecordContext{doc, record_, "shardId-000000000003"},
                        out, &missing)) {
      return "MISSING " + std::string(missing);
    }
    return out;
  }

  std::optional<TemplateValue> Evaluate(std::string_view text,
                                        const json::Document& doc) {
    Result<Template> parsed = Template::Parse(text, "t");
    EXPECT_THAT(parsed, IsOk());
    return parsed->Evaluate(RecordContext{doc, record_, "shardId-0"}, nullptr);
  }

  ConsumerRecord record_;
};

TEST_F(TemplateTest, ExpandsFieldsArrivalTimeAndRecordMetadata) {
  const std::string_view event =
      R"({"event_type":"page_view","data":{"page":"/p/a","n":3,"x":1.5,)"
      R"("ok":true,"items":[{"id":"i0"},{"id":"i1"}]}})";
  EXPECT_EQ(Expand("pageviews#{@date}", event), "pageviews#2026-12-02");
  EXPECT_EQ(Expand("errors#{@date}#{@hour}", event), "errors#2026-12-02#07");
  EXPECT_EQ(Expand("{data.page}", event), "/p/a");
  EXPECT_EQ(Expand("{data.n}/{data.x}/{data.ok}", event), "3/1.5/true");
  EXPECT_EQ(Expand("{data.items.1.id}", event), "i1");
  EXPECT_EQ(Expand("{@time}", event), "2026-12-02T07:05:09.042Z");
  EXPECT_EQ(Expand("{@millis}", event), "1796195109042");
  EXPECT_EQ(Expand("{@arrival:yyyy/MM/dd HH:mm}", event), "2026/12/02 07:05");
  EXPECT_EQ(Expand("{@partition_key}:{@sequence_number}:{@shard_id}", event),
            "user-7:4961:shardId-000000000003");
  EXPECT_EQ(Expand("{{literal}}", event), "{literal}");
  EXPECT_EQ(Expand("{data.items.0}", event), R"({"id":"i0"})");
}

TEST_F(TemplateTest, TakesTheFirstPresentAlternative) {
  EXPECT_EQ(Expand("{data.code|'unknown'}", R"({"data":{"code":"E42"}})"),
            "E42");
  EXPECT_EQ(Expand("{data.code|'unknown'}", R"({"data":{}})"), "unknown");
  EXPECT_EQ(Expand("{data.code|'unknown'}", R"({"data":{"code":null}})"),
            "unknown");
  EXPECT_EQ(
      Expand("{data.page|properties.page}", R"({"properties":{"page":"/b"}})"),
      "/b");
  EXPECT_EQ(Expand("{data.user_id|@partition_key}", "{}"), "user-7");
}

TEST_F(TemplateTest, ReportsTheMissingPlaceholder) {
  EXPECT_EQ(Expand("u#{data.user_id}", R"({"data":{}})"),
            "MISSING {data.user_id}");
  EXPECT_EQ(Expand("{a.b}", R"({"a":"not an object"})"), "MISSING {a.b}");
  EXPECT_EQ(Expand("{a.5}", R"({"a":[1]})"), "MISSING {a.5}");
  EXPECT_EQ(Expand("{a}", "[1,2]"), "MISSING {a}");
}

TEST_F(TemplateTest, OnePlaceholderKeepsTheFieldsJsonType) {
  json::Document doc =
      Parse(R"({"n":3,"x":612.5,"b":false,"s":"text","o":{"k":1}})");
  EXPECT_EQ(Evaluate("{n}", doc)->kind, TemplateValue::Kind::kInt);
  EXPECT_EQ(Evaluate("{n}", doc)->int_value, 3);
  EXPECT_EQ(Evaluate("{x}", doc)->kind, TemplateValue::Kind::kReal);
  EXPECT_EQ(Evaluate("{x}", doc)->real_value, 612.5);
  EXPECT_EQ(Evaluate("{b}", doc)->kind, TemplateValue::Kind::kBool);
  EXPECT_EQ(Evaluate("{s}", doc)->kind, TemplateValue::Kind::kText);
  EXPECT_EQ(Evaluate("{o}", doc)->kind, TemplateValue::Kind::kJson);
  EXPECT_EQ(Evaluate("{o}", doc)->text, R"({"k":1})");
  EXPECT_EQ(Evaluate("{@millis}", doc)->int_value, kArrival);
  // With text around it, it is text.
  EXPECT_EQ(Evaluate("n={n}", doc)->kind, TemplateValue::Kind::kText);
  EXPECT_EQ(Evaluate("n={n}", doc)->text, "n=3");
  EXPECT_FALSE(Evaluate("{missing}", doc).has_value());
}

TEST(TemplateParseTest, RefusesMalformedTemplatesNamingTheSetting) {
  EXPECT_THAT(Template::Parse("a{b", "rules[0].key"),
              HasError(ErrorCode::kInvalidArgument,
                       "rules[0].key: unclosed '{' in 'a{b'"));
  EXPECT_THAT(Template::Parse("a}b", "k"),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(Template::Parse("{}", "k"),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(Template::Parse("{a..b}", "k"),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(Template::Parse("{@nope}", "k"),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(Template::Parse("{@arrival:yyyy-Q}", "k"),
              HasError(ErrorCode::kInvalidArgument));
}

bool Matches(std::string_view match, std::string_view record) {
  json::Document match_doc = Parse(match);
  Result<Condition> condition = Condition::Parse(&match_doc, "match");
  EXPECT_THAT(condition, IsOk()) << match;
  if (!condition.ok()) return false;
  return condition->Matches(Parse(record));
}

TEST(ConditionTest, EqualityOnStringsNumbersAndBooleans) {
  EXPECT_TRUE(
      Matches(R"({"event_type":"purchase"})", R"({"event_type":"purchase"})"));
  EXPECT_FALSE(
      Matches(R"({"event_type":"purchase"})", R"({"event_type":"page_view"})"));
  EXPECT_FALSE(Matches(R"({"event_type":"purchase"})", R"({})"));
  EXPECT_TRUE(Matches(R"({"data.qty":2})", R"({"data":{"qty":2.0}})"));
  EXPECT_FALSE(Matches(R"({"data.qty":2})", R"({"data":{"qty":"2"}})"));
  EXPECT_TRUE(Matches(R"({"ok":true})", R"({"ok":true})"));
  EXPECT_TRUE(Matches(R"({"a":"x","b":1})", R"({"a":"x","b":1})"));
  EXPECT_FALSE(Matches(R"({"a":"x","b":1})", R"({"a":"x","b":2})"));
  EXPECT_TRUE(Matches(R"({})", R"("not even an object")"));
}

TEST(ConditionTest, ComparesNumbersIncludingNumericStrings) {
  const std::string_view over = R"({"data.amount":{">":500}})";
  EXPECT_TRUE(Matches(over, R"({"data":{"amount":500.01}})"));
  EXPECT_FALSE(Matches(over, R"({"data":{"amount":500}})"));
  EXPECT_TRUE(Matches(over, R"({"data":{"amount":"612.50"}})"));
  EXPECT_FALSE(Matches(over, R"({"data":{"amount":"lots"}})"));
  EXPECT_FALSE(Matches(over, R"({"data":{}})"));
  EXPECT_TRUE(Matches(R"({"a":{">=":1,"<":3}})", R"({"a":1})"));
  EXPECT_TRUE(Matches(R"({"a":{">=":1,"<":3}})", R"({"a":2.9})"));
  EXPECT_FALSE(Matches(R"({"a":{">=":1,"<":3}})", R"({"a":3})"));
  EXPECT_TRUE(Matches(R"({"a":{"<=":0}})", R"({"a":-1})"));
  EXPECT_TRUE(Matches(R"({"t":{">=":"2026-12-01"}})",
                      R"({"t":"2026-12-02T00:00:00Z"})"));
}

TEST(ConditionTest, InNotEqualAndExists) {
  const std::string_view in = R"({"event_type":{"in":["a","b"]}})";
  EXPECT_TRUE(Matches(in, R"({"event_type":"b"})"));
  EXPECT_FALSE(Matches(in, R"({"event_type":"c"})"));
  EXPECT_TRUE(Matches(R"({"a":{"!=":"x"}})", R"({"a":"y"})"));
  EXPECT_TRUE(Matches(R"({"a":{"!=":"x"}})", R"({})"));
  EXPECT_FALSE(Matches(R"({"a":{"!=":"x"}})", R"({"a":"x"})"));
  EXPECT_TRUE(Matches(R"({"d.u":{"exists":true}})", R"({"d":{"u":"1"}})"));
  EXPECT_FALSE(Matches(R"({"d.u":{"exists":true}})", R"({"d":{"u":null}})"));
  EXPECT_TRUE(Matches(R"({"d.u":{"exists":false}})", R"({"d":{}})"));
  EXPECT_TRUE(Matches(R"({"a":null})", R"({})"));
}

TEST(ConditionTest, RefusesMalformedConditions) {
  for (std::string_view bad :
       {R"({"a":{"~":1}})", R"({"a":{}})", R"({"a":{">":true}})",
        R"({"a":{"in":[]}})", R"({"a":{"exists":1}})", R"({"a":[1]})",
        R"({"a..b":1})", R"([1])"}) {
    json::Document doc = Parse(bad);
    EXPECT_THAT(Condition::Parse(&doc, "match"),
                HasError(ErrorCode::kInvalidArgument))
        << bad;
  }
}

std::optional<int64_t> Cents(std::string_view json_value) {
  return ToCents(Parse(json_value));
}

TEST(ToCentsTest, ConvertsExactlyWithoutFloatingPointDrift) {
  EXPECT_EQ(Cents("49.99"), 4999);
  EXPECT_EQ(Cents("0.1"), 10);
  EXPECT_EQ(Cents("0.2"), 20);
  EXPECT_EQ(Cents("12"), 1200);
  EXPECT_EQ(Cents("-3.5"), -350);
  // 1.005 * 100 is 100.49999999999999 in binary; the written decimal rounds
  // half away from zero.
  EXPECT_EQ(Cents("1.005"), 101);
  EXPECT_EQ(Cents("-1.005"), -101);
  EXPECT_EQ(Cents("0.125"), 13);
  EXPECT_EQ(Cents("0.1249"), 12);
  EXPECT_EQ(Cents("2.675"), 268);
  EXPECT_EQ(Cents(R"("612.50")"), 61250);
  EXPECT_EQ(Cents(R"("7")"), 700);
  EXPECT_EQ(Cents(R"("1e3")"), std::nullopt);
  EXPECT_EQ(Cents(R"("abc")"), std::nullopt);
  EXPECT_EQ(Cents("true"), std::nullopt);
  EXPECT_EQ(Cents("1e300"), std::nullopt);
  EXPECT_EQ(Cents("900000000000000"), std::nullopt);
  EXPECT_EQ(Cents("89999999999999"), 8999999999999900);
}

TEST(ToCentsTest, ThousandSmallAmountsSumExactly) {
  int64_t total = 0;
  double naive = 0;
  for (int i = 0; i < 1000; ++i) {
    total += *Cents("0.1");
    naive += 0.1;
  }
  EXPECT_EQ(total, 10000);
  EXPECT_NE(naive * 100, 10000.0);  // what the cents avoid
}

TEST(TruncateUtf8Test, CutsAtCharactersNotBytes) {
  EXPECT_EQ(TruncateUtf8("hello", 3), "hel");
  EXPECT_EQ(TruncateUtf8("hello", 10), "hello");
  EXPECT_EQ(TruncateUtf8("h\xC3\xA9llo", 2), "h\xC3\xA9");
  EXPECT_EQ(TruncateUtf8("\xE2\x82\xAC\xE2\x82\xAC", 1), "\xE2\x82\xAC");
  EXPECT_EQ(TruncateUtf8("", 5), "");
  EXPECT_EQ(TruncateUtf8("abc", 0), "");
}

TEST(RecordParserTest, ParsesJsonAndRefusesTheRest) {
  RecordParser parser;
  const json::Value* first = parser.Parse(R"({"a":1})");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ((*first)["a"].GetInt(), 1);
  EXPECT_EQ(parser.Parse("not json"), nullptr);
  EXPECT_EQ(parser.Parse(R"({"a":1} trailing)"), nullptr);
  // Larger than the parser's own buffers.
  std::string big = R"({"s":")" + std::string(100000, 'x') + R"("})";
  const json::Value* large = parser.Parse(big);
  ASSERT_NE(large, nullptr);
  EXPECT_EQ((*large)["s"].GetStringLength(), 100000u);
}

TEST(PathsTest, ContainedRelativePaths) {
  EXPECT_TRUE(IsContainedRelativePath("metrics/shop.db"));
  EXPECT_TRUE(IsContainedRelativePath("a.db"));
  EXPECT_FALSE(IsContainedRelativePath("/etc/passwd"));
  EXPECT_FALSE(IsContainedRelativePath("../x.db"));
  EXPECT_FALSE(IsContainedRelativePath("a/../../x.db"));
  EXPECT_FALSE(IsContainedRelativePath(""));
  EXPECT_TRUE(IsIdentifier("view_count"));
  EXPECT_FALSE(IsIdentifier("1abc"));
  EXPECT_FALSE(IsIdentifier("a-b"));
  EXPECT_FALSE(IsIdentifier("a\"b"));
}

}  // namespace
}  // namespace sluice::consumers
