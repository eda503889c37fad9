#include "server/consumers/archive_handler.h"

#include <algorithm>
#include <vector>

#include "common/log.h"
#include "common/sequence_number.h"
#include "server/consumers/record_rules.h"
#include "server/firehose/compression.h"
#include "server/firehose/object_writer.h"
#include "server/firehose/s3_key.h"

namespace sluice::consumers {
namespace {

using catalog::Database;
using catalog::Statement;
using catalog::StatementUse;
using catalog::Transaction;

// Firehose's BufferingHints defaults and bounds for an S3 destination.
constexpr double kDefaultSizeMb = 5;
constexpr double kMaxSizeMb = 128;
constexpr double kDefaultIntervalSeconds = 300;
constexpr double kMaxIntervalSeconds = 900;
// How often the roller looks for objects due by time.
constexpr std::chrono::milliseconds kRollerPoll{100};
// How long the roller leaves a lane whose object could not be written (a
// full disk) before trying again.
constexpr std::chrono::seconds kRollRetryDelay{1};

Result<double> NumberSetting(const json::Value& settings, std::string_view name,
                             double fallback, double min, double max,
                             const std::string& what) {
  const json::Value* value = Member(settings, name);
  if (value == nullptr) return fallback;
  if (!value->IsNumber() || value->GetDouble() < min ||
      value->GetDouble() > max) {
    return InvalidSetting(what + "." + std::string(name),
                          "must be a number from " + std::to_string(min) +
                              " to " + std::to_string(max));
  }
  return value->GetDouble();
}

Result<bool> BoolSetting(const json::Value& settings, std::string_view name,
                         bool fallback, const std::string& what) {
  const json::Value* value = Member(settings, name);
  if (value == nullptr) return fallback;
  if (!value->IsBool()) {
    return InvalidSetting(what + "." + std::string(name),
                          "must be true or false");
  }
  return value->GetBool();
}

Result<std::string> PathSetting(const json::Value& settings,
                                std::string_view name, std::string fallback,
                                const std::string& what) {
  const json::Value* value = Member(settings, name);
  if (value == nullptr) return fallback;
  if (!value->IsString() || !IsContainedRelativePath(json::AsView(*value))) {
    return InvalidSetting(what + "." + std::string(name),
                          "must be a relative path inside the data directory "
                          "(no leading '/', no '..')");
  }
  return std::string(json::AsView(*value));
}

struct StagedRecord {
  int64_t offset = 0;
  std::string sequence_number;
  EpochMillis arrival = 0;
  std::string data;
};

}  // namespace

// One (shard, lane) of the source: its staged mark and what is staged.
struct ArchiveHandler::Lane {
  std::mutex mu;  // held by the Handle() or roll working on the lane
  int64_t id = 0;
  std::string shard_id;
  // Guarded by mu (and mirrored in sluice_archive_lanes):
  int64_t staged_through = -1;  // the last offset accepted, or -1
  std::optional<EpochMillis> first_staged_at;  // set while records wait
  uint64_t staged_bytes = 0;
  std::chrono::steady_clock::time_point retry_after{};  // after a failed roll
};

ArchiveHandler::ArchiveHandler() = default;

ArchiveHandler::~ArchiveHandler() {
  {
    std::lock_guard lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (roller_.joinable()) roller_.join();
}

Result<std::unique_ptr<ArchiveHandler>> ArchiveHandler::Create(
    const HandlerSpec& spec) {
  const json::Value& settings = *spec.settings;
  const std::string what = "consumer " + spec.consumer + " handler";
  if (!settings.IsObject()) return InvalidSetting(what, "must be an object");
  Status known =
      CheckKnownMembers(settings,
                        {"type", "directory", "prefix", "compression",
                         "size_mb", "interval_seconds", "partition_by_hour",
                         "append_newline", "database", "synchronous"},
                        what);
  if (!known.ok()) return known;

  std::unique_ptr<ArchiveHandler> handler(new ArchiveHandler());
  handler->consumer_ = spec.consumer;
  handler->clock_ = spec.environment->clock != nullptr
                        ? spec.environment->clock
                        : &SystemClock::Instance();
  Result<std::string> synchronous = ParseSynchronous(settings, what);
  if (!synchronous.ok()) return synchronous.status();
  handler->synchronous_ = *synchronous;

  handler->compression_ = "GZIP";
  if (const json::Value* compression = Member(settings, "compression")) {
    if (!compression->IsString() ||
        !firehose::IsSupportedCompression(json::AsView(*compression))) {
      return InvalidSetting(what + ".compression",
                            "must be GZIP, ZIP, Snappy, HADOOP_SNAPPY or "
                            "UNCOMPRESSED");
    }
    handler->compression_ = std::string(json::AsView(*compression));
  }
  handler->prefix_ = spec.consumer + "/";
  if (const json::Value* prefix = Member(settings, "prefix")) {
    if (!prefix->IsString() ||
        (prefix->GetStringLength() > 0 &&
         !IsContainedRelativePath(json::AsView(*prefix)))) {
      return InvalidSetting(what + ".prefix",
                            "must be a relative path (no leading '/', no "
                            "'..'), or empty");
    }
    handler->prefix_ = std::string(json::AsView(*prefix));
  }
  Result<double> size_mb = NumberSetting(settings, "size_mb", kDefaultSizeMb,
                                         0.001, kMaxSizeMb, what);
  if (!size_mb.ok()) return size_mb.status();
  handler->size_bytes_ = static_cast<uint64_t>(*size_mb * 1024 * 1024);
  Result<double> interval =
      NumberSetting(settings, "interval_seconds", kDefaultIntervalSeconds, 0,
                    kMaxIntervalSeconds, what);
  if (!interval.ok()) return interval.status();
  handler->interval_millis_ = static_cast<int64_t>(*interval * 1000);
  Result<bool> hourly = BoolSetting(settings, "partition_by_hour", false, what);
  if (!hourly.ok()) return hourly.status();
  handler->hourly_ = *hourly;
  Result<bool> newline = BoolSetting(settings, "append_newline", true, what);
  if (!newline.ok()) return newline.status();
  handler->append_newline_ = *newline;

  Result<std::string> directory =
      PathSetting(settings, "directory", "archive", what);
  if (!directory.ok()) return directory.status();
  Result<std::string> database = PathSetting(
      settings, "database", "archive-staging/" + spec.consumer + ".db", what);
  if (!database.ok()) return database.status();

  Result<std::unique_ptr<HandlerFiles>> files =
      HandlerFiles::Make(*spec.environment);
  if (!files.ok()) return files.status();
  handler->files_ = std::move(files).value();
  handler->archive_dir_ = handler->files_->root() / *directory;
  Result<std::filesystem::path> path =
      handler->files_->Resolve(*database, what + ".database");
  if (!path.ok()) return path.status();
  handler->path_ = *path;
  if (Status opened = handler->OpenDatabase(); !opened.ok()) return opened;

  handler->roller_ = std::thread([raw = handler.get()] { raw->RollerLoop(); });
  SLUICE_LOG(kInfo) << "consumer " << spec.consumer << ": archive in "
                    << handler->archive_dir_.string() << ", staging in "
                    << handler->path_.string();
  return handler;
}

Status ArchiveHandler::OpenDatabase() {
  Result<Database> db = OpenHandlerDatabase(path_, synchronous_);
  if (!db.ok()) return db.status();
  db_ = std::move(db).value();
  Status tables =
      db_.Exec("create archive tables",
               "CREATE TABLE IF NOT EXISTS sluice_archive_lanes ("
               " id INTEGER PRIMARY KEY, consumer TEXT NOT NULL,"
               " stream_arn TEXT NOT NULL, shard_created INTEGER NOT NULL,"
               " shard_id TEXT NOT NULL, lane INTEGER NOT NULL,"
               " lane_count INTEGER NOT NULL, staged_through INTEGER NOT NULL,"
               " first_staged_at INTEGER, staged_bytes INTEGER NOT NULL,"
               " UNIQUE (consumer, stream_arn, shard_created, shard_id, lane,"
               " lane_count));"
               "CREATE TABLE IF NOT EXISTS sluice_archive_staged ("
               " lane_id INTEGER NOT NULL, record_offset INTEGER NOT NULL,"
               " sequence_number TEXT NOT NULL, arrival INTEGER NOT NULL,"
               " data TEXT NOT NULL, PRIMARY KEY (lane_id, record_offset))"
               " WITHOUT ROWID;"
               "CREATE TABLE IF NOT EXISTS sluice_archive_objects ("
               " key TEXT PRIMARY KEY, consumer TEXT NOT NULL,"
               " shard_id TEXT NOT NULL, lane_id INTEGER NOT NULL,"
               " first_offset INTEGER NOT NULL, last_offset INTEGER NOT NULL,"
               " records INTEGER NOT NULL, first_sequence_number TEXT NOT NULL,"
               " last_sequence_number TEXT NOT NULL, written_at TEXT NOT NULL)"
               " WITHOUT ROWID;");
  if (!tables.ok()) return tables;
  struct {
    Statement* statement;
    const char* what;
    const char* sql;
  } const statements[] = {
      {&find_lane_, "find archive lane",
       "SELECT id, staged_through, first_staged_at, staged_bytes"
       " FROM sluice_archive_lanes WHERE consumer = ?1 AND stream_arn = ?2"
       " AND shard_created = ?3 AND shard_id = ?4 AND lane = ?5"
       " AND lane_count = ?6"},
      // A new lane of a shard archived under another ParallelizationFactor
      // starts at the lowest mark of those lanes (as the metrics handler).
      {&add_lane_, "add archive lane",
       "INSERT INTO sluice_archive_lanes (consumer, stream_arn,"
       " shard_created, shard_id, lane, lane_count, staged_through,"
       " staged_bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
       " coalesce((SELECT min(staged_through) FROM sluice_archive_lanes"
       " WHERE consumer = ?1 AND stream_arn = ?2 AND shard_created = ?3"
       " AND shard_id = ?4 AND lane_count != ?6), -1), 0)"
       " RETURNING id, staged_through"},
      {&update_lane_, "update archive lane",
       "UPDATE sluice_archive_lanes SET staged_through = ?2,"
       " first_staged_at = ?3, staged_bytes = ?4 WHERE id = ?1"},
      {&stage_record_, "stage record",
       "INSERT OR REPLACE INTO sluice_archive_staged (lane_id,"
       " record_offset, sequence_number, arrival, data)"
       " VALUES (?1, ?2, ?3, ?4, ?5)"},
      {&read_staged_, "read staged records",
       "SELECT record_offset, sequence_number, arrival, data"
       " FROM sluice_archive_staged WHERE lane_id = ?1"
       " ORDER BY record_offset"},
      {&drop_staged_, "drop archived records",
       "DELETE FROM sluice_archive_staged WHERE lane_id = ?1"
       " AND record_offset <= ?2"},
      {&note_object_, "note archived object",
       "INSERT OR REPLACE INTO sluice_archive_objects (key, consumer,"
       " shard_id, lane_id, first_offset, last_offset, records,"
       " first_sequence_number, last_sequence_number, written_at)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"},
  };
  for (const auto& [statement, name, sql] : statements) {
    Result<Statement> prepared = db_.Prepare(name, sql);
    if (!prepared.ok()) return prepared.status();
    *statement = std::move(prepared).value();
  }
  // Lanes with records staged before a restart, for the roller.
  Result<Statement> waiting = db_.Prepare(
      "list archive lanes",
      "SELECT id, stream_arn, shard_created, shard_id, lane, lane_count,"
      " staged_through, first_staged_at, staged_bytes"
      " FROM sluice_archive_lanes WHERE consumer = ?1");
  if (!waiting.ok()) return waiting.status();
  waiting->BindText(1, consumer_);
  while (true) {
    Result<bool> row = waiting->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    auto lane = std::make_shared<Lane>();
    lane->id = waiting->ColumnInt(0);
    lane->shard_id = waiting->ColumnText(3);
    lane->staged_through = waiting->ColumnInt(6);
    lane->first_staged_at = waiting->ColumnOptionalInt(7);
    lane->staged_bytes = static_cast<uint64_t>(waiting->ColumnInt(8));
    lanes_[LaneKey(waiting->ColumnText(1),
                   static_cast<uint64_t>(waiting->ColumnInt(2)), lane->shard_id,
                   static_cast<uint32_t>(waiting->ColumnInt(4)),
                   static_cast<uint32_t>(waiting->ColumnInt(5)))] = lane;
  }
  return Status::Ok();
}

Result<std::shared_ptr<ArchiveHandler::Lane>> ArchiveHandler::LaneOf(
    const Batch& batch, uint64_t shard_created) {
  const LaneKey key(batch.stream_arn, shard_created, batch.shard_id, batch.lane,
                    batch.lane_count);
  std::lock_guard lanes_lock(lanes_mu_);
  if (auto it = lanes_.find(key); it != lanes_.end()) return it->second;
  auto lane = std::make_shared<Lane>();
  lane->shard_id = batch.shard_id;
  std::lock_guard db_lock(db_mu_);
  for (Statement* statement : {&find_lane_, &add_lane_}) {
    StatementUse use(*statement);
    use->BindText(1, consumer_);
    use->BindText(2, batch.stream_arn);
    use->BindInt(3, static_cast<int64_t>(shard_created));
    use->BindText(4, batch.shard_id);
    use->BindInt(5, batch.lane);
    use->BindInt(6, batch.lane_count);
    Result<bool> row = use->Step();
    if (!row.ok()) return row.status();
    if (!*row) continue;  // not there yet: add it
    lane->id = use->ColumnInt(0);
    lane->staged_through = use->ColumnInt(1);
    if (statement == &find_lane_) {
      lane->first_staged_at = use->ColumnOptionalInt(2);
      lane->staged_bytes = static_cast<uint64_t>(use->ColumnInt(3));
    }
    break;
  }
  lanes_[key] = lane;
  return lane;
}

Status ArchiveHandler::Stage(Lane& lane, const Batch& batch) {
  int64_t through = lane.staged_through;
  uint64_t bytes = lane.staged_bytes;
  std::optional<EpochMillis> since = lane.first_staged_at;
  std::lock_guard lock(db_mu_);
  Result<Transaction> transaction = Transaction::Begin(db_, "stage records");
  if (!transaction.ok()) return transaction.status();
  for (const ConsumerRecord& record : batch.records) {
    // Seen before a retry or a crash: staged or archived already.
    if (static_cast<int64_t>(record.offset) <= through) continue;
    StatementUse stage(stage_record_);
    stage->BindInt(1, lane.id);
    stage->BindInt(2, static_cast<int64_t>(record.offset));
    stage->BindText(3, record.sequence_number);
    stage->BindInt(4, record.arrival_millis);
    stage->BindText(5, record.data);
    if (Status s = stage->Run(); !s.ok()) return s;
    through = static_cast<int64_t>(record.offset);
    bytes += record.data.size();
    if (!since) since = clock_->NowMillis();
  }
  if (through == lane.staged_through) return Status::Ok();  // nothing new
  StatementUse update(update_lane_);
  update->BindInt(1, lane.id);
  update->BindInt(2, through);
  update->BindOptionalInt(3, since);
  update->BindInt(4, static_cast<int64_t>(bytes));
  if (Status s = update->Run(); !s.ok()) return s;
  if (Status s = transaction->Commit(); !s.ok()) return s;
  lane.staged_through = through;
  lane.staged_bytes = bytes;
  lane.first_staged_at = since;
  return Status::Ok();
}

bool ArchiveHandler::Due(const Lane& lane) const {
  if (!lane.first_staged_at) return false;
  return lane.staged_bytes >= size_bytes_ ||
         clock_->NowMillis() - *lane.first_staged_at >= interval_millis_;
}

Status ArchiveHandler::Roll(Lane& lane) {
  std::vector<StagedRecord> records;
  {
    std::lock_guard lock(db_mu_);
    StatementUse read(read_staged_);
    read->BindInt(1, lane.id);
    while (true) {
      Result<bool> row = read->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      records.push_back(StagedRecord{read->ColumnInt(0), read->ColumnText(1),
                                     read->ColumnInt(2), read->ColumnText(3)});
    }
  }
  if (!records.empty()) {
    // The key depends only on the first staged record, so a roll redone
    // after a crash rewrites the same object.
    const StagedRecord& first = records.front();
    Result<std::string> partition = firehose::FormatTimestamp(
        hourly_ ? "'year='yyyy'/month='MM'/day='dd'/hour='HH'/'"
                : "'year='yyyy'/month='MM'/day='dd'/'",
        first.arrival);
    if (!partition.ok()) return partition.status();
    const std::string key =
        prefix_ + *partition + consumer_ + "-" + lane.shard_id + "-" +
        first.sequence_number +
        std::string(firehose::CompressionExtension(compression_));
    std::string body;
    for (const StagedRecord& record : records) {
      body += record.data;
      if (append_newline_) body += '\n';
    }
    if (Status s = firehose::WriteCompressedObject(
            firehose::ObjectPath(archive_dir_, key), compression_, key,
            std::move(body));
        !s.ok()) {
      return s;
    }
    std::lock_guard lock(db_mu_);
    Result<Transaction> transaction =
        Transaction::Begin(db_, "note archived object");
    if (!transaction.ok()) return transaction.status();
    {
      StatementUse drop(drop_staged_);
      drop->BindInt(1, lane.id);
      drop->BindInt(2, records.back().offset);
      if (Status s = drop->Run(); !s.ok()) return s;
    }
    {
      StatementUse note(note_object_);
      note->BindText(1, key);
      note->BindText(2, consumer_);
      note->BindText(3, lane.shard_id);
      note->BindInt(4, lane.id);
      note->BindInt(5, first.offset);
      note->BindInt(6, records.back().offset);
      note->BindInt(7, static_cast<int64_t>(records.size()));
      note->BindText(8, first.sequence_number);
      note->BindText(9, records.back().sequence_number);
      note->BindText(10, FormatIsoMillis(clock_->NowMillis()));
      if (Status s = note->Run(); !s.ok()) return s;
    }
    {
      StatementUse update(update_lane_);
      update->BindInt(1, lane.id);
      update->BindInt(2, lane.staged_through);
      update->BindNull(3);
      update->BindInt(4, 0);
      if (Status s = update->Run(); !s.ok()) return s;
    }
    if (Status s = transaction->Commit(); !s.ok()) return s;
  }
  lane.first_staged_at.reset();
  lane.staged_bytes = 0;
  return Status::Ok();
}

HandlerResult ArchiveHandler::Handle(const Batch& batch) {
  if (batch.records.empty()) return HandlerResult::Success();
  const std::optional<SequenceNumberParts> first =
      DecodeSequenceNumber(batch.records.front().sequence_number);
  const uint64_t shard_created =
      first.has_value() ? first->shard_creation_seconds : 0;
  Result<std::shared_ptr<Lane>> lane = LaneOf(batch, shard_created);
  if (!lane.ok()) return HandlerResult::FunctionError(lane.status().message());
  std::lock_guard lock((*lane)->mu);
  // Until the records are staged nothing is durable: the call fails and the
  // runtime retries it.
  if (Status s = Stage(**lane, batch); !s.ok()) {
    return HandlerResult::FunctionError("staging records failed: " +
                                        s.message());
  }
  if (Due(**lane)) {
    // The records are durable in staging whatever happens here, so the
    // batch has succeeded; a failed write is retried by the roller.
    if (Status s = Roll(**lane); !s.ok()) {
      SLUICE_LOG(kWarn) << "consumer " << consumer_ << " " << batch.shard_id
                        << ": writing an archive object failed (retried): "
                        << s.message();
    }
  }
  return HandlerResult::Success();
}

Status ArchiveHandler::Flush() {
  std::vector<std::shared_ptr<Lane>> lanes;
  {
    std::lock_guard lock(lanes_mu_);
    for (const auto& [key, lane] : lanes_) lanes.push_back(lane);
  }
  Status first_failure;
  for (const std::shared_ptr<Lane>& lane : lanes) {
    std::lock_guard lock(lane->mu);
    if (!lane->first_staged_at) continue;
    if (Status s = Roll(*lane); !s.ok() && first_failure.ok()) {
      first_failure = s;
    }
  }
  return first_failure;
}

void ArchiveHandler::RollerLoop() {
  std::unique_lock stop_lock(stop_mu_);
  while (!stop_cv_.wait_for(stop_lock, kRollerPoll, [this] { return stop_; })) {
    stop_lock.unlock();
    std::vector<std::shared_ptr<Lane>> lanes;
    {
      std::lock_guard lock(lanes_mu_);
      for (const auto& [key, lane] : lanes_) lanes.push_back(lane);
    }
    for (const std::shared_ptr<Lane>& lane : lanes) {
      // A lane busy in Handle() rolls there if it is due.
      std::unique_lock lane_lock(lane->mu, std::try_to_lock);
      if (!lane_lock.owns_lock() || !Due(*lane) ||
          std::chrono::steady_clock::now() < lane->retry_after) {
        continue;
      }
      if (Status s = Roll(*lane); !s.ok()) {
        lane->retry_after = std::chrono::steady_clock::now() + kRollRetryDelay;
        SLUICE_LOG(kWarn) << "consumer " << consumer_ << " " << lane->shard_id
                          << ": writing an archive object failed (retried): "
                          << s.message();
      }
    }
    stop_lock.lock();
  }
}

}  // namespace sluice::consumers
