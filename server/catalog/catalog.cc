#include "server/catalog/catalog.h"

#include <algorithm>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <limits>

#include "server/catalog/schema.h"

namespace sluice::catalog {
namespace {

constexpr std::string_view kMemoryPath = ":memory:";

// Long enough to ride out an operator's sqlite3 shell holding a lock for a
// moment; short enough that a stuck lock fails a request instead of hanging it.
constexpr int kBusyTimeoutMillis = 5000;

// The stream columns in the order ReadStream() expects them.
#define SLUICE_STREAM_COLUMNS                                           \
  "stream_id, account_id, region, name, status, mode, created_at, "     \
  "retention_hours, max_record_size_kib, encryption_type, kms_key_id, " \
  "next_shard_index"

#define SLUICE_DELIVERY_STREAM_COLUMNS                            \
  "delivery_stream_id, account_id, region, name, type, status, "  \
  "created_at, updated_at, version_id, destination, encryption, " \
  "delivered_offset, planned_object, source"

#define SLUICE_SHARD_COLUMNS                                                  \
  "stream_id, shard_index, hash_key_start, hash_key_end, parent_index, "      \
  "adjacent_parent_index, starting_sequence_number, ending_sequence_number, " \
  "created_at, closed_at"

Status Internal(std::string message) {
  return Status(ErrorCode::kInternalFailure, std::move(message));
}

Status StreamNotFound(std::string_view name, std::string_view account_id) {
  return Status(ErrorCode::kResourceNotFound,
                "Stream " + std::string(name) + " under account " +
                    std::string(account_id) + " not found.");
}

// For calls that only have the id, of a stream that may never have existed.
Status StreamIdNotFound(int64_t stream_id) {
  return Status(ErrorCode::kResourceNotFound,
                "Stream with id " + std::to_string(stream_id) + " not found.");
}

std::optional<uint32_t> ToOptionalIndex(const std::optional<int64_t>& value) {
  if (!value.has_value()) return std::nullopt;
  return static_cast<uint32_t>(*value);
}

std::optional<int64_t> ToOptionalInt(const std::optional<uint32_t>& value) {
  if (!value.has_value()) return std::nullopt;
  return static_cast<int64_t>(*value);
}

Result<StreamRecord> ReadStream(const Statement& row) {
  StreamRecord stream;
  stream.stream_id = row.ColumnInt(0);
  stream.account_id = row.ColumnText(1);
  stream.region = row.ColumnText(2);
  stream.name = row.ColumnText(3);
  const std::string status = row.ColumnText(4);
  const std::optional<StreamStatus> parsed_status = ParseStreamStatus(status);
  if (!parsed_status.has_value()) {
    return Internal("catalog holds unknown stream status '" + status + "'");
  }
  stream.status = *parsed_status;
  const std::string mode = row.ColumnText(5);
  const std::optional<StreamMode> parsed_mode = ParseStreamMode(mode);
  if (!parsed_mode.has_value()) {
    return Internal("catalog holds unknown stream mode '" + mode + "'");
  }
  stream.mode = *parsed_mode;
  stream.created_at = row.ColumnInt(6);
  stream.retention_hours = static_cast<int>(row.ColumnInt(7));
  stream.max_record_size_kib = static_cast<int>(row.ColumnInt(8));
  stream.encryption_type = row.ColumnText(9);
  stream.kms_key_id = row.ColumnText(10);
  stream.next_shard_index = static_cast<uint32_t>(row.ColumnInt(11));
  return stream;
}

DeliveryStreamRecord ReadDeliveryStream(const Statement& row) {
  DeliveryStreamRecord stream;
  stream.delivery_stream_id = row.ColumnInt(0);
  stream.account_id = row.ColumnText(1);
  stream.region = row.ColumnText(2);
  stream.name = row.ColumnText(3);
  stream.type = row.ColumnText(4);
  stream.status = row.ColumnText(5);
  stream.created_at = row.ColumnInt(6);
  stream.updated_at = row.ColumnInt(7);
  stream.version_id = row.ColumnInt(8);
  stream.destination = row.ColumnText(9);
  stream.encryption = row.ColumnText(10);
  stream.delivered_offset = static_cast<uint64_t>(row.ColumnInt(11));
  stream.planned_object = row.ColumnOptionalText(12);
  stream.source = row.ColumnOptionalText(13);
  return stream;
}

Status DeliveryStreamIdNotFound(int64_t id) {
  return Status(
      ErrorCode::kResourceNotFound,
      "Delivery stream with id " + std::to_string(id) + " not found.");
}

ShardRecord ReadShard(const Statement& row) {
  ShardRecord shard;
  shard.stream_id = row.ColumnInt(0);
  shard.shard_index = static_cast<uint32_t>(row.ColumnInt(1));
  shard.hash_key_start = row.ColumnText(2);
  shard.hash_key_end = row.ColumnText(3);
  shard.parent_index = ToOptionalIndex(row.ColumnOptionalInt(4));
  shard.adjacent_parent_index = ToOptionalIndex(row.ColumnOptionalInt(5));
  shard.starting_sequence_number = row.ColumnText(6);
  shard.ending_sequence_number = row.ColumnOptionalText(7);
  shard.created_at = row.ColumnInt(8);
  shard.closed_at = row.ColumnOptionalInt(9);
  return shard;
}

Result<ConsumerRecord> ReadConsumer(const Statement& row) {
  ConsumerRecord consumer;
  consumer.stream_id = row.ColumnInt(0);
  consumer.name = row.ColumnText(1);
  const std::string status = row.ColumnText(2);
  const std::optional<ConsumerStatus> parsed = ParseConsumerStatus(status);
  if (!parsed.has_value()) {
    return Internal("catalog holds unknown consumer status '" + status + "'");
  }
  consumer.status = *parsed;
  consumer.created_at = row.ColumnInt(3);
  return consumer;
}

Status ConsumerNotFound(int64_t stream_id, std::string_view name) {
  return Status(ErrorCode::kResourceNotFound,
                "Consumer " + std::string(name) +
                    " not found in stream with id " +
                    std::to_string(stream_id) + ".");
}

// Resharding bookkeeping the catalog relies on: shard indexes are never
// reused, so each must be below the stream's next_shard_index.
Status CheckShardIndexes(const std::vector<ShardRecord>& shards,
                         uint32_t next_shard_index, std::string_view what) {
  for (const ShardRecord& shard : shards) {
    if (shard.shard_index >= next_shard_index) {
      return Internal(std::string(what) + " failed: shard index " +
                      std::to_string(shard.shard_index) +
                      " is not below next_shard_index " +
                      std::to_string(next_shard_index));
    }
  }
  return Status::Ok();
}

}  // namespace

std::string_view ToString(StreamStatus status) {
  switch (status) {
    case StreamStatus::kCreating:
      return "CREATING";
    case StreamStatus::kActive:
      return "ACTIVE";
    case StreamStatus::kUpdating:
      return "UPDATING";
    case StreamStatus::kDeleting:
      return "DELETING";
  }
  return "UNKNOWN";  // unreachable for a valid enum value
}

std::string_view ToString(StreamMode mode) {
  switch (mode) {
    case StreamMode::kProvisioned:
      return "PROVISIONED";
    case StreamMode::kOnDemand:
      return "ON_DEMAND";
  }
  return "UNKNOWN";  // unreachable for a valid enum value
}

std::optional<StreamStatus> ParseStreamStatus(std::string_view text) {
  for (StreamStatus status :
       {StreamStatus::kCreating, StreamStatus::kActive, StreamStatus::kUpdating,
        StreamStatus::kDeleting}) {
    if (ToString(status) == text) return status;
  }
  return std::nullopt;
}

std::optional<StreamMode> ParseStreamMode(std::string_view text) {
  for (StreamMode mode : {StreamMode::kProvisioned, StreamMode::kOnDemand}) {
    if (ToString(mode) == text) return mode;
  }
  return std::nullopt;
}

std::string StreamRecord::Arn() const {
  return "arn:aws:kinesis:" + region + ":" + account_id + ":stream/" + name;
}

std::string_view ToString(ConsumerStatus status) {
  switch (status) {
    case ConsumerStatus::kCreating:
      return "CREATING";
    case ConsumerStatus::kActive:
      return "ACTIVE";
    case ConsumerStatus::kDeleting:
      return "DELETING";
  }
  return "UNKNOWN";  // unreachable for a valid enum value
}

std::optional<ConsumerStatus> ParseConsumerStatus(std::string_view text) {
  for (ConsumerStatus status :
       {ConsumerStatus::kCreating, ConsumerStatus::kActive,
        ConsumerStatus::kDeleting}) {
    if (ToString(status) == text) return status;
  }
  return std::nullopt;
}

std::string ConsumerRecord::Arn(std::string_view stream_arn) const {
  return std::string(stream_arn) + "/consumer/" + name + ":" +
         std::to_string(created_at / 1000);
}

std::string DeliveryStreamRecord::Arn() const {
  return "arn:aws:firehose:" + region + ":" + account_id + ":deliverystream/" +
         name;
}

std::string ShardIdFor(uint32_t shard_index) {
  char id[32];
  std::snprintf(id, sizeof(id), "shardId-%012" PRIu32, shard_index);
  return id;
}

std::optional<uint32_t> ParseShardIndex(std::string_view shard_id) {
  if (size_t dash = shard_id.rfind('-'); dash != std::string_view::npos) {
    shard_id.remove_prefix(dash + 1);
  }
  uint32_t index = 0;
  const char* end = shard_id.data() + shard_id.size();
  auto [ptr, ec] = std::from_chars(shard_id.data(), end, index);
  if (shard_id.empty() || ec != std::errc() || ptr != end ||
      index > 2147483647u) {
    return std::nullopt;
  }
  return index;
}

std::string ShardRecord::ShardId() const { return ShardIdFor(shard_index); }

// --- Prepared statements ----------------------------------------------------

// Every statement the catalog runs, prepared once at Open() and reused, so a
// call costs no SQL parsing. Guarded by Catalog::mu_, like the connection.
struct Catalog::Statements {
  Statement insert_stream;
  Statement find_stream;
  Statement find_stream_by_id;
  Statement list_streams;
  Statement list_all_streams;
  Statement update_stream;
  Statement delete_stream;
  Statement set_next_shard_index;
  Statement select_metrics;
  Statement delete_metrics;
  Statement insert_metric;
  Statement insert_shard;
  Statement upsert_shard;
  Statement list_shards;
  Statement upsert_tag;
  Statement delete_tag;
  Statement list_tags;
  Statement delete_stream_tags;
  Statement upsert_policy;
  Statement select_policy;
  Statement delete_policy;
  Statement delete_stream_policies;
  Statement save_checkpoint;
  Statement load_checkpoint;
  Statement insert_consumer;
  Statement update_consumer_status;
  Statement find_consumer;
  Statement delete_consumer;
  Statement list_consumers;
  Statement delete_arn_tags;
  Statement delete_reader_checkpoints;
  Statement save_delivery_reader;
  Statement load_delivery_reader;
  Statement lowest_delivery_reader;
  Statement delete_delivery_readers;
  Statement insert_delivery_stream;
  Statement find_delivery_stream;
  Statement find_delivery_stream_by_id;
  Statement list_all_delivery_streams;
  Statement update_delivery_stream;
  Statement save_delivery_checkpoint;
  Statement delete_delivery_stream;
  Statement insert_event_consumer;
  Statement list_event_consumers;
  Statement pause_event_consumer;
  Statement delete_event_consumer;
  Statement insert_gateway_key;
  Statement list_gateway_keys;
  Statement delete_gateway_key;

  static Result<std::unique_ptr<Statements>> Prepare(Database& db) {
    struct Definition {
      Statement Statements::*member;
      std::string_view what;
      std::string_view sql;
    };
    static constexpr Definition kDefinitions[] = {
        {&Statements::insert_stream, "insert stream",
         "INSERT INTO streams (account_id, region, name, status, mode, "
         "created_at, retention_hours, max_record_size_kib, encryption_type, "
         "kms_key_id, next_shard_index) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
         "RETURNING stream_id"},
        {&Statements::find_stream, "find stream",
         "SELECT " SLUICE_STREAM_COLUMNS
         " FROM streams WHERE account_id = ?1 AND region = ?2 AND name = ?3"},
        {&Statements::find_stream_by_id, "find stream by id",
         "SELECT " SLUICE_STREAM_COLUMNS " FROM streams WHERE stream_id = ?1"},
        {&Statements::list_streams, "list streams",
         "SELECT " SLUICE_STREAM_COLUMNS
         " FROM streams WHERE account_id = ?1 AND region = ?2 AND name > ?3 "
         "ORDER BY name LIMIT ?4"},
        {&Statements::list_all_streams, "list all streams",
         "SELECT " SLUICE_STREAM_COLUMNS " FROM streams ORDER BY stream_id"},
        {&Statements::update_stream, "update stream",
         "UPDATE streams SET status = ?2, mode = ?3, retention_hours = ?4, "
         "max_record_size_kib = ?5, encryption_type = ?6, kms_key_id = ?7, "
         "next_shard_index = ?8 WHERE stream_id = ?1"},
        {&Statements::delete_stream, "delete stream",
         "DELETE FROM streams WHERE stream_id = ?1"},
        {&Statements::set_next_shard_index, "set next shard index",
         "UPDATE streams SET next_shard_index = ?2 WHERE stream_id = ?1"},
        {&Statements::select_metrics, "select shard-level metrics",
         "SELECT metric FROM stream_shard_level_metrics WHERE stream_id = ?1 "
         "ORDER BY metric"},
        {&Statements::delete_metrics, "delete shard-level metrics",
         "DELETE FROM stream_shard_level_metrics WHERE stream_id = ?1"},
        {&Statements::insert_metric, "insert shard-level metric",
         "INSERT OR IGNORE INTO stream_shard_level_metrics (stream_id, metric) "
         "VALUES (?1, ?2)"},
        // Plain INSERT: a repeated index in CreateStream is a caller's bug.
        {&Statements::insert_shard, "insert shard",
         "INSERT INTO shards (" SLUICE_SHARD_COLUMNS
         ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"},
        {&Statements::upsert_shard, "write shard",
         "INSERT INTO shards (" SLUICE_SHARD_COLUMNS
         ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
         "ON CONFLICT (stream_id, shard_index) DO UPDATE SET "
         "hash_key_start = excluded.hash_key_start, "
         "hash_key_end = excluded.hash_key_end, "
         "parent_index = excluded.parent_index, "
         "adjacent_parent_index = excluded.adjacent_parent_index, "
         "starting_sequence_number = excluded.starting_sequence_number, "
         "ending_sequence_number = excluded.ending_sequence_number, "
         "created_at = excluded.created_at, closed_at = excluded.closed_at"},
        {&Statements::list_shards, "list shards",
         "SELECT " SLUICE_SHARD_COLUMNS
         " FROM shards WHERE stream_id = ?1 ORDER BY shard_index"},
        {&Statements::upsert_tag, "write tag",
         "INSERT INTO tags (arn, key, value) VALUES (?1, ?2, ?3) "
         "ON CONFLICT (arn, key) DO UPDATE SET value = excluded.value"},
        {&Statements::delete_tag, "delete tag",
         "DELETE FROM tags WHERE arn = ?1 AND key = ?2"},
        {&Statements::list_tags, "list tags",
         "SELECT key, value FROM tags WHERE arn = ?1 ORDER BY key"},
        // The stream's own ARN, and every ARN below it ("<arn>/consumer/..."):
        // '0' is the byte after '/', so the range uses the primary key.
        {&Statements::delete_stream_tags, "delete stream tags",
         "DELETE FROM tags WHERE arn = ?1 "
         "OR (arn >= ?1 || '/' AND arn < ?1 || '0')"},
        {&Statements::upsert_policy, "write resource policy",
         "INSERT INTO resource_policies (arn, policy) VALUES (?1, ?2) "
         "ON CONFLICT (arn) DO UPDATE SET policy = excluded.policy"},
        {&Statements::select_policy, "read resource policy",
         "SELECT policy FROM resource_policies WHERE arn = ?1"},
        {&Statements::delete_policy, "delete resource policy",
         "DELETE FROM resource_policies WHERE arn = ?1"},
        // As delete_stream_tags: the stream's ARN and every ARN below it.
        {&Statements::delete_stream_policies, "delete stream policies",
         "DELETE FROM resource_policies WHERE arn = ?1 "
         "OR (arn >= ?1 || '/' AND arn < ?1 || '0')"},
        {&Statements::save_checkpoint, "save checkpoint",
         "INSERT INTO checkpoints (reader, stream_id, shard_index, position) "
         "VALUES (?1, ?2, ?3, ?4) "
         "ON CONFLICT (reader, stream_id, shard_index) "
         "DO UPDATE SET position = excluded.position"},
        {&Statements::load_checkpoint, "load checkpoint",
         "SELECT position FROM checkpoints "
         "WHERE reader = ?1 AND stream_id = ?2 AND shard_index = ?3"},
        {&Statements::insert_consumer, "insert consumer",
         "INSERT INTO consumers (stream_id, name, status, created_at) "
         "VALUES (?1, ?2, ?3, ?4)"},
        {&Statements::update_consumer_status, "update consumer status",
         "UPDATE consumers SET status = ?3 WHERE stream_id = ?1 AND name = ?2"},
        {&Statements::find_consumer, "find consumer",
         "SELECT stream_id, name, status, created_at FROM consumers "
         "WHERE stream_id = ?1 AND name = ?2"},
        {&Statements::delete_consumer, "delete consumer",
         "DELETE FROM consumers WHERE stream_id = ?1 AND name = ?2"},
        {&Statements::list_consumers, "list consumers",
         "SELECT stream_id, name, status, created_at FROM consumers "
         "WHERE stream_id = ?1 ORDER BY name"},
        {&Statements::delete_arn_tags, "delete tags of an ARN",
         "DELETE FROM tags WHERE arn = ?1"},
        {&Statements::delete_reader_checkpoints, "delete reader checkpoints",
         "DELETE FROM checkpoints WHERE reader = ?1"},
        {&Statements::save_delivery_reader, "save delivery reader position",
         "INSERT INTO delivery_readers (reader, delivery_stream_id, position) "
         "VALUES (?1, ?2, ?3) ON CONFLICT (reader, delivery_stream_id) "
         "DO UPDATE SET position = excluded.position"},
        {&Statements::load_delivery_reader, "load delivery reader position",
         "SELECT position FROM delivery_readers "
         "WHERE reader = ?1 AND delivery_stream_id = ?2"},
        {&Statements::lowest_delivery_reader, "lowest delivery reader position",
         "SELECT MIN(position) FROM delivery_readers "
         "WHERE delivery_stream_id = ?1"},
        {&Statements::delete_delivery_readers, "delete delivery reader",
         "DELETE FROM delivery_readers WHERE reader = ?1"},
        {&Statements::insert_delivery_stream, "insert delivery stream",
         "INSERT INTO delivery_streams (account_id, region, name, type, "
         "status, created_at, updated_at, version_id, destination, "
         "encryption, delivered_offset, planned_object, source) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
         "RETURNING delivery_stream_id"},
        {&Statements::find_delivery_stream, "find delivery stream",
         "SELECT " SLUICE_DELIVERY_STREAM_COLUMNS
         " FROM delivery_streams WHERE account_id = ?1 AND region = ?2 "
         "AND name = ?3"},
        {&Statements::find_delivery_stream_by_id, "find delivery stream by id",
         "SELECT " SLUICE_DELIVERY_STREAM_COLUMNS
         " FROM delivery_streams WHERE delivery_stream_id = ?1"},
        {&Statements::list_all_delivery_streams, "list all delivery streams",
         "SELECT " SLUICE_DELIVERY_STREAM_COLUMNS
         " FROM delivery_streams ORDER BY delivery_stream_id"},
        {&Statements::update_delivery_stream, "update delivery stream",
         "UPDATE delivery_streams SET status = ?2, updated_at = ?3, "
         "version_id = ?4, destination = ?5, encryption = ?6 "
         "WHERE delivery_stream_id = ?1"},
        {&Statements::save_delivery_checkpoint, "save delivery checkpoint",
         "UPDATE delivery_streams SET delivered_offset = ?2, "
         "planned_object = ?3 WHERE delivery_stream_id = ?1"},
        {&Statements::delete_delivery_stream, "delete delivery stream",
         "DELETE FROM delivery_streams WHERE delivery_stream_id = ?1"},
        {&Statements::insert_event_consumer, "insert in-process consumer",
         "INSERT INTO event_consumers (name, account_id, region, definition, "
         "paused, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"},
        {&Statements::list_event_consumers, "list in-process consumers",
         "SELECT name, account_id, region, definition, paused, created_at "
         "FROM event_consumers ORDER BY name"},
        {&Statements::pause_event_consumer, "pause in-process consumer",
         "UPDATE event_consumers SET paused = ?2 WHERE name = ?1"},
        {&Statements::delete_event_consumer, "delete in-process consumer",
         "DELETE FROM event_consumers WHERE name = ?1"},
        {&Statements::insert_gateway_key, "insert gateway key",
         "INSERT INTO gateway_keys (name, sha256, settings, created_at) "
         "VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING"},
        {&Statements::list_gateway_keys, "list gateway keys",
         "SELECT name, sha256, settings, created_at FROM gateway_keys "
         "ORDER BY name"},
        {&Statements::delete_gateway_key, "delete gateway key",
         "DELETE FROM gateway_keys WHERE name = ?1"},
    };
    auto statements = std::make_unique<Statements>();
    for (const Definition& definition : kDefinitions) {
      Result<Statement> statement =
          db.Prepare("Catalog " + std::string(definition.what), definition.sql);
      if (!statement.ok()) return statement.status();
      (*statements).*definition.member = std::move(statement).value();
    }
    return statements;
  }
};

#undef SLUICE_STREAM_COLUMNS
#undef SLUICE_SHARD_COLUMNS
#undef SLUICE_DELIVERY_STREAM_COLUMNS

// --- Catalog ----------------------------------------------------------------

Catalog::Catalog(Database db, std::unique_ptr<Statements> statements,
                 int schema_version)
    : schema_version_(schema_version),
      db_(std::move(db)),
      statements_(std::move(statements)) {}

Catalog::~Catalog() = default;

Result<std::unique_ptr<Catalog>> Catalog::Open(const std::string& path) {
  Result<Database> opened = Database::Open(path);
  if (!opened.ok()) return opened.status();
  Database db = std::move(opened).value();
  // SQLite opens lazily, so a file that is not a database, or is unreadable,
  // fails at the first pragma; name the file in what the operator sees.
  auto in_file = [&path](const Status& status) {
    return Internal("Catalog " + path + ": " + status.message());
  };

  Status busy =
      db.Exec("set busy_timeout",
              "PRAGMA busy_timeout = " + std::to_string(kBusyTimeoutMillis));
  if (!busy.ok()) return in_file(busy);

  if (path != kMemoryPath) {
    // WAL: readers (an operator's sqlite3 shell, a backup) never block our
    // writes, and a commit appends to one file instead of rewriting pages in
    // place behind a rollback journal.
    Result<std::string> mode = db.PragmaText("journal_mode = WAL");
    if (!mode.ok()) return in_file(mode.status());
    if (*mode != "wal") {
      return Internal("Catalog " + path +
                      ": could not enter WAL mode; journal mode is " + *mode);
    }
    // FULL, not NORMAL: with NORMAL a commit survives a process crash but can
    // be lost to a power cut or OS crash. The catalog holds acknowledged
    // control-plane changes (a created stream whose shard logs already exist,
    // a closed parent shard), and losing one would leave metadata behind the
    // data. Those changes come at most a few per second, so the one WAL fsync
    // per commit costs nothing anyone notices. Checkpoints share the
    // connection and pay it too; they are saved once per delivered batch.
    Status sync = db.Exec("set synchronous", "PRAGMA synchronous = FULL");
    if (!sync.ok()) return in_file(sync);
  }

  // Migrate names the file in its own errors.
  Result<int> version = Migrate(db, CatalogMigrations(), path);
  if (!version.ok()) return version.status();

  // Enforced from here on: cascading deletes and checkpoint-to-shard links
  // depend on it.
  Status keys = db.Exec("enable foreign keys", "PRAGMA foreign_keys = ON");
  if (!keys.ok()) return in_file(keys);
  Result<int64_t> enabled = db.PragmaInt("foreign_keys");
  if (!enabled.ok()) return in_file(enabled.status());
  if (*enabled != 1) {
    return Internal("Catalog " + path +
                    ": this SQLite build does not enforce foreign keys");
  }

  Result<std::unique_ptr<Statements>> statements = Statements::Prepare(db);
  if (!statements.ok()) return in_file(statements.status());
  return std::unique_ptr<Catalog>(
      new Catalog(std::move(db), std::move(statements).value(), *version));
}

// --- Streams ----------------------------------------------------------------

Status Catalog::CreateStream(StreamRecord& stream,
                             const std::vector<ShardRecord>& shards) {
  Status indexes =
      CheckShardIndexes(shards, stream.next_shard_index, "CreateStream");
  if (!indexes.ok()) return indexes;

  std::lock_guard lock(mu_);
  Result<Transaction> txn = Transaction::Begin(db_, "CreateStream");
  if (!txn.ok()) return txn.status();

  int64_t stream_id = 0;
  {
    StatementUse insert(statements_->insert_stream);
    insert->BindText(1, stream.account_id);
    insert->BindText(2, stream.region);
    insert->BindText(3, stream.name);
    insert->BindText(4, ToString(stream.status));
    insert->BindText(5, ToString(stream.mode));
    insert->BindInt(6, stream.created_at);
    insert->BindInt(7, stream.retention_hours);
    insert->BindInt(8, stream.max_record_size_kib);
    insert->BindText(9, stream.encryption_type);
    insert->BindText(10, stream.kms_key_id);
    insert->BindInt(11, stream.next_shard_index);
    Result<bool> row = insert->Step();
    if (!row.ok()) {
      if (IsUniqueViolation(insert->last_error())) {
        return Status(ErrorCode::kResourceInUse,
                      "Stream " + stream.name + " under account " +
                          stream.account_id + " already exists.");
      }
      return row.status();
    }
    if (!*row) return Internal("Catalog insert stream returned no id");
    stream_id = insert->ColumnInt(0);
  }

  StreamRecord inserted = stream;
  inserted.stream_id = stream_id;
  Status metrics = WriteMetricsLocked(inserted);
  if (!metrics.ok()) return metrics;
  for (const ShardRecord& shard : shards) {
    Status written =
        WriteShardLocked(statements_->insert_shard, stream_id, shard);
    if (!written.ok()) return written;
  }
  Status committed = txn->Commit();
  if (!committed.ok()) return committed;
  stream.stream_id = stream_id;
  return Status::Ok();
}

Result<std::optional<StreamRecord>> Catalog::FindStream(
    std::string_view account_id, std::string_view region,
    std::string_view name) {
  std::lock_guard lock(mu_);
  Result<std::vector<StreamRecord>> found = [&] {
    StatementUse find(statements_->find_stream);
    find->BindText(1, account_id);
    find->BindText(2, region);
    find->BindText(3, name);
    return ReadStreamsLocked(*find);
  }();
  if (!found.ok()) return found.status();
  if (found->empty()) return std::optional<StreamRecord>();
  return std::optional<StreamRecord>(std::move(found->front()));
}

Result<std::optional<StreamRecord>> Catalog::FindStreamById(int64_t stream_id) {
  std::lock_guard lock(mu_);
  return FindStreamByIdLocked(stream_id);
}

Result<std::vector<StreamRecord>> Catalog::ListStreams(
    std::string_view account_id, std::string_view region,
    std::string_view exclusive_start_name, size_t limit) {
  std::lock_guard lock(mu_);
  StatementUse list(statements_->list_streams);
  list->BindText(1, account_id);
  list->BindText(2, region);
  list->BindText(3, exclusive_start_name);
  list->BindInt(4, static_cast<int64_t>(std::min<size_t>(
                       limit, std::numeric_limits<int64_t>::max())));
  return ReadStreamsLocked(*list);
}

Result<std::vector<StreamRecord>> Catalog::ListAllStreams() {
  std::lock_guard lock(mu_);
  StatementUse list(statements_->list_all_streams);
  return ReadStreamsLocked(*list);
}

Status Catalog::UpdateStream(const StreamRecord& stream) {
  std::lock_guard lock(mu_);
  Result<Transaction> txn = Transaction::Begin(db_, "UpdateStream");
  if (!txn.ok()) return txn.status();
  {
    StatementUse update(statements_->update_stream);
    update->BindInt(1, stream.stream_id);
    update->BindText(2, ToString(stream.status));
    update->BindText(3, ToString(stream.mode));
    update->BindInt(4, stream.retention_hours);
    update->BindInt(5, stream.max_record_size_kib);
    update->BindText(6, stream.encryption_type);
    update->BindText(7, stream.kms_key_id);
    update->BindInt(8, stream.next_shard_index);
    Status ran = update->Run();
    if (!ran.ok()) return ran;
  }
  if (db_.Changes() == 0) return StreamNotFound(stream.name, stream.account_id);
  Status metrics = WriteMetricsLocked(stream);
  if (!metrics.ok()) return metrics;
  return txn->Commit();
}

Status Catalog::DeleteStream(int64_t stream_id) {
  std::lock_guard lock(mu_);
  Result<Transaction> txn = Transaction::Begin(db_, "DeleteStream");
  if (!txn.ok()) return txn.status();
  Result<std::optional<StreamRecord>> stream = FindStreamByIdLocked(stream_id);
  if (!stream.ok()) return stream.status();
  if (!stream->has_value()) return StreamIdNotFound(stream_id);
  {
    StatementUse untag(statements_->delete_stream_tags);
    untag->BindText(1, (*stream)->Arn());
    Status ran = untag->Run();
    if (!ran.ok()) return ran;
  }
  {
    StatementUse unpolicy(statements_->delete_stream_policies);
    unpolicy->BindText(1, (*stream)->Arn());
    Status ran = unpolicy->Run();
    if (!ran.ok()) return ran;
  }
  {
    // Cascades to shards, shard-level metrics and, through shards,
    // checkpoints.
    StatementUse remove(statements_->delete_stream);
    remove->BindInt(1, stream_id);
    Status ran = remove->Run();
    if (!ran.ok()) return ran;
  }
  return txn->Commit();
}

// --- Shards -----------------------------------------------------------------

Result<std::vector<ShardRecord>> Catalog::ListShards(int64_t stream_id) {
  std::lock_guard lock(mu_);
  std::vector<ShardRecord> shards;
  {
    StatementUse list(statements_->list_shards);
    list->BindInt(1, stream_id);
    while (true) {
      Result<bool> row = list->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      shards.push_back(ReadShard(*list));
    }
  }
  // Every stream has shards, so only an empty answer needs telling apart
  // from a missing stream.
  if (shards.empty()) {
    Result<std::optional<StreamRecord>> stream =
        FindStreamByIdLocked(stream_id);
    if (!stream.ok()) return stream.status();
    if (!stream->has_value()) return StreamIdNotFound(stream_id);
  }
  return shards;
}

Status Catalog::ReplaceShards(int64_t stream_id,
                              const std::vector<ShardRecord>& changed_or_new,
                              uint32_t next_shard_index) {
  Status indexes =
      CheckShardIndexes(changed_or_new, next_shard_index, "ReplaceShards");
  if (!indexes.ok()) return indexes;

  std::lock_guard lock(mu_);
  Result<Transaction> txn = Transaction::Begin(db_, "ReplaceShards");
  if (!txn.ok()) return txn.status();
  Result<std::optional<StreamRecord>> stream = FindStreamByIdLocked(stream_id);
  if (!stream.ok()) return stream.status();
  if (!stream->has_value()) return StreamIdNotFound(stream_id);
  if (next_shard_index < (*stream)->next_shard_index) {
    return Internal("ReplaceShards failed: next_shard_index " +
                    std::to_string(next_shard_index) +
                    " is below the stream's current " +
                    std::to_string((*stream)->next_shard_index) +
                    "; shard indexes are never reused");
  }
  for (const ShardRecord& shard : changed_or_new) {
    Status written =
        WriteShardLocked(statements_->upsert_shard, stream_id, shard);
    if (!written.ok()) return written;
  }
  {
    StatementUse update(statements_->set_next_shard_index);
    update->BindInt(1, stream_id);
    update->BindInt(2, next_shard_index);
    Status ran = update->Run();
    if (!ran.ok()) return ran;
  }
  return txn->Commit();
}

// --- Delivery streams -------------------------------------------------------

Status Catalog::CreateDeliveryStream(DeliveryStreamRecord& stream) {
  std::lock_guard lock(mu_);
  StatementUse insert(statements_->insert_delivery_stream);
  insert->BindText(1, stream.account_id);
  insert->BindText(2, stream.region);
  insert->BindText(3, stream.name);
  insert->BindText(4, stream.type);
  insert->BindText(5, stream.status);
  insert->BindInt(6, stream.created_at);
  insert->BindInt(7, stream.updated_at);
  insert->BindInt(8, stream.version_id);
  insert->BindText(9, stream.destination);
  insert->BindText(10, stream.encryption);
  insert->BindInt(11, static_cast<int64_t>(stream.delivered_offset));
  insert->BindOptionalText(12, stream.planned_object);
  insert->BindOptionalText(13, stream.source);
  Result<bool> row = insert->Step();
  if (!row.ok()) {
    if (IsUniqueViolation(insert->last_error())) {
      return Status(ErrorCode::kResourceInUse,
                    "Firehose " + stream.name + " under accountId " +
                        stream.account_id + " already exists");
    }
    return row.status();
  }
  if (!*row) return Internal("Catalog insert delivery stream returned no id");
  stream.delivery_stream_id = insert->ColumnInt(0);
  return Status::Ok();
}

Result<std::optional<DeliveryStreamRecord>> Catalog::FindDeliveryStream(
    std::string_view account_id, std::string_view region,
    std::string_view name) {
  std::lock_guard lock(mu_);
  StatementUse find(statements_->find_delivery_stream);
  find->BindText(1, account_id);
  find->BindText(2, region);
  find->BindText(3, name);
  Result<bool> row = find->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<DeliveryStreamRecord>();
  return std::optional<DeliveryStreamRecord>(ReadDeliveryStream(*find));
}

Result<std::vector<DeliveryStreamRecord>> Catalog::ListAllDeliveryStreams() {
  std::lock_guard lock(mu_);
  StatementUse list(statements_->list_all_delivery_streams);
  std::vector<DeliveryStreamRecord> streams;
  while (true) {
    Result<bool> row = list->Step();
    if (!row.ok()) return row.status();
    if (!*row) return streams;
    streams.push_back(ReadDeliveryStream(*list));
  }
}

Status Catalog::UpdateDeliveryStream(const DeliveryStreamRecord& stream) {
  std::lock_guard lock(mu_);
  {
    StatementUse update(statements_->update_delivery_stream);
    update->BindInt(1, stream.delivery_stream_id);
    update->BindText(2, stream.status);
    update->BindInt(3, stream.updated_at);
    update->BindInt(4, stream.version_id);
    update->BindText(5, stream.destination);
    update->BindText(6, stream.encryption);
    Status ran = update->Run();
    if (!ran.ok()) return ran;
  }
  if (db_.Changes() == 0) {
    return DeliveryStreamIdNotFound(stream.delivery_stream_id);
  }
  return Status::Ok();
}

Status Catalog::SaveDeliveryCheckpoint(
    int64_t delivery_stream_id, uint64_t delivered_offset,
    const std::optional<std::string>& planned) {
  std::lock_guard lock(mu_);
  {
    StatementUse save(statements_->save_delivery_checkpoint);
    save->BindInt(1, delivery_stream_id);
    save->BindInt(2, static_cast<int64_t>(delivered_offset));
    save->BindOptionalText(3, planned);
    Status ran = save->Run();
    if (!ran.ok()) return ran;
  }
  if (db_.Changes() == 0) return DeliveryStreamIdNotFound(delivery_stream_id);
  return Status::Ok();
}

Status Catalog::DeleteDeliveryStream(int64_t delivery_stream_id) {
  std::lock_guard lock(mu_);
  Result<Transaction> txn = Transaction::Begin(db_, "DeleteDeliveryStream");
  if (!txn.ok()) return txn.status();
  std::optional<DeliveryStreamRecord> found;
  {
    StatementUse find(statements_->find_delivery_stream_by_id);
    find->BindInt(1, delivery_stream_id);
    Result<bool> row = find->Step();
    if (!row.ok()) return row.status();
    if (*row) found = ReadDeliveryStream(*find);
  }
  if (!found) return DeliveryStreamIdNotFound(delivery_stream_id);
  {
    StatementUse untag(statements_->delete_stream_tags);
    untag->BindText(1, found->Arn());
    Status ran = untag->Run();
    if (!ran.ok()) return ran;
  }
  {
    StatementUse remove(statements_->delete_delivery_stream);
    remove->BindInt(1, delivery_stream_id);
    Status ran = remove->Run();
    if (!ran.ok()) return ran;
  }
  return txn->Commit();
}

// --- Tags -------------------------------------------------------------------

Status Catalog::TagResource(std::string_view arn, const Tags& tags) {
  std::lock_guard lock(mu_);
  Result<Transaction> txn = Transaction::Begin(db_, "TagResource");
  if (!txn.ok()) return txn.status();
  for (const auto& [key, value] : tags) {
    StatementUse upsert(statements_->upsert_tag);
    upsert->BindText(1, arn);
    upsert->BindText(2, key);
    upsert->BindText(3, value);
    Status ran = upsert->Run();
    if (!ran.ok()) return ran;
  }
  return txn->Commit();
}

Status Catalog::UntagResource(std::string_view arn,
                              const std::vector<std::string>& keys) {
  std::lock_guard lock(mu_);
  Result<Transaction> txn = Transaction::Begin(db_, "UntagResource");
  if (!txn.ok()) return txn.status();
  for (const std::string& key : keys) {
    StatementUse remove(statements_->delete_tag);
    remove->BindText(1, arn);
    remove->BindText(2, key);
    Status ran = remove->Run();
    if (!ran.ok()) return ran;
  }
  return txn->Commit();
}

Result<Tags> Catalog::ListTags(std::string_view arn) {
  std::lock_guard lock(mu_);
  StatementUse list(statements_->list_tags);
  list->BindText(1, arn);
  Tags tags;
  while (true) {
    Result<bool> row = list->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    tags.emplace_back(list->ColumnText(0), list->ColumnText(1));
  }
  return tags;
}

// --- Resource policies ------------------------------------------------------

Status Catalog::PutResourcePolicy(std::string_view arn,
                                  std::string_view policy) {
  std::lock_guard lock(mu_);
  StatementUse upsert(statements_->upsert_policy);
  upsert->BindText(1, arn);
  upsert->BindText(2, policy);
  return upsert->Run();
}

Result<std::optional<std::string>> Catalog::GetResourcePolicy(
    std::string_view arn) {
  std::lock_guard lock(mu_);
  StatementUse select(statements_->select_policy);
  select->BindText(1, arn);
  Result<bool> row = select->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(select->ColumnText(0));
}

Result<bool> Catalog::DeleteResourcePolicy(std::string_view arn) {
  std::lock_guard lock(mu_);
  StatementUse remove(statements_->delete_policy);
  remove->BindText(1, arn);
  Status ran = remove->Run();
  if (!ran.ok()) return ran;
  return db_.Changes() > 0;
}

// --- Gateway API keys -------------------------------------------------------

Status Catalog::InsertGatewayKey(const GatewayKeyRecord& key) {
  std::lock_guard lock(mu_);
  StatementUse insert(statements_->insert_gateway_key);
  insert->BindText(1, key.name);
  insert->BindText(2, key.sha256_hex);
  insert->BindText(3, key.settings);
  insert->BindInt(4, key.created_at);
  Status ran = insert->Run();
  if (!ran.ok()) return ran;
  if (db_.Changes() == 0) {
    return Status(ErrorCode::kResourceInUse,
                  "An API key named " + key.name + " already exists.");
  }
  return Status::Ok();
}

Result<std::vector<GatewayKeyRecord>> Catalog::ListGatewayKeys() {
  std::lock_guard lock(mu_);
  StatementUse select(statements_->list_gateway_keys);
  std::vector<GatewayKeyRecord> keys;
  while (true) {
    Result<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    keys.push_back({select->ColumnText(0), select->ColumnText(1),
                    select->ColumnText(2), select->ColumnInt(3)});
  }
  return keys;
}

Result<bool> Catalog::DeleteGatewayKey(std::string_view name) {
  std::lock_guard lock(mu_);
  StatementUse remove(statements_->delete_gateway_key);
  remove->BindText(1, name);
  Status ran = remove->Run();
  if (!ran.ok()) return ran;
  return db_.Changes() > 0;
}

// --- Consumers --------------------------------------------------------------

Status Catalog::CreateConsumer(const ConsumerRecord& consumer,
                               const Tags& tags) {
  std::lock_guard lock(mu_);
  Result<Transaction> txn = Transaction::Begin(db_, "CreateConsumer");
  if (!txn.ok()) return txn.status();
  Result<std::optional<StreamRecord>> stream =
      FindStreamByIdLocked(consumer.stream_id);
  if (!stream.ok()) return stream.status();
  if (!stream->has_value()) return StreamIdNotFound(consumer.stream_id);
  {
    StatementUse insert(statements_->insert_consumer);
    insert->BindInt(1, consumer.stream_id);
    insert->BindText(2, consumer.name);
    insert->BindText(3, ToString(consumer.status));
    insert->BindInt(4, consumer.created_at);
    Status ran = insert->Run();
    if (!ran.ok()) {
      if (IsUniqueViolation(insert->last_error())) {
        return Status(ErrorCode::kResourceInUse,
                      "Consumer " + consumer.name + " under stream " +
                          (*stream)->name + " under account " +
                          (*stream)->account_id + " already exists.");
      }
      return ran;
    }
  }
  const std::string arn = consumer.Arn((*stream)->Arn());
  for (const auto& [key, value] : tags) {
    StatementUse upsert(statements_->upsert_tag);
    upsert->BindText(1, arn);
    upsert->BindText(2, key);
    upsert->BindText(3, value);
    Status ran = upsert->Run();
    if (!ran.ok()) return ran;
  }
  return txn->Commit();
}

Status Catalog::UpdateConsumerStatus(int64_t stream_id, std::string_view name,
                                     ConsumerStatus status) {
  std::lock_guard lock(mu_);
  {
    StatementUse update(statements_->update_consumer_status);
    update->BindInt(1, stream_id);
    update->BindText(2, name);
    update->BindText(3, ToString(status));
    Status ran = update->Run();
    if (!ran.ok()) return ran;
  }
  if (db_.Changes() == 0) return ConsumerNotFound(stream_id, name);
  return Status::Ok();
}

Status Catalog::DeleteConsumer(int64_t stream_id, std::string_view name) {
  std::lock_guard lock(mu_);
  Result<Transaction> txn = Transaction::Begin(db_, "DeleteConsumer");
  if (!txn.ok()) return txn.status();
  Result<std::optional<StreamRecord>> stream = FindStreamByIdLocked(stream_id);
  if (!stream.ok()) return stream.status();
  if (!stream->has_value()) return ConsumerNotFound(stream_id, name);
  ConsumerRecord consumer;
  {
    StatementUse find(statements_->find_consumer);
    find->BindInt(1, stream_id);
    find->BindText(2, name);
    Result<bool> row = find->Step();
    if (!row.ok()) return row.status();
    if (!*row) return ConsumerNotFound(stream_id, name);
    Result<ConsumerRecord> read = ReadConsumer(*find);
    if (!read.ok()) return read.status();
    consumer = std::move(read).value();
  }
  const std::string arn = consumer.Arn((*stream)->Arn());
  {
    StatementUse untag(statements_->delete_arn_tags);
    untag->BindText(1, arn);
    Status ran = untag->Run();
    if (!ran.ok()) return ran;
  }
  {
    StatementUse unpolicy(statements_->delete_policy);
    unpolicy->BindText(1, arn);
    Status ran = unpolicy->Run();
    if (!ran.ok()) return ran;
  }
  {
    StatementUse remove(statements_->delete_consumer);
    remove->BindInt(1, stream_id);
    remove->BindText(2, name);
    Status ran = remove->Run();
    if (!ran.ok()) return ran;
  }
  return txn->Commit();
}

Result<std::vector<ConsumerRecord>> Catalog::ListConsumers(int64_t stream_id) {
  std::lock_guard lock(mu_);
  StatementUse list(statements_->list_consumers);
  list->BindInt(1, stream_id);
  std::vector<ConsumerRecord> consumers;
  while (true) {
    Result<bool> row = list->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    Result<ConsumerRecord> consumer = ReadConsumer(*list);
    if (!consumer.ok()) return consumer.status();
    consumers.push_back(std::move(consumer).value());
  }
  return consumers;
}

// --- Checkpoints ------------------------------------------------------------

Status Catalog::SaveCheckpoint(std::string_view reader, int64_t stream_id,
                               uint32_t shard_index,
                               std::string_view position) {
  std::lock_guard lock(mu_);
  Status saved;
  int error = 0;
  {
    StatementUse save(statements_->save_checkpoint);
    save->BindText(1, reader);
    save->BindInt(2, stream_id);
    save->BindInt(3, shard_index);
    save->BindText(4, position);
    saved = save->Run();
    error = save->last_error();
  }
  if (saved.ok() || !IsForeignKeyViolation(error)) return saved;

  // The shard is not in the catalog; say which part is missing.
  Result<std::optional<StreamRecord>> stream = FindStreamByIdLocked(stream_id);
  if (!stream.ok()) return stream.status();
  if (!stream->has_value()) return StreamIdNotFound(stream_id);
  return Status(ErrorCode::kResourceNotFound,
                "Shard " + ShardIdFor(shard_index) + " in stream " +
                    (*stream)->name + " under account " +
                    (*stream)->account_id + " does not exist");
}

Result<std::optional<std::string>> Catalog::LoadCheckpoint(
    std::string_view reader, int64_t stream_id, uint32_t shard_index) {
  std::lock_guard lock(mu_);
  StatementUse load(statements_->load_checkpoint);
  load->BindText(1, reader);
  load->BindInt(2, stream_id);
  load->BindInt(3, shard_index);
  Result<bool> row = load->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(load->ColumnText(0));
}

Status Catalog::DeleteCheckpoints(std::string_view reader) {
  std::lock_guard lock(mu_);
  StatementUse remove(statements_->delete_reader_checkpoints);
  remove->BindText(1, reader);
  return remove->Run();
}

// --- Delivery stream readers ------------------------------------------------

Status Catalog::SaveDeliveryReaderPosition(std::string_view reader,
                                           int64_t delivery_stream_id,
                                           uint64_t position) {
  std::lock_guard lock(mu_);
  StatementUse save(statements_->save_delivery_reader);
  save->BindText(1, reader);
  save->BindInt(2, delivery_stream_id);
  save->BindInt(3, static_cast<int64_t>(position));
  Status saved = save->Run();
  if (!saved.ok() && IsForeignKeyViolation(save->last_error())) {
    return DeliveryStreamIdNotFound(delivery_stream_id);
  }
  return saved;
}

Result<std::optional<uint64_t>> Catalog::LoadDeliveryReaderPosition(
    std::string_view reader, int64_t delivery_stream_id) {
  std::lock_guard lock(mu_);
  StatementUse load(statements_->load_delivery_reader);
  load->BindText(1, reader);
  load->BindInt(2, delivery_stream_id);
  Result<bool> row = load->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<uint64_t>();
  return std::optional<uint64_t>(static_cast<uint64_t>(load->ColumnInt(0)));
}

Result<std::optional<uint64_t>> Catalog::LowestDeliveryReaderPosition(
    int64_t delivery_stream_id) {
  std::lock_guard lock(mu_);
  StatementUse lowest(statements_->lowest_delivery_reader);
  lowest->BindInt(1, delivery_stream_id);
  Result<bool> row = lowest->Step();
  if (!row.ok()) return row.status();
  if (!*row || lowest->IsNull(0)) return std::optional<uint64_t>();
  return std::optional<uint64_t>(static_cast<uint64_t>(lowest->ColumnInt(0)));
}

// --- In-process consumers ----------------------------------------------------

namespace {

Status EventConsumerNotFound(std::string_view name) {
  return Status(ErrorCode::kResourceNotFound,
                "Consumer " + std::string(name) + " not found.");
}

}  // namespace

Status Catalog::CreateEventConsumer(const EventConsumerRecord& consumer) {
  std::lock_guard lock(mu_);
  StatementUse insert(statements_->insert_event_consumer);
  insert->BindText(1, consumer.name);
  insert->BindText(2, consumer.account_id);
  insert->BindText(3, consumer.region);
  insert->BindText(4, consumer.definition);
  insert->BindInt(5, consumer.paused ? 1 : 0);
  insert->BindInt(6, consumer.created_at);
  Status ran = insert->Run();
  if (!ran.ok() && IsUniqueViolation(insert->last_error())) {
    return Status(ErrorCode::kResourceInUse,
                  "Consumer " + consumer.name + " already exists.");
  }
  return ran;
}

Result<std::vector<EventConsumerRecord>> Catalog::ListEventConsumers() {
  std::lock_guard lock(mu_);
  StatementUse list(statements_->list_event_consumers);
  std::vector<EventConsumerRecord> consumers;
  while (true) {
    Result<bool> row = list->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    EventConsumerRecord consumer;
    consumer.name = list->ColumnText(0);
    consumer.account_id = list->ColumnText(1);
    consumer.region = list->ColumnText(2);
    consumer.definition = list->ColumnText(3);
    consumer.paused = list->ColumnInt(4) != 0;
    consumer.created_at = list->ColumnInt(5);
    consumers.push_back(std::move(consumer));
  }
  return consumers;
}

Status Catalog::SetEventConsumerPaused(std::string_view name, bool paused) {
  std::lock_guard lock(mu_);
  StatementUse update(statements_->pause_event_consumer);
  update->BindText(1, name);
  update->BindInt(2, paused ? 1 : 0);
  if (Status ran = update->Run(); !ran.ok()) return ran;
  return db_.Changes() > 0 ? Status::Ok() : EventConsumerNotFound(name);
}

Status Catalog::DeleteEventConsumer(std::string_view name,
                                    std::string_view reader) {
  std::lock_guard lock(mu_);
  Result<Transaction> txn = Transaction::Begin(db_, "DeleteEventConsumer");
  if (!txn.ok()) return txn.status();
  {
    StatementUse remove(statements_->delete_event_consumer);
    remove->BindText(1, name);
    if (Status ran = remove->Run(); !ran.ok()) return ran;
    if (db_.Changes() == 0) return EventConsumerNotFound(name);
  }
  {
    StatementUse remove(statements_->delete_reader_checkpoints);
    remove->BindText(1, reader);
    if (Status ran = remove->Run(); !ran.ok()) return ran;
  }
  {
    StatementUse remove(statements_->delete_delivery_readers);
    remove->BindText(1, reader);
    if (Status ran = remove->Run(); !ran.ok()) return ran;
  }
  return txn->Commit();
}

// --- Helpers; each runs with mu_ held ----------------------------------------

Result<std::optional<StreamRecord>> Catalog::FindStreamByIdLocked(
    int64_t stream_id) {
  StatementUse find(statements_->find_stream_by_id);
  find->BindInt(1, stream_id);
  Result<std::vector<StreamRecord>> found = ReadStreamsLocked(*find);
  if (!found.ok()) return found.status();
  if (found->empty()) return std::optional<StreamRecord>();
  return std::optional<StreamRecord>(std::move(found->front()));
}

// Steps a bound stream query to the end, with each stream's metrics.
Result<std::vector<StreamRecord>> Catalog::ReadStreamsLocked(
    Statement& statement) {
  std::vector<StreamRecord> streams;
  while (true) {
    Result<bool> row = statement.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    Result<StreamRecord> stream = ReadStream(statement);
    if (!stream.ok()) return stream.status();
    streams.push_back(std::move(stream).value());
  }
  // Metrics are read after the query has finished, so each read is a fresh
  // use of its own statement rather than nested inside an open one.
  for (StreamRecord& stream : streams) {
    Status metrics = ReadMetricsLocked(stream);
    if (!metrics.ok()) return metrics;
  }
  return streams;
}

Status Catalog::ReadMetricsLocked(StreamRecord& stream) {
  StatementUse select(statements_->select_metrics);
  select->BindInt(1, stream.stream_id);
  stream.enhanced_metrics.clear();
  while (true) {
    Result<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
    stream.enhanced_metrics.push_back(select->ColumnText(0));
  }
}

// REQUIRES: a transaction open, so the delete and inserts land together.
Status Catalog::WriteMetricsLocked(const StreamRecord& stream) {
  {
    StatementUse remove(statements_->delete_metrics);
    remove->BindInt(1, stream.stream_id);
    Status ran = remove->Run();
    if (!ran.ok()) return ran;
  }
  for (const std::string& metric : stream.enhanced_metrics) {
    StatementUse insert(statements_->insert_metric);
    insert->BindInt(1, stream.stream_id);
    insert->BindText(2, metric);
    Status ran = insert->Run();
    if (!ran.ok()) return ran;
  }
  return Status::Ok();
}

Status Catalog::WriteShardLocked(Statement& statement, int64_t stream_id,
                                 const ShardRecord& shard) {
  StatementUse upsert(statement);
  upsert->BindInt(1, stream_id);
  upsert->BindInt(2, shard.shard_index);
  upsert->BindText(3, shard.hash_key_start);
  upsert->BindText(4, shard.hash_key_end);
  upsert->BindOptionalInt(5, ToOptionalInt(shard.parent_index));
  upsert->BindOptionalInt(6, ToOptionalInt(shard.adjacent_parent_index));
  upsert->BindText(7, shard.starting_sequence_number);
  upsert->BindOptionalText(8, shard.ending_sequence_number);
  upsert->BindInt(9, shard.created_at);
  upsert->BindOptionalInt(10, shard.closed_at);
  return upsert->Run();
}

}  // namespace sluice::catalog
