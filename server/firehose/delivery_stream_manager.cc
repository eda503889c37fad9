#include "server/firehose/delivery_stream_manager.h"

#include <algorithm>
#include <filesystem>

#include "common/json.h"
#include "common/log.h"
#include "server/firehose/kinesis_source.h"
#include "server/storage/file_shard_log.h"
#include "server/storage/memory_shard_log.h"

namespace sluice::firehose {
namespace {

// Records read at a time when Start() sums what is still undelivered.
constexpr size_t kScanRecords = 10000;
constexpr size_t kScanBytes = 16u << 20;

storage::ShardIdentity IdentityFor(EpochMillis created_at) {
  return {0, storage::ArrivalSeconds(created_at)};
}

class MemoryDeliveryLogFactory final : public DeliveryLogFactory {
 public:
  Result<std::unique_ptr<storage::ShardLog>> Open(
      int64_t /*id*/, EpochMillis created_at) override {
    return std::unique_ptr<storage::ShardLog>(
        std::make_unique<storage::MemoryShardLog>(IdentityFor(created_at)));
  }
  Status Remove(int64_t /*id*/) override { return Status::Ok(); }
};

class FileDeliveryLogFactory final : public DeliveryLogFactory {
 public:
  FileDeliveryLogFactory(std::string data_dir, storage::FsyncMode fsync_mode)
      : root_(std::filesystem::path(data_dir) / "firehose"),
        fsync_mode_(fsync_mode),
        syncer_(storage::kDefaultFsyncInterval) {}

  Result<std::unique_ptr<storage::ShardLog>> Open(
      int64_t id, EpochMillis created_at) override {
    storage::FileShardLogOptions options;
    options.directory = root_ / std::to_string(id);
    options.identity = IdentityFor(created_at);
    options.fsync_mode = fsync_mode_;
    options.syncer = &syncer_;
    auto log = storage::FileShardLog::Open(std::move(options));
    if (!log.ok()) return log.status();
    return std::unique_ptr<storage::ShardLog>(std::move(*log));
  }

  Status Remove(int64_t id) override {
    std::error_code ec;
    std::filesystem::remove_all(root_ / std::to_string(id), ec);
    if (ec) {
      return Status(ErrorCode::kInternalFailure,
                    "cannot remove " + (root_ / std::to_string(id)).string() +
                        ": " + ec.message());
    }
    return Status::Ok();
  }

 private:
  const std::filesystem::path root_;
  const storage::FsyncMode fsync_mode_;
  storage::PeriodicSyncer syncer_;
};

}  // namespace

std::unique_ptr<DeliveryLogFactory> NewMemoryDeliveryLogFactory() {
  return std::make_unique<MemoryDeliveryLogFactory>();
}

std::unique_ptr<DeliveryLogFactory> NewFileDeliveryLogFactory(
    std::string data_dir, storage::FsyncMode fsync_mode) {
  return std::make_unique<FileDeliveryLogFactory>(std::move(data_dir),
                                                  fsync_mode);
}

std::string StoreSource(const KinesisSource& source) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> out(buffer);
  out.StartObject();
  out.Key("KinesisStreamARN");
  out.String(source.stream_arn.c_str());
  out.Key("RoleARN");
  out.String(source.role_arn.c_str());
  out.Key("StreamId");
  out.Int64(source.stream_id);
  out.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

Result<KinesisSource> LoadSource(std::string_view stored) {
  json::Document doc;
  doc.Parse(stored.data(), stored.size());
  if (doc.HasParseError() || !doc.IsObject() ||
      !doc.HasMember("KinesisStreamARN") ||
      !doc["KinesisStreamARN"].IsString() || !doc.HasMember("RoleARN") ||
      !doc["RoleARN"].IsString() || !doc.HasMember("StreamId") ||
      !doc["StreamId"].IsInt64()) {
    return Status(ErrorCode::kInternalFailure,
                  "catalog holds a damaged delivery stream source: " +
                      std::string(stored));
  }
  return KinesisSource{std::string(json::AsView(doc["KinesisStreamARN"])),
                       std::string(json::AsView(doc["RoleARN"])),
                       doc["StreamId"].GetInt64()};
}

Status DeliveryStreamNotFound(const DeliveryStreamKey& key) {
  return Status(ErrorCode::kResourceNotFound,
                "Firehose " + key.name + " under account " + key.account_id +
                    " not found.");
}

DeliveryStreamManager::DeliveryStreamManager(
    catalog::Catalog& catalog, std::unique_ptr<DeliveryLogFactory> logs,
    const Clock& clock, DeliveryStreamOptions options)
    : catalog_(catalog),
      logs_(std::move(logs)),
      clock_(clock),
      options_(options) {}

DeliveryStreamManager::~DeliveryStreamManager() {
  std::lock_guard lock(mu_);
  for (auto& [key, stream] : streams_) {
    if (Status s = stream->log->Close(); !s.ok()) {
      SLUICE_LOG(kError) << "closing the log of delivery stream " << key.name
                         << ": " << s.ToString();
    }
  }
}

Result<std::shared_ptr<LiveDeliveryStream>> DeliveryStreamManager::Open(
    catalog::DeliveryStreamRecord record, S3Destination destination) {
  auto log = logs_->Open(record.delivery_stream_id, record.created_at);
  if (!log.ok()) return log.status();
  auto stream = std::make_shared<LiveDeliveryStream>();
  stream->log = std::move(*log);
  // What is still to deliver: from the checkpoint to the tip.
  uint64_t buffered = 0;
  for (uint64_t at = record.delivered_offset; at < stream->log->Tip();) {
    auto read = stream->log->Read(at, kScanRecords, kScanBytes);
    if (!read.ok()) return read.status();
    for (const storage::StoredRecord& r : read->records)
      buffered += r.data.size();
    if (read->next_offset <= at) break;
    at = read->next_offset;
  }
  stream->buffered_bytes = buffered;
  if (options_.enforce_limits) {
    stream->quota = std::make_unique<DirectPutQuota>(
        static_cast<double>(options_.put_requests_per_second),
        static_cast<double>(options_.put_records_per_second),
        static_cast<double>(options_.put_bytes_per_second));
  }
  if (record.source) {
    auto source = LoadSource(*record.source);
    if (!source.ok()) return source.status();
    stream->source = std::move(*source);
  }
  stream->record = std::move(record);
  stream->destination = std::move(destination);
  return stream;
}

Status DeliveryStreamManager::Start() {
  auto all = catalog_.ListAllDeliveryStreams();
  if (!all.ok()) return all.status();
  for (catalog::DeliveryStreamRecord& record : *all) {
    DeliveryStreamKey key{record.account_id, record.region, record.name};
    if (record.status == "DELETING") {
      if (Status s = catalog_.DeleteDeliveryStream(record.delivery_stream_id);
          !s.ok()) {
        return s;
      }
      if (Status s = catalog_.DeleteCheckpoints(
              SourceReaderName(record.delivery_stream_id));
          !s.ok()) {
        return s;
      }
      if (Status s = logs_->Remove(record.delivery_stream_id); !s.ok())
        return s;
      continue;
    }
    if (record.status == "CREATING") {
      record.status = "ACTIVE";
      if (Status s = catalog_.UpdateDeliveryStream(record); !s.ok()) return s;
    }
    auto destination = LoadDestination(record.destination);
    if (!destination.ok()) return destination.status();
    auto stream = Open(std::move(record), std::move(*destination));
    if (!stream.ok()) return stream.status();
    std::lock_guard lock(mu_);
    streams_[key] = std::move(*stream);
  }
  return Status::Ok();
}

Result<catalog::DeliveryStreamRecord> DeliveryStreamManager::Create(
    const NewDeliveryStream& request) {
  std::lock_guard control(control_mu_);
  {
    std::lock_guard lock(mu_);
    size_t count = 0;
    for (const auto& [key, stream] : streams_) {
      if (key.account_id == request.key.account_id &&
          key.region == request.key.region) {
        ++count;
      }
    }
    if (streams_.count(request.key) == 0 && count >= options_.stream_limit) {
      return Status(ErrorCode::kLimitExceeded,
                    "You have already consumed your firehose quota of " +
                        std::to_string(options_.stream_limit) +
                        " hoses in account " + request.key.account_id +
                        " and region " + request.key.region + ".");
    }
  }
  const EpochMillis now = clock_.NowMillis();
  catalog::DeliveryStreamRecord record;
  record.account_id = request.key.account_id;
  record.region = request.key.region;
  record.name = request.key.name;
  record.type = request.type;
  record.status = options_.create_delay.count() > 0 ? "CREATING" : "ACTIVE";
  record.created_at = now;
  record.updated_at = now;
  record.version_id = 1;
  record.destination = request.destination;
  record.encryption = request.encryption;
  if (request.source) record.source = StoreSource(*request.source);
  if (Status s = catalog_.CreateDeliveryStream(record); !s.ok()) return s;
  auto stream = Open(record, request.parsed);
  if (!stream.ok()) {
    // The catalog row would otherwise outlive a log that never opened.
    (void)catalog_.DeleteDeliveryStream(record.delivery_stream_id);
    return stream.status();
  }
  (*stream)->transition_due_at = now + options_.create_delay.count();
  std::lock_guard lock(mu_);
  streams_[request.key] = std::move(*stream);
  return record;
}

bool DeliveryStreamManager::AdvanceLocked(LiveDeliveryStream& stream,
                                          EpochMillis now) {
  if (now < stream.transition_due_at) return false;
  if (stream.record.status == "DELETING") return true;
  if (stream.record.status == "CREATING") {
    catalog::DeliveryStreamRecord next = stream.record;
    next.status = "ACTIVE";
    if (Status s = catalog_.UpdateDeliveryStream(next); !s.ok()) {
      SLUICE_LOG(kError) << "delivery stream " << next.name
                         << " could not become ACTIVE: " << s.ToString();
      return false;
    }
    stream.record = std::move(next);
  }
  return false;
}

Result<std::shared_ptr<LiveDeliveryStream>> DeliveryStreamManager::Find(
    const DeliveryStreamKey& key) {
  std::shared_ptr<LiveDeliveryStream> stream;
  {
    std::lock_guard lock(mu_);
    auto it = streams_.find(key);
    if (it == streams_.end()) return DeliveryStreamNotFound(key);
    stream = it->second;
  }
  bool remove = false;
  {
    std::lock_guard lock(stream->mu);
    if (stream->gone) return DeliveryStreamNotFound(key);
    remove = AdvanceLocked(*stream, clock_.NowMillis());
  }
  if (remove) {
    if (Status s = Remove(key, stream); !s.ok()) return s;
    return DeliveryStreamNotFound(key);
  }
  return stream;
}

std::vector<std::string> DeliveryStreamManager::List(
    std::string_view account_id, std::string_view region, std::string_view type,
    std::string_view exclusive_start, size_t limit) {
  std::vector<std::pair<DeliveryStreamKey, std::shared_ptr<LiveDeliveryStream>>>
      candidates;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, stream] : streams_) {
      if (key.account_id == account_id && key.region == region &&
          key.name > exclusive_start) {
        candidates.emplace_back(key, stream);
      }
    }
  }
  std::vector<std::string> names;
  for (auto& [key, stream] : candidates) {  // sorted: the map's order
    if (names.size() >= limit) break;
    if (!Find(key).ok()) continue;  // deleted meanwhile, or now due
    std::lock_guard lock(stream->mu);
    if (!type.empty() && stream->record.type != type) continue;
    names.push_back(key.name);
  }
  return names;
}

Status DeliveryStreamManager::Delete(const DeliveryStreamKey& key) {
  std::lock_guard control(control_mu_);
  auto stream = Find(key);
  if (!stream.ok()) return stream.status();
  bool now = false;
  {
    std::lock_guard lock((*stream)->mu);
    catalog::DeliveryStreamRecord next = (*stream)->record;
    next.status = "DELETING";
    if (Status s = catalog_.UpdateDeliveryStream(next); !s.ok()) return s;
    (*stream)->record = std::move(next);
    (*stream)->transition_due_at =
        clock_.NowMillis() + options_.delete_delay.count();
    now = options_.delete_delay.count() == 0;
  }
  if (now) return Remove(key, *stream);
  return Status::Ok();
}

Status DeliveryStreamManager::Remove(
    const DeliveryStreamKey& key,
    const std::shared_ptr<LiveDeliveryStream>& stream) {
  // Waits for an object being written; the engine sees `gone` afterwards.
  std::lock_guard delivery(stream->delivery_mu);
  int64_t id = 0;
  {
    std::lock_guard lock(stream->mu);
    if (stream->gone) return Status::Ok();
    stream->gone = true;
    id = stream->record.delivery_stream_id;
  }
  {
    std::lock_guard lock(mu_);
    auto it = streams_.find(key);
    if (it != streams_.end() && it->second == stream) streams_.erase(it);
  }
  if (Status s = catalog_.DeleteDeliveryStream(id); !s.ok()) return s;
  if (stream->source) {
    if (Status s = catalog_.DeleteCheckpoints(SourceReaderName(id)); !s.ok()) {
      return s;
    }
  }
  if (Status s = stream->log->Close(); !s.ok()) {
    SLUICE_LOG(kWarn) << "closing the log of deleted delivery stream "
                      << key.name << ": " << s.ToString();
  }
  return logs_->Remove(id);
}

Status DeliveryStreamManager::Update(
    const DeliveryStreamKey& key,
    const std::function<Status(catalog::DeliveryStreamRecord&, S3Destination&)>&
        change) {
  auto stream = Find(key);
  if (!stream.ok()) return stream.status();
  std::lock_guard lock((*stream)->mu);
  catalog::DeliveryStreamRecord record = (*stream)->record;
  S3Destination destination = (*stream)->destination;
  if (Status s = change(record, destination); !s.ok()) return s;
  if (Status s = catalog_.UpdateDeliveryStream(record); !s.ok()) return s;
  (*stream)->record = std::move(record);
  (*stream)->destination = std::move(destination);
  return Status::Ok();
}

Result<std::vector<uint64_t>> DeliveryStreamManager::Put(
    LiveDeliveryStream& stream, std::span<const std::string> records) {
  const EpochMillis now = clock_.NowMillis();
  std::vector<storage::RecordToAppend> appends(records.size());
  uint64_t bytes = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    appends[i].data = records[i];
    appends[i].arrival_millis = now;
    bytes += records[i].size();
  }
  // Counted before the append, so the engine, which may deliver the records
  // as soon as they are in the log, never subtracts bytes not yet added.
  uint64_t buffered = stream.buffered_bytes.fetch_add(bytes) + bytes;
  auto appended = stream.log->AppendBatch(appends);
  if (!appended.ok()) {
    stream.buffered_bytes.fetch_sub(bytes);
    return appended.status();
  }
  stream.appended->Notify();
  uint64_t threshold = 0;
  {
    std::lock_guard lock(stream.mu);
    threshold = stream.destination.SizeBytes();
  }
  if (buffered >= threshold && on_buffer_full_) on_buffer_full_();
  std::vector<uint64_t> offsets;
  offsets.reserve(appended->size());
  for (const storage::AppendedRecord& r : *appended)
    offsets.push_back(r.offset);
  return offsets;
}

std::vector<std::shared_ptr<LiveDeliveryStream>>
DeliveryStreamManager::Snapshot() {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<LiveDeliveryStream>> out;
  out.reserve(streams_.size());
  for (const auto& [key, stream] : streams_) out.push_back(stream);
  return out;
}

}  // namespace sluice::firehose
