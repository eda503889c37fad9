#include "client/workloads.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "common/json.h"

namespace sluice::client {
namespace {

json::Document Parse(const std::string& text) {
  json::Document doc;
  doc.Parse(text.data(), text.size());
  EXPECT_FALSE(doc.HasParseError()) << text;
  return doc;
}

TEST(EcommerceEventsTest, EventsCarryWhatThePipelinesRead) {
  EcommerceEvents events(7, 50);
  std::map<std::string, int> types;
  std::set<std::string> users;
  int high_value = 0;
  constexpr int kEvents = 20000;
  for (int i = 0; i < kEvents; ++i) {
    GeneratedRecord record = events.Next();
    json::Document doc = Parse(record.data);
    ASSERT_TRUE(doc.IsObject());
    for (const char* field :
         {"event_id", "event_type", "timestamp", "user_id"}) {
      ASSERT_TRUE(doc.HasMember(field) && doc[field].IsString()) << record.data;
    }
    EXPECT_EQ(json::AsView(doc["user_id"]), record.partition_key);
    const std::string_view timestamp = json::AsView(doc["timestamp"]);
    EXPECT_EQ(timestamp.size(), 24u);
    EXPECT_EQ(timestamp.back(), 'Z');
    const std::string type(json::AsView(doc["event_type"]));
    ++types[type];
    users.insert(record.partition_key);
    const json::Value& data = doc["data"];
    if (type == "purchase") {
      ASSERT_TRUE(data["amount"].IsNumber());
      EXPECT_GT(data["amount"].GetDouble(), 0);
      if (data["amount"].GetDouble() > 500) ++high_value;
      EXPECT_TRUE(data["product_id"].IsString());
    } else if (type == "page_view") {
      EXPECT_TRUE(data["page"].IsString());
    } else if (type == "add_to_cart") {
      EXPECT_TRUE(data["quantity"].IsInt());
    } else {
      ASSERT_EQ(type, "error");
      EXPECT_TRUE(data["error_code"].IsString());
    }
  }
  EXPECT_EQ(users.size(), 50u);
  // The mix: 70 / 15 / 10 / 5 percent, within generous bounds.
  EXPECT_NEAR(types["page_view"], kEvents * 0.70, kEvents * 0.03);
  EXPECT_NEAR(types["add_to_cart"], kEvents * 0.15, kEvents * 0.03);
  EXPECT_NEAR(types["purchase"], kEvents * 0.10, kEvents * 0.03);
  EXPECT_NEAR(types["error"], kEvents * 0.05, kEvents * 0.03);
  EXPECT_NEAR(high_value, types["purchase"] / 6.0, types["purchase"] * 0.05);
}

TEST(EcommerceEventsTest, ASeedRepeatsTheSameEvents) {
  EcommerceEvents first(42, 100);
  EcommerceEvents second(42, 100);
  for (int i = 0; i < 100; ++i) {
    json::Document a = Parse(first.Next().data);
    json::Document b = Parse(second.Next().data);
    a.RemoveMember("timestamp");
    b.RemoveMember("timestamp");
    EXPECT_TRUE(a == b);
  }
}

TEST(TelemetryRecordsTest, RecordsHaveTheTelemetryShape) {
  TelemetryRecords records(3, 4);
  int fast = 0;
  constexpr int kRecords = 10000;
  for (int i = 0; i < kRecords; ++i) {
    GeneratedRecord record = records.Next();
    json::Document doc = Parse(record.data);
    EXPECT_EQ(json::AsView(doc["car_id"]), record.partition_key);
    for (const char* field : {"speed", "throttle", "brakes", "steering_angle",
                              "fuel_consumption", "lap_time"}) {
      EXPECT_TRUE(doc[field].IsNumber()) << field;
    }
    EXPECT_TRUE(doc["rpm"].IsInt());
    EXPECT_TRUE(doc["gear"].IsInt());
    EXPECT_TRUE(doc["suspension"]["damper_settings"]["rear_right"].IsNumber());
    EXPECT_TRUE(doc["temperatures"]["brakes"]["front_left"].IsNumber());
    EXPECT_TRUE(doc["pressures"]["tires"]["rear_left"].IsNumber());
    if (doc["speed"].GetDouble() >= 200) ++fast;
  }
  EXPECT_NEAR(fast, kRecords / 4.0, kRecords * 0.05);
}

}  // namespace
}  // namespace sluice::client
