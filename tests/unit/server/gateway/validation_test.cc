#include "server/gateway/validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sluice::gateway {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

json::Document Parse(const char* text) {
  json::Document doc;
  doc.Parse(text);
  EXPECT_FALSE(doc.HasParseError()) << text;
  return doc;
}

// The front door of the e-commerce pipeline (pipelines.md).
ValidationRules EcommerceRules() {
  ValidationRules rules;
  rules.required = {"timestamp", "user_id", "event_type"};
  rules.types = {{"timestamp", FieldType::kString},
                 {"data.amount", FieldType::kNumber},
                 {"quantity", FieldType::kInteger}};
  rules.type_field = "event_type";
  rules.required_by_type = {{"purchase", {"data.amount"}},
                            {"page_view", {"page"}}};
  return rules;
}

TEST(ValidationTest, AValidPurchasePasses) {
  auto event = Parse(R"({"timestamp":"2026-12-02T08:00:00Z","user_id":"u1",)"
                     R"("event_type":"purchase","data":{"amount":49.99}})");
  EXPECT_THAT(Validate(EcommerceRules(), event), IsEmpty());
}

TEST(ValidationTest, NamesEveryFailingFieldInRuleOrder) {
  auto event =
      Parse(R"({"timestamp":17,"event_type":"purchase","quantity":1.5})");
  EXPECT_THAT(
      Validate(EcommerceRules(), event),
      ElementsAre(FieldError{"user_id", "is required"},
                  FieldError{"quantity", "must be an integer"},
                  FieldError{"timestamp", "must be a string"},
                  FieldError{"data.amount",
                             "is required when event_type is purchase"}));
}

TEST(ValidationTest, AMissingFieldIsReportedOnceNotAgainForItsType) {
  ValidationRules rules;
  rules.required = {"amount"};
  rules.types = {{"amount", FieldType::kNumber}};
  rules.type_field = "kind";
  rules.required_by_type = {{"sale", {"amount"}}};
  auto event = Parse(R"({"kind":"sale"})");
  EXPECT_THAT(Validate(rules, event),
              ElementsAre(FieldError{"amount", "is required"}));
}

TEST(ValidationTest, NullCountsAsMissing) {
  ValidationRules rules;
  rules.required = {"user_id"};
  auto event = Parse(R"({"user_id":null})");
  EXPECT_THAT(Validate(rules, event),
              ElementsAre(FieldError{"user_id", "is required"}));
}

TEST(ValidationTest, WrongTypeOfANestedField) {
  auto event =
      Parse(R"({"timestamp":"t","user_id":"u","event_type":"purchase",)"
            R"("data":{"amount":"49.99"}})");
  EXPECT_THAT(Validate(EcommerceRules(), event),
              ElementsAre(FieldError{"data.amount", "must be a number"}));
}

TEST(ValidationTest, UnlistedEventTypesPassUnlessTheListIsClosed) {
  auto event = Parse(R"({"timestamp":"t","user_id":"u","event_type":"x"})");
  ValidationRules rules = EcommerceRules();
  EXPECT_THAT(Validate(rules, event), IsEmpty());
  rules.closed_types = true;
  EXPECT_THAT(Validate(rules, event),
              ElementsAre(FieldError{
                  "event_type",
                  "'x' is not a known event type (page_view, purchase)"}));
}

TEST(ValidationTest, AnEventThatIsNotAnObjectFailsAsAWhole) {
  auto event = Parse("[1,2]");
  EXPECT_THAT(Validate(EcommerceRules(), event),
              ElementsAre(FieldError{"", "the event must be a JSON object"}));
}

TEST(ValidationTest, EveryTypeIsChecked) {
  ValidationRules rules;
  rules.types = {{"s", FieldType::kString},  {"n", FieldType::kNumber},
                 {"i", FieldType::kInteger}, {"b", FieldType::kBoolean},
                 {"o", FieldType::kObject},  {"a", FieldType::kArray}};
  auto good = Parse(R"({"s":"x","n":1.5,"i":-3,"b":true,"o":{},"a":[]})");
  EXPECT_THAT(Validate(rules, good), IsEmpty());
  auto bad = Parse(R"({"s":1,"n":"1","i":1.5,"b":0,"o":[],"a":{}})");
  EXPECT_EQ(Validate(rules, bad).size(), 6u);
}

TEST(ValidationTest, FindFieldFollowsDottedPaths) {
  auto event = Parse(R"({"a":{"b":{"c":3}},"x":1})");
  ASSERT_NE(FindField(event, "a.b.c"), nullptr);
  EXPECT_EQ(FindField(event, "a.b.c")->GetInt(), 3);
  EXPECT_EQ(FindField(event, "a.z"), nullptr);
  EXPECT_EQ(FindField(event, "x.y"), nullptr);
}

}  // namespace
}  // namespace sluice::gateway
