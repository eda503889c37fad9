#include "server/kinesis/stream_manager.h"

#include <algorithm>
#include <filesystem>
#include <limits>

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

Status ShardLimitExceeded(const StreamKey& key, uint32_t open_shards,
                          uint32_t additional, uint32_t limit) {
  return Status(
      ErrorCode::kLimitExceeded,
      "This request would exceed the shard limit for the account " +
          key.account_id + " in " + key.region +
          ". Current shard count for the account: " +
          std::to_string(open_shards) + ". Limit: " + std::to_string(limit) +
          ". Number of additional shards that would have resulted from this "
          "request: " +
          std::to_string(additional) +
          ". Refer to the AWS Service Limits page "
          "(http://docs.aws.amazon.com/general/latest/gr/"
          "aws_service_limits.html) "
          "for current limits and how to request higher limits.");
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
    return ShardLimitExceeded(key, open_shards, request.shard_count,
                              options_.shard_limit);
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

Status StreamManager::DeleteStream(
    const StreamKey& key, const std::function<Status(LiveStream&)>& before) {
  std::lock_guard control(control_mu_);
  auto found = Find(key);
  if (!found.ok()) return found.status();
  std::shared_ptr<LiveStream> stream = std::move(*found);
  int64_t stream_id = 0;
  {
    std::unique_lock lock(stream->mu);
    stream_id = stream->record.stream_id;
    if (before) {
      if (Status s = before(*stream); !s.ok()) return s;
    }
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

// A reshard being planned: copies of the stream's shard records that the
// plan closes and adds to. Lives under the stream's exclusive lock.
class StreamManager::Reshard {
 public:
  Reshard(LiveStream& stream, EpochMillis now) : stream_(stream), now_(now) {
    for (const LiveShard& shard : stream.shards) {
      shards_.push_back(shard.record);
      ranges_.push_back(shard.range);
    }
  }

  const catalog::StreamRecord& stream() const { return stream_.record; }
  size_t size() const { return shards_.size(); }
  const catalog::ShardRecord& shard(uint32_t index) const {
    return shards_[index];
  }
  const HashKeyRange& range(uint32_t index) const { return ranges_[index]; }
  const std::vector<HashKeyRange>& ranges() const { return ranges_; }

  // Open shards in hash-key order.
  std::vector<uint32_t> OpenInKeyOrder() const {
    std::vector<uint32_t> open;
    for (uint32_t i = 0; i < shards_.size(); ++i) {
      if (shards_[i].IsOpen()) open.push_back(i);
    }
    std::sort(open.begin(), open.end(), [&](uint32_t a, uint32_t b) {
      return ranges_[a].start < ranges_[b].start;
    });
    return open;
  }

  // "Shard <id> in stream <s> under account <a> has already been merged or
  // split, ..."; kResourceNotFound for an index the stream never had.
  Status CheckOpen(uint32_t index) const {
    const catalog::StreamRecord& s = stream();
    if (index >= shards_.size()) {
      return Status(ErrorCode::kResourceNotFound,
                    "Could not find shard " + catalog::ShardIdFor(index) +
                        " in stream " + s.name + " under account " +
                        s.account_id + ".");
    }
    if (!shards_[index].IsOpen()) {
      return Status(ErrorCode::kInvalidArgument,
                    "Shard " + shards_[index].ShardId() + " in stream " +
                        s.name + " under account " + s.account_id +
                        " has already been merged or split, and thus is not "
                        "eligible for merging or splitting.");
    }
    return Status::Ok();
  }

  // REQUIRES: `index` open, range.start < key <= range.end.
  void Split(uint32_t index, HashKey key) {
    HashKeyRange parent = ranges_[index];
    EpochMillis born = Close({index});
    AddChild({parent.start, key - 1}, index, std::nullopt, born);
    AddChild({key, parent.end}, index, std::nullopt, born);
  }

  // REQUIRES: both open, their ranges touch. Returns the child's index.
  uint32_t Merge(uint32_t index, uint32_t adjacent) {
    HashKeyRange joined{std::min(ranges_[index].start, ranges_[adjacent].start),
                        std::max(ranges_[index].end, ranges_[adjacent].end)};
    EpochMillis born = Close({index, adjacent});
    return AddChild(joined, index, adjacent, born);
  }

  int open_delta() const { return open_delta_; }
  uint32_t first_new() const {
    return static_cast<uint32_t>(stream_.shards.size());
  }
  std::vector<catalog::ShardRecord> Changed() const {
    std::vector<catalog::ShardRecord> out;
    for (uint32_t i = 0; i < shards_.size(); ++i) {
      if (i >= stream_.shards.size() ||
          !(shards_[i] == stream_.shards[i].record))
        out.push_back(shards_[i]);
    }
    return out;
  }

 private:
  // Closes the parents; returns the children's creation time, also the
  // parents' closing time: at least a second past every parent's creation,
  // so the children's sequence numbers sort above the parents'.
  EpochMillis Close(std::initializer_list<uint32_t> parents) {
    EpochMillis born = now_;
    for (uint32_t p : parents) {
      born = std::max(born, (shards_[p].created_at / 1000 + 1) * 1000);
    }
    for (uint32_t p : parents) {
      shards_[p].ending_sequence_number = LastSequenceNumber(p);
      shards_[p].closed_at = born;
      --open_delta_;
    }
    return born;
  }

  // The number of the shard's last record; its starting number when it has
  // none (a shard born in this plan, or one never written to).
  std::string LastSequenceNumber(uint32_t index) {
    if (index < stream_.shards.size()) {
      storage::ShardLog& log = *stream_.shards[index].log;
      uint64_t tip = log.Tip();
      if (tip > 0) {
        auto last = log.Read(tip - 1, 1, std::numeric_limits<size_t>::max());
        if (last.ok() && !last->records.empty()) {
          return last->records.back().sequence_number;
        }
        // Trimmed away: the number it had, up to its arrival seconds, which
        // sort below the counter.
        return storage::SequenceNumberFor(log.identity(), tip - 1, now_);
      }
    }
    return shards_[index].starting_sequence_number;
  }

  uint32_t AddChild(HashKeyRange range, uint32_t parent,
                    std::optional<uint32_t> adjacent, EpochMillis born) {
    catalog::ShardRecord child;
    child.stream_id = stream_.record.stream_id;
    child.shard_index = static_cast<uint32_t>(shards_.size());
    child.hash_key_start = ToDecimal(range.start);
    child.hash_key_end = ToDecimal(range.end);
    child.parent_index = parent;
    child.adjacent_parent_index = adjacent;
    child.created_at = born;
    child.starting_sequence_number =
        storage::SequenceNumberFor(IdentityOf(child), 0, born);
    shards_.push_back(std::move(child));
    ranges_.push_back(range);
    ++open_delta_;
    return shards_.back().shard_index;
  }

  LiveStream& stream_;
  EpochMillis now_;
  std::vector<catalog::ShardRecord> shards_;
  std::vector<HashKeyRange> ranges_;
  int open_delta_ = 0;
};

Status StreamManager::ApplyReshard(
    const StreamKey& key, const std::function<Status(Reshard&)>& plan) {
  std::lock_guard control(control_mu_);
  auto found = Find(key);
  if (!found.ok()) return found.status();
  // Counted before the stream's lock: counting takes every stream's lock.
  uint32_t open_in_account = OpenShardCount(key.account_id, key.region);
  LiveStream& stream = **found;
  std::unique_lock lock(stream.mu);
  if (stream.record.mode == catalog::StreamMode::kOnDemand) {
    return Status(ErrorCode::kValidation,
                  "Request is invalid. Stream " + stream.record.name +
                      " under account " + stream.record.account_id +
                      " is in On-Demand mode.");
  }
  Reshard reshard(stream, clock_.NowMillis());
  if (Status s = plan(reshard); !s.ok()) return s;
  if (reshard.open_delta() > 0 &&
      open_in_account + static_cast<uint32_t>(reshard.open_delta()) >
          options_.shard_limit) {
    return ShardLimitExceeded(key, open_in_account,
                              static_cast<uint32_t>(reshard.open_delta()),
                              options_.shard_limit);
  }
  std::vector<catalog::ShardRecord> changed = reshard.Changed();
  uint32_t next_index = static_cast<uint32_t>(reshard.size());
  if (Status s =
          catalog_.ReplaceShards(stream.record.stream_id, changed, next_index);
      !s.ok()) {
    return s;
  }
  stream.record.next_shard_index = next_index;
  // The catalog has the new shape; logs of the children open now. A failure
  // here leaves the catalog ahead of memory, which the next start repairs.
  std::vector<LiveShard> children;
  for (const catalog::ShardRecord& shard : changed) {
    if (shard.shard_index < stream.shards.size()) continue;
    auto log = logs_->Open(stream.record.stream_id, IdentityOf(shard));
    if (!log.ok()) return log.status();
    children.push_back(
        {shard, reshard.range(shard.shard_index), std::move(*log)});
  }
  for (const catalog::ShardRecord& shard : changed) {
    if (shard.shard_index < stream.shards.size()) {
      stream.shards[shard.shard_index].record = shard;
      // A reader waiting at a parent's tip now has its ChildShards to send.
      stream.shards[shard.shard_index].appended->Notify();
    }
  }
  for (LiveShard& child : children) stream.shards.push_back(std::move(child));

  if (options_.update_delay.count() > 0) {
    catalog::StreamRecord next = stream.record;
    next.status = catalog::StreamStatus::kUpdating;
    if (Status s = catalog_.UpdateStream(next); !s.ok()) return s;
    stream.record = std::move(next);
    stream.transition_due_at =
        clock_.NowMillis() + options_.update_delay.count();
  }
  return Status::Ok();
}

namespace {

Status CheckActiveForReshard(const catalog::StreamRecord& stream) {
  if (stream.status != catalog::StreamStatus::kActive)
    return StreamNotActive(stream);
  return Status::Ok();
}

}  // namespace

Status StreamManager::SplitShard(const StreamKey& key, uint32_t shard_index,
                                 std::string_view new_starting_hash_key) {
  return ApplyReshard(key, [&](Reshard& reshard) -> Status {
    if (Status s = reshard.CheckOpen(shard_index); !s.ok()) return s;
    const HashKeyRange& range = reshard.range(shard_index);
    std::optional<HashKey> split_at = ParseHashKey(new_starting_hash_key);
    if (!split_at || *split_at <= range.start + 1 || *split_at >= range.end) {
      const catalog::StreamRecord& s = reshard.stream();
      return Status(ErrorCode::kInvalidArgument,
                    "NewStartingHashKey " + std::string(new_starting_hash_key) +
                        " used in SplitShard() on shard " +
                        catalog::ShardIdFor(shard_index) + " in stream " +
                        s.name + " under account " + s.account_id +
                        " is not both greater than one plus the shard's "
                        "StartingHashKey " +
                        ToDecimal(range.start) +
                        " and less than the shard's EndingHashKey " +
                        ToDecimal(range.end) + ".");
    }
    if (Status s = CheckActiveForReshard(reshard.stream()); !s.ok()) return s;
    reshard.Split(shard_index, *split_at);
    return Status::Ok();
  });
}

Status StreamManager::MergeShards(const StreamKey& key, uint32_t shard_index,
                                  uint32_t adjacent_index) {
  return ApplyReshard(key, [&](Reshard& reshard) -> Status {
    if (Status s = reshard.CheckOpen(shard_index); !s.ok()) return s;
    if (Status s = reshard.CheckOpen(adjacent_index); !s.ok()) return s;
    const HashKeyRange& a = reshard.range(shard_index);
    const HashKeyRange& b = reshard.range(adjacent_index);
    bool touching = (a.end != kMaxHashKey && a.end + 1 == b.start) ||
                    (b.end != kMaxHashKey && b.end + 1 == a.start);
    if (shard_index == adjacent_index || !touching) {
      const catalog::StreamRecord& s = reshard.stream();
      return Status(ErrorCode::kInvalidArgument,
                    "Shards " + catalog::ShardIdFor(shard_index) + " and " +
                        catalog::ShardIdFor(adjacent_index) + " in stream " +
                        s.name + " under account " + s.account_id +
                        " are not an adjacent pair of shards eligible for "
                        "merging");
    }
    if (Status s = CheckActiveForReshard(reshard.stream()); !s.ok()) return s;
    reshard.Merge(shard_index, adjacent_index);
    return Status::Ok();
  });
}

Result<uint32_t> StreamManager::UpdateShardCount(const StreamKey& key,
                                                 uint32_t target) {
  uint32_t current = 0;
  Status applied = ApplyReshard(key, [&](Reshard& reshard) -> Status {
    const catalog::StreamRecord& s = reshard.stream();
    if (Status st = CheckActiveForReshard(s); !st.ok()) return st;
    std::vector<uint32_t> open = reshard.OpenInKeyOrder();
    current = static_cast<uint32_t>(open.size());
    std::string counts =
        "Current open shard count: " + std::to_string(current) +
        ", Target shard count: " + std::to_string(target);
    if (target > kMaxShardCountTarget) {
      return Status(ErrorCode::kLimitExceeded,
                    "Target shard count or number of open shards cannot be "
                    "greater than " +
                        std::to_string(kMaxShardCountTarget) + ". " + counts);
    }
    if (uint64_t{target} > uint64_t{current} * 2) {
      return Status(ErrorCode::kLimitExceeded,
                    "UpdateShardCount cannot scale up over double your "
                    "current open shard count. " +
                        counts);
    }
    if (uint64_t{target} * 2 < current) {
      return Status(ErrorCode::kLimitExceeded,
                    "UpdateShardCount cannot scale down below half your "
                    "current open shard count. " +
                        counts);
    }
    std::vector<HashKeyRange> goal = EvenHashKeyRanges(target);
    // 1. Split every open shard at each goal boundary strictly inside it.
    for (uint32_t index : open) {
      uint32_t piece = index;
      for (size_t g = 1; g < goal.size(); ++g) {
        HashKey boundary = goal[g].start;
        if (boundary <= reshard.range(piece).start ||
            boundary > reshard.range(piece).end) {
          continue;
        }
        reshard.Split(piece, boundary);
        piece = static_cast<uint32_t>(reshard.size() - 1);  // the upper half
      }
    }
    // 2. Each goal range now holds whole shards; merge them left to right.
    std::vector<uint32_t> pieces = reshard.OpenInKeyOrder();
    size_t p = 0;
    for (const HashKeyRange& range : goal) {
      uint32_t joined = pieces[p++];
      while (p < pieces.size() && reshard.range(pieces[p]).end <= range.end) {
        joined = reshard.Merge(joined, pieces[p++]);
      }
    }
    return Status::Ok();
  });
  if (!applied.ok()) return applied;
  return current;
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
    if (appended.ok()) stream.shards[s].appended->Notify();
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
