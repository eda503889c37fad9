#include "server/consumers/metrics_handler.h"

#include <algorithm>
#include <map>
#include <memory>
#include <memory_resource>
#include <set>
#include <span>
#include <unordered_map>
#include <utility>

#include "common/log.h"
#include "common/sequence_number.h"

namespace sluice::consumers {
namespace {

using catalog::Database;
using catalog::Statement;
using catalog::StatementUse;

// Keys longer than this are a producer's mistake, not a metric; such records
// are skipped and counted rather than growing the table without bound.
constexpr size_t kMaxKeyBytes = 1024;
constexpr size_t kDefaultMaxStringLength = 1024;
constexpr std::string_view kReservedPrefix = "sluice_";

std::string Quoted(std::string_view identifier) {
  // REQUIRES: IsIdentifier(identifier), so no quote to escape.
  std::string quoted;
  quoted.reserve(identifier.size() + 2);
  quoted += '"';
  quoted += identifier;
  quoted += '"';
  return quoted;
}

Result<Template> ParseTemplate(const json::Value* value,
                               std::string_view what) {
  if (value == nullptr || !value->IsString()) {
    return InvalidSetting(what, "must be a template string");
  }
  return Template::Parse(json::AsView(*value), what);
}

Result<size_t> ParseMaxLength(const json::Value& value, std::string_view what) {
  if (!value.IsUint64() || value.GetUint64() < 1 ||
      value.GetUint64() > 1000000) {
    return InvalidSetting(what, "must be an integer from 1 to 1000000");
  }
  return static_cast<size_t>(value.GetUint64());
}

}  // namespace

// An ADD column.
struct MetricsHandler::Counter {
  enum class Kind { kConstant, kSum, kCents };
  std::string column;
  Kind kind = Kind::kConstant;
  int64_t constant = 0;
  std::optional<FieldPath> path;  // kSum, kCents
};

// A SET column.
struct MetricsHandler::Column {
  std::string column;
  Template value;
  size_t max_length = 0;
};

struct MetricsHandler::Rule {
  std::string table;
  Condition match;
  Template key;
  std::optional<Template> sort_key;
  std::vector<Counter> counters;
  std::vector<Column> columns;
  // An existing row is updated in place; only when there is none is one
  // inserted (cheaper than an upsert, which seeks the row twice).
  Statement update;  // guarded by write_mu_, as is insert
  Statement insert;
};

namespace {

// One counter's total within a batch: integers stay integers; a sum that
// meets a fraction becomes a real.
struct Sum {
  int64_t integer = 0;
  double real = 0;
  bool has_real = false;
};

// A SET column's value in a RowUpdate: a TemplateValue whose text lives in
// the batch's arena.
struct SetValue {
  explicit SetValue(std::pmr::memory_resource* arena) : text(arena) {}
  SetValue& operator=(const TemplateValue& value) {
    kind = value.kind;
    text.assign(value.text);
    int_value = value.int_value;
    real_value = value.real_value;
    bool_value = value.bool_value;
    return *this;
  }
  TemplateValue::Kind kind = TemplateValue::Kind::kText;
  std::pmr::string text;
  int64_t int_value = 0;
  double real_value = 0;
  bool bool_value = false;
};

// The net effect of a batch on one row of one rule's table.
struct RowUpdate {
  size_t rule = 0;
  // Views into the row's id, the key of Aggregate::row_index (a node's key
  // never moves).
  std::string_view key;
  std::string_view sort_key;
  std::pmr::vector<Sum> sums;
  std::pmr::vector<SetValue> values;  // the last matching record's
};

struct Skip {
  std::string rule;  // "" for a record no rule could read
  std::string reason;
  int64_t count = 0;
  std::string sequence_number;  // the last one skipped
};

}  // namespace

// What a batch does to the tables. Everything a row needs is allocated from
// one arena that is dropped at once with the batch (a batch touches a few
// hundred rows; one malloc and free each was a tenth of the handler's time).
// The arena starts in `memory`, kept by the calling thread from batch to
// batch (see ArenaMemory), and takes more from the heap only past its end.
struct MetricsHandler::Aggregate {
  Aggregate(std::span<std::byte> memory, size_t max_rows)
      : arena(memory.data(), memory.size()), rows(&arena), row_index(&arena) {
    rows.reserve(max_rows);
    row_index.reserve(max_rows);
  }
  Aggregate(const Aggregate&) = delete;
  Aggregate& operator=(const Aggregate&) = delete;

  std::pmr::monotonic_buffer_resource arena;  // declared first: freed last
  std::pmr::vector<RowUpdate> rows;
  // Row id: the rule's index, key and sort key, each ended by a '\0'.
  struct IdHash {
    using is_transparent = void;
    size_t operator()(std::string_view id) const {
      return std::hash<std::string_view>()(id);
    }
  };
  std::pmr::unordered_map<std::pmr::string, size_t, IdHash, std::equal_to<>>
      row_index;
  std::vector<Skip> skips;
  std::map<std::pair<std::string, std::string>, size_t> skip_index;

  void Skipped(std::string_view rule, std::string reason,
               const ConsumerRecord& record) {
    auto [it, added] = skip_index.try_emplace(
        std::pair(std::string(rule), reason), skips.size());
    if (added)
      skips.push_back(Skip{std::string(rule), std::move(reason), 0, {}});
    Skip& skip = skips[it->second];
    ++skip.count;
    skip.sequence_number = record.sequence_number;
  }
};

namespace {

// What one row of an Aggregate takes from its arena, about: the RowUpdate,
// its row_index node, bucket and id, sums and SET values.
constexpr size_t kArenaBytesPerRow = 384;
constexpr size_t kMaxArenaBytes = 1u << 20;

// Memory for the Aggregate of `max_rows` rows, owned by the calling thread
// and reused by its next batch. Freeing it after every batch made glibc hand
// it back to the kernel and map it again (brk), a TLB flush on every CPU each
// time: 7% of the handler's time. Left uninitialized: pages a batch never
// reaches stay unmapped.
std::span<std::byte> ArenaMemory(size_t max_rows) {
  thread_local std::unique_ptr<std::byte[]> memory;
  thread_local size_t size = 0;
  const size_t wanted =
      std::min(max_rows * kArenaBytesPerRow + 4096, kMaxArenaBytes);
  if (size < wanted) {
    memory = std::make_unique_for_overwrite<std::byte[]>(wanted);
    size = wanted;
  }
  return {memory.get(), size};
}

}  // namespace

MetricsHandler::MetricsHandler() = default;
MetricsHandler::~MetricsHandler() = default;

Result<std::unique_ptr<MetricsHandler>> MetricsHandler::Create(
    const HandlerSpec& spec) {
  const json::Value& settings = *spec.settings;
  const std::string what = "consumer " + spec.consumer + " handler";
  if (!settings.IsObject()) return InvalidSetting(what, "must be an object");
  Status known = CheckKnownMembers(
      settings,
      {"type", "database", "synchronous", "max_string_length", "rules"}, what);
  if (!known.ok()) return known;

  std::unique_ptr<MetricsHandler> handler(new MetricsHandler());
  handler->consumer_ = spec.consumer;
  handler->clock_ = spec.environment->clock != nullptr
                        ? spec.environment->clock
                        : &SystemClock::Instance();
  Result<std::string> synchronous = ParseSynchronous(settings, what);
  if (!synchronous.ok()) return synchronous.status();
  handler->synchronous_ = *synchronous;

  handler->default_max_length_ = kDefaultMaxStringLength;
  if (const json::Value* max = Member(settings, "max_string_length")) {
    Result<size_t> parsed = ParseMaxLength(*max, what + ".max_string_length");
    if (!parsed.ok()) return parsed.status();
    handler->default_max_length_ = *parsed;
  }

  const json::Value* rules = Member(settings, "rules");
  if (rules == nullptr || !rules->IsArray() || rules->Empty()) {
    return InvalidSetting(what + ".rules", "must be a non-empty array");
  }
  std::set<std::string> tables;
  for (rapidjson::SizeType i = 0; i < rules->Size(); ++i) {
    const json::Value& rule_json = (*rules)[i];
    const std::string rule_what = what + ".rules[" + std::to_string(i) + "]";
    if (!rule_json.IsObject()) {
      return InvalidSetting(rule_what, "must be an object");
    }
    Status rule_known = CheckKnownMembers(
        rule_json, {"table", "match", "key", "sort_key", "add", "set"},
        rule_what);
    if (!rule_known.ok()) return rule_known;
    Rule rule;
    const json::Value* table = Member(rule_json, "table");
    if (table == nullptr || !table->IsString() ||
        !IsIdentifier(json::AsView(*table)) ||
        json::AsView(*table).substr(0, kReservedPrefix.size()) ==
            kReservedPrefix) {
      return InvalidSetting(rule_what + ".table",
                            "must be a name of letters, digits and '_' "
                            "(not starting with a digit or 'sluice_', at "
                            "most 63)");
    }
    rule.table = std::string(json::AsView(*table));
    if (!tables.insert(rule.table).second) {
      return InvalidSetting(rule_what + ".table",
                            "'" + rule.table + "' is another rule's table");
    }
    Result<Condition> match =
        Condition::Parse(Member(rule_json, "match"), rule_what + ".match");
    if (!match.ok()) return match.status();
    rule.match = std::move(match).value();
    Result<Template> key =
        ParseTemplate(Member(rule_json, "key"), rule_what + ".key");
    if (!key.ok()) return key.status();
    rule.key = std::move(key).value();
    if (const json::Value* sort_key = Member(rule_json, "sort_key")) {
      Result<Template> parsed =
          ParseTemplate(sort_key, rule_what + ".sort_key");
      if (!parsed.ok()) return parsed.status();
      rule.sort_key = std::move(parsed).value();
    }

    std::set<std::string> columns = {"key", "sort_key"};
    auto check_column = [&](std::string_view name,
                            const std::string& column_what) -> Status {
      if (!IsIdentifier(name)) {
        return InvalidSetting(column_what,
                              "a column name is letters, digits and '_' "
                              "(not starting with a digit, at most 63)");
      }
      if (!columns.insert(std::string(name)).second) {
        return InvalidSetting(column_what, "column '" + std::string(name) +
                                               "' is named twice (or is "
                                               "key or sort_key)");
      }
      return Status::Ok();
    };
    if (const json::Value* add = Member(rule_json, "add")) {
      if (!add->IsObject()) {
        return InvalidSetting(rule_what + ".add",
                              "must be an object of column to counter");
      }
      for (const auto& member : add->GetObject()) {
        const std::string_view name = json::AsView(member.name);
        const std::string column_what = rule_what + ".add." + std::string(name);
        Status column = check_column(name, column_what);
        if (!column.ok()) return column;
        Counter counter;
        counter.column = std::string(name);
        const json::Value& spec_value = member.value;
        if (spec_value.IsInt64()) {
          counter.kind = Counter::Kind::kConstant;
          counter.constant = spec_value.GetInt64();
        } else if (spec_value.IsObject() && spec_value.MemberCount() == 1 &&
                   spec_value.MemberBegin()->value.IsString() &&
                   (json::AsView(spec_value.MemberBegin()->name) == "sum" ||
                    json::AsView(spec_value.MemberBegin()->name) == "cents")) {
          counter.kind = json::AsView(spec_value.MemberBegin()->name) == "sum"
                             ? Counter::Kind::kSum
                             : Counter::Kind::kCents;
          Result<FieldPath> path =
              FieldPath::Parse(json::AsView(spec_value.MemberBegin()->value));
          if (!path.ok()) {
            return InvalidSetting(column_what, path.status().message());
          }
          counter.path = std::move(path).value();
        } else {
          return InvalidSetting(column_what,
                                "must be an integer, {\"sum\": \"field\"} "
                                "or {\"cents\": \"field\"}");
        }
        rule.counters.push_back(std::move(counter));
      }
    }
    if (const json::Value* set = Member(rule_json, "set")) {
      if (!set->IsObject()) {
        return InvalidSetting(rule_what + ".set",
                              "must be an object of column to template");
      }
      for (const auto& member : set->GetObject()) {
        const std::string_view name = json::AsView(member.name);
        const std::string column_what = rule_what + ".set." + std::string(name);
        Status column = check_column(name, column_what);
        if (!column.ok()) return column;
        Column parsed;
        parsed.column = std::string(name);
        parsed.max_length = handler->default_max_length_;
        const json::Value* value = &member.value;
        if (member.value.IsObject()) {
          Status set_known = CheckKnownMembers(
              member.value, {"value", "max_length"}, column_what);
          if (!set_known.ok()) return set_known;
          value = Member(member.value, "value");
          if (const json::Value* max = Member(member.value, "max_length")) {
            Result<size_t> length =
                ParseMaxLength(*max, column_what + ".max_length");
            if (!length.ok()) return length.status();
            parsed.max_length = *length;
          }
        }
        Result<Template> value_template = ParseTemplate(value, column_what);
        if (!value_template.ok()) return value_template.status();
        parsed.value = std::move(value_template).value();
        rule.columns.push_back(std::move(parsed));
      }
    }
    if (rule.counters.empty() && rule.columns.empty()) {
      return InvalidSetting(rule_what, "has neither \"add\" nor \"set\"");
    }
    handler->rules_.push_back(std::move(rule));
  }

  std::string database = "metrics/" + spec.consumer + ".db";
  if (const json::Value* path = Member(settings, "database")) {
    if (!path->IsString()) {
      return InvalidSetting(what + ".database", "must be a relative path");
    }
    database = std::string(json::AsView(*path));
  }
  Result<std::unique_ptr<HandlerFiles>> files =
      HandlerFiles::Make(*spec.environment);
  if (!files.ok()) return files.status();
  handler->files_ = std::move(files).value();
  Result<std::filesystem::path> resolved =
      handler->files_->Resolve(database, what + ".database");
  if (!resolved.ok()) return resolved.status();
  handler->path_ = *resolved;
  Status opened = handler->OpenDatabase();
  if (!opened.ok()) return opened;
  SLUICE_LOG(kInfo) << "consumer " << spec.consumer << ": metrics in "
                    << handler->path_.string();
  return handler;
}

Status MetricsHandler::OpenDatabase() {
  // Each batch commits a few dozen pages: one write() for them all.
  Result<Database> db =
      OpenHandlerDatabase(path_, synchronous_, /*batch_wal_writes=*/true);
  if (!db.ok()) return db.status();
  db_ = std::move(db).value();
  // Debian builds SQLite with secure_delete on, which zeroes the old copy of
  // every updated row; counters are not secrets worth that.
  Status fast_delete =
      db_.Exec("set secure_delete", "PRAGMA secure_delete = OFF");
  if (!fast_delete.ok()) return fast_delete;
  Status tables = db_.Exec(
      "create metrics bookkeeping tables",
      "CREATE TABLE IF NOT EXISTS sluice_applied ("
      " consumer TEXT NOT NULL, shard_id TEXT NOT NULL, lane INTEGER NOT NULL,"
      " lane_count INTEGER NOT NULL, stream_arn TEXT NOT NULL,"
      " shard_created INTEGER NOT NULL, applied_offset INTEGER NOT NULL,"
      " sequence_number TEXT NOT NULL, updated_at TEXT NOT NULL,"
      " PRIMARY KEY (consumer, shard_id, lane_count, lane)) WITHOUT ROWID;"
      "CREATE TABLE IF NOT EXISTS sluice_skipped ("
      " consumer TEXT NOT NULL, rule TEXT NOT NULL, reason TEXT NOT NULL,"
      " count INTEGER NOT NULL, last_sequence_number TEXT NOT NULL,"
      " updated_at TEXT NOT NULL,"
      " PRIMARY KEY (consumer, rule, reason)) WITHOUT ROWID;");
  if (!tables.ok()) return tables;
  for (Rule& rule : rules_) {
    Status prepared = PrepareRuleTable(rule);
    if (!prepared.ok()) return prepared;
  }
  Result<Statement> read_mark = db_.Prepare(
      "read applied mark",
      "SELECT applied_offset, stream_arn, shard_created, lane, lane_count"
      " FROM sluice_applied WHERE consumer = ?1 AND shard_id = ?2");
  if (!read_mark.ok()) return read_mark.status();
  read_mark_ = std::move(read_mark).value();
  Result<Statement> write_mark = db_.Prepare(
      "write applied mark",
      "INSERT INTO sluice_applied (consumer, shard_id, lane, lane_count,"
      " stream_arn, shard_created, applied_offset, sequence_number, updated_at)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
      " ON CONFLICT (consumer, shard_id, lane_count, lane) DO UPDATE SET"
      " stream_arn = excluded.stream_arn,"
      " shard_created = excluded.shard_created,"
      " applied_offset = excluded.applied_offset,"
      " sequence_number = excluded.sequence_number,"
      " updated_at = excluded.updated_at");
  if (!write_mark.ok()) return write_mark.status();
  write_mark_ = std::move(write_mark).value();
  Result<Statement> count_skipped = db_.Prepare(
      "count skipped records",
      "INSERT INTO sluice_skipped (consumer, rule, reason, count,"
      " last_sequence_number, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
      " ON CONFLICT (consumer, rule, reason) DO UPDATE SET"
      " count = count + excluded.count,"
      " last_sequence_number = excluded.last_sequence_number,"
      " updated_at = excluded.updated_at");
  if (!count_skipped.ok()) return count_skipped.status();
  count_skipped_ = std::move(count_skipped).value();
  // Prepared once: sqlite3_exec would compile them for every batch.
  for (auto [statement, sql] :
       {std::pair{&begin_, "BEGIN IMMEDIATE"}, std::pair{&commit_, "COMMIT"},
        std::pair{&rollback_, "ROLLBACK"}}) {
    Result<Statement> prepared = db_.Prepare("apply metrics", sql);
    if (!prepared.ok()) return prepared.status();
    *statement = std::move(prepared).value();
  }
  return Status::Ok();
}

Status MetricsHandler::PrepareRuleTable(Rule& rule) {
  const std::string table = Quoted(rule.table);
  std::string create = "CREATE TABLE IF NOT EXISTS " + table +
                       " (key TEXT NOT NULL, sort_key TEXT NOT NULL";
  // Column definitions, also used to add columns a changed config names.
  std::vector<std::pair<std::string, std::string>> definitions;
  for (const Counter& counter : rule.counters) {
    // NUMERIC: a sum of fractions is REAL, of integers stays INTEGER.
    definitions.emplace_back(
        counter.column,
        Quoted(counter.column) + (counter.kind == Counter::Kind::kSum
                                      ? " NUMERIC NOT NULL DEFAULT 0"
                                      : " INTEGER NOT NULL DEFAULT 0"));
  }
  // No type: a last-seen value keeps the type it was set with.
  for (const Column& column : rule.columns) {
    definitions.emplace_back(column.column, Quoted(column.column));
  }
  for (const auto& [name, definition] : definitions) {
    create += ", " + definition;
  }
  create += ", PRIMARY KEY (key, sort_key)) WITHOUT ROWID";
  Status created = db_.Exec("create metrics table " + rule.table, create);
  if (!created.ok()) return created;

  // A table made by an earlier config may lack columns this one adds.
  std::set<std::string> existing;
  {
    Result<Statement> info = db_.Prepare("read columns of " + rule.table,
                                         "PRAGMA table_info(" + table + ")");
    if (!info.ok()) return info.status();
    while (true) {
      Result<bool> row = info->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      existing.insert(info->ColumnText(1));
    }
  }
  for (const auto& [name, definition] : definitions) {
    if (existing.count(name) != 0) continue;
    Status added =
        db_.Exec("add column " + name + " to " + rule.table,
                 "ALTER TABLE " + table + " ADD COLUMN " + definition);
    if (!added.ok()) return added;
  }

  // Both statements take key and sort key as ?1 and ?2, then the counters'
  // and the set columns' values in order.
  std::string columns = "key, sort_key";
  std::string values = "?1, ?2";
  std::string updates;
  int parameter = 3;
  // Appends piece by piece: GCC 12's -Wrestrict misfires on "a" + b + c.
  auto add_column = [&](const std::string& name, bool counter) {
    const std::string quoted = Quoted(name);
    std::string value = "?";
    value += std::to_string(parameter++);
    columns += ", ";
    columns += quoted;
    values += ", ";
    values += value;
    if (!updates.empty()) updates += ", ";
    updates += quoted;
    updates += " = ";
    if (counter) {
      updates += quoted;
      updates += " + ";
    }
    updates += value;
  };
  for (const Counter& counter : rule.counters) add_column(counter.column, true);
  for (const Column& column : rule.columns) add_column(column.column, false);
  Result<Statement> update =
      db_.Prepare("update metrics table " + rule.table,
                  "UPDATE " + table + " SET " + updates +
                      " WHERE key = ?1 AND sort_key = ?2");
  if (!update.ok()) return update.status();
  rule.update = std::move(update).value();
  Result<Statement> insert = db_.Prepare(
      "insert into metrics table " + rule.table,
      "INSERT INTO " + table + " (" + columns + ") VALUES (" + values + ")");
  if (!insert.ok()) return insert.status();
  rule.insert = std::move(insert).value();
  return Status::Ok();
}

void MetricsHandler::Fold(const Batch& batch, int64_t mark,
                          struct Aggregate& aggregate) const {
  RecordParser parser;
  std::string key;
  std::string sort_key;
  std::string_view missing;
  std::vector<Sum> sums;
  std::vector<TemplateValue> values;
  std::string row_id;
  for (const ConsumerRecord& record : batch.records) {
    if (static_cast<int64_t>(record.offset) <= mark) continue;
    const json::Value* json = parser.Parse(record.data);
    if (json == nullptr) {
      aggregate.Skipped("", "not JSON", record);
      continue;
    }
    const RecordContext context{*json, record, batch.shard_id};
    for (size_t r = 0; r < rules_.size(); ++r) {
      const Rule& rule = rules_[r];
      if (!rule.match.Matches(*json)) continue;
      key.clear();
      sort_key.clear();
      if (!rule.key.Expand(context, key, &missing) ||
          (rule.sort_key &&
           !rule.sort_key->Expand(context, sort_key, &missing))) {
        aggregate.Skipped(rule.table, "missing " + std::string(missing),
                          record);
        continue;
      }
      if (key.size() > kMaxKeyBytes || sort_key.size() > kMaxKeyBytes) {
        aggregate.Skipped(
            rule.table,
            "key longer than " + std::to_string(kMaxKeyBytes) + " bytes",
            record);
        continue;
      }
      // Evaluate everything before touching the row: a record a rule
      // cannot read changes nothing of that rule.
      sums.assign(rule.counters.size(), Sum{});
      std::optional<std::string> problem;
      for (size_t c = 0; c < rule.counters.size() && !problem; ++c) {
        const Counter& counter = rule.counters[c];
        if (counter.kind == Counter::Kind::kConstant) {
          sums[c].integer = counter.constant;
          continue;
        }
        const json::Value* field = counter.path->Find(*json);
        if (field == nullptr) {
          problem = "missing " + counter.path->text();
        } else if (counter.kind == Counter::Kind::kCents) {
          std::optional<int64_t> cents = ToCents(*field);
          if (!cents)
            problem = "not an amount: " + counter.path->text();
          else
            sums[c].integer = *cents;
        } else if (field->IsInt64()) {
          sums[c].integer = field->GetInt64();
        } else if (std::optional<double> number = ToNumber(*field)) {
          sums[c].real = *number;
          sums[c].has_real = true;
        } else {
          problem = "not a number: " + counter.path->text();
        }
      }
      // Reused record after record: no allocation once warm.
      values.resize(rule.columns.size());
      for (size_t s = 0; s < rule.columns.size() && !problem; ++s) {
        const Column& column = rule.columns[s];
        TemplateValue& value = values[s];
        if (!column.value.EvaluateInto(context, value, &missing)) {
          problem = "missing " + std::string(missing);
          break;
        }
        if (value.kind == TemplateValue::Kind::kText ||
            value.kind == TemplateValue::Kind::kJson) {
          value.text.resize(TruncateUtf8(value.text, column.max_length).size());
        }
      }
      if (problem) {
        aggregate.Skipped(rule.table, std::move(*problem), record);
        continue;
      }

      row_id.clear();
      row_id += std::to_string(r);
      row_id += '\0';
      row_id += key;
      row_id += '\0';
      row_id += sort_key;
      row_id += '\0';
      auto it = aggregate.row_index.find(std::string_view(row_id));
      if (it == aggregate.row_index.end()) {
        it = aggregate.row_index
                 .emplace(std::pmr::string(row_id, &aggregate.arena),
                          aggregate.rows.size())
                 .first;
        const std::string_view id = it->first;
        const size_t key_at = id.find('\0') + 1;
        RowUpdate& row = aggregate.rows.emplace_back(RowUpdate{
            r, id.substr(key_at, key.size()),
            id.substr(key_at + key.size() + 1, sort_key.size()),
            std::pmr::vector<Sum>(rule.counters.size(), &aggregate.arena),
            std::pmr::vector<SetValue>(&aggregate.arena)});
        row.values.reserve(values.size());
        for (size_t s = 0; s < values.size(); ++s) {
          row.values.emplace_back(&aggregate.arena);
        }
      }
      RowUpdate& row = aggregate.rows[it->second];
      for (size_t c = 0; c < sums.size(); ++c) {
        row.sums[c].integer += sums[c].integer;
        row.sums[c].real += sums[c].real;
        row.sums[c].has_real = row.sums[c].has_real || sums[c].has_real;
      }
      for (size_t s = 0; s < values.size(); ++s) row.values[s] = values[s];
    }
  }
}

Result<int64_t> MetricsHandler::AppliedMark(const Batch& batch,
                                            uint64_t shard_created) {
  StatementUse read(read_mark_);
  read->BindText(1, consumer_);
  read->BindText(2, batch.shard_id);
  // Marks of an earlier ParallelizationFactor, by lane count: min and max.
  std::map<int64_t, std::pair<int64_t, int64_t>> earlier;
  while (true) {
    Result<bool> row = read->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    // A mark of another stream (deleted and made again under the name) or
    // another incarnation of the shard says nothing about this one.
    if (read->ColumnText(1) != batch.stream_arn ||
        static_cast<uint64_t>(read->ColumnInt(2)) != shard_created) {
      continue;
    }
    const int64_t offset = read->ColumnInt(0);
    const int64_t lane_count = read->ColumnInt(4);
    if (lane_count == batch.lane_count) {
      if (read->ColumnInt(3) == batch.lane) return offset;
      continue;
    }
    auto [it, added] = earlier.try_emplace(lane_count, offset, offset);
    it->second.first = std::min(it->second.first, offset);
    it->second.second = std::max(it->second.second, offset);
  }
  if (earlier.empty()) return int64_t{-1};
  // This lane has no mark yet under the current factor, but the shard was
  // counted with another one (a consumer re-created with a different
  // ParallelizationFactor). Every lane of the latest such factor applied
  // its records up to its own mark, so at least up to their lowest one.
  const auto latest = std::max_element(
      earlier.begin(), earlier.end(), [](const auto& a, const auto& b) {
        return a.second.second < b.second.second;
      });
  if (latest->second.first != latest->second.second) {
    SLUICE_LOG(kWarn) << "consumer " << consumer_ << " " << batch.shard_id
                      << ": ParallelizationFactor changed from "
                      << latest->first << " to " << batch.lane_count
                      << "; records at offsets " << latest->second.first + 1
                      << " to " << latest->second.second
                      << " may be counted twice";
  }
  return latest->second.first;
}

Status MetricsHandler::Write(const Batch& batch, uint64_t shard_created,
                             const struct Aggregate& aggregate) {
  auto bind = [](Statement& statement, const RowUpdate& row) {
    statement.BindTextNoCopy(1, row.key);
    statement.BindTextNoCopy(2, row.sort_key);
    int parameter = 3;
    for (const Sum& sum : row.sums) {
      if (sum.has_real) {
        statement.BindDouble(parameter++,
                             static_cast<double>(sum.integer) + sum.real);
      } else {
        statement.BindInt(parameter++, sum.integer);
      }
    }
    for (const SetValue& value : row.values) {
      switch (value.kind) {
        case TemplateValue::Kind::kText:
        case TemplateValue::Kind::kJson:
          statement.BindTextNoCopy(parameter++, value.text);
          break;
        case TemplateValue::Kind::kInt:
          statement.BindInt(parameter++, value.int_value);
          break;
        case TemplateValue::Kind::kReal:
          statement.BindDouble(parameter++, value.real_value);
          break;
        case TemplateValue::Kind::kBool:
          statement.BindInt(parameter++, value.bool_value ? 1 : 0);
          break;
      }
    }
  };
  for (const RowUpdate& row : aggregate.rows) {
    Rule& rule = rules_[row.rule];
    {
      StatementUse update(rule.update);
      bind(*update, row);
      Status ran = update->Run();
      if (!ran.ok()) return ran;
      if (db_.Changes() > 0) continue;
    }
    StatementUse insert(rule.insert);
    bind(*insert, row);
    Status ran = insert->Run();
    if (!ran.ok()) return ran;
  }
  const std::string now = FormatIsoMillis(clock_->NowMillis());
  for (const Skip& skip : aggregate.skips) {
    StatementUse count(count_skipped_);
    count->BindTextNoCopy(1, consumer_);
    count->BindTextNoCopy(2, skip.rule);
    count->BindTextNoCopy(3, skip.reason);
    count->BindInt(4, skip.count);
    count->BindTextNoCopy(5, skip.sequence_number);
    count->BindTextNoCopy(6, now);
    Status ran = count->Run();
    if (!ran.ok()) return ran;
  }
  const ConsumerRecord& last = batch.records.back();
  StatementUse mark(write_mark_);
  mark->BindTextNoCopy(1, consumer_);
  mark->BindTextNoCopy(2, batch.shard_id);
  mark->BindInt(3, batch.lane);
  mark->BindInt(4, batch.lane_count);
  mark->BindTextNoCopy(5, batch.stream_arn);
  mark->BindInt(6, static_cast<int64_t>(shard_created));
  mark->BindInt(7, static_cast<int64_t>(last.offset));
  mark->BindTextNoCopy(8, last.sequence_number);
  mark->BindTextNoCopy(9, now);
  return mark->Run();
}

HandlerResult MetricsHandler::Handle(const Batch& batch) {
  if (batch.records.empty()) return HandlerResult::Success();
  const std::optional<SequenceNumberParts> first =
      DecodeSequenceNumber(batch.records.front().sequence_number);
  const uint64_t shard_created =
      first.has_value() ? first->shard_creation_seconds : 0;
  const int64_t last_offset = static_cast<int64_t>(batch.records.back().offset);
  MarkKey lane{batch.stream_arn, batch.shard_id, shard_created, batch.lane,
               batch.lane_count};

  Result<int64_t> mark = int64_t{-1};
  {
    std::lock_guard lock(write_mu_);
    auto cached = marks_.find(lane);
    mark = cached != marks_.end() ? Result<int64_t>(cached->second)
                                  : AppliedMark(batch, shard_created);
  }
  if (!mark.ok()) return HandlerResult::FunctionError(mark.status().message());
  if (*mark >= last_offset) return HandlerResult::Success();  // seen it all

  // Parsing and folding run outside the lock, so lanes overlap in them.
  const size_t max_rows = batch.records.size() * rules_.size();
  const std::span<std::byte> memory = ArenaMemory(max_rows);
  std::optional<struct Aggregate> aggregate(std::in_place, memory, max_rows);
  Fold(batch, *mark, *aggregate);

  std::lock_guard lock(write_mu_);
  // Whatever happens below, the next call reads its mark from the database.
  marks_.erase(lane);
  Status written = RunStatement(begin_);
  if (!written.ok()) return HandlerResult::FunctionError(written.message());
  // The mark read (or remembered) above is the one to apply against: calls
  // for one lane never overlap. Check anyway, as the file may be shared by
  // mistake.
  Result<int64_t> current = AppliedMark(batch, shard_created);
  if (!current.ok()) {
    Rollback();
    return HandlerResult::FunctionError(current.status().message());
  }
  if (*current != *mark) {
    if (*current >= last_offset) {
      Rollback();
      return HandlerResult::Success();
    }
    aggregate.reset();
    aggregate.emplace(memory, max_rows);
    Fold(batch, *current, *aggregate);
  }
  written = Write(batch, shard_created, *aggregate);
  if (written.ok()) written = RunStatement(commit_);
  if (!written.ok()) {
    Rollback();
    return HandlerResult::FunctionError(written.message());
  }
  marks_.emplace(std::move(lane), last_offset);
  return HandlerResult::Success();
}

Status MetricsHandler::RunStatement(Statement& statement) {
  StatementUse use(statement);
  return use->Run();
}

void MetricsHandler::Rollback() {
  // A failed statement may already have rolled SQLite back; then there is
  // nothing to undo.
  if (!db_.InTransaction()) return;
  Status rolled_back = RunStatement(rollback_);
  if (!rolled_back.ok()) {
    SLUICE_LOG(kWarn) << "consumer " << consumer_ << ": "
                      << rolled_back.message();
  }
}

Result<std::string> MetricsHandler::Query(const MetricsQuery& query) {
  if (query.limit < 1 || query.limit > kMaxMetricsQueryLimit) {
    return Status(ErrorCode::kInvalidArgument,
                  "Limit must be from 1 to " +
                      std::to_string(kMaxMetricsQueryLimit) + ".");
  }
  const Rule* rule = nullptr;
  if (!query.table.empty()) {
    for (const Rule& candidate : rules_) {
      if (candidate.table == query.table) rule = &candidate;
    }
    if (rule == nullptr) {
      return Status(ErrorCode::kResourceNotFound, "Consumer " + consumer_ +
                                                      " has no metrics table " +
                                                      query.table + ".");
    }
  }

  std::lock_guard lock(query_mu_);
  if (query_db_.handle() == nullptr) {
    // A second connection: in WAL mode it reads the last commit without
    // waiting for a batch being written.
    Result<Database> db = OpenHandlerDatabase(path_, synchronous_);
    if (!db.ok()) return db.status();
    query_db_ = std::move(db).value();
  }
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> out(buffer);
  auto write_column = [&out](const Statement& row, int column) {
    switch (row.TypeOf(column)) {
      case Statement::ColumnType::kInteger:
        out.Int64(row.ColumnInt(column));
        break;
      case Statement::ColumnType::kReal:
        out.Double(row.ColumnDouble(column));
        break;
      case Statement::ColumnType::kNull:
        out.Null();
        break;
      default: {
        const std::string text = row.ColumnText(column);
        out.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
        break;
      }
    }
  };
  // Runs `sql` and writes each row as an object, or as what `row` writes.
  auto write_rows = [&](const std::string& sql, auto bind,
                        size_t limit) -> Result<bool> {
    Result<Statement> select = query_db_.Prepare("query metrics", sql);
    if (!select.ok()) return select.status();
    bind(*select);
    size_t rows = 0;
    while (true) {
      Result<bool> row = select->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      if (rows++ == limit) return true;  // truncated
      out.StartObject();
      for (int c = 0; c < select->ColumnCount(); ++c) {
        const std::string name = select->ColumnName(c);
        out.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
        write_column(*select, c);
      }
      out.EndObject();
    }
    return false;
  };

  out.StartObject();
  out.Key("Consumer");
  out.String(consumer_);
  if (rule != nullptr) {
    out.Key("Table");
    out.String(rule->table);
    std::string sql = "SELECT * FROM " + Quoted(rule->table);
    if (query.key) sql += " WHERE key = ?1";
    if (query.key && query.sort_key) sql += " AND sort_key = ?2";
    if (!query.key && query.sort_key) sql += " WHERE sort_key = ?2";
    sql += " ORDER BY key, sort_key LIMIT " + std::to_string(query.limit + 1);
    out.Key("Rows");
    out.StartArray();
    Result<bool> truncated = write_rows(
        sql,
        [&](Statement& select) {
          if (query.key) select.BindText(1, *query.key);
          if (query.sort_key) select.BindText(2, *query.sort_key);
        },
        query.limit);
    if (!truncated.ok()) return truncated.status();
    out.EndArray();
    out.Key("Truncated");
    out.Bool(*truncated);
    out.EndObject();
    return std::string(buffer.GetString(), buffer.GetSize());
  }

  out.Key("Database");
  out.String(path_.string());
  out.Key("Tables");
  out.StartArray();
  for (const Rule& each : rules_) {
    Result<Statement> count = query_db_.Prepare(
        "count rows", "SELECT count(*) FROM " + Quoted(each.table));
    if (!count.ok()) return count.status();
    Result<bool> row = count->Step();
    if (!row.ok()) return row.status();
    out.StartObject();
    out.Key("Table");
    out.String(each.table);
    out.Key("Rows");
    out.Int64(count->ColumnInt(0));
    out.EndObject();
  }
  out.EndArray();
  auto bind_consumer = [this](Statement& select) {
    select.BindText(1, consumer_);
  };
  out.Key("Skipped");
  out.StartArray();
  Result<bool> skipped = write_rows(
      "SELECT rule, reason, count, last_sequence_number, updated_at"
      " FROM sluice_skipped WHERE consumer = ?1 ORDER BY rule, reason",
      bind_consumer, kMaxMetricsQueryLimit);
  if (!skipped.ok()) return skipped.status();
  out.EndArray();
  out.Key("Applied");
  out.StartArray();
  Result<bool> applied = write_rows(
      "SELECT shard_id, lane, lane_count, applied_offset, sequence_number,"
      " updated_at FROM sluice_applied WHERE consumer = ?1"
      " ORDER BY shard_id, lane",
      bind_consumer, kMaxMetricsQueryLimit);
  if (!applied.ok()) return applied.status();
  out.EndArray();
  out.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace sluice::consumers
