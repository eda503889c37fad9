#include "server/consumers/metrics_handler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "tests/unit/catalog/test_util.h"
#include "tests/unit/server/consumers/consumer_test_util.h"

namespace sluice::consumers {
namespace {

using catalog::test::HasError;
using catalog::test::IsOk;
using catalog::test::TempDir;
using test::kArrival;
using test::MakeBatch;
using test::Rows;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The e-commerce pipeline of pipelines.md, as docs/consumers.md shows it.
constexpr std::string_view kShopSettings = R"({
  "type": "metrics",
  "database": "metrics/shop.db",
  "rules": [
    {"table": "pageviews", "match": {"event_type": "page_view"},
     "key": "pageviews#{@date}", "sort_key": "{data.page}",
     "add": {"view_count": 1}, "set": {"last_updated": "{timestamp}"}},
    {"table": "revenue", "match": {"event_type": "purchase"},
     "key": "revenue#{@date}", "sort_key": "total",
     "add": {"total_revenue": {"cents": "data.amount"}, "order_count": 1},
     "set": {"last_updated": "{timestamp}"}},
    {"table": "errors", "match": {"event_type": "error"},
     "key": "errors#{@date}#{@hour}", "sort_key": "{data.error_code|'unknown'}",
     "add": {"error_count": 1},
     "set": {"last_updated": "{timestamp}",
             "last_message": {"value": "{data.message|''}", "max_length": 5}}},
    {"table": "users", "match": {"data.user_id": {"exists": true}},
     "key": "{data.user_id}", "add": {"total_events": 1},
     "set": {"last_activity": "{timestamp}", "last_seen": "{@millis}"}},
    {"table": "user_events", "match": {"data.user_id": {"exists": true}},
     "key": "{data.user_id}", "sort_key": "{event_type}",
     "add": {"events": 1}}
  ]
})";

std::string PageView(std::string_view user, std::string_view page,
                     std::string_view timestamp = "2026-12-02T07:00:00Z") {
  return R"({"event_type":"page_view","timestamp":")" + std::string(timestamp) +
         R"(","data":{"user_id":")" + std::string(user) + R"(","page":")" +
         std::string(page) + R"("}})";
}

std::string Purchase(std::string_view user, std::string_view amount) {
  return R"({"event_type":"purchase","timestamp":"2026-12-02T07:01:00Z",)"
         R"("data":{"user_id":")" +
         std::string(user) + R"(","product_id":"p1","amount":)" +
         std::string(amount) + "}}";
}

std::string Error(std::string_view code_json, std::string_view message) {
  return R"({"event_type":"error","timestamp":"2026-12-02T07:02:00Z",)"
         R"("data":{)" +
         (code_json.empty()
              ? std::string()
              : R"("error_code":)" + std::string(code_json) + ",") +
         R"("message":")" + std::string(message) + R"("}})";
}

class MetricsHandlerTest : public ::testing::Test {
 protected:
  std::unique_ptr<MetricsHandler> Make(std::string_view settings) {
    spec_ = test::MakeSpec("metrics", settings, dir_.path().string(), &clock_);
    Result<std::unique_ptr<MetricsHandler>> handler =
        MetricsHandler::Create(spec_->spec);
    EXPECT_THAT(handler, IsOk());
    return handler.ok() ? std::move(handler).value() : nullptr;
  }

  Status MakeError(std::string_view settings) {
    spec_ = test::MakeSpec("metrics", settings, dir_.path().string(), &clock_);
    Result<std::unique_ptr<MetricsHandler>> handler =
        MetricsHandler::Create(spec_->spec);
    EXPECT_FALSE(handler.ok());
    return handler.ok() ? Status::Ok() : handler.status();
  }

  std::vector<std::string> Select(const std::string& sql) {
    return Rows(dir_.File("metrics/shop.db"), sql);
  }

  static void ExpectSuccess(const HandlerResult& result) {
    EXPECT_FALSE(result.function_error.has_value())
        << result.function_error.value_or("");
    EXPECT_TRUE(result.failed_items.empty());
  }

  TempDir dir_;
  ManualClock clock_{kArrival + 5000};
  std::unique_ptr<test::SpecHolder> spec_;
};

TEST_F(MetricsHandlerTest, CountsTheEcommercePipeline) {
  auto handler = Make(kShopSettings);
  ASSERT_NE(handler, nullptr);
  ExpectSuccess(handler->Handle(MakeBatch({
      PageView("u1", "/a", "2026-12-02T07:00:01Z"),
      PageView("u2", "/a", "2026-12-02T07:00:02Z"),
      PageView("u1", "/b", "2026-12-02T07:00:03Z"),
      Purchase("u1", "49.99"),
      Purchase("u2", "0.1"),
      Purchase("u2", "0.2"),
      Error(R"("E42")", "disk is on fire"),
      Error("", "no code"),
      Error(R"("E42")", "h\u00e9llo world"),
  })));
  EXPECT_THAT(Select("SELECT * FROM pageviews ORDER BY sort_key"),
              ElementsAre("key=pageviews#2026-12-02|sort_key=/a|view_count=2|"
                          "last_updated=2026-12-02T07:00:02Z",
                          "key=pageviews#2026-12-02|sort_key=/b|view_count=1|"
                          "last_updated=2026-12-02T07:00:03Z"));
  // 49.99 + 0.1 + 0.2 in cents, exactly.
  EXPECT_THAT(Select("SELECT * FROM revenue"),
              ElementsAre("key=revenue#2026-12-02|sort_key=total|"
                          "total_revenue=5029|order_count=3|"
                          "last_updated=2026-12-02T07:01:00Z"));
  EXPECT_THAT(
      Select("SELECT key, sort_key, error_count, last_message FROM errors "
             "ORDER BY sort_key"),
      ElementsAre("key=errors#2026-12-02#07|sort_key=E42|error_count=2|"
                  "last_message=h\xC3\xA9llo",
                  "key=errors#2026-12-02#07|sort_key=unknown|error_count=1|"
                  "last_message=no co"));
  EXPECT_THAT(Select("SELECT key, total_events, last_activity, "
                     "typeof(last_seen) FROM users ORDER BY key"),
              ElementsAre("key=u1|total_events=3|"
                          "last_activity=2026-12-02T07:01:00Z|"
                          "typeof(last_seen)=integer",
                          "key=u2|total_events=3|"
                          "last_activity=2026-12-02T07:01:00Z|"
                          "typeof(last_seen)=integer"));
  EXPECT_THAT(Select("SELECT key, sort_key, events FROM user_events "
                     "ORDER BY key, sort_key"),
              ElementsAre("key=u1|sort_key=page_view|events=2",
                          "key=u1|sort_key=purchase|events=1",
                          "key=u2|sort_key=page_view|events=1",
                          "key=u2|sort_key=purchase|events=2"));
  EXPECT_THAT(Select("SELECT count(*) FROM sluice_skipped"),
              ElementsAre("count(*)=0"));
}

TEST_F(MetricsHandlerTest, SameBatchTwiceCountsOnce) {
  auto handler = Make(kShopSettings);
  ASSERT_NE(handler, nullptr);
  const Batch batch =
      MakeBatch({PageView("u1", "/a"), Purchase("u1", "10.00")});
  ExpectSuccess(handler->Handle(batch));
  ExpectSuccess(handler->Handle(batch));
  EXPECT_THAT(Select("SELECT view_count FROM pageviews"),
              ElementsAre("view_count=1"));
  EXPECT_THAT(Select("SELECT total_revenue, order_count FROM revenue"),
              ElementsAre("total_revenue=1000|order_count=1"));
  EXPECT_THAT(Select("SELECT applied_offset, lane FROM sluice_applied"),
              ElementsAre("applied_offset=1|lane=0"));
}

TEST_F(MetricsHandlerTest, OverlappingRedeliveryAppliesOnlyTheNewRecords) {
  auto handler = Make(kShopSettings);
  ASSERT_NE(handler, nullptr);
  std::vector<std::string> events;
  for (int i = 0; i < 10; ++i) events.push_back(PageView("u1", "/a"));
  // Records 0..5, then a retry from 3 that goes on to 9.
  ExpectSuccess(handler->Handle(MakeBatch(
      std::vector<std::string>(events.begin(), events.begin() + 6), 0)));
  ExpectSuccess(handler->Handle(MakeBatch(
      std::vector<std::string>(events.begin() + 3, events.end()), 3)));
  EXPECT_THAT(Select("SELECT view_count FROM pageviews"),
              ElementsAre("view_count=10"));
}

TEST_F(MetricsHandlerTest, RedeliveryAfterARestartCountsOnce) {
  const Batch batch = MakeBatch({Purchase("u1", "1.25"), PageView("u1", "/a")});
  {
    auto handler = Make(kShopSettings);
    ASSERT_NE(handler, nullptr);
    ExpectSuccess(handler->Handle(batch));
  }
  // A crash before the runtime saved its checkpoint: the new process is
  // handed the same batch again.
  auto handler = Make(kShopSettings);
  ASSERT_NE(handler, nullptr);
  ExpectSuccess(handler->Handle(batch));
  ExpectSuccess(handler->Handle(MakeBatch({Purchase("u1", "2.50")}, 2)));
  EXPECT_THAT(Select("SELECT total_revenue, order_count FROM revenue"),
              ElementsAre("total_revenue=375|order_count=2"));
}

TEST_F(MetricsHandlerTest, LanesAndShardsKeepTheirOwnMarks) {
  auto handler = Make(kShopSettings);
  ASSERT_NE(handler, nullptr);
  Batch lane0 = MakeBatch({PageView("u1", "/a")}, 5);
  lane0.lane_count = 2;
  Batch lane1 = MakeBatch({PageView("u2", "/a")}, 3);
  lane1.lane = 1;
  lane1.lane_count = 2;
  Batch other_shard = MakeBatch({PageView("u3", "/a")}, 0);
  other_shard.shard_id = "shardId-000000000001";
  ExpectSuccess(handler->Handle(lane0));
  ExpectSuccess(handler->Handle(lane1));  // offset 3 < lane 0's mark 5
  ExpectSuccess(handler->Handle(other_shard));
  EXPECT_THAT(Select("SELECT view_count FROM pageviews"),
              ElementsAre("view_count=3"));
}

TEST_F(MetricsHandlerTest,
       ANewParallelizationFactorSkipsWhatEveryOldLaneApplied) {
  auto handler = Make(kShopSettings);
  ASSERT_NE(handler, nullptr);
  std::vector<std::string> views(15, PageView("u1", "/a"));
  // Counted with one lane up to offset 9...
  ExpectSuccess(handler->Handle(MakeBatch(
      std::vector<std::string>(views.begin(), views.begin() + 10), 0)));
  // ...then the consumer is re-created with two lanes and reads the shard
  // from the start again: what one lane applied is skipped by both.
  Batch lane1 = MakeBatch(
      std::vector<std::string>(views.begin() + 5, views.begin() + 13), 5);
  lane1.lane = 1;
  lane1.lane_count = 2;
  ExpectSuccess(handler->Handle(lane1));
  EXPECT_THAT(Select("SELECT view_count FROM pageviews"),
              ElementsAre("view_count=13"));
  Batch lane0 = MakeBatch(
      std::vector<std::string>(views.begin() + 8, views.begin() + 15), 8);
  lane0.lane_count = 2;
  ExpectSuccess(handler->Handle(lane0));
  ExpectSuccess(handler->Handle(lane0));
  EXPECT_THAT(Select("SELECT view_count FROM pageviews"),
              ElementsAre("view_count=18"));
  EXPECT_THAT(Select("SELECT lane_count, lane, applied_offset FROM "
                     "sluice_applied ORDER BY lane_count, lane"),
              ElementsAre("lane_count=1|lane=0|applied_offset=9",
                          "lane_count=2|lane=0|applied_offset=14",
                          "lane_count=2|lane=1|applied_offset=12"));
}

TEST_F(MetricsHandlerTest, ARecreatedStreamStartsAFreshMark) {
  auto handler = Make(kShopSettings);
  ASSERT_NE(handler, nullptr);
  ExpectSuccess(handler->Handle(MakeBatch({PageView("u1", "/a")}, 0)));
  // Same name, new shard (a later creation time in its sequence numbers):
  // offset 0 again is a new record.
  Batch again = MakeBatch({}, 0);
  again.records.push_back(test::MakeRecord(0, PageView("u1", "/a"), kArrival,
                                           "pk", test::kShardCreated + 60));
  ExpectSuccess(handler->Handle(again));
  EXPECT_THAT(Select("SELECT view_count FROM pageviews"),
              ElementsAre("view_count=2"));
}

TEST_F(MetricsHandlerTest, MalformedRecordsAreSkippedAndCounted) {
  auto handler = Make(kShopSettings);
  ASSERT_NE(handler, nullptr);
  ExpectSuccess(handler->Handle(MakeBatch({
      "not json at all",
      R"({"event_type":"purchase","timestamp":"t","data":{"user_id":"u1"}})",
      R"({"event_type":"purchase","timestamp":"t",)"
      R"("data":{"user_id":"u1","amount":"lots"}})",
      R"({"event_type":"page_view","data":{"user_id":"u1"}})",
      PageView("u1", "/ok"),
  })));
  EXPECT_THAT(
      Select("SELECT rule, reason, count FROM sluice_skipped "
             "ORDER BY rule, reason"),
      ElementsAre("rule=|reason=not JSON|count=1",
                  "rule=pageviews|reason=missing {data.page}|count=1",
                  "rule=revenue|reason=missing data.amount|count=1",
                  "rule=revenue|reason=not an amount: data.amount|count=1",
                  "rule=users|reason=missing {timestamp}|count=1"));
  // The readable parts of the bad purchases still count for other rules.
  EXPECT_THAT(Select("SELECT key, sort_key, events FROM user_events "
                     "ORDER BY sort_key"),
              ElementsAre("key=u1|sort_key=page_view|events=2",
                          "key=u1|sort_key=purchase|events=2"));
  EXPECT_THAT(Select("SELECT sort_key, view_count FROM pageviews"),
              ElementsAre("sort_key=/ok|view_count=1"));
  EXPECT_THAT(Select("SELECT applied_offset FROM sluice_applied"),
              ElementsAre("applied_offset=4"));
}

TEST_F(MetricsHandlerTest, SumsKeepIntegersAndAddFractions) {
  auto handler = Make(R"({"database": "metrics/shop.db", "rules": [
      {"table": "t", "key": "all", "add": {"qty": {"sum": "q"},
       "weight": {"sum": "w"}, "twice": 2}}]})");
  ASSERT_NE(handler, nullptr);
  ExpectSuccess(handler->Handle(MakeBatch(
      {R"({"q":2,"w":1.5})", R"({"q":"3","w":0.25})", R"({"q":4,"w":1})"})));
  EXPECT_THAT(Select("SELECT qty, typeof(qty), weight, twice FROM t"),
              ElementsAre("qty=9|typeof(qty)=integer|weight=2.75|twice=6"));
}

TEST_F(MetricsHandlerTest, ANewConfigAddsColumnsToAnExistingTable) {
  {
    auto handler = Make(R"({"database": "metrics/shop.db", "rules": [
        {"table": "t", "key": "k", "add": {"a": 1}}]})");
    ASSERT_NE(handler, nullptr);
    ExpectSuccess(handler->Handle(MakeBatch({"{}"})));
  }
  auto handler = Make(R"({"database": "metrics/shop.db", "rules": [
      {"table": "t", "key": "k", "add": {"a": 1, "b": 1},
       "set": {"at": "{@time}"}}]})");
  ASSERT_NE(handler, nullptr);
  ExpectSuccess(handler->Handle(MakeBatch({"{}"}, 1)));
  EXPECT_THAT(Select("SELECT a, b, at FROM t"),
              ElementsAre("a=2|b=1|at=2026-12-02T07:05:09.042Z"));
}

TEST_F(MetricsHandlerTest, RefusesBadSettingsNamingThem) {
  EXPECT_THAT(MakeError(R"({"rules": []})"),
              HasError(ErrorCode::kInvalidArgument,
                       "consumer shop handler.rules: must be a non-empty "
                       "array"));
  EXPECT_THAT(MakeError(R"({"rules": [{"table": "sluice_x", "key": "k",
                                        "add": {"a": 1}}]})"),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(MakeError(R"({"rules": [{"table": "t; DROP", "key": "k",
                                        "add": {"a": 1}}]})"),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(MakeError(R"({"rules": [{"table": "t", "key": "k"}]})"),
              HasError(ErrorCode::kInvalidArgument,
                       "consumer shop handler.rules[0]: has neither \"add\" "
                       "nor \"set\""));
  EXPECT_THAT(MakeError(R"({"rules": [{"table": "t", "key": "k",
                                        "add": {"key": 1}}]})"),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(MakeError(R"({"rules": [{"table": "t", "key": "k",
                                        "add": {"a": 1}, "set": {"a": "x"}}]})"),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(MakeError(R"({"rules": [{"table": "t", "key": "k",
                                        "add": {"a": 1.5}}]})"),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(MakeError(R"({"rules": [{"table": "t", "key": "k",
                                        "add": {"a": {"avg": "x"}}}]})"),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(MakeError(R"({"rules": [{"table": "t", "key": "{a",
                                        "add": {"a": 1}}]})"),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(MakeError(R"({"rules": [{"table": "t", "key": "k",
                                        "add": {"a": 1}},
                                       {"table": "t", "key": "k",
                                        "add": {"b": 1}}]})"),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(MakeError(R"({"database": "../out.db", "rules": [
                          {"table": "t", "key": "k", "add": {"a": 1}}]})"),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(MakeError(R"({"database": "/tmp/out.db", "rules": [
                          {"table": "t", "key": "k", "add": {"a": 1}}]})"),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(MakeError(R"({"synchronous": "OFF", "rules": [
                          {"table": "t", "key": "k", "add": {"a": 1}}]})"),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(MakeError(R"({"rulez": []})"),
              HasError(ErrorCode::kInvalidArgument,
                       "consumer shop handler: unknown setting 'rulez'"));
  EXPECT_THAT(MakeError(R"({"rules": [{"table": "t", "key": "k",
                         "set": {"a": {"value": "x", "max_length": 0}}}]})"),
              HasError(ErrorCode::kInvalidArgument));
}

TEST_F(MetricsHandlerTest, QueryReadsRowsAndASummary) {
  auto handler = Make(kShopSettings);
  ASSERT_NE(handler, nullptr);
  ExpectSuccess(handler->Handle(
      MakeBatch({PageView("u1", "/a"), PageView("u2", "/b"), "garbage"})));

  Result<std::string> rows = handler->Query(MetricsQuery{"pageviews", {}, {}});
  ASSERT_THAT(rows, IsOk());
  EXPECT_EQ(*rows,
            R"({"Consumer":"shop","Table":"pageviews","Rows":[)"
            R"({"key":"pageviews#2026-12-02","sort_key":"/a","view_count":1,)"
            R"("last_updated":"2026-12-02T07:00:00Z"},)"
            R"({"key":"pageviews#2026-12-02","sort_key":"/b","view_count":1,)"
            R"("last_updated":"2026-12-02T07:00:00Z"}],"Truncated":false})");

  Result<std::string> one = handler->Query(
      MetricsQuery{"pageviews", "pageviews#2026-12-02", "/b", 1000});
  ASSERT_THAT(one, IsOk());
  EXPECT_THAT(*one, HasSubstr(R"("sort_key":"/b")"));
  EXPECT_THAT(*one, ::testing::Not(HasSubstr(R"("sort_key":"/a")")));

  Result<std::string> limited =
      handler->Query(MetricsQuery{"pageviews", {}, {}, 1});
  ASSERT_THAT(limited, IsOk());
  EXPECT_THAT(*limited, HasSubstr(R"("Truncated":true)"));

  Result<std::string> summary = handler->Query(MetricsQuery{});
  ASSERT_THAT(summary, IsOk());
  EXPECT_THAT(*summary, HasSubstr(R"({"Table":"pageviews","Rows":2})"));
  EXPECT_THAT(
      *summary,
      HasSubstr(R"("Skipped":[{"rule":"","reason":"not JSON","count":1)"));
  EXPECT_THAT(*summary, HasSubstr(R"("applied_offset":2)"));

  EXPECT_THAT(handler->Query(MetricsQuery{"nope", {}, {}}),
              HasError(ErrorCode::kResourceNotFound,
                       "Consumer shop has no metrics table nope."));
  EXPECT_THAT(handler->Query(MetricsQuery{"pageviews", {}, {}, 0}),
              HasError(ErrorCode::kInvalidArgument));
}

TEST_F(MetricsHandlerTest, ConcurrentLanesCountEveryRecordOnce) {
  auto handler = Make(kShopSettings);
  ASSERT_NE(handler, nullptr);
  constexpr int kLanes = 4;
  constexpr int kBatches = 50;
  std::vector<std::thread> threads;
  for (int lane = 0; lane < kLanes; ++lane) {
    threads.emplace_back([&, lane] {
      for (int b = 0; b < kBatches; ++b) {
        Batch batch = MakeBatch({PageView("u", "/a"), PageView("u", "/a")},
                                static_cast<uint64_t>(b * 2));
        batch.lane = static_cast<uint32_t>(lane);
        batch.lane_count = kLanes;
        ExpectSuccess(handler->Handle(batch));
        ExpectSuccess(handler->Handle(batch));  // and a redelivery
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(
      Select("SELECT view_count FROM pageviews"),
      ElementsAre("view_count=" + std::to_string(kLanes * kBatches * 2)));
}

TEST(MetricsHandlerInMemoryTest, KeepsItsDatabaseInATemporaryDirectory) {
  ManualClock clock(kArrival);
  auto spec = test::MakeSpec("metrics", kShopSettings, "", &clock);
  std::filesystem::path path;
  {
    Result<std::unique_ptr<MetricsHandler>> handler =
        MetricsHandler::Create(spec->spec);
    ASSERT_THAT(handler, IsOk());
    path = (*handler)->database_path();
    EXPECT_TRUE(std::filesystem::exists(path));
    EXPECT_EQ(path.filename(), "shop.db");
    (*handler)->Handle(MakeBatch({PageView("u", "/a")}));
    EXPECT_THAT(Rows(path.string(), "SELECT view_count FROM pageviews"),
                ElementsAre("view_count=1"));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(MetricsHandlerTypeTest, IsRegisteredAsMetrics) {
  EXPECT_NE(FindHandlerType("metrics"), nullptr);
}

}  // namespace
}  // namespace sluice::consumers
