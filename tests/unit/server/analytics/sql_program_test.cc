#include "server/analytics/sql_program.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/catalog/test_util.h"

namespace sluice::analytics {
namespace {

using catalog::test::HasError;
using catalog::test::IsOk;
using ::testing::HasSubstr;

constexpr std::string_view kSource = "SOURCE_SQL_STREAM_001";

TEST(SqlProgramTest, ReadsTheTelemetryFilter) {
  const std::string code = R"(
-- the laps at 200 km/h or more
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
  "speed" DOUBLE, "rpm" INTEGER, "gear" INTEGER, "throttle" DOUBLE);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM "speed", "rpm", "gear", "throttle"
  FROM "SOURCE_SQL_STREAM_001" WHERE "speed" >= 200;
)";
  auto program = ParseSqlProgram(code, kSource);
  ASSERT_THAT(program, IsOk());
  ASSERT_EQ(program->streams.size(), 1u);
  EXPECT_EQ(program->streams[0].columns.size(), 4u);
  EXPECT_EQ(program->streams[0].columns[1].type, SqlType::kInteger);
  ASSERT_EQ(program->pumps.size(), 1u);
  const Pump& pump = program->pumps[0];
  EXPECT_EQ(pump.window_millis, 0);
  EXPECT_EQ(pump.target, "DESTINATION_SQL_STREAM");
  EXPECT_EQ(pump.source_token, "\"SOURCE_SQL_STREAM_001\"");
  EXPECT_THAT(pump.sql, HasSubstr("WHERE \"speed\" >= 200"));
  EXPECT_EQ(pump.sql.find("STREAM \""), std::string::npos);
  ASSERT_EQ(pump.sql.size(), pump.offsets.size());
  // Every byte of the translation points into the code.
  EXPECT_EQ(code.substr(pump.offsets[pump.sql.find("200")], 3), "200");
}

TEST(SqlProgramTest, ReadsAStepWindowAndTranslatesIt) {
  auto program = ParseSqlProgram(
      "CREATE OR REPLACE STREAM \"OUT\" (user_id VARCHAR(16), views BIGINT,"
      " pages BIGINT, window_start TIMESTAMP);\n"
      "CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"OUT\"\n"
      "SELECT STREAM user_id, COUNT(*), COUNT(DISTINCT page),\n"
      "  STEP(s.ROWTIME BY INTERVAL '1' MINUTE)\n"
      "FROM \"SOURCE_SQL_STREAM_001\" AS s\n"
      "GROUP BY user_id, STEP(s.ROWTIME BY INTERVAL '60' SECOND);",
      kSource);
  ASSERT_THAT(program, IsOk());
  const Pump& pump = program->pumps[0];
  EXPECT_EQ(pump.window_millis, 60'000);
  EXPECT_THAT(pump.sql, HasSubstr("sluice_step( s . ROWTIME , 60000)"));
  EXPECT_THAT(pump.sql, HasSubstr("GROUP BY user_id"));
}

TEST(SqlProgramTest, ReadsAFloorWindow) {
  auto program = ParseSqlProgram(
      "CREATE STREAM o (k VARCHAR(4), n INTEGER);"
      "CREATE PUMP p AS INSERT INTO o SELECT STREAM k, COUNT(*) FROM "
      "SOURCE_SQL_STREAM_001 GROUP BY k, FLOOR(SOURCE_SQL_STREAM_001.ROWTIME "
      "TO HOUR)",
      kSource);
  ASSERT_THAT(program, IsOk());
  EXPECT_EQ(program->pumps[0].window_millis, 3'600'000);
}

TEST(SqlProgramTest, InsertColumnsNameTheTargetsColumns) {
  auto program = ParseSqlProgram(
      "CREATE STREAM o (a INTEGER, b VARCHAR(4), c DOUBLE);"
      "CREATE PUMP p AS INSERT INTO o (c, a) SELECT STREAM x, y FROM "
      "SOURCE_SQL_STREAM_001;",
      kSource);
  ASSERT_THAT(program, IsOk());
  EXPECT_EQ(program->pumps[0].target_columns, (std::vector<size_t>{2, 0}));
}

Status ErrorOf(std::string_view code) {
  return ParseSqlProgram(code, kSource).status();
}

TEST(SqlProgramTest, MalformedSqlNamesLineColumnAndReason) {
  EXPECT_THAT(
      ErrorOf("CREATE STREAM o (a INTEGER);\n"
              "CREATE PUMP p AS INSERT INTO o\n"
              "  SELECT STREAM a FROM SOURCE_SQL_STREAM_001 WHERE (a > 1;"),
      HasError(ErrorCode::kInvalidArgument,
               "SQL error at line 3, column 52: '(' is not closed"));
  EXPECT_THAT(ErrorOf("CREATE STREAM o (a INTEGER);\nCREATE PUMPS p"),
              HasError(ErrorCode::kInvalidArgument,
                       "SQL error at line 2, column 8: expected STREAM or "
                       "PUMP but found 'PUMPS'"));
  EXPECT_THAT(ErrorOf("CREATE STREAM o (a WIDGET);"),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(ErrorOf("CREATE STREAM o (a INTEGER); /* open"),
              HasError(ErrorCode::kInvalidArgument,
                       "SQL error at line 1, column 30: the comment is not "
                       "closed"));
}

TEST(SqlProgramTest, RefusesWhatWouldNeverEmit) {
  // A GROUP BY without a ROWTIME window emits nothing in KDA: refused.
  Status no_window = ErrorOf(
      "CREATE STREAM o (k VARCHAR(4), n INTEGER);"
      "CREATE PUMP p AS INSERT INTO o SELECT STREAM k, COUNT(*) FROM "
      "SOURCE_SQL_STREAM_001 GROUP BY k;");
  EXPECT_THAT(no_window, HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(no_window.message(), HasSubstr("line 1, column 43"));
  EXPECT_THAT(no_window.message(), HasSubstr("tumbling window"));
  EXPECT_THAT(ErrorOf("CREATE STREAM o (n INTEGER);"
                      "CREATE PUMP p AS INSERT INTO o SELECT STREAM COUNT(*) "
                      "FROM SOURCE_SQL_STREAM_001;"),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(ErrorOf("CREATE STREAM o (n INTEGER);"),
              HasError(ErrorCode::kInvalidArgument));
}

TEST(SqlProgramTest, RefusesAnAggregateWithoutAWindowAtAnyDepth) {
  // Without GROUP BY these would aggregate each batch: a row per batch.
  for (const char* select : {"ROUND(AVG(\"speed\"), 2)", "MAX(\"speed\")",
                             "CAST(COUNT(*) AS INTEGER)", "MIN((\"speed\"))"}) {
    std::string code =
        "CREATE STREAM \"OUT\" (x DOUBLE);\n"
        "CREATE PUMP p AS INSERT INTO \"OUT\" SELECT STREAM ";
    code += select;
    code += " FROM SOURCE_SQL_STREAM_001;";
    auto program = ParseSqlProgram(code, kSource);
    EXPECT_THAT(program, HasError(ErrorCode::kInvalidArgument)) << select;
    EXPECT_THAT(program.status().message(),
                HasSubstr("an aggregate needs GROUP BY"));
  }
  // MIN and MAX of two values are scalar: a filter may use them.
  EXPECT_THAT(ParseSqlProgram("CREATE STREAM \"OUT\" (x DOUBLE);\n"
                              "CREATE PUMP p AS INSERT INTO \"OUT\" SELECT "
                              "STREAM MAX(\"speed\", 0) FROM "
                              "SOURCE_SQL_STREAM_001;",
                              kSource),
              IsOk());
}

TEST(SqlProgramTest, AnUnexpectedCharacterIsNamedInValidUtf8) {
  // One byte of "é" in the message made the error answer invalid UTF-8.
  EXPECT_THAT(
      ParseSqlProgram("CREATE STREAM \"X\" (a\xc3\xa9 INTEGER);", kSource),
      HasError(ErrorCode::kInvalidArgument,
               "SQL error at line 1, column 21: unexpected character "
               "'\xc3\xa9'"));
  EXPECT_THAT(ParseSqlProgram(std::string("CREATE \xff", 8), kSource),
              HasError(ErrorCode::kInvalidArgument,
                       "SQL error at line 1, column 8: unexpected character "
                       "(byte 0xFF)"));
  EXPECT_THAT(ParseSqlProgram(std::string("\0", 1), kSource),
              HasError(ErrorCode::kInvalidArgument,
                       "SQL error at line 1, column 1: unexpected character "
                       "(byte 0x00)"));
}

TEST(SqlProgramTest, RefusesAnIntervalWhoseMillisecondsOverflow) {
  // 2^54 days is 2^64 * 84375 ms: the width wrapped to 0 and the window
  // pump passed for a filter (or, wrapped negative, aggregated batches).
  auto program = ParseSqlProgram(
      "CREATE STREAM \"OUT\" (n BIGINT);\n"
      "CREATE PUMP p AS INSERT INTO \"OUT\" SELECT STREAM COUNT(*) FROM "
      "SOURCE_SQL_STREAM_001 GROUP BY STEP(ROWTIME BY INTERVAL "
      "'18014398509481984' DAY);",
      kSource);
  EXPECT_THAT(program,
              HasError(ErrorCode::kInvalidArgument,
                       "SQL error at line 2, column 120: the INTERVAL is too "
                       "long"));
}

TEST(SqlProgramTest, RefusesUnknownStreamsAndSources) {
  Status target = ErrorOf(
      "CREATE STREAM o (n INTEGER);\n"
      "CREATE PUMP p AS INSERT INTO \"X\" SELECT STREAM n FROM "
      "SOURCE_SQL_STREAM_001;");
  EXPECT_THAT(target.message(), HasSubstr("line 2, column 30"));
  EXPECT_THAT(target.message(), HasSubstr("\"X\" is not defined"));
  Status source = ErrorOf(
      "CREATE STREAM o (n INTEGER);\n"
      "CREATE PUMP p AS INSERT INTO o SELECT STREAM n FROM \"OTHER\";");
  EXPECT_THAT(source.message(), HasSubstr("line 2, column 53"));
  Status column = ErrorOf(
      "CREATE STREAM o (n INTEGER);\n"
      "CREATE PUMP p AS INSERT INTO o (m) SELECT STREAM n FROM "
      "SOURCE_SQL_STREAM_001;");
  EXPECT_THAT(column.message(), HasSubstr("has no column \"m\""));
}

TEST(SqlProgramTest, PositionTextCountsLinesAndColumnsFromOne) {
  EXPECT_EQ(PositionText("ab\ncd", 0), "line 1, column 1");
  EXPECT_EQ(PositionText("ab\ncd", 4), "line 2, column 2");
}

}  // namespace
}  // namespace sluice::analytics
