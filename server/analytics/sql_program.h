// The SQL of a Kinesis Data Analytics application (aws-behaviour.md section
// 6), read into in-application streams and pumps, each pump's SELECT
// translated to SQLite SQL. Sluice does not interpret expressions itself:
// SQLite evaluates the user's WHERE, select list and GROUP BY, over a table
// holding the source's typed columns and ROWTIME (epoch milliseconds).
//
// The subset read (docs/analytics.md):
//   CREATE [OR REPLACE] STREAM "X" (col TYPE, ...);
//   CREATE [OR REPLACE] PUMP "P" AS INSERT INTO "X" [(cols)]
//     SELECT STREAM <select list> FROM "SOURCE_SQL_STREAM_001" [[AS] alias]
//     [WHERE expr] [GROUP BY exprs [HAVING expr]];
// with -- and /* */ comments, quoted identifiers, and the tumbling-window
// terms STEP(<ts> BY INTERVAL 'N' SECOND|MINUTE|HOUR|DAY), STEP(<n> BY <m>)
// and FLOOR(<ts> TO SECOND|MINUTE|HOUR|DAY), which become sluice_step().
// A pump whose GROUP BY has a STEP/FLOOR term of ROWTIME is a window pump;
// a pump without GROUP BY is a filter (a row out per row in).
//
// Errors are kInvalidArgument "SQL error at line L, column C: <reason>",
// positions counted from 1 in the user's text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice::analytics {

enum class SqlType { kVarchar, kInteger, kDouble, kBoolean, kTimestamp };

// "VARCHAR(8)" → kVarchar, "BIGINT" → kInteger, ...; false if unknown.
bool ParseSqlType(std::string_view text, SqlType& type);
// The SQLite column type a value of `type` is stored as.
std::string_view SqliteType(SqlType type);

struct SqlColumn {
  std::string name;
  SqlType type = SqlType::kVarchar;
};

// CREATE STREAM.
struct InApplicationStream {
  std::string name;
  std::vector<SqlColumn> columns;
};

// CREATE PUMP, translated.
struct Pump {
  std::string name;
  std::string target;  // the in-application stream it inserts into
  // Indexes into the target's columns, in the order the SELECT list fills
  // them (all of them when the INSERT names none).
  std::vector<size_t> target_columns;
  // The source as written in FROM (raw token text, quotes kept): the name
  // of the CTE that the SQL below is prefixed with.
  std::string source_token;
  // "SELECT ... FROM <source_token> ...", in SQLite's dialect, without the
  // CTE; offsets[i] is the position in the user's code of sql[i].
  std::string sql;
  std::vector<size_t> offsets;
  size_t position = 0;        // of CREATE in the user's code
  int64_t window_millis = 0;  // 0: a filter
};

struct SqlProgram {
  std::vector<InApplicationStream> streams;
  std::vector<Pump> pumps;

  const InApplicationStream* FindStream(std::string_view name) const;
};

// Reads `code`. `source` is the input's in-application stream
// ("SOURCE_SQL_STREAM_001"); a pump must read from it. Checks the
// structure, names and windows; the expressions are checked by SQLite when
// the engine prepares them (PrepareError below).
Result<SqlProgram> ParseSqlProgram(std::string_view code,
                                   std::string_view source);

// "line L, column C" of byte `offset` of `code` (columns count bytes).
std::string PositionText(std::string_view code, size_t offset);

// The Status for `reason` at `offset` of `code`.
Status SqlError(std::string_view code, size_t offset, std::string_view reason);

// Upper-cases ASCII letters: identifiers compare case-insensitively, as
// SQLite compares them.
std::string Upper(std::string_view text);

// Double-quotes an identifier for SQLite.
std::string QuoteIdentifier(std::string_view name);

}  // namespace sluice::analytics
