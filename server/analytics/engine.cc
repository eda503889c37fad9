#include "server/analytics/engine.h"

#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <variant>

#include "common/csv.h"
#include "common/json.h"
#include "server/catalog/sqlite.h"
#include "server/consumers/handler_files.h"

namespace sluice::analytics {

using catalog::Database;
using catalog::Statement;
using catalog::StatementUse;
using catalog::Transaction;

namespace {

using Value = std::variant<std::monostate, int64_t, double, std::string>;

// sluice_step(x, width): the start of x's tumbling window, the largest
// multiple of width at or below x (STEP and FLOOR ... TO translate to it).
void StepFunction(sqlite3_context* context, int, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL ||
      sqlite3_value_type(argv[1]) == SQLITE_NULL) {
    sqlite3_result_null(context);
    return;
  }
  if (sqlite3_value_numeric_type(argv[0]) == SQLITE_INTEGER &&
      sqlite3_value_numeric_type(argv[1]) == SQLITE_INTEGER) {
    const sqlite3_int64 x = sqlite3_value_int64(argv[0]);
    const sqlite3_int64 width = sqlite3_value_int64(argv[1]);
    if (width <= 0) {
      sqlite3_result_null(context);
      return;
    }
    sqlite3_result_int64(context, x - (((x % width) + width) % width));
    return;
  }
  const double x = sqlite3_value_double(argv[0]);
  const double width = sqlite3_value_double(argv[1]);
  if (!(width > 0)) {
    sqlite3_result_null(context);
    return;
  }
  sqlite3_result_double(context, std::floor(x / width) * width);
}

std::string FormatDouble(double value) {
  char buffer[32];
  auto [ptr, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  if (ec != std::errc()) return "0";
  return std::string(buffer, ptr);
}

bool ParseInt(std::string_view text, int64_t& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

bool ParseDouble(std::string_view text, double& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size() &&
         !text.empty() && std::isfinite(out);
}

// "2026-12-02T10:00:00.123Z", "2026-12-02 10:00:00" → epoch ms (UTC).
bool ParseTimestamp(std::string_view text, int64_t& out) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  int millis = 0;
  if (text.size() < 19 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != ' ') || text[13] != ':' ||
      text[16] != ':') {
    return false;
  }
  auto number = [&](size_t at, size_t length, int& value) {
    int64_t parsed = 0;
    if (!ParseInt(text.substr(at, length), parsed)) return false;
    value = static_cast<int>(parsed);
    return true;
  };
  if (!number(0, 4, year) || !number(5, 2, month) || !number(8, 2, day) ||
      !number(11, 2, hour) || !number(14, 2, minute) ||
      !number(17, 2, second)) {
    return false;
  }
  size_t at = 19;
  if (at < text.size() && text[at] == '.') {
    size_t start = ++at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') ++at;
    std::string digits(text.substr(start, at - start));
    digits.resize(3, '0');
    millis = std::stoi(digits.substr(0, 3));
  }
  if (at < text.size() && text.substr(at) != "Z" &&
      text.substr(at) != "+00:00") {
    return false;
  }
  // Days from civil (Howard Hinnant's algorithm).
  const int y = year - (month <= 2 ? 1 : 0);
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned mp = static_cast<unsigned>(month > 2 ? month - 3 : month + 9);
  const unsigned doy = (153 * mp + 2) / 5 + static_cast<unsigned>(day) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = int64_t{era} * 146097 + int64_t{doe} - 719468;
  out = ((days * 24 + hour) * 60 + minute) * 60'000 + int64_t{second} * 1000 +
        millis;
  return true;
}

// The value of a column from its JSON or CSV text, or an error.
Result<Value> Convert(const InputColumn& column, const json::Value* json,
                      const std::string* text) {
  auto wrong = [&](std::string_view got) {
    return Status(ErrorCode::kInvalidArgument,
                  "column \"" + column.name + "\" (" + column.sql_type +
                      ") cannot hold " + std::string(got));
  };
  if (json != nullptr && json->IsNull()) return Value{};
  if (text != nullptr && text->empty() && column.type != SqlType::kVarchar) {
    return Value{};
  }
  std::string raw = text != nullptr ? *text : csv::FieldText(*json);
  switch (column.type) {
    case SqlType::kVarchar:
      return Value{std::move(raw)};
    case SqlType::kInteger: {
      if (json != nullptr && json->IsInt64()) return Value{json->GetInt64()};
      if (json != nullptr && json->IsNumber()) {
        double d = json->GetDouble();
        if (std::trunc(d) == d && std::fabs(d) < 9e18) {
          return Value{static_cast<int64_t>(d)};
        }
        return wrong(raw);
      }
      int64_t value = 0;
      if ((json == nullptr || json->IsString()) && ParseInt(raw, value)) {
        return Value{value};
      }
      return wrong("'" + raw + "'");
    }
    case SqlType::kDouble: {
      if (json != nullptr && json->IsNumber()) return Value{json->GetDouble()};
      double value = 0;
      if ((json == nullptr || json->IsString()) && ParseDouble(raw, value)) {
        return Value{value};
      }
      return wrong("'" + raw + "'");
    }
    case SqlType::kBoolean: {
      if (json != nullptr && json->IsBool()) {
        return Value{int64_t{json->GetBool() ? 1 : 0}};
      }
      std::string upper = Upper(raw);
      if (upper == "TRUE" || upper == "1") return Value{int64_t{1}};
      if (upper == "FALSE" || upper == "0") return Value{int64_t{0}};
      return wrong("'" + raw + "'");
    }
    case SqlType::kTimestamp: {
      if (json != nullptr && json->IsInt64()) return Value{json->GetInt64()};
      int64_t value = 0;
      if (ParseTimestamp(raw, value) || ParseInt(raw, value)) {
        return Value{value};
      }
      return wrong("'" + raw +
                   "' (a timestamp is yyyy-MM-dd HH:mm:ss[.SSS] "
                   "or epoch milliseconds)");
    }
  }
  return wrong(raw);
}

const json::Value* Find(const json::Value& root,
                        const std::vector<std::string>& path) {
  const json::Value* at = &root;
  for (const std::string& step : path) {
    if (step.size() > 2 && step.front() == '[' && step.back() == ']') {
      if (!at->IsArray()) return nullptr;
      int64_t index = 0;
      if (!ParseInt(std::string_view(step).substr(1, step.size() - 2), index) ||
          index < 0 || static_cast<uint64_t>(index) >= at->Size()) {
        return nullptr;
      }
      at = &(*at)[static_cast<rapidjson::SizeType>(index)];
    } else {
      at = json::Member(*at, step);
      if (at == nullptr) return nullptr;
    }
  }
  return at;
}

}  // namespace

std::string FormatTimestamp(EpochMillis millis) {
  std::time_t seconds = static_cast<std::time_t>(
      millis >= 0 ? millis / 1000 : (millis - 999) / 1000);
  int64_t rest = millis - int64_t{seconds} * 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[40];
  std::snprintf(buffer, sizeof(buffer), "%04d-%02d-%02d %02d:%02d:%02d.%03d",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(rest));
  return buffer;
}

struct Engine::State {
  ApplicationDefinition definition;
  SqlProgram program;
  Database db;
  bool has_filters = false;
  bool has_windows = false;
  std::optional<size_t> error_output;  // the output of error_stream

  struct PreparedPump {
    const Pump* pump = nullptr;
    const InApplicationStream* target = nullptr;
    std::vector<size_t> outputs;  // indexes into definition.outputs
    Statement query;
  };
  std::vector<PreparedPump> pumps;

  Statement insert_batch;
  Statement insert_row;
  Statement clear_batch;
  Statement read_mark;
  Statement write_mark;
  Statement read_marks;
  Statement add_count;
  Statement put_outbox;
  Statement pending;
  Statement delivered;
  Statement clear_sending;
  Statement mark_sending;
  Statement read_sending;
  Statement read_closed;
  Statement write_closed;
  Statement trim_rows;

  // The definition as stored: a changed one starts from scratch.
  // Its source and outputs too: marks of another stream's shards would
  // skip its records, and outbox rows name outputs by their index.
  std::string Fingerprint() const {
    std::string text = definition.code;
    text += '\n';
    text += definition.name_prefix;
    for (const InputColumn& column : definition.columns) {
      text += '\n';
      text += column.name + "\t" + column.sql_type + "\t" + column.mapping;
    }
    text += "\nsource\t";
    text += definition.source_kind == ApplicationDefinition::Source::kStream
                ? "stream\t"
                : "delivery stream\t";
    text += definition.stream_name;
    text += '\t';
    text += ToString(definition.input_format);
    text += '\t';
    text += definition.column_delimiter;
    text += definition.row_delimiter;
    for (const ApplicationOutput& output : definition.outputs) {
      text += "\noutput\t" + output.name + "\t" + output.resource + "\t";
      text += output.kind == ApplicationOutput::Kind::kStream
                  ? "stream\t"
                  : "delivery stream\t";
      text += ToString(output.format);
    }
    return text;
  }

  Status CreateTables() {
    std::string columns = "ROWTIME INTEGER NOT NULL";
    for (const InputColumn& column : definition.columns) {
      columns += ", ";
      columns += QuoteIdentifier(column.name);
      columns += ' ';
      columns += SqliteType(column.type);
    }
    return db.Exec(
        "create the application's tables",
        "CREATE TABLE IF NOT EXISTS sluice_meta (key TEXT PRIMARY KEY,"
        " value TEXT NOT NULL) WITHOUT ROWID;"
        "CREATE TABLE IF NOT EXISTS sluice_applied (shard_id TEXT NOT NULL,"
        " lane INTEGER NOT NULL, applied_offset INTEGER NOT NULL,"
        " max_arrival INTEGER NOT NULL, PRIMARY KEY (shard_id, lane))"
        " WITHOUT ROWID;"
        "CREATE TABLE IF NOT EXISTS sluice_rows (" +
            columns +
            ");"
            "CREATE INDEX IF NOT EXISTS sluice_rows_time ON sluice_rows"
            " (ROWTIME);"
            "CREATE TEMP TABLE IF NOT EXISTS sluice_batch (" +
            columns +
            ");"
            "CREATE TABLE IF NOT EXISTS sluice_windows (pump TEXT PRIMARY KEY,"
            " closed_until INTEGER NOT NULL) WITHOUT ROWID;"
            "CREATE TABLE IF NOT EXISTS sluice_outbox (id INTEGER PRIMARY KEY"
            " AUTOINCREMENT, output INTEGER NOT NULL, data BLOB NOT NULL);"
            "CREATE TABLE IF NOT EXISTS sluice_counts (name TEXT PRIMARY KEY,"
            " value NOT NULL) WITHOUT ROWID;"
            "CREATE TABLE IF NOT EXISTS sluice_sending (output INTEGER NOT"
            " NULL, shard_id TEXT NOT NULL, tip INTEGER NOT NULL,"
            " PRIMARY KEY (output, shard_id)) WITHOUT ROWID;");
  }

  Status PreparePumps() {
    for (size_t i = 0; i < definition.outputs.size(); ++i) {
      if (Upper(definition.outputs[i].name) == Upper(kErrorStream)) {
        error_output = i;
      }
    }
    for (const Pump& pump : program.pumps) {
      PreparedPump prepared;
      prepared.pump = &pump;
      prepared.target = program.FindStream(pump.target);
      for (size_t i = 0; i < definition.outputs.size(); ++i) {
        if (Upper(definition.outputs[i].name) == Upper(pump.target)) {
          prepared.outputs.push_back(i);
        }
      }
      std::string prefix = "WITH " + pump.source_token + " AS (SELECT * FROM ";
      prefix += pump.window_millis > 0
                    ? "sluice_rows WHERE ROWTIME >= ?1 AND ROWTIME < ?2) "
                    : "sluice_batch) ";
      Result<Statement> query =
          db.Prepare("pump " + pump.name, prefix + pump.sql);
      if (!query.ok()) {
        int offset = sqlite3_error_offset(db.handle());
        std::string message = db.ErrorMessage();
        size_t at = pump.position;
        if (offset >= static_cast<int>(prefix.size()) &&
            static_cast<size_t>(offset) - prefix.size() < pump.offsets.size()) {
          at = pump.offsets[static_cast<size_t>(offset) - prefix.size()];
        } else if (message.rfind("no such column: ", 0) == 0) {
          // SQLite gives no offset for some errors; find the name.
          std::string name = message.substr(16);
          size_t dot = name.rfind('.');
          if (dot != std::string::npos) name = name.substr(dot + 1);
          size_t found =
              Upper(definition.code).find(Upper(name), pump.position);
          if (found != std::string::npos) at = found;
        }
        return SqlError(definition.code, at, message);
      }
      if (static_cast<size_t>(query->ColumnCount()) !=
          pump.target_columns.size()) {
        return SqlError(definition.code, pump.position,
                        "pump \"" + pump.name + "\" selects " +
                            std::to_string(query->ColumnCount()) +
                            " columns but inserts into " +
                            std::to_string(pump.target_columns.size()) +
                            " columns of \"" + pump.target + "\"");
      }
      prepared.query = std::move(query).value();
      if (pump.window_millis > 0) {
        has_windows = true;
      } else {
        has_filters = true;
      }
      pumps.push_back(std::move(prepared));
    }
    return Status::Ok();
  }

  Status PrepareStatements() {
    std::string names = "ROWTIME";
    std::string params = "?1";
    for (size_t i = 0; i < definition.columns.size(); ++i) {
      names += ", " + QuoteIdentifier(definition.columns[i].name);
      params += ", ?" + std::to_string(i + 2);
    }
    struct Entry {
      Statement* statement;
      const char* what;
      std::string sql;
    };
    std::vector<Entry> entries = {
        {&insert_batch, "insert a batch row",
         "INSERT INTO sluice_batch (" + names + ") VALUES (" + params + ")"},
        {&insert_row, "insert a window row",
         "INSERT INTO sluice_rows (" + names + ") VALUES (" + params + ")"},
        {&clear_batch, "clear the batch", "DELETE FROM sluice_batch"},
        {&read_mark, "read the applied mark",
         "SELECT applied_offset, max_arrival FROM sluice_applied"
         " WHERE shard_id = ?1 AND lane = ?2"},
        {&write_mark, "write the applied mark",
         "INSERT INTO sluice_applied (shard_id, lane, applied_offset,"
         " max_arrival) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (shard_id, lane)"
         " DO UPDATE SET applied_offset = excluded.applied_offset,"
         " max_arrival = excluded.max_arrival"},
        {&read_marks, "read the applied marks",
         "SELECT shard_id, MAX(applied_offset), MAX(max_arrival)"
         " FROM sluice_applied GROUP BY shard_id"},
        {&add_count, "count",
         "INSERT INTO sluice_counts (name, value) VALUES (?1, ?2)"
         " ON CONFLICT (name) DO UPDATE SET value = CASE"
         " WHEN typeof(excluded.value) = 'text' THEN excluded.value"
         " ELSE value + excluded.value END"},
        {&put_outbox, "put a row in the outbox",
         "INSERT INTO sluice_outbox (output, data) VALUES (?1, ?2)"},
        {&pending, "read the outbox",
         "SELECT id, output, data FROM sluice_outbox ORDER BY id LIMIT ?1"},
        {&delivered, "delete a delivered row",
         "DELETE FROM sluice_outbox WHERE id <= ?1"},
        {&clear_sending, "forget the sending marks",
         "DELETE FROM sluice_sending"},
        {&mark_sending, "mark a shard tip before sending",
         "INSERT OR REPLACE INTO sluice_sending (output, shard_id, tip)"
         " VALUES (?1, ?2, ?3)"},
        {&read_sending, "read the sending marks",
         "SELECT output, shard_id, tip FROM sluice_sending"
         " ORDER BY output, shard_id"},
        {&read_closed, "read a window's progress",
         "SELECT closed_until FROM sluice_windows WHERE pump = ?1"},
        {&write_closed, "save a window's progress",
         "INSERT INTO sluice_windows (pump, closed_until) VALUES (?1, ?2)"
         " ON CONFLICT (pump) DO UPDATE SET closed_until ="
         " excluded.closed_until"},
        {&trim_rows, "delete the rows of closed windows",
         "DELETE FROM sluice_rows WHERE ROWTIME < ?1"},
    };
    for (Entry& entry : entries) {
      Result<Statement> statement = db.Prepare(entry.what, entry.sql);
      if (!statement.ok()) return statement.status();
      *entry.statement = std::move(statement).value();
    }
    return Status::Ok();
  }

  Status Count(std::string_view name, int64_t delta) {
    if (delta == 0) return Status::Ok();
    StatementUse use(add_count);
    use->BindText(1, name);
    use->BindInt(2, delta);
    return use->Run();
  }

  Status NoteError(std::string_view message) {
    StatementUse use(add_count);
    use->BindText(1, "last_error");
    use->BindText(2, message);
    return use->Run();
  }

  // A row as a record of `output`: a delivery stream writes records back to
  // back, so each row there ends in a newline; a Kinesis record is the row.
  std::string Record(size_t output, std::string line) const {
    if (definition.outputs[output].kind ==
        ApplicationOutput::Kind::kDeliveryStream) {
      line += '\n';
    }
    return line;
  }

  Status PutOutbox(size_t output, const std::string& data) {
    StatementUse use(put_outbox);
    use->BindInt(1, static_cast<int64_t>(output));
    use->BindText(2, data);
    return use->Run();
  }

  // Turns the current row of `pump`'s query into output records.
  Status Emit(PreparedPump& pump, int64_t& emitted) {
    if (pump.outputs.empty()) return Status::Ok();
    const std::vector<SqlColumn>& columns = pump.target->columns;
    // Text of each target column; nullopt = NULL.
    std::vector<std::optional<std::string>> texts(columns.size());
    std::vector<bool> quoted(columns.size(), false);
    Statement& row = pump.query;
    for (size_t i = 0; i < pump.pump->target_columns.size(); ++i) {
      const int at = static_cast<int>(i);
      const size_t column = pump.pump->target_columns[i];
      if (row.IsNull(at)) continue;
      switch (columns[column].type) {
        case SqlType::kVarchar:
          texts[column] = row.ColumnText(at);
          quoted[column] = true;
          break;
        case SqlType::kInteger:
          texts[column] = std::to_string(
              row.TypeOf(at) == Statement::ColumnType::kReal
                  ? static_cast<int64_t>(std::llround(row.ColumnDouble(at)))
                  : row.ColumnInt(at));
          break;
        case SqlType::kDouble: {
          double value = row.ColumnDouble(at);
          if (std::isfinite(value)) texts[column] = FormatDouble(value);
          break;
        }
        case SqlType::kBoolean:
          texts[column] = row.ColumnInt(at) != 0 ? "true" : "false";
          break;
        case SqlType::kTimestamp:
          texts[column] = FormatTimestamp(row.ColumnInt(at));
          quoted[column] = true;
          break;
      }
    }
    std::string as_json;
    std::string as_csv;
    for (size_t output : pump.outputs) {
      std::string* line = nullptr;
      if (definition.outputs[output].format == RecordFormat::kJson) {
        if (as_json.empty()) {
          as_json = "{";
          for (size_t i = 0; i < columns.size(); ++i) {
            if (i > 0) as_json += ',';
            as_json += json::Quote(columns[i].name);
            as_json += ':';
            if (!texts[i]) {
              as_json += "null";
            } else if (quoted[i]) {
              as_json += json::Quote(*texts[i]);
            } else {
              as_json += *texts[i];
            }
          }
          as_json += '}';
        }
        line = &as_json;
      } else {
        if (as_csv.empty()) {
          std::vector<std::string> fields;
          for (const auto& text : texts) fields.push_back(text.value_or(""));
          as_csv = csv::FormatRow(fields);
          as_csv.pop_back();  // the "\n"; Record() decides
        }
        line = &as_csv;
      }
      if (Status s = PutOutbox(output, Record(output, *line)); !s.ok()) {
        return s;
      }
      ++emitted;
    }
    return Status::Ok();
  }

  // Reads one record into rows; a record that cannot be read gives an
  // error text instead.
  Result<std::vector<std::vector<Value>>> ReadRecord(const std::string& data) {
    std::vector<std::vector<Value>> rows;
    if (definition.input_format == RecordFormat::kJson) {
      json::Document document;
      document.Parse<json::kParseFlags>(data.data(), data.size());
      if (document.HasParseError() || !document.IsObject()) {
        return Status(ErrorCode::kInvalidArgument,
                      "the record is not a JSON object");
      }
      std::vector<Value> row;
      for (const InputColumn& column : definition.columns) {
        const json::Value* value = Find(document, column.path);
        if (value == nullptr) {
          row.emplace_back();
          continue;
        }
        auto converted = Convert(column, value, nullptr);
        if (!converted.ok()) return converted.status();
        row.push_back(std::move(converted).value());
      }
      rows.push_back(std::move(row));
      return rows;
    }
    size_t start = 0;
    while (start < data.size()) {
      size_t end = data.find(definition.row_delimiter, start);
      if (end == std::string::npos) end = data.size();
      std::string_view line(data.data() + start, end - start);
      start = end + definition.row_delimiter.size();
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) continue;
      std::vector<std::string> fields =
          csv::SplitRow(line, definition.column_delimiter);
      std::vector<Value> row;
      for (size_t i = 0; i < definition.columns.size(); ++i) {
        if (i >= fields.size()) {
          row.emplace_back();
          continue;
        }
        auto converted = Convert(definition.columns[i], nullptr, &fields[i]);
        if (!converted.ok()) return converted.status();
        row.push_back(std::move(converted).value());
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  Status Insert(Statement& statement, EpochMillis rowtime,
                const std::vector<Value>& row) {
    StatementUse use(statement);
    use->BindInt(1, rowtime);
    for (size_t i = 0; i < row.size(); ++i) {
      const int at = static_cast<int>(i + 2);
      if (const auto* integer = std::get_if<int64_t>(&row[i])) {
        use->BindInt(at, *integer);
      } else if (const auto* real = std::get_if<double>(&row[i])) {
        use->BindDouble(at, *real);
      } else if (const auto* text = std::get_if<std::string>(&row[i])) {
        use->BindText(at, *text);
      } else {
        use->BindNull(at);
      }
    }
    return use->Run();
  }

  Status ErrorRow(const consumers::ConsumerRecord& record,
                  const std::string& why, int64_t& emitted) {
    if (Status s = NoteError(why); !s.ok()) return s;
    if (!error_output) return Status::Ok();
    const ApplicationOutput& output = definition.outputs[*error_output];
    std::vector<std::string> fields = {FormatTimestamp(record.arrival_millis),
                                       "ERROR", "Unparsable_Record", why,
                                       record.data};
    std::string data;
    if (output.format == RecordFormat::kCsv) {
      data = csv::FormatRow(fields);
      data.pop_back();
    } else {
      static constexpr const char* kNames[] = {
          "ERROR_TIME", "ERROR_LEVEL", "ERROR_NAME", "MESSAGE", "DATA_ROW"};
      data = "{";
      for (size_t i = 0; i < fields.size(); ++i) {
        if (i > 0) data += ',';
        data += json::Quote(kNames[i]);
        data += ':';
        data += json::Quote(fields[i]);
      }
      data += '}';
    }
    ++emitted;
    return PutOutbox(*error_output, Record(*error_output, std::move(data)));
  }

  // Runs every filter pump over sluice_batch into the outbox, inside a
  // savepoint: a pump that fails on a row (an expression SQLite cannot
  // evaluate, e.g. json_extract of a text that is not JSON) leaves nothing
  // and sets `failure`. Errors of the database itself are returned.
  Status RunFilters(int64_t& emitted, std::string& failure) {
    failure.clear();
    if (Status s = db.Exec("start the filters", "SAVEPOINT sluice_filters");
        !s.ok()) {
      return s;
    }
    int64_t added = 0;
    for (PreparedPump& pump : pumps) {
      if (pump.pump->window_millis > 0) continue;
      StatementUse use(pump.query);
      while (true) {
        Result<bool> row = use->Step();
        if (!row.ok()) {
          failure = row.status().message();  // "pump P failed: <reason>"
          break;
        }
        if (!*row) break;
        if (Status e = Emit(pump, added); !e.ok()) return e;
      }
      if (!failure.empty()) break;
    }
    if (!failure.empty()) {
      if (Status s = db.Exec("undo the filters", "ROLLBACK TO sluice_filters");
          !s.ok()) {
        return s;
      }
    } else {
      emitted += added;
    }
    return db.Exec("end the filters", "RELEASE sluice_filters");
  }

  Status InsertBatch(EpochMillis rowtime,
                     const std::vector<std::vector<Value>>& rows) {
    for (const std::vector<Value>& row : rows) {
      if (Status s = Insert(insert_batch, rowtime, row); !s.ok()) return s;
    }
    return Status::Ok();
  }

  Result<EpochMillis> ClosedUntil(const std::string& pump) {
    StatementUse use(read_closed);
    use->BindText(1, Upper(pump));
    Result<bool> row = use->Step();
    if (!row.ok()) return row.status();
    return *row ? use->ColumnInt(0) : EpochMillis{0};
  }

  // The smallest closed_until of the window pumps: rows before it belong to
  // no open window.
  Result<EpochMillis> OldestOpen() {
    std::optional<EpochMillis> oldest;
    for (PreparedPump& pump : pumps) {
      if (pump.pump->window_millis == 0) continue;
      auto closed = ClosedUntil(pump.pump->name);
      if (!closed.ok()) return closed.status();
      oldest = oldest ? std::min(*oldest, *closed) : *closed;
    }
    return oldest.value_or(0);
  }
};

Engine::Engine(std::unique_ptr<State> state) : state_(std::move(state)) {}
Engine::~Engine() = default;

const ApplicationDefinition& Engine::definition() const {
  return state_->definition;
}

Status Engine::Check(const ApplicationDefinition& definition) {
  auto engine = Open(definition, ":memory:");
  return engine.status();
}

Result<std::unique_ptr<Engine>> Engine::Open(ApplicationDefinition definition,
                                             const std::string& path) {
  auto state = std::make_unique<State>();
  state->definition = std::move(definition);
  auto program =
      ParseSqlProgram(state->definition.code, state->definition.SourceStream());
  if (!program.ok()) return program.status();
  state->program = std::move(program).value();
  const bool in_memory = path == ":memory:";
  auto open = [&]() -> Result<Database> {
    if (in_memory) return Database::Open(path);
    return consumers::OpenHandlerDatabase(path, "NORMAL");
  };
  Result<Database> db = open();
  if (!db.ok()) return db.status();
  state->db = std::move(db).value();
  if (!in_memory) {
    // A database left by an earlier definition of the same name starts
    // over: its marks and windows mean nothing to the new code.
    if (Status s = state->CreateTables(); !s.ok()) return s;
    Result<Statement> read = state->db.Prepare(
        "read the definition",
        "SELECT value FROM sluice_meta WHERE key = 'definition'");
    if (!read.ok()) return read.status();
    Result<bool> row = read->Step();
    if (!row.ok()) return row.status();
    const bool same = *row && read->ColumnText(0) == state->Fingerprint();
    const bool fresh = !*row;
    read = Statement();
    if (!same) {
      if (!fresh) {
        state->db = Database();
        for (const char* suffix : {"", "-wal", "-shm"}) {
          std::error_code ec;
          std::filesystem::remove(path + suffix, ec);
        }
        Result<Database> again = open();
        if (!again.ok()) return again.status();
        state->db = std::move(again).value();
        if (Status s = state->CreateTables(); !s.ok()) return s;
      }
      Result<Statement> write = state->db.Prepare(
          "save the definition",
          "INSERT INTO sluice_meta (key, value) VALUES ('definition', ?1)");
      if (!write.ok()) return write.status();
      write->BindText(1, state->Fingerprint());
      if (Status s = write->Run(); !s.ok()) return s;
    }
  } else if (Status s = state->CreateTables(); !s.ok()) {
    return s;
  }
  // A double-quoted name is a column, never a string ("speedy" must be an
  // unknown column, not the text 'speedy').
  sqlite3_db_config(state->db.handle(), SQLITE_DBCONFIG_DQS_DML, 0, nullptr);
  sqlite3_db_config(state->db.handle(), SQLITE_DBCONFIG_DQS_DDL, 0, nullptr);
  // LIKE compares case as KDA (standard SQL) does: 'AM%' is not 'amzn'.
  if (Status s = state->db.Exec("make LIKE case-sensitive",
                                "PRAGMA case_sensitive_like = ON");
      !s.ok()) {
    return s;
  }
  if (sqlite3_create_function(state->db.handle(), "sluice_step", 2,
                              SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                              StepFunction, nullptr, nullptr) != SQLITE_OK) {
    return state->db.Error("register sluice_step");
  }
  if (Status s = state->PreparePumps(); !s.ok()) return s;
  if (Status s = state->PrepareStatements(); !s.ok()) return s;
  return std::unique_ptr<Engine>(new Engine(std::move(state)));
}

Status Engine::Apply(const consumers::Batch& batch) {
  State& s = *state_;
  Result<Transaction> transaction = Transaction::Begin(s.db, "apply a batch");
  if (!transaction.ok()) return transaction.status();
  int64_t mark = -1;
  EpochMillis max_arrival = 0;
  {
    StatementUse use(s.read_mark);
    use->BindText(1, batch.shard_id);
    use->BindInt(2, batch.lane);
    Result<bool> row = use->Step();
    if (!row.ok()) return row.status();
    if (*row) {
      mark = use->ColumnInt(0);
      max_arrival = use->ColumnInt(1);
    }
  }
  auto oldest_open = s.OldestOpen();
  if (!oldest_open.ok()) return oldest_open.status();
  int64_t records = 0, rows = 0, errors = 0, late = 0, emitted = 0;
  // The readable records and their rows, for the filters.
  std::vector<std::pair<const consumers::ConsumerRecord*,
                        std::vector<std::vector<Value>>>>
      readable;
  for (const consumers::ConsumerRecord& record : batch.records) {
    if (static_cast<int64_t>(record.offset) <= mark) continue;
    mark = static_cast<int64_t>(record.offset);
    max_arrival = std::max(max_arrival, record.arrival_millis);
    ++records;
    auto read = s.ReadRecord(record.data);
    if (!read.ok()) {
      ++errors;
      if (Status e = s.ErrorRow(record, read.status().message(), emitted);
          !e.ok()) {
        return e;
      }
      continue;
    }
    if (s.has_filters) {
      if (Status e = s.InsertBatch(record.arrival_millis, *read); !e.ok()) {
        return e;
      }
    }
    for (const std::vector<Value>& row : *read) {
      ++rows;
      if (s.has_windows) {
        if (record.arrival_millis < *oldest_open) ++late;
        if (Status e = s.Insert(s.insert_row, record.arrival_millis, row);
            !e.ok()) {
          return e;
        }
      }
    }
    if (s.has_filters) readable.emplace_back(&record, std::move(*read));
  }
  if (records == 0) return Status::Ok();  // all seen before: roll back
  if (s.has_filters) {
    std::string failure;
    if (Status e = s.RunFilters(emitted, failure); !e.ok()) return e;
    if (!failure.empty()) {
      // A pump failed on some row: run the records one by one, and the
      // record it fails on is an error row, as an unreadable one is.
      for (const auto& [record, record_rows] : readable) {
        StatementUse clear(s.clear_batch);
        if (Status e = clear->Run(); !e.ok()) return e;
        if (Status e = s.InsertBatch(record->arrival_millis, record_rows);
            !e.ok()) {
          return e;
        }
        if (Status e = s.RunFilters(emitted, failure); !e.ok()) return e;
        if (!failure.empty()) {
          ++errors;
          if (Status e = s.ErrorRow(*record, failure, emitted); !e.ok()) {
            return e;
          }
        }
      }
    }
    StatementUse clear(s.clear_batch);
    if (Status e = clear->Run(); !e.ok()) return e;
  }
  {
    StatementUse use(s.write_mark);
    use->BindText(1, batch.shard_id);
    use->BindInt(2, batch.lane);
    use->BindInt(3, mark);
    use->BindInt(4, max_arrival);
    if (Status e = use->Run(); !e.ok()) return e;
  }
  for (auto [name, delta] :
       {std::pair<const char*, int64_t>{"records", records},
        {"rows", rows},
        {"error_rows", errors},
        {"late_rows", late},
        {"emitted", emitted}}) {
    if (Status e = s.Count(name, delta); !e.ok()) return e;
  }
  return transaction->Commit();
}

Result<int64_t> Engine::CloseWindows(EpochMillis now,
                                     const std::vector<ShardTip>& tips) {
  State& s = *state_;
  if (!s.has_windows) return int64_t{0};
  // How far each shard has been applied.
  std::map<std::string, std::pair<int64_t, EpochMillis>> marks;
  {
    StatementUse use(s.read_marks);
    while (true) {
      Result<bool> row = use->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      marks[use->ColumnText(0)] = {use->ColumnInt(1), use->ColumnInt(2)};
    }
  }
  int64_t total = 0;
  for (State::PreparedPump& pump : s.pumps) {
    const int64_t width = pump.pump->window_millis;
    if (width == 0) continue;
    const EpochMillis settled = now - kWindowCloseGraceMillis;
    if (settled <= 0) continue;
    const EpochMillis boundary = settled - settled % width;
    auto closed = s.ClosedUntil(pump.pump->name);
    if (!closed.ok()) return closed.status();
    if (boundary <= *closed) continue;
    bool ready = true;
    for (const ShardTip& tip : tips) {
      if (tip.tip == 0) continue;
      auto it = marks.find(tip.shard_id);
      if (it == marks.end()) {
        ready = false;
        break;
      }
      const auto [offset, arrival] = it->second;
      if (static_cast<uint64_t>(offset) + 1 < tip.tip && arrival < boundary) {
        ready = false;
        break;
      }
    }
    if (!ready) continue;
    Result<Transaction> transaction = Transaction::Begin(s.db, "close windows");
    if (!transaction.ok()) return transaction.status();
    int64_t emitted = 0;
    if (Status e = s.db.Exec("start a window", "SAVEPOINT sluice_window");
        !e.ok()) {
      return e;
    }
    std::string failure;
    {
      StatementUse use(pump.query);
      use->BindInt(1, *closed);
      use->BindInt(2, boundary);
      use->BindInt(3, width);  // a ROWTIME in the select list: the end
      while (true) {
        Result<bool> row = use->Step();
        if (!row.ok()) {
          failure = row.status().message();
          break;
        }
        if (!*row) break;
        if (Status e = s.Emit(pump, emitted); !e.ok()) return e;
      }
    }
    if (!failure.empty()) {
      // The pump cannot be evaluated over these windows (SUM overflowing,
      // json_extract of a text that is not JSON): they emit nothing and
      // count as an error, and the later windows go on.
      emitted = 0;
      if (Status e = s.db.Exec("undo a window", "ROLLBACK TO sluice_window");
          !e.ok()) {
        return e;
      }
      if (Status e = s.NoteError(failure); !e.ok()) return e;
      if (Status e = s.Count("error_rows", 1); !e.ok()) return e;
    }
    if (Status e = s.db.Exec("end a window", "RELEASE sluice_window");
        !e.ok()) {
      return e;
    }
    {
      StatementUse use(s.write_closed);
      use->BindText(1, Upper(pump.pump->name));
      use->BindInt(2, boundary);
      if (Status e = use->Run(); !e.ok()) return e;
    }
    auto oldest = s.OldestOpen();
    if (!oldest.ok()) return oldest.status();
    {
      StatementUse use(s.trim_rows);
      use->BindInt(1, *oldest);
      if (Status e = use->Run(); !e.ok()) return e;
    }
    if (Status e = s.Count("emitted", emitted); !e.ok()) return e;
    if (Status e = transaction->Commit(); !e.ok()) return e;
    total += emitted;
  }
  return total;
}

Result<std::vector<OutboxRecord>> Engine::Pending(size_t limit) {
  StatementUse use(state_->pending);
  use->BindInt(1, static_cast<int64_t>(limit));
  std::vector<OutboxRecord> records;
  while (true) {
    Result<bool> row = use->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    records.push_back({use->ColumnInt(0),
                       static_cast<size_t>(use->ColumnInt(1)),
                       use->ColumnText(2)});
  }
  return records;
}

Status Engine::Delivered(int64_t through_id) {
  Result<Transaction> transaction =
      Transaction::Begin(state_->db, "delete delivered rows");
  if (!transaction.ok()) return transaction.status();
  {
    StatementUse use(state_->delivered);
    use->BindInt(1, through_id);
    if (Status s = use->Run(); !s.ok()) return s;
  }
  {
    StatementUse use(state_->clear_sending);
    if (Status s = use->Run(); !s.ok()) return s;
  }
  return transaction->Commit();
}

Status Engine::MarkSending(size_t output, const ShardTips& tips) {
  Result<Transaction> transaction =
      Transaction::Begin(state_->db, "mark sending");
  if (!transaction.ok()) return transaction.status();
  for (const auto& [shard_id, tip] : tips) {
    StatementUse use(state_->mark_sending);
    use->BindInt(1, static_cast<int64_t>(output));
    use->BindText(2, shard_id);
    use->BindInt(3, static_cast<int64_t>(tip));
    if (Status s = use->Run(); !s.ok()) return s;
  }
  return transaction->Commit();
}

Result<std::map<size_t, Engine::ShardTips>> Engine::Sending() {
  std::map<size_t, ShardTips> sending;
  StatementUse use(state_->read_sending);
  while (true) {
    Result<bool> row = use->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    sending[static_cast<size_t>(use->ColumnInt(0))].emplace_back(
        use->ColumnText(1), static_cast<uint64_t>(use->ColumnInt(2)));
  }
  return sending;
}

Result<EngineCounts> Engine::Counts() {
  EngineCounts counts;
  Result<Statement> read = state_->db.Prepare(
      "read counts",
      "SELECT name, value FROM sluice_counts UNION ALL"
      " SELECT 'pending', COUNT(*) FROM sluice_outbox UNION ALL"
      " SELECT 'open_rows', COUNT(*) FROM sluice_rows");
  if (!read.ok()) return read.status();
  while (true) {
    Result<bool> row = read->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    const std::string name = read->ColumnText(0);
    if (name == "last_error") {
      counts.last_error = read->ColumnText(1);
      continue;
    }
    const int64_t value = read->ColumnInt(1);
    for (auto [key, field] :
         {std::pair<const char*, int64_t*>{"records", &counts.records},
          {"rows", &counts.rows},
          {"error_rows", &counts.error_rows},
          {"late_rows", &counts.late_rows},
          {"emitted", &counts.emitted},
          {"pending", &counts.pending},
          {"open_rows", &counts.open_rows}}) {
      if (name == key) *field = value;
    }
  }
  return counts;
}

Result<std::vector<WindowState>> Engine::Windows() {
  std::vector<WindowState> windows;
  for (State::PreparedPump& pump : state_->pumps) {
    if (pump.pump->window_millis == 0) continue;
    auto closed = state_->ClosedUntil(pump.pump->name);
    if (!closed.ok()) return closed.status();
    windows.push_back({pump.pump->name, pump.pump->window_millis, *closed});
  }
  return windows;
}

}  // namespace sluice::analytics
