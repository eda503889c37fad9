#include "server/catalog/schema.h"

#include <array>
#include <cstdint>
#include <string>

#include "common/log.h"

namespace sluice::catalog {
namespace {

// Version 1: streams, their shards and enabled shard-level metrics, tags, and
// reader checkpoints.
//
// Notes that hold for every table here:
// - STRICT, so a value of the wrong type is an error, not silently stored.
// - Text compares with the default BINARY collation: byte order, which is the
//   order ListStreams promises.
// - Child rows hang off streams with ON DELETE CASCADE, so deleting a stream
//   row removes its shards, metrics and checkpoints in the same statement.
constexpr std::string_view kV1 = R"sql(
CREATE TABLE streams (
  -- AUTOINCREMENT: an id is never handed out twice, even after the newest
  -- stream is deleted, so a stale reference cannot reach a new incarnation.
  stream_id            INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id           TEXT NOT NULL,
  region               TEXT NOT NULL,
  name                 TEXT NOT NULL,
  status               TEXT NOT NULL
      CHECK (status IN ('CREATING', 'ACTIVE', 'UPDATING', 'DELETING')),
  mode                 TEXT NOT NULL CHECK (mode IN ('PROVISIONED', 'ON_DEMAND')),
  created_at           INTEGER NOT NULL,  -- epoch milliseconds
  retention_hours      INTEGER NOT NULL,
  max_record_size_kib  INTEGER NOT NULL,
  encryption_type      TEXT NOT NULL CHECK (encryption_type IN ('NONE', 'KMS')),
  kms_key_id           TEXT NOT NULL,     -- '' when encryption_type is NONE
  next_shard_index     INTEGER NOT NULL CHECK (next_shard_index >= 0)
) STRICT;

-- A stream row lives from CreateStream until DeleteStream, through DELETING,
-- so this also refuses a new incarnation while the old one is being deleted.
CREATE UNIQUE INDEX streams_by_name ON streams (account_id, region, name);

CREATE TABLE stream_shard_level_metrics (
  stream_id  INTEGER NOT NULL REFERENCES streams (stream_id) ON DELETE CASCADE,
  metric     TEXT NOT NULL,
  PRIMARY KEY (stream_id, metric)
) STRICT, WITHOUT ROWID;

CREATE TABLE shards (
  stream_id                 INTEGER NOT NULL
      REFERENCES streams (stream_id) ON DELETE CASCADE,
  shard_index               INTEGER NOT NULL CHECK (shard_index >= 0),
  hash_key_start            TEXT NOT NULL,  -- decimal, 0 .. 2^128-1
  hash_key_end              TEXT NOT NULL,
  parent_index              INTEGER,
  adjacent_parent_index     INTEGER,
  starting_sequence_number  TEXT NOT NULL,
  -- A shard is open until resharding closes it; then both of these are set.
  ending_sequence_number    TEXT,
  created_at                INTEGER NOT NULL,
  closed_at                 INTEGER,
  PRIMARY KEY (stream_id, shard_index)
) STRICT, WITHOUT ROWID;

-- Tags are keyed by ARN, not by stream id, because streams, consumers and
-- delivery streams all carry them.
CREATE TABLE tags (
  arn    TEXT NOT NULL,
  key    TEXT NOT NULL,
  value  TEXT NOT NULL,
  PRIMARY KEY (arn, key)
) STRICT, WITHOUT ROWID;

-- Where a named reader (a consumer, a delivery stream) has got to in a shard.
-- The position is opaque to the catalog: the reader's own sequence number.
CREATE TABLE checkpoints (
  reader       TEXT NOT NULL,
  stream_id    INTEGER NOT NULL,
  shard_index  INTEGER NOT NULL,
  position     TEXT NOT NULL,
  PRIMARY KEY (reader, stream_id, shard_index),
  FOREIGN KEY (stream_id, shard_index)
      REFERENCES shards (stream_id, shard_index) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- DeleteStream cascades to checkpoints by (stream_id, shard_index); without
-- this index each cascaded delete would scan the whole table.
CREATE INDEX checkpoints_by_shard ON checkpoints (stream_id, shard_index);
)sql";

// Append new versions here; never edit one that has shipped.
// Resource-based policies (Put/Get/DeleteResourcePolicy), keyed by ARN like
// tags: the document is stored verbatim and never enforced.
constexpr std::string_view kV2 = R"sql(
CREATE TABLE resource_policies (
  arn     TEXT PRIMARY KEY,
  policy  TEXT NOT NULL
) STRICT, WITHOUT ROWID;
)sql";

// Enhanced fan-out consumers (RegisterStreamConsumer), one row per consumer
// until its deregistration completes. A consumer's ARN is its stream's ARN,
// "/consumer/", its name, ":" and created_at in epoch seconds; its tags are
// keyed by that ARN in `tags`. Deleting the stream row removes its consumers.
constexpr std::string_view kV3 = R"sql(
CREATE TABLE consumers (
  stream_id   INTEGER NOT NULL REFERENCES streams (stream_id) ON DELETE CASCADE,
  name        TEXT NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('CREATING', 'ACTIVE', 'DELETING')),
  created_at  INTEGER NOT NULL,  -- epoch milliseconds
  PRIMARY KEY (stream_id, name)
) STRICT, WITHOUT ROWID;
)sql";

// Firehose delivery streams. The destination is stored as the JSON text
// Sluice normalised it to (defaults filled in), so the table needs no change
// when another destination field is honoured. The delivery checkpoint lives
// in the row itself: delivered_offset is where the next object starts in the
// delivery stream's own log, and planned_object, when set, is the object
// being written (its key and record range), so a restart rewrites that same
// object instead of a new one.
constexpr std::string_view kV4 = R"sql(
CREATE TABLE delivery_streams (
  delivery_stream_id  INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id          TEXT NOT NULL,
  region              TEXT NOT NULL,
  name                TEXT NOT NULL,
  type                TEXT NOT NULL,
  status              TEXT NOT NULL
      CHECK (status IN ('CREATING', 'ACTIVE', 'DELETING')),
  created_at          INTEGER NOT NULL,  -- epoch milliseconds
  updated_at          INTEGER NOT NULL,
  version_id          INTEGER NOT NULL CHECK (version_id >= 1),
  destination         TEXT NOT NULL,     -- JSON
  encryption          TEXT NOT NULL,     -- JSON
  delivered_offset    INTEGER NOT NULL CHECK (delivered_offset >= 0),
  planned_object      TEXT,              -- JSON, or NULL between objects
  source              TEXT               -- JSON; NULL for DirectPut
) STRICT;

CREATE UNIQUE INDEX delivery_streams_by_name
    ON delivery_streams (account_id, region, name);
)sql";

// In-process consumers (server/consumers): one row per consumer declared by
// the config file or created through SluiceAdmin.CreateConsumer, so they
// survive a restart with their paused flag. The definition is the
// CreateConsumer request as accepted (JSON), parsed again at each start; the
// per-shard positions are reader checkpoints named "consumer/<name>". Names
// are unique per server, not per account, because they name the reader.
constexpr std::string_view kV5 = R"sql(
CREATE TABLE event_consumers (
  name        TEXT PRIMARY KEY,
  account_id  TEXT NOT NULL,
  region      TEXT NOT NULL,
  definition  TEXT NOT NULL,   -- JSON
  paused      INTEGER NOT NULL CHECK (paused IN (0, 1)),
  created_at  INTEGER NOT NULL -- epoch milliseconds
) STRICT, WITHOUT ROWID;
)sql";

// Version 6: the ingestion gateway's API keys created at run time. The
// secret itself is never stored, only its SHA-256 (hex); `settings` is the
// gateway's JSON (routes the key may use, rate limit).
constexpr std::string_view kV6 = R"sql(
CREATE TABLE gateway_keys (
  name        TEXT PRIMARY KEY,
  sha256      TEXT NOT NULL UNIQUE,
  settings    TEXT NOT NULL,     -- JSON
  created_at  INTEGER NOT NULL   -- epoch milliseconds
) STRICT;
)sql";

// Version 7: positions of in-process consumers that read a delivery
// stream's own log (a SQL application with a KinesisFirehoseInput), one per
// (reader, delivery stream). The delivery engine keeps the records at and
// after the lowest of them when it trims the log after a delivery. Deleting
// the delivery stream row removes them.
constexpr std::string_view kV7 = R"sql(
CREATE TABLE delivery_readers (
  reader              TEXT NOT NULL,
  delivery_stream_id  INTEGER NOT NULL
      REFERENCES delivery_streams (delivery_stream_id) ON DELETE CASCADE,
  position            INTEGER NOT NULL CHECK (position >= 0),
  PRIMARY KEY (reader, delivery_stream_id)
) STRICT, WITHOUT ROWID;
)sql";

constexpr std::array kMigrations = {
    Migration{1, "streams, shards, shard-level metrics, tags, checkpoints",
              kV1},
    Migration{2, "resource policies", kV2},
    Migration{3, "enhanced fan-out consumers", kV3},
    Migration{4, "firehose delivery streams", kV4},
    Migration{5, "in-process consumers", kV5},
    Migration{6, "gateway API keys", kV6},
    Migration{7, "delivery stream readers", kV7},
};

Status Failed(std::string_view what, const Status& cause) {
  return Status(ErrorCode::kInternalFailure,
                std::string(what) + ": " + cause.message());
}

// Fails naming the first table whose rows break a foreign key, if any.
Status CheckForeignKeys(Database& db) {
  Result<Statement> check =
      db.Prepare("foreign key check", "PRAGMA foreign_key_check");
  if (!check.ok()) return check.status();
  Result<bool> row = check->Step();
  if (!row.ok()) return row.status();
  if (*row) {
    return Status(ErrorCode::kInternalFailure,
                  "foreign key violation in table " + check->ColumnText(0));
  }
  return Status::Ok();
}

}  // namespace

std::span<const Migration> CatalogMigrations() { return kMigrations; }

int CurrentSchemaVersion() { return kMigrations.back().version; }

Result<int> Migrate(Database& db, std::span<const Migration> migrations,
                    std::string_view path) {
  Result<int64_t> found = db.PragmaInt("user_version");
  if (!found.ok()) return found.status();
  const int64_t known = static_cast<int64_t>(migrations.size());
  if (*found < 0) {
    return Status(ErrorCode::kInternalFailure,
                  "Catalog " + std::string(path) +
                      " has invalid schema version " + std::to_string(*found));
  }
  if (*found > known) {
    // A newer Sluice wrote this file; running old code on it could corrupt it.
    return Status(ErrorCode::kInternalFailure,
                  "Catalog " + std::string(path) + " has schema version " +
                      std::to_string(*found) + ", newer than version " +
                      std::to_string(known) +
                      ", the newest this build of Sluice knows. Upgrade "
                      "Sluice or use another data directory.");
  }
  int version = static_cast<int>(*found);
  if (version == known) return version;

  // A migration that rebuilds a table (SQLite's 12-step ALTER) must run with
  // foreign keys off, and the pragma is ignored inside a transaction, so turn
  // them off for the whole run and check them before each commit instead.
  Status off = db.Exec("disable foreign keys", "PRAGMA foreign_keys = OFF");
  if (!off.ok()) return off;

  for (const Migration& migration :
       migrations.subspan(static_cast<size_t>(version))) {
    const std::string what = "Catalog " + std::string(path) +
                             " migration to schema version " +
                             std::to_string(migration.version) + " (" +
                             std::string(migration.description) + ")";
    if (migration.version != version + 1) {
      return Status(ErrorCode::kInternalFailure,
                    what + ": migrations are out of order");
    }
    Result<Transaction> txn = Transaction::Begin(db, "migration");
    if (!txn.ok()) return Failed(what, txn.status());
    Status ran = db.Exec("script", std::string(migration.sql));
    if (!ran.ok()) return Failed(what, ran);
    Status checked = CheckForeignKeys(db);
    if (!checked.ok()) return Failed(what, checked);
    // The version bump commits with the script, so the two cannot disagree.
    Status bumped =
        db.Exec("set user_version",
                "PRAGMA user_version = " + std::to_string(migration.version));
    if (!bumped.ok()) return Failed(what, bumped);
    Status committed = txn->Commit();
    if (!committed.ok()) return Failed(what, committed);
    version = migration.version;
    SLUICE_LOG(kInfo) << "catalog " << path << " migrated to schema version "
                      << version << " (" << migration.description << ")";
  }

  return version;
}

}  // namespace sluice::catalog
