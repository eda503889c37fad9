#include "server/kinesis/stream_manager.h"

#include <algorithm>
#include <filesystem>

#include "common/log.h"
#include "server/storage/file_shard_log.h"
#include "server/storage/memory_shard_log.h"
#include "server/storage/periodic_syncer.h"

namespace sluice::kinesis {
namespace {

class MemoryLogFactory final : public LogFactory {
 public:
  Result<std::unique_ptr<storage::ShardLog>> Open(
      int64_t /*stream_id*/, const storage::ShardIdentity& identity) override {
    return std::unique_ptr<storage::ShardLog>(
        std::make_unique<storage::MemoryShardLog>(identity));
  }
  Status Remove(int64_t /*stream_id*/) override { return Status::Ok(); }
};

class FileLogFactory final : public LogFactory {
 public:
  FileLogFactory(std::string data_dir, storage::FsyncMode fsync_mode)
      : root_(std::filesystem::path(data_dir) / "streams"),
        fsync_mode_(fsync_mode),
        syncer_(storage::kDefaultFsyncInterval) {}

  Result<std::unique_ptr<storage::ShardLog>> Open(
      int64_t stream_id, const storage::ShardIdentity& identity) override {
    storage::FileShardLogOptions options;
    options.directory =
        StreamDir(stream_id) / std::to_string(identity.shard_index);
    options.identity = identity;
    options.fsync_mode = fsync_mode_;
    options.syncer = &syncer_;  // one thread for every shard, not one each
    auto log = storage::FileShardLog::Open(std::move(options));
    if (!log.ok()) return log.status();
    return std::unique_ptr<storage::ShardLog>(std::move(*log));
  }

  Status Remove(int64_t stream_id) override {
    std::error_code ec;
    std::filesystem::remove_all(StreamDir(stream_id), ec);
    if (ec) {
      return Status(ErrorCode::kInternalFailure,
                    "cannot remove " + StreamDir(stream_id).string() + ": " +
                        ec.message());
    }
    return Status::Ok();
  }

 private:
  std::filesystem::path StreamDir(int64_t stream_id) const {
    return root_ / std::to_string(stream_id);
  }

  std::filesystem::path root_;
  storage::FsyncMode fsync_mode_;
  // Outlives the logs: the StreamManager closes them before its factory goes.
  storage::PeriodicSyncer syncer_;
};

storage::ShardIdentity IdentityOf(const catalog::ShardRecord& shard) {
  return {shard.shard_index, static_cast<uint64_t>(shard.created_at / 1000)};
}

// The shard's range as numbers; the catalog stores it as decimal text that
// this process wrote, so a parse failure means a damaged catalog.
Result<HashKeyRange> RangeOf(const catalog::ShardRecord& shard) {
  auto start = ParseHashKey(shard.hash_key_start);
  auto end = ParseHashKey(shard.hash_key_end);
  if (!start || !end) {
    return Status(ErrorCode::kInternalFailure,
                  "catalog holds a bad hash key range for " + shard.ShardId());
  }
  return HashKeyRange{*start, *end};
}

}  // namespace

std::unique_ptr<LogFactory> NewMemoryLogFactory() {
  return std::make_unique<MemoryLogFactory>();
}

std::unique_ptr<LogFactory> NewFileLogFactory(std::string data_dir,
                                              storage::FsyncMode fsync_mode) {
  return std::make_unique<FileLogFactory>(std::move(data_dir), fsync_mode);
}

Status StreamNotFound(const StreamKey& key) {
  return Status(ErrorCode::kResourceNotFound,
                "Stream " + key.name + " under account " + key.account_id +
                    " not found.");
}

Status RateExceeded(const catalog::StreamRecord& stream,
                    const catalog::ShardRecord& shard) {
  return Status(ErrorCode::kProvisionedThroughputExceeded,
                "Rate exceeded for shard " + shard.ShardId() + " in stream " +
                    stream.name + " under account " + stream.account_id + ".");
}

Status StreamNotActive(const catalog::StreamRecord& stream) {
  return Status(ErrorCode::kResourceInUse,
                "Stream " + stream.name + " under account " +
                    stream.account_id + " not ACTIVE, instead in state " +
                    std::string(catalog::ToString(stream.status)));
}

StreamManager::StreamManager(catalog::Catalog& catalog,
                             std::unique_ptr<LogFactory> logs,
                             const Clock& clock, StreamManagerOptions options)
    : catalog_(catalog),
      logs_(std::move(logs)),
      clock_(clock),
      options_(options) {}

StreamManager::~StreamManager() {
  {
    std::lock_guard lock(maintenance_mu_);
    stopping_ = true;
  }
  maintenance_wake_.notify_all();
  if (maintenance_.joinable()) maintenance_.join();

  std::unique_lock lock(mu_);
  for (auto& [key, stream] : streams_) {
    std::unique_lock stream_lock(stream->mu);
    for (LiveShard& shard : stream->shards) {
      if (Status s = shard.log->Close(); !s.ok()) {
        SLUICE_LOG(kError) << "closing " << key.name << "/"
                           << shard.record.ShardId() << ": " << s.ToString();
      }
    }
  }
}

Status StreamManager::Start() {
  auto all = catalog_.ListAllStreams();
  if (!all.ok()) return all.status();
  for (catalog::StreamRecord& record : *all) {
    StreamKey key{record.account_id, record.region, record.name};
    if (record.status == catalog::StreamStatus::kDeleting) {
      // A restart cut the delete delay short; finish the deletion.
      if (Status s = catalog_.DeleteStream(record.stream_id); !s.ok()) return s;
      if (Status s = logs_->Remove(record.stream_id); !s.ok()) return s;
      continue;
    }
    if (record.status != catalog::StreamStatus::kActive) {
      record.status = catalog::StreamStatus::kActive;
      if (Status s = catalog_.UpdateStream(record); !s.ok()) return s;
    }
    auto shards = catalog_.ListShards(record.stream_id);
    if (!shards.ok()) return shards.status();
    auto live = std::make_shared<LiveStream>();
    live->record = record;
    for (catalog::ShardRecord& shard : *shards) {
      auto range = RangeOf(shard);
      if (!range.ok()) return range.status();
      auto log = logs_->Open(record.stream_id, IdentityOf(shard));
      if (!log.ok()) return log.status();
      for (const std::string& corrupt : (*log)->CorruptSegments()) {
        SLUICE_LOG(kError) << "stream " << record.name << " " << shard.ShardId()
                           << ": damaged segment set aside: " << corrupt;
      }
      live->shards.push_back({std::move(shard), *range, std::move(*log)});
    }
    std::unique_lock lock(mu_);
    by_id_.emplace(record.stream_id, live);
    streams_.emplace(std::move(key), std::move(live));
  }
  SLUICE_LOG(kInfo) << "loaded " << streams_.size() << " stream(s)";
  maintenance_ = std::thread([this] { MaintenanceLoop(); });
  return Status::Ok();
}

uint32_t StreamManager::OpenShardCount(std::string_view account_id,
                                       std::string_view region) {
  uint32_t count = 0;
  std::shared_lock lock(mu_);
  for (auto& [key, stream] : streams_) {
    if (key.account_id != account_id || key.region != region) continue;
    std::shared_lock stream_lock(stream->mu);
    for (const LiveShard& shard : stream->shards)
      count += shard.record.IsOpen();
  }
  return count;
}

uint32_t StreamManager::OnDemandStreamCount(std::string_view account_id,
                                            std::string_view region) {
  uint32_t count = 0;
  std::shared_lock lock(mu_);
  for (auto& [key, stream] : streams_) {
    if (key.account_id != account_id || key.region != region) continue;
    std::shared_lock stream_lock(stream->mu);
    count += stream->record.mode == catalog::StreamMode::kOnDemand;
  }
  return count;
}

Result<catalog::StreamRecord> StreamManager::CreateStream(
    const NewStream& request) {
  std::lock_guard control(control_mu_);
  const StreamKey& key = request.key;
  {
    std::shared_lock lock(mu_);
    if (streams_.count(key)) {
      return Status(ErrorCode::kResourceInUse,
                    "Stream " + key.name + " under account " + key.account_id +
                        " already exists.");
    }
  }
  uint32_t open_shards = OpenShardCount(key.account_id, key.region);
  if (open_shards + request.shard_count > options_.shard_limit) {
    return Status(
        ErrorCode::kLimitExceeded,
        "This request would exceed the shard limit for the account " +
            key.account_id + " in " + key.region +
            ". Current shard count for the account: " +
            std::to_string(open_shards) +
            ". Limit: " + std::to_string(options_.shard_limit) +
            ". Number of additional shards that would have resulted from this "
            "request: " +
            std::to_string(request.shard_count) +
            ". Refer to the AWS Service Limits page "
            "(http://docs.aws.amazon.com/general/latest/gr/"
            "aws_service_limits.html) "
            "for current limits and how to request higher limits.");
  }

  EpochMillis now = clock_.NowMillis();
  catalog::StreamRecord record;
  record.account_id = key.account_id;
  record.region = key.region;
  record.name = key.name;
  record.status = options_.create_delay.count() > 0
                      ? catalog::StreamStatus::kCreating
                      : catalog::StreamStatus::kActive;
  record.mode = request.mode;
  record.created_at = now;
  record.max_record_size_kib = request.max_record_size_kib;
  record.next_shard_index = request.shard_count;

  std::vector<catalog::ShardRecord> shards;
  std::vector<HashKeyRange> ranges = EvenHashKeyRanges(request.shard_count);
  for (uint32_t i = 0; i < request.shard_count; ++i) {
    catalog::ShardRecord shard;
    shard.shard_index = i;
    shard.hash_key_start = ToDecimal(ranges[i].start);
    shard.hash_key_end = ToDecimal(ranges[i].end);
    shard.created_at = now;
    shard.starting_sequence_number =
        storage::SequenceNumberFor(IdentityOf(shard), 0, now);
    shards.push_back(std::move(shard));
  }
  if (Status s = catalog_.CreateStream(record, shards); !s.ok()) return s;

  auto live = std::make_shared<LiveStream>();
  live->record = record;
  if (record.status == catalog::StreamStatus::kCreating) {
    live->transition_due_at = now + options_.create_delay.count();
  }
  for (uint32_t i = 0; i < request.shard_count; ++i) {
    auto log = logs_->Open(record.stream_id, IdentityOf(shards[i]));
    if (!log.ok()) {
      // Undo, so a failed create leaves nothing behind.
      (void)catalog_.DeleteStream(record.stream_id);
      (void)logs_->Remove(record.stream_id);
      return log.status();
    }
    shards[i].stream_id = record.stream_id;
    live->shards.push_back({std::move(shards[i]), ranges[i], std::move(*log)});
  }
  std::unique_lock lock(mu_);
  by_id_.emplace(record.stream_id, live);
  streams_.emplace(key, std::move(live));
  return record;
}

Result<std::shared_ptr<LiveStream>> StreamManager::Find(const StreamKey& key) {
  std::shared_ptr<LiveStream> stream;
  {
    std::shared_lock lock(mu_);
    auto it = streams_.find(key);
    if (it == streams_.end()) return StreamNotFound(key);
    stream = it->second;
  }
  EpochMillis now = clock_.NowMillis();
  {
    std::shared_lock lock(stream->mu);
    if (stream->transition_due_at == 0 || now < stream->transition_due_at) {
      return stream;
    }
  }
  bool remove = false;
  int64_t stream_id = 0;
  {
    std::unique_lock lock(stream->mu);
    remove = AdvanceLocked(*stream, now);
    stream_id = stream->record.stream_id;
  }
  if (remove) {
    if (Status s = RemoveStream(key, stream_id); !s.ok()) return s;
    return StreamNotFound(key);
  }
  return stream;
}

bool StreamManager::AdvanceLocked(LiveStream& stream, EpochMillis now) {
  if (stream.transition_due_at == 0 || now < stream.transition_due_at)
    return false;
  if (stream.record.status == catalog::StreamStatus::kDeleting) return true;
  catalog::StreamRecord next = stream.record;
  next.status = catalog::StreamStatus::kActive;
  if (Status s = catalog_.UpdateStream(next); !s.ok()) {
    // Stay in the old state and try again on the next look.
    SLUICE_LOG(kError) << "stream " << next.name << ": " << s.ToString();
    return false;
  }
  stream.record = std::move(next);
  stream.transition_due_at = 0;
  stream.warm_current_mibps = stream.warm_target_mibps;
  return false;
}

Status StreamManager::RemoveStream(const StreamKey& key, int64_t stream_id) {
  std::shared_ptr<LiveStream> stream;
  {
    std::unique_lock lock(mu_);
    auto it = streams_.find(key);
    // Another thread may have removed it, or a new incarnation may stand in
    // its place already.
    if (it == streams_.end() || it->second->record.stream_id != stream_id) {
      return Status::Ok();
    }
    stream = std::move(it->second);
    streams_.erase(it);
    by_id_.erase(stream_id);
  }
  {
    std::unique_lock lock(stream->mu);
    for (LiveShard& shard : stream->shards) (void)shard.log->Close();
  }
  if (Status s = catalog_.DeleteStream(stream_id); !s.ok()) return s;
  return logs_->Remove(stream_id);
}

std::vector<catalog::StreamRecord> StreamManager::List(
    std::string_view account_id, std::string_view region,
    std::string_view exclusive_start, size_t limit) {
  std::vector<StreamKey> keys;
  {
    std::shared_lock lock(mu_);
    auto it = streams_.upper_bound(StreamKey{std::string(account_id),
                                             std::string(region),
                                             std::string(exclusive_start)});
    for (; it != streams_.end() && it->first.account_id == account_id &&
           it->first.region == region;
         ++it) {
      keys.push_back(it->first);
    }
  }
  std::vector<catalog::StreamRecord> out;
  for (const StreamKey& key : keys) {
    if (out.size() == limit) break;
    auto stream = Find(key);  // also retires streams whose deletion is due
    if (!stream.ok()) continue;
    std::shared_lock lock((*stream)->mu);
    out.push_back((*stream)->record);
  }
  return out;
}

Status StreamManager::DeleteStream(const StreamKey& key) {
  std::lock_guard control(control_mu_);
  auto found = Find(key);
  if (!found.ok()) return found.status();
  std::shared_ptr<LiveStream> stream = std::move(*found);
  int64_t stream_id = 0;
  {
    std::unique_lock lock(stream->mu);
    stream_id = stream->record.stream_id;
    if (options_.delete_delay.count() > 0) {
      if (stream->record.status == catalog::StreamStatus::kDeleting) {
        return Status::Ok();
      }
      catalog::StreamRecord next = stream->record;
      next.status = catalog::StreamStatus::kDeleting;
      if (Status s = catalog_.UpdateStream(next); !s.ok()) return s;
      stream->record = std::move(next);
      stream->transition_due_at =
          clock_.NowMillis() + options_.delete_delay.count();
      return Status::Ok();
    }
  }
  return RemoveStream(key, stream_id);
}

Status StreamManager::UpdateStream(
    const StreamKey& key, bool through_updating,
    const std::function<Status(catalog::StreamRecord&)>& change) {
  auto found = Find(key);
  if (!found.ok()) return found.status();
  LiveStream& stream = **found;
  std::unique_lock lock(stream.mu);
  catalog::StreamRecord next = stream.record;
  if (Status s = change(next); !s.ok()) return s;
  bool delayed = through_updating && options_.update_delay.count() > 0;
  if (delayed) next.status = catalog::StreamStatus::kUpdating;
  if (Status s = catalog_.UpdateStream(next); !s.ok()) return s;
  stream.record = std::move(next);
  if (delayed) {
    stream.transition_due_at =
        clock_.NowMillis() + options_.update_delay.count();
  }
  return Status::Ok();
}

std::shared_ptr<LiveStream> StreamManager::FindById(int64_t stream_id) {
  std::shared_ptr<LiveStream> stream;
  {
    std::shared_lock lock(mu_);
    auto it = by_id_.find(stream_id);
    if (it == by_id_.end()) return nullptr;
    stream = it->second;
  }
  StreamKey key;
  {
    std::shared_lock lock(stream->mu);
    key = {stream->record.account_id, stream->record.region,
           stream->record.name};
  }
  // Through Find(), so that a due deletion is carried out first.
  auto found = Find(key);
  if (!found.ok() || (*found)->record.stream_id != stream_id) return nullptr;
  return stream;
}

std::vector<PutOutcome> StreamManager::Put(
    LiveStream& stream, std::span<const storage::RecordToAppend> records) {
  std::shared_lock lock(stream.mu);
  EpochMillis now = clock_.NowMillis();

  // Open shards in hash-key order; a stream's open shards tile the key space.
  std::vector<size_t> open;
  for (size_t i = 0; i < stream.shards.size(); ++i) {
    if (stream.shards[i].record.IsOpen()) open.push_back(i);
  }
  std::sort(open.begin(), open.end(), [&](size_t a, size_t b) {
    return stream.shards[a].range.start < stream.shards[b].range.start;
  });

  // Group the records by shard, keeping request order within each shard.
  std::vector<PutOutcome> outcomes(records.size());
  std::vector<std::vector<size_t>> by_shard(stream.shards.size());
  for (size_t r = 0; r < records.size(); ++r) {
    const storage::RecordToAppend& record = records[r];
    HashKey hash = record.explicit_hash_key
                       ? ParseHashKey(*record.explicit_hash_key).value_or(0)
                       : HashKeyForPartitionKey(record.partition_key);
    auto it = std::upper_bound(open.begin(), open.end(), hash,
                               [&](HashKey h, size_t shard) {
                                 return h < stream.shards[shard].range.start;
                               });
    if (it == open.begin()) {
      outcomes[r].status =
          Status(ErrorCode::kInternalFailure, "Internal service failure.");
      continue;
    }
    size_t shard = *(it - 1);
    if (options_.enforce_limits &&
        !stream.shards[shard].throughput->AdmitWrite(
            record.data.size() + record.partition_key.size(), now)) {
      outcomes[r].shard_index = stream.shards[shard].record.shard_index;
      outcomes[r].status =
          RateExceeded(stream.record, stream.shards[shard].record);
      continue;
    }
    by_shard[shard].push_back(r);
  }

  std::vector<storage::RecordToAppend> batch;
  for (size_t s = 0; s < by_shard.size(); ++s) {
    if (by_shard[s].empty()) continue;
    batch.clear();
    for (size_t r : by_shard[s]) {
      batch.push_back(records[r]);
      batch.back().arrival_millis = now;
    }
    auto appended = stream.shards[s].log->AppendBatch(batch);
    for (size_t k = 0; k < by_shard[s].size(); ++k) {
      PutOutcome& outcome = outcomes[by_shard[s][k]];
      outcome.shard_index = stream.shards[s].record.shard_index;
      if (appended.ok()) {
        outcome.sequence_number = std::move((*appended)[k].sequence_number);
      } else {
        outcome.status = appended.status();
      }
    }
    if (!appended.ok()) {
      SLUICE_LOG(kError) << "append to " << stream.record.name << "/"
                         << stream.shards[s].record.ShardId()
                         << " failed: " << appended.status().ToString();
    }
  }
  return outcomes;
}

void StreamManager::RunMaintenance() {
  std::vector<std::pair<StreamKey, std::shared_ptr<LiveStream>>> snapshot;
  {
    std::shared_lock lock(mu_);
    snapshot.assign(streams_.begin(), streams_.end());
  }
  for (auto& [key, stream] : snapshot) {
    if (!Find(key).ok()) continue;  // carries out due state changes
    EpochMillis now = clock_.NowMillis();
    std::shared_lock lock(stream->mu);
    RetainLocked(*stream, now);
  }
}

Status StreamManager::ApplyRetention(const StreamKey& key) {
  auto stream = Find(key);
  if (!stream.ok()) return stream.status();
  std::shared_lock lock((*stream)->mu);
  RetainLocked(**stream, clock_.NowMillis());
  return Status::Ok();
}

void StreamManager::RetainLocked(const LiveStream& stream, EpochMillis now) {
  std::chrono::milliseconds retention =
      std::chrono::hours(stream.record.retention_hours);
  for (const LiveShard& shard : stream.shards) {
    if (Status s = shard.log->ApplyRetention(now, retention); !s.ok()) {
      SLUICE_LOG(kError) << "retention of " << stream.record.name << "/"
                         << shard.record.ShardId() << ": " << s.ToString();
    }
  }
}

void StreamManager::MaintenanceLoop() {
  std::unique_lock lock(maintenance_mu_);
  while (!stopping_) {
    maintenance_wake_.wait_for(lock, options_.maintenance_interval,
                               [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    RunMaintenance();
    lock.lock();
  }
}

}  // namespace sluice::kinesis
