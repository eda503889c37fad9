#include "server/analytics/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "common/json.h"
#include "tests/unit/catalog/test_util.h"

namespace sluice::analytics {
namespace {

using catalog::test::HasError;
using catalog::test::IsOk;
using catalog::test::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr EpochMillis kMinute = 60'000;
// 2026-12-02 10:00:00 UTC.
constexpr EpochMillis kStart = 1'796'205'600'000;

ApplicationDefinition Definition(const std::string& columns,
                                 const std::string& code,
                                 const std::string& format = "CSV",
                                 const std::string& extra_output = "") {
  std::string text = R"({"ApplicationName": "app", "ApplicationCode": )" +
                     json::Quote(code) +
                     R"(, "Inputs": [{"NamePrefix": "SOURCE_SQL_STREAM",
           "KinesisStreamsInput": {"ResourceARN":
             "arn:aws:kinesis:us-east-1:000000000000:stream/src"},
           "InputSchema": {"RecordFormat": {"RecordFormatType": "JSON"},
             "RecordColumns": [)" +
                     columns + R"(]}}],
         "Outputs": [{"Name": "OUT", "KinesisStreamsOutput": {"ResourceARN":
             "arn:aws:kinesis:us-east-1:000000000000:stream/out"},
           "DestinationSchema": {"RecordFormatType": ")" +
                     format + "\"}}" + extra_output + "]}";
  auto definition = ParseApplicationDefinition(text);
  EXPECT_THAT(definition, IsOk());
  return definition.ok() ? *definition : ApplicationDefinition{};
}

// One more output of the definition: a Kinesis stream.
std::string AnotherOutput(const std::string& name, const std::string& format) {
  return R"(, {"Name": ")" + name + R"(", "KinesisStreamsOutput":
      {"ResourceARN": "arn:aws:kinesis:us-east-1:0:stream/x"},
      "DestinationSchema": {"RecordFormatType": ")" +
         format + "\"}}";
}

const std::string kTelemetryColumns =
    R"({"Name": "speed", "SqlType": "DOUBLE", "Mapping": "$.speed"},
       {"Name": "rpm", "SqlType": "INTEGER", "Mapping": "$.rpm"})";
const std::string kFilter =
    "CREATE OR REPLACE STREAM \"OUT\" (\"speed\" DOUBLE, \"rpm\" INTEGER);\n"
    "CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"OUT\"\n"
    "SELECT STREAM \"speed\", \"rpm\" FROM \"SOURCE_SQL_STREAM_001\"\n"
    "WHERE \"speed\" >= 200;";

const std::string kViewColumns =
    R"js({"Name": "user_id", "SqlType": "VARCHAR(16)", "Mapping": "$.user_id"},
       {"Name": "page", "SqlType": "VARCHAR(64)", "Mapping": "$.data.page"})js";
const std::string kPerMinute =
    "CREATE OR REPLACE STREAM \"OUT\" (user_id VARCHAR(16), views BIGINT,\n"
    "  pages BIGINT, window_start TIMESTAMP);\n"
    "CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"OUT\"\n"
    "SELECT STREAM user_id, COUNT(*), COUNT(DISTINCT page),\n"
    "  STEP(s.ROWTIME BY INTERVAL '60' SECOND)\n"
    "FROM \"SOURCE_SQL_STREAM_001\" AS s\n"
    "GROUP BY user_id, STEP(s.ROWTIME BY INTERVAL '60' SECOND);";

consumers::Batch BatchOf(std::vector<std::pair<std::string, EpochMillis>> data,
                         uint64_t first_offset = 0,
                         std::string shard = "shardId-000000000000") {
  consumers::Batch batch;
  batch.shard_id = std::move(shard);
  uint64_t offset = first_offset;
  for (auto& [text, arrival] : data) {
    consumers::ConsumerRecord record;
    record.offset = offset++;
    record.data = text;
    record.arrival_millis = arrival;
    batch.records.push_back(std::move(record));
  }
  return batch;
}

std::vector<std::string> Drain(Engine& engine) {
  std::vector<std::string> out;
  auto pending = engine.Pending(1000);
  EXPECT_THAT(pending, IsOk());
  for (const OutboxRecord& record : *pending) out.push_back(record.data);
  if (!pending->empty()) {
    EXPECT_THAT(engine.Delivered(pending->back().id), IsOk());
  }
  return out;
}

TEST(EngineTest, FilterEmitsMatchingRowsInOrderAsCsv) {
  auto engine =
      Engine::Open(Definition(kTelemetryColumns, kFilter), ":memory:");
  ASSERT_THAT(engine, IsOk());
  ASSERT_THAT(
      (*engine)->Apply(BatchOf({{R"({"speed": 250.5, "rpm": 11000})", 1},
                                {R"({"speed": 120, "rpm": 8000})", 2},
                                {R"({"speed": 200, "rpm": 10500})", 3}})),
      IsOk());
  EXPECT_THAT(Drain(**engine), ElementsAre("250.5,11000", "200,10500"));
  // Applied again (a retry after a crash): nothing new.
  ASSERT_THAT(
      (*engine)->Apply(BatchOf({{R"({"speed": 250.5, "rpm": 11000})", 1},
                                {R"({"speed": 120, "rpm": 8000})", 2},
                                {R"({"speed": 200, "rpm": 10500})", 3}})),
      IsOk());
  EXPECT_THAT(Drain(**engine), ElementsAre());
  auto counts = (*engine)->Counts();
  ASSERT_THAT(counts, IsOk());
  EXPECT_EQ(counts->records, 3);
  EXPECT_EQ(counts->emitted, 2);
}

TEST(EngineTest, UnreadableRecordsAreCountedAndGoToTheErrorStream) {
  auto engine = Engine::Open(Definition(kTelemetryColumns, kFilter, "JSON",
                                        AnotherOutput("error_stream", "JSON")),
                             ":memory:");
  ASSERT_THAT(engine, IsOk());
  ASSERT_THAT((*engine)->Apply(BatchOf({{"not json", 1},
                                        {R"({"speed": "fast"})", 2},
                                        {R"({"speed": 300})", 3}})),
              IsOk());
  auto out = Drain(**engine);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_THAT(out[0], HasSubstr("\"DATA_ROW\":\"not json\""));
  EXPECT_THAT(out[1], HasSubstr("cannot hold 'fast'"));
  EXPECT_EQ(out[2], "{\"speed\":300,\"rpm\":null}");
  auto counts = (*engine)->Counts();
  ASSERT_THAT(counts, IsOk());
  EXPECT_EQ(counts->error_rows, 2);
}

TEST(EngineTest, UnknownColumnIsAnErrorAtItsPosition) {
  ApplicationDefinition definition =
      Definition(kTelemetryColumns,
                 "CREATE STREAM \"OUT\" (a DOUBLE);\n"
                 "CREATE PUMP p AS INSERT INTO \"OUT\"\n"
                 "  SELECT STREAM \"speedy\" FROM SOURCE_SQL_STREAM_001;");
  EXPECT_THAT(Engine::Check(definition),
              HasError(ErrorCode::kInvalidArgument,
                       "SQL error at line 3, column 17: no such column: "
                       "speedy"));
  definition.code =
      "CREATE STREAM \"OUT\" (a DOUBLE);\n"
      "CREATE PUMP p AS INSERT INTO \"OUT\"\n"
      "  SELECT STREAM speed + FROM SOURCE_SQL_STREAM_001;";
  Status syntax = Engine::Check(definition);
  EXPECT_THAT(syntax, HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(syntax.message(), HasSubstr("line 3, column 25"));
  definition.code =
      "CREATE STREAM \"OUT\" (a DOUBLE, b DOUBLE);\n"
      "CREATE PUMP p AS INSERT INTO \"OUT\"\n"
      "  SELECT STREAM speed FROM SOURCE_SQL_STREAM_001;";
  EXPECT_THAT(Engine::Check(definition).message(),
              HasSubstr("selects 1 columns but inserts into 2"));
}

std::string View(const std::string& user, const std::string& page) {
  return R"({"user_id": ")" + user + R"(", "data": {"page": ")" + page + "\"}}";
}

TEST(EngineTest, WindowEmitsOnceWhenClosedOnTheClockAndReadPast) {
  auto engine =
      Engine::Open(Definition(kViewColumns, kPerMinute, "JSON"), ":memory:");
  ASSERT_THAT(engine, IsOk());
  ASSERT_THAT((*engine)->Apply(BatchOf({{View("u1", "/a"), kStart + 1},
                                        {View("u1", "/b"), kStart + 2},
                                        {View("u1", "/a"), kStart + 3},
                                        {View("u2", "/a"), kStart + 4}})),
              IsOk());
  const std::vector<ShardTip> caught_up = {{"shardId-000000000000", 4}};
  // The window [10:00, 10:01) is open until 10:01 plus the grace.
  auto closed = (*engine)->CloseWindows(kStart + kMinute, caught_up);
  ASSERT_THAT(closed, IsOk());
  EXPECT_EQ(*closed, 0);
  // Closed on the clock, but a shard has records not yet read: wait.
  closed = (*engine)->CloseWindows(
      kStart + kMinute + kWindowCloseGraceMillis,
      {{"shardId-000000000000", 4}, {"shardId-000000000001", 1}});
  ASSERT_THAT(closed, IsOk());
  EXPECT_EQ(*closed, 0);
  closed = (*engine)->CloseWindows(kStart + kMinute + kWindowCloseGraceMillis,
                                   caught_up);
  ASSERT_THAT(closed, IsOk());
  EXPECT_EQ(*closed, 2);
  EXPECT_THAT(Drain(**engine),
              ElementsAre("{\"USER_ID\":\"u1\",\"VIEWS\":3,\"PAGES\":2,"
                          "\"WINDOW_START\":\"2026-12-02 10:00:00.000\"}",
                          "{\"USER_ID\":\"u2\",\"VIEWS\":1,\"PAGES\":1,"
                          "\"WINDOW_START\":\"2026-12-02 10:00:00.000\"}"));
  // Once only.
  closed = (*engine)->CloseWindows(kStart + kMinute + 2000, caught_up);
  ASSERT_THAT(closed, IsOk());
  EXPECT_EQ(*closed, 0);
  auto counts = (*engine)->Counts();
  ASSERT_THAT(counts, IsOk());
  EXPECT_EQ(counts->open_rows, 0);
}

TEST(EngineTest, AShardThatReadPastTheEndLetsTheWindowClose) {
  auto engine =
      Engine::Open(Definition(kViewColumns, kPerMinute, "JSON"), ":memory:");
  ASSERT_THAT(engine, IsOk());
  ASSERT_THAT((*engine)->Apply(BatchOf({{View("u1", "/a"), kStart + 1},
                                        {View("u1", "/b"), kStart + kMinute}})),
              IsOk());
  // More records follow on the shard, but one past the end was read.
  auto closed = (*engine)->CloseWindows(kStart + kMinute + 5000,
                                        {{"shardId-000000000000", 100}});
  ASSERT_THAT(closed, IsOk());
  EXPECT_EQ(*closed, 1);
}

TEST(EngineTest, RestartNeitherLosesNorRepeatsAWindow) {
  TempDir dir;
  const std::string path = (dir.path() / "app.db").string();
  ApplicationDefinition definition =
      Definition(kViewColumns, kPerMinute, "JSON");
  {
    auto engine = Engine::Open(definition, path);
    ASSERT_THAT(engine, IsOk());
    ASSERT_THAT((*engine)->Apply(BatchOf({{View("u1", "/a"), kStart + 1},
                                          {View("u1", "/b"), kStart + 2}})),
                IsOk());
  }  // "crash": the checkpoint may not have moved, the batch comes again
  auto engine = Engine::Open(definition, path);
  ASSERT_THAT(engine, IsOk());
  ASSERT_THAT((*engine)->Apply(BatchOf({{View("u1", "/a"), kStart + 1},
                                        {View("u1", "/b"), kStart + 2},
                                        {View("u1", "/c"), kStart + 3}})),
              IsOk());
  auto closed = (*engine)->CloseWindows(kStart + 2 * kMinute,
                                        {{"shardId-000000000000", 3}});
  ASSERT_THAT(closed, IsOk());
  EXPECT_THAT(Drain(**engine),
              ElementsAre("{\"USER_ID\":\"u1\",\"VIEWS\":3,\"PAGES\":3,"
                          "\"WINDOW_START\":\"2026-12-02 10:00:00.000\"}"));
  // A changed definition starts from scratch.
  engine->reset();
  definition.code += "\n-- changed";
  auto changed = Engine::Open(definition, path);
  ASSERT_THAT(changed, IsOk());
  auto counts = (*changed)->Counts();
  ASSERT_THAT(counts, IsOk());
  EXPECT_EQ(counts->records, 0);
}

TEST(EngineTest, AnotherSourceOrOutputsStartFromScratch) {
  // The database outlives an application deleted with DeleteConsumer; one
  // created again with the same code but another source kept the marks of
  // the old stream's shards (skipping the new one's records), and with
  // fewer outputs sent outbox rows to an output index it no longer has.
  TempDir dir;
  const std::string path = (dir.path() / "app.db").string();
  ApplicationDefinition definition = Definition(
      kTelemetryColumns, kFilter, "CSV", AnotherOutput("OUT", "JSON"));
  ASSERT_EQ(definition.outputs.size(), 2u);
  {
    auto engine = Engine::Open(definition, path);
    ASSERT_THAT(engine, IsOk());
    ASSERT_THAT((*engine)->Apply(BatchOf({{R"({"speed": 250})", 1}})), IsOk());
  }
  definition.outputs.pop_back();
  {
    auto fewer_outputs = Engine::Open(definition, path);
    ASSERT_THAT(fewer_outputs, IsOk());
    auto counts = (*fewer_outputs)->Counts();
    ASSERT_THAT(counts, IsOk());
    EXPECT_EQ(counts->records, 0);
    EXPECT_EQ(counts->pending, 0);
    ASSERT_THAT((*fewer_outputs)->Apply(BatchOf({{R"({"speed": 250})", 1}})),
                IsOk());
  }
  definition.stream_name = "another";
  auto another_source = Engine::Open(definition, path);
  ASSERT_THAT(another_source, IsOk());
  ASSERT_THAT((*another_source)->Apply(BatchOf({{R"({"speed": 300})", 1}})),
              IsOk());
  EXPECT_THAT(Drain(**another_source), ElementsAre("300,"));
}

const std::string kTickerColumns =
    R"js({"Name": "ticker_symbol", "SqlType": "VARCHAR(4)", "Mapping": "$.ticker_symbol"},
       {"Name": "sector", "SqlType": "VARCHAR(16)", "Mapping": "$.sector"},
       {"Name": "price", "SqlType": "REAL", "Mapping": "$.price"})js";

std::string Ticker(const std::string& symbol, const std::string& sector,
                   double price) {
  return R"({"ticker_symbol": ")" + symbol + R"(", "sector": ")" + sector +
         R"(", "price": )" + std::to_string(price) + "}";
}

// Runs `code` as a filter over the tickers, returns the JSON rows.
std::vector<std::string> RunFilter(const std::string& code) {
  auto engine =
      Engine::Open(Definition(kTickerColumns, code, "JSON"), ":memory:");
  EXPECT_THAT(engine, IsOk());
  if (!engine.ok()) return {};
  EXPECT_THAT((*engine)->Apply(BatchOf({{Ticker("AMZN", "it's;x", 10), 1},
                                        {Ticker("amzn", "RETAIL", 20), 2},
                                        {Ticker("QXZ", "TECH", 30), 3}})),
              IsOk());
  return Drain(**engine);
}

TEST(EngineTest, LikeIsCaseSensitiveAsInKda) {
  EXPECT_THAT(
      RunFilter("CREATE OR REPLACE STREAM \"OUT\" (s VARCHAR(4));\n"
                "CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"OUT\"\n"
                "SELECT STREAM \"ticker_symbol\" FROM \"SOURCE_SQL_STREAM_001\""
                " WHERE \"ticker_symbol\" LIKE 'AM%';"),
      ElementsAre("{\"S\":\"AMZN\"}"));
}

TEST(EngineTest, ReadsKdaSqlAsUsersWriteIt) {
  EXPECT_THAT(
      RunFilter(
          "create or replace stream \"OUT\" (s VARCHAR(4), n INTEGER, t "
          "VARCHAR(20));\n"
          "/* c */ create /* c */ or replace pump \"P\" as insert into \"OUT\" "
          "(t, s, n)\n"
          "select stream -- x\n \"sector\" || ';''' AS t, \"ticker_symbol\", "
          "CHAR_LENGTH(\"sector\") from \"SOURCE_SQL_STREAM_001\""
          " where \"sector\" = 'it''s;x' -- end"),
      ElementsAre("{\"S\":\"AMZN\",\"N\":6,\"T\":\"it's;x;'\"}"));
}

TEST(EngineTest, KdaTickerWindowWithHavingAndAnIdleShard) {
  auto engine = Engine::Open(
      Definition(
          kTickerColumns,
          "CREATE OR REPLACE STREAM \"DESTINATION_SQL_STREAM\" (ticker_symbol "
          "VARCHAR(4), ticker_count INTEGER, w TIMESTAMP);\n"
          "CREATE OR REPLACE PUMP \"STREAM_PUMP\" AS INSERT INTO "
          "\"DESTINATION_SQL_STREAM\"\n"
          "SELECT STREAM \"ticker_symbol\", COUNT(*) AS ticker_count, "
          "FLOOR(\"SOURCE_SQL_STREAM_001\".ROWTIME TO MINUTE) FROM "
          "\"SOURCE_SQL_STREAM_001\" GROUP BY \"ticker_symbol\", "
          "STEP(\"SOURCE_SQL_STREAM_001\".ROWTIME BY INTERVAL '60' SECOND) "
          "HAVING COUNT(*) > 1;\n"
          "CREATE STREAM \"OUT\" (x VARCHAR(4));",
          "JSON", AnotherOutput("DESTINATION_SQL_STREAM", "CSV")),
      ":memory:");
  ASSERT_THAT(engine, IsOk());
  ASSERT_THAT(
      (*engine)->Apply(BatchOf({{Ticker("AMZN", "a", 10), kStart + 1},
                                {Ticker("AMZN", "b", 20), kStart + 2},
                                {Ticker("QXZ", "TECH", 30), kStart + 3}})),
      IsOk());
  ASSERT_THAT((*engine)->CloseWindows(
                  kStart + 2 * kMinute,
                  {{"shardId-000000000000", 3}, {"shardId-000000000001", 0}}),
              IsOk());
  EXPECT_THAT(Drain(**engine), ElementsAre("AMZN,2,2026-12-02 10:00:00.000"));
}

TEST(EngineTest, AnExpressionFailingOnARecordIsAnErrorRow) {
  // json_extract fails on a text that is not JSON: that record is an error
  // row, the others go through (it stopped the whole batch, for ever).
  auto engine = Engine::Open(
      Definition(kTickerColumns,
                 "CREATE OR REPLACE STREAM \"OUT\" (s VARCHAR(4));\n"
                 "CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"OUT\"\n"
                 "SELECT STREAM \"ticker_symbol\" FROM "
                 "\"SOURCE_SQL_STREAM_001\" WHERE "
                 "json_extract(\"sector\", '$.a') = 1;",
                 "JSON", AnotherOutput("error_stream", "JSON")),
      ":memory:");
  ASSERT_THAT(engine, IsOk());
  ASSERT_THAT((*engine)->Apply(BatchOf({{Ticker("A", R"({\"a\": 1})", 1), 1},
                                        {Ticker("B", "not json", 2), 2},
                                        {Ticker("C", R"({\"a\": 1})", 3), 3},
                                        {Ticker("D", R"({\"a\": 2})", 4), 4}})),
              IsOk());
  auto out = Drain(**engine);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0], "{\"S\":\"A\"}");
  EXPECT_THAT(out[1], HasSubstr("malformed JSON"));
  EXPECT_THAT(out[1], HasSubstr("\"ERROR_LEVEL\":\"ERROR\""));
  EXPECT_EQ(out[2], "{\"S\":\"C\"}");
  auto counts = (*engine)->Counts();
  ASSERT_THAT(counts, IsOk());
  EXPECT_EQ(counts->records, 4);
  EXPECT_EQ(counts->error_rows, 1);
  EXPECT_EQ(counts->emitted, 3);
  EXPECT_THAT(counts->last_error, HasSubstr("malformed JSON"));
  // Applied again: nothing twice.
  ASSERT_THAT((*engine)->Apply(BatchOf({{Ticker("A", R"({\"a\": 1})", 1), 1}})),
              IsOk());
  EXPECT_THAT(Drain(**engine), ElementsAre());
}

TEST(EngineTest, AWindowThatCannotBeEvaluatedIsCountedAndTheNextCloses) {
  auto engine = Engine::Open(
      Definition(kTickerColumns,
                 "CREATE OR REPLACE STREAM \"OUT\" (s VARCHAR(4), n INTEGER);\n"
                 "CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"OUT\"\n"
                 "SELECT STREAM \"ticker_symbol\", SUM(json_extract(\"sector\","
                 " '$.a')) FROM \"SOURCE_SQL_STREAM_001\" GROUP BY "
                 "\"ticker_symbol\", STEP(ROWTIME BY INTERVAL '1' MINUTE);",
                 "JSON"),
      ":memory:");
  ASSERT_THAT(engine, IsOk());
  ASSERT_THAT((*engine)->Apply(BatchOf(
                  {{Ticker("A", "not json", 1), kStart + 1},
                   {Ticker("A", R"({\"a\": 2})", 2), kStart + 2},
                   {Ticker("A", R"({\"a\": 3})", 3), kStart + kMinute + 1}})),
              IsOk());
  const std::vector<ShardTip> tips = {{"shardId-000000000000", 3}};
  auto closed = (*engine)->CloseWindows(kStart + kMinute + 1000, tips);
  ASSERT_THAT(closed, IsOk());
  EXPECT_EQ(*closed, 0);
  closed = (*engine)->CloseWindows(kStart + 2 * kMinute + 1000, tips);
  ASSERT_THAT(closed, IsOk());
  EXPECT_THAT(Drain(**engine), ElementsAre("{\"S\":\"A\",\"N\":3}"));
  auto counts = (*engine)->Counts();
  ASSERT_THAT(counts, IsOk());
  EXPECT_EQ(counts->error_rows, 1);
  EXPECT_EQ(counts->open_rows, 0);
  EXPECT_THAT(counts->last_error, HasSubstr("malformed JSON"));
}

TEST(EngineTest, RowtimeInAWindowsSelectListIsTheWindowsEnd) {
  // The KDA guide's tumbling window (tumbling-window-concepts), with a
  // column for its ROWTIME: the end of the minute, not one row's arrival
  // (SQLite's bare column: here the row holding the MIN or MAX price).
  auto engine = Engine::Open(
      Definition(kTickerColumns,
                 "CREATE OR REPLACE STREAM \"OUT\" (t TIMESTAMP, "
                 "ticker_symbol VARCHAR(4), min_price REAL, max_price REAL,"
                 " t2 TIMESTAMP);\n"
                 "CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"OUT\"\n"
                 "SELECT STREAM ROWTIME, Ticker_Symbol, MIN(Price) AS Price,"
                 " MAX(Price) AS Price, s.ROWTIME AS t2\n"
                 "FROM \"SOURCE_SQL_STREAM_001\" AS s\n"
                 "GROUP BY Ticker_Symbol,\n"
                 "  STEP(s.ROWTIME BY INTERVAL '60' SECOND);",
                 "CSV"),
      ":memory:");
  ASSERT_THAT(engine, IsOk());
  ASSERT_THAT((*engine)->Apply(BatchOf(
                  {{Ticker("AMZN", "x", 10), kStart + 1000},
                   {Ticker("AMZN", "x", 30), kStart + 2000},
                   {Ticker("AMZN", "x", 20), kStart + 3000},
                   {Ticker("AMZN", "x", 40), kStart + kMinute + 5000}})),
              IsOk());
  auto closed = (*engine)->CloseWindows(kStart + 2 * kMinute + 1000,
                                        {{"shardId-000000000000", 4}});
  ASSERT_THAT(closed, IsOk());
  EXPECT_THAT(Drain(**engine), ElementsAre("2026-12-02 10:01:00.000,AMZN,10,30,"
                                           "2026-12-02 10:01:00.000",
                                           "2026-12-02 10:02:00.000,AMZN,40,40,"
                                           "2026-12-02 10:02:00.000"));
}

TEST(EngineTest, TwoPumpsIntoOneStreamReachBothOfItsOutputs) {
  auto engine = Engine::Open(
      Definition(
          kTickerColumns,
          "CREATE OR REPLACE STREAM \"OUT\" (s VARCHAR(4), p REAL);\n"
          "CREATE OR REPLACE PUMP \"CHEAP\" AS INSERT INTO \"OUT\" (p, s)"
          " SELECT STREAM price, ticker_symbol FROM "
          "\"SOURCE_SQL_STREAM_001\" WHERE price < 15;\n"
          "CREATE OR REPLACE PUMP \"DEAR\" AS INSERT INTO \"OUT\""
          " SELECT STREAM ticker_symbol, price FROM "
          "\"SOURCE_SQL_STREAM_001\" WHERE price > 25;",
          "JSON", AnotherOutput("out", "CSV")),
      ":memory:");
  ASSERT_THAT(engine, IsOk());
  ASSERT_THAT((*engine)->Apply(BatchOf({{Ticker("A", "x", 10), 1},
                                        {Ticker("B", "x", 20), 2},
                                        {Ticker("C", "x", 30), 3}})),
              IsOk());
  EXPECT_THAT(Drain(**engine), ElementsAre("{\"S\":\"A\",\"P\":10}", "A,10",
                                           "{\"S\":\"C\",\"P\":30}", "C,30"));
}

TEST(EngineTest, ReadsTimestampsAsAwsWritesThem) {
  auto engine = Engine::Open(
      Definition(R"({"Name": "ts", "SqlType": "TIMESTAMP", "Mapping": "$.ts"})",
                 "CREATE STREAM \"OUT\" (t TIMESTAMP, m TIMESTAMP);\n"
                 "CREATE PUMP p AS INSERT INTO \"OUT\" SELECT STREAM ts, "
                 "FLOOR(ts TO MINUTE) FROM SOURCE_SQL_STREAM_001;",
                 "CSV"),
      ":memory:");
  ASSERT_THAT(engine, IsOk());
  ASSERT_THAT(
      (*engine)->Apply(BatchOf({{R"({"ts": "2026-12-02 10:01:02.345"})", 1},
                                {R"({"ts": "2026-12-02T10:01:02.5Z"})", 2},
                                {R"({"ts": "2026-12-02T10:01:02+00:00"})", 3},
                                {R"({"ts": 1796205662345})", 4},
                                {R"({"ts": "1796205662345"})", 5}})),
      IsOk());
  EXPECT_THAT(Drain(**engine),
              ElementsAre("2026-12-02 10:01:02.345,2026-12-02 10:01:00.000",
                          "2026-12-02 10:01:02.500,2026-12-02 10:01:00.000",
                          "2026-12-02 10:01:02.000,2026-12-02 10:01:00.000",
                          "2026-12-02 10:01:02.345,2026-12-02 10:01:00.000",
                          "2026-12-02 10:01:02.345,2026-12-02 10:01:00.000"));
}

TEST(EngineTest, FormatsTimestamps) {
  EXPECT_EQ(FormatTimestamp(kStart + 1234), "2026-12-02 10:00:01.234");
}

}  // namespace
}  // namespace sluice::analytics
