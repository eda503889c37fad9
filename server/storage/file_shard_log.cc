#include "server/storage/file_shard_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <system_error>

#include "common/crc32c.h"
#include "common/log.h"
#include "common/sequence_number.h"

namespace sluice::storage {
namespace {

constexpr char kCleanMarkerName[] = "CLEAN";
constexpr char kCleanMarkerTempName[] = "CLEAN.tmp";
constexpr char kCleanMarkerMagic[4] = {'S', 'L', 'C', 'M'};
constexpr size_t kCleanMarkerBytes = 44;
// Read-ahead bounds for Read(): small reads should not copy a megabyte out of
// the page cache; large ones should not make a syscall per record.
constexpr size_t kMinReadChunkBytes = 16 << 10;
constexpr size_t kMaxReadChunkBytes = 1 << 20;
constexpr size_t kSeekChunkBytes = 16 << 10;
// GetRecords returns at most 10,000 records; reserving up to that many avoids
// regrowing the result vector without trusting a huge max_records.
constexpr uint64_t kMaxReservedRecords = 10000;

// What a clean shutdown knew, so the next open need not scan
// (docs/storage-format.md, "Clean-shutdown marker").
struct CleanMarker {
  uint64_t tip = 0;
  uint64_t tail_base_offset = 0;
  uint64_t tail_bytes = 0;
  EpochMillis last_arrival_millis = 0;
};

std::string EncodeCleanMarker(const CleanMarker& marker) {
  std::string bytes(kCleanMarkerBytes, '\0');
  char* out = bytes.data();
  std::memcpy(out, kCleanMarkerMagic, 4);
  std::memcpy(out + 4, &marker.tip, 8);
  std::memcpy(out + 12, &marker.tail_base_offset, 8);
  std::memcpy(out + 20, &marker.tail_bytes, 8);
  std::memcpy(out + 28, &marker.last_arrival_millis, 8);
  uint32_t crc = Crc32cExtend(0, out, 36);
  std::memcpy(out + 36, &crc, 4);
  return bytes;
}

std::optional<CleanMarker> ReadCleanMarker(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char in[kCleanMarkerBytes + 1];
  ssize_t n = ::read(fd, in, sizeof in);
  ::close(fd);
  if (n != static_cast<ssize_t>(kCleanMarkerBytes)) return std::nullopt;
  uint32_t crc;
  std::memcpy(&crc, in + 36, 4);
  if (std::memcmp(in, kCleanMarkerMagic, 4) != 0 ||
      crc != Crc32cExtend(0, in, 36)) {
    return std::nullopt;
  }
  CleanMarker marker;
  std::memcpy(&marker.tip, in + 4, 8);
  std::memcpy(&marker.tail_base_offset, in + 12, 8);
  std::memcpy(&marker.tail_bytes, in + 20, 8);
  std::memcpy(&marker.last_arrival_millis, in + 28, 8);
  return marker;
}

// One read buffer per thread, reused across calls: allocating a fresh
// megabyte per Read cost page faults on every call. Trimmed back after a
// huge record so a thread does not keep 10 MiB forever.
std::string& ReadBuffer() {
  thread_local std::string buffer;
  if (buffer.size() > kMaxReadChunkBytes) {
    buffer.resize(kMaxReadChunkBytes);
    buffer.shrink_to_fit();
  }
  return buffer;
}

Status InvalidRecord(std::string_view why) {
  return Status(ErrorCode::kInvalidArgument,
                std::string("record cannot be stored: ") + std::string(why));
}

}  // namespace

FileShardLog::FileShardLog(FileShardLogOptions options)
    : options_(std::move(options)),
      ops_(*options_.file_ops),
      append_sequence_numbers_(options_.identity.creation_seconds,
                               options_.identity.shard_index) {}

FileShardLog::~FileShardLog() { StopFlusher(); }

Result<std::unique_ptr<FileShardLog>> FileShardLog::Open(
    FileShardLogOptions options) {
  std::error_code error;
  std::filesystem::create_directories(options.directory, error);
  if (error) {
    return StorageError("cannot create shard directory", options.directory, 0,
                        error.message());
  }
  std::unique_ptr<FileShardLog> log(new FileShardLog(std::move(options)));
  Status recovered = log->Recover();
  if (!recovered.ok()) return recovered;
  log->StartFlusher();
  return log;
}

// --- recovery ---------------------------------------------------------------

Status FileShardLog::Recover() {
  const std::filesystem::path& directory = options_.directory;
  std::vector<uint64_t> bases;
  std::error_code error;
  for (const auto& entry :
       std::filesystem::directory_iterator(directory, error)) {
    if (std::optional<uint64_t> base =
            ParseSegmentFileName(entry.path().filename().string())) {
      bases.push_back(*base);
    }
  }
  if (error) {
    return StorageError("cannot list shard directory", directory, 0,
                        error.message());
  }
  std::sort(bases.begin(), bases.end());

  // The marker is consumed before anything else happens, so a crash from
  // here on is never mistaken for a clean shutdown.
  std::filesystem::path marker_path = directory / kCleanMarkerName;
  std::optional<CleanMarker> marker = ReadCleanMarker(marker_path);
  if (std::filesystem::exists(marker_path, error)) {
    if (::unlink(marker_path.c_str()) != 0) {
      return ErrnoError("cannot remove clean-shutdown marker", marker_path, 0);
    }
    Status synced = SyncDirectory();
    if (!synced.ok()) return synced;
  }

  if (bases.empty()) {
    Result<std::shared_ptr<Segment>> first = Segment::Create(directory, 0);
    if (!first.ok()) return first.status();
    (*first)->index_file_current = false;
    segments_.push_back(*first);
    return SyncDirectory();
  }

  std::vector<std::shared_ptr<Segment>> opened;
  for (uint64_t base : bases) {
    Result<std::shared_ptr<Segment>> segment =
        Segment::OpenExisting(directory, base);
    if (!segment.ok()) return segment.status();
    opened.push_back(*segment);
  }
  const std::shared_ptr<Segment>& tail = opened.back();
  bool clean = marker && marker->tail_base_offset == tail->base_offset() &&
               marker->tail_bytes == tail->published_bytes() &&
               marker->tip >= tail->base_offset();

  std::vector<bool> scanned;
  std::optional<uint64_t> scanned_tip;  // set when the tail was scanned
  EpochMillis newest_scanned_arrival = 0;
  for (const std::shared_ptr<Segment>& segment : opened) {
    bool is_tail = segment == tail;
    if (clean && segment->LoadIndexFile(segment->published_bytes())) {
      segment->index_file_current = true;
      segments_.push_back(segment);
      scanned.push_back(false);
      continue;
    }
    Result<SegmentScan> scan = segment->Scan(options_.index_interval_bytes);
    if (!scan.ok()) return scan.status();
    if (!scan->problem.empty()) {
      if (!is_tail) {
        MoveAside(*segment, scan->problem);
        continue;
      }
      SLUICE_LOG(kWarn) << "shard log: torn tail " << segment->path().string()
                        << " at position " << scan->valid_bytes << " ("
                        << scan->problem << "): dropped "
                        << scan->file_bytes - scan->valid_bytes << " bytes";
      Status truncated = segment->Truncate(scan->valid_bytes);
      if (!truncated.ok()) return truncated;
      Status synced = segment->Sync(ops_);
      if (!synced.ok()) return synced;
    }
    segment->SetIndex(std::move(scan->index));
    segment->index_file_current = false;
    segment->last_arrival_millis = scan->last_arrival_millis;
    if (scan->next_offset > segment->base_offset()) {
      newest_scanned_arrival = scan->last_arrival_millis;
    }
    if (is_tail) scanned_tip = scan->next_offset;
    segments_.push_back(segment);
    scanned.push_back(true);
  }

  if (scanned_tip) {
    tip_.store(*scanned_tip);
    last_arrival_millis_ =
        clean ? marker->last_arrival_millis : newest_scanned_arrival;
  } else {
    tip_.store(marker->tip);
    last_arrival_millis_ = marker->last_arrival_millis;
  }
  // A sealed segment loaded from its index does not know its newest arrival;
  // the first arrival of the next non-empty segment (or the shard's newest)
  // bounds it from above, which is all retention needs.
  EpochMillis upper_bound = last_arrival_millis_;
  for (size_t i = segments_.size(); i-- > 0;) {
    if (!scanned[i]) segments_[i]->last_arrival_millis = upper_bound;
    if (std::optional<EpochMillis> first = segments_[i]->FirstArrival()) {
      upper_bound = *first;
    }
  }
  segments_.back()->last_arrival_millis = last_arrival_millis_;
  synced_tip_ = tip_.load();
  SLUICE_LOG(kInfo) << "shard log " << directory.string() << " opened ("
                    << (clean ? "clean" : "recovered") << "): offsets "
                    << TrimHorizon() << ".." << tip_.load() << ", "
                    << segments_.size() << " segment(s)";
  return Status::Ok();
}

void FileShardLog::MoveAside(const Segment& segment,
                             const std::string& problem) {
  std::string target = segment.path().string() + ".corrupt";
  for (int n = 1; std::filesystem::exists(target); ++n) {
    target = segment.path().string() + ".corrupt." + std::to_string(n);
  }
  std::error_code error;
  std::filesystem::rename(segment.path(), target, error);
  std::string report =
      segment.path().string() + " moved to " + target + ": " + problem;
  if (error) report += " (rename failed: " + error.message() + ")";
  SLUICE_LOG(kError) << "shard log: corrupt sealed segment " << report;
  corrupt_segments_.push_back(std::move(report));
  (void)SyncDirectory();  // best effort: the rename is only a safety move
}

Status FileShardLog::SyncDirectory() {
  int fd =
      ::open(options_.directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open directory", options_.directory, 0);
  Status status;
  if (ops_.Sync(fd) != 0) {
    status = ErrnoError("cannot fsync directory", options_.directory, 0);
  }
  ::close(fd);
  return status;
}

// --- appends ----------------------------------------------------------------

Result<std::vector<AppendedRecord>> FileShardLog::AppendBatch(
    std::span<const RecordToAppend> records) {
  std::vector<AppendedRecord> appended(records.size());
  if (records.empty()) return appended;
  size_t batch_bytes = 0;
  for (const RecordToAppend& record : records) {
    FrameFields fields{0, 0, record.partition_key, record.explicit_hash_key,
                       record.data};
    if (record.partition_key.size() > kMaxPartitionKeyBytes ||
        (record.explicit_hash_key &&
         (record.explicit_hash_key->empty() ||
          record.explicit_hash_key->size() > kMaxExplicitHashKeyBytes)) ||
        FrameBytes(fields) - kFrameHeaderBytes > kMaxFramePayloadBytes) {
      return InvalidRecord("a key or the data is out of range");
    }
    batch_bytes += FrameBytes(fields);
  }

  uint64_t end_offset = 0;
  {
    std::lock_guard lock(append_mu_);
    if (closed_) {
      return Status(ErrorCode::kInternalFailure,
                    "shard log " + options_.directory.string() + " is closed");
    }
    if (failed_.load(std::memory_order_acquire)) return CurrentFailure();

    std::shared_ptr<Segment> tail = segments_.back();
    if (tail->published_bytes() > 0 &&
        tail->published_bytes() + batch_bytes > options_.segment_bytes) {
      Status rolled = Roll();
      if (!rolled.ok()) return rolled;
      tail = segments_.back();
    }

    const uint64_t start_position = tail->published_bytes();
    uint64_t offset = tip_.load(std::memory_order_relaxed);
    EpochMillis arrival = last_arrival_millis_;
    encode_buffer_.clear();
    frame_positions_.clear();
    for (size_t i = 0; i < records.size(); ++i) {
      const RecordToAppend& record = records[i];
      // Arrival times never go backwards within a shard (format doc, Frame).
      arrival = std::max(arrival, record.arrival_millis);
      appended[i].offset = offset;
      appended[i].arrival_millis = arrival;
      frame_positions_.push_back(start_position + encode_buffer_.size());
      EncodeFrame({offset, arrival, record.partition_key,
                   record.explicit_hash_key, record.data},
                  encode_buffer_);
      ++offset;
    }
    Status written = tail->Write(ops_, encode_buffer_);
    if (!written.ok()) return Fail(written);
    last_arrival_millis_ = arrival;

    for (size_t i = 0; i < records.size(); ++i) {
      tail->MaybeIndex(
          {appended[i].offset, frame_positions_[i], appended[i].arrival_millis},
          options_.index_interval_bytes);
    }
    // Consecutive offsets: the formatter mostly adds 2^80 to the previous
    // number, far cheaper than converting each one outside the lock.
    for (AppendedRecord& record : appended) {
      record.sequence_number = append_sequence_numbers_.Format(
          record.offset, ArrivalSeconds(record.arrival_millis));
    }
    tail->index_file_current = false;
    tail->Publish(start_position + encode_buffer_.size());
    tip_.store(offset, std::memory_order_release);
    end_offset = offset;
  }

  if (options_.fsync_mode == FsyncMode::kAlways) {
    Status durable = WaitDurable(end_offset);
    if (!durable.ok()) return durable;
  }
  return appended;
}

Status FileShardLog::Roll() {
  std::shared_ptr<Segment> sealed = segments_.back();
  // A sealed segment is always on disk, in every mode: recovery treats a bad
  // frame in it as corruption, never as a torn write, and one fsync of the
  // new tail then covers every acknowledged record (group commit).
  Status synced = sealed->Sync(ops_);
  if (!synced.ok()) return Fail(synced);
  const uint64_t tip = tip_.load(std::memory_order_relaxed);
  Result<std::shared_ptr<Segment>> next =
      Segment::Create(options_.directory, tip);
  if (!next.ok()) return next.status();
  synced = SyncDirectory();
  if (!synced.ok()) return Fail(synced);
  sealed->last_arrival_millis = last_arrival_millis_;
  {
    std::lock_guard lock(segments_mu_);
    segments_.push_back(*next);
  }
  std::lock_guard lock(sync_mu_);
  synced_tip_ = std::max(synced_tip_, tip);
  return Status::Ok();
}

// --- durability -------------------------------------------------------------

Status FileShardLog::WaitDurable(uint64_t tip) {
  std::unique_lock lock(sync_mu_);
  while (true) {
    if (!failure_.ok()) return failure_;
    if (synced_tip_ >= tip) return Status::Ok();
    if (sync_in_progress_) {
      sync_cv_.wait(lock);
      continue;
    }
    // Lead one round: everything published before the fsync starts is
    // covered by it. Load the tip before the tail: a roll in between has
    // already fsynced the older segment.
    sync_in_progress_ = true;
    lock.unlock();
    const uint64_t covered = tip_.load(std::memory_order_acquire);
    Status synced = Tail()->Sync(ops_);
    lock.lock();
    sync_in_progress_ = false;
    if (synced.ok()) {
      synced_tip_ = std::max(synced_tip_, covered);
    } else if (failure_.ok()) {
      SLUICE_LOG(kError) << "shard log: " << synced.message()
                         << "; refusing further appends";
      failure_ = synced;
      failed_.store(true, std::memory_order_release);
    }
    sync_cv_.notify_all();
  }
}

Status FileShardLog::Fail(const Status& status) {
  std::lock_guard lock(sync_mu_);
  if (failure_.ok()) {
    SLUICE_LOG(kError) << "shard log: " << status.message()
                       << "; refusing further appends";
    failure_ = status;
    failed_.store(true, std::memory_order_release);
  }
  sync_cv_.notify_all();
  return failure_;
}

Status FileShardLog::CurrentFailure() {
  std::lock_guard lock(sync_mu_);
  return failure_;
}

Status FileShardLog::Sync() {
  return WaitDurable(tip_.load(std::memory_order_acquire));
}

void FileShardLog::StartFlusher() {
  if (options_.fsync_mode != FsyncMode::kInterval) return;
  if (options_.syncer != nullptr) {
    options_.syncer->Add(this);
  } else {
    flusher_ = std::thread([this] { RunFlusher(); });
  }
}

void FileShardLog::RunFlusher() {
  std::unique_lock lock(sync_mu_);
  while (!stop_flusher_) {
    flusher_cv_.wait_for(lock, options_.fsync_interval,
                         [this] { return stop_flusher_; });
    if (stop_flusher_ || !failure_.ok()) continue;
    uint64_t tip = tip_.load(std::memory_order_acquire);
    if (synced_tip_ >= tip) continue;
    lock.unlock();
    // A failure becomes sticky inside; appenders report it.
    (void)WaitDurable(tip);
    lock.lock();
  }
}

void FileShardLog::StopFlusher() {
  if (options_.fsync_mode == FsyncMode::kInterval &&
      options_.syncer != nullptr) {
    options_.syncer->Remove(this);  // idempotent
  }
  {
    std::lock_guard lock(sync_mu_);
    stop_flusher_ = true;
  }
  flusher_cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
}

// --- reads ------------------------------------------------------------------

std::shared_ptr<Segment> FileShardLog::Tail() const {
  std::lock_guard lock(segments_mu_);
  return segments_.back();
}

std::vector<std::shared_ptr<Segment>> FileShardLog::SnapshotSegments() const {
  std::lock_guard lock(segments_mu_);
  return segments_;
}

uint64_t FileShardLog::TrimHorizon() const {
  std::lock_guard lock(segments_mu_);
  return segments_.front()->base_offset();
}

Result<ReadResult> FileShardLog::Read(uint64_t from_offset, size_t max_records,
                                      size_t max_bytes) {
  ReadResult result;
  // Loaded first: every record below it is whole in its segment's published
  // bytes, whatever the writer does meanwhile.
  const uint64_t tip = tip_.load(std::memory_order_acquire);
  const size_t chunk_bytes =
      std::clamp(std::min(max_bytes, max_records * size_t{1024}),
                 kMinReadChunkBytes, kMaxReadChunkBytes);
  SequenceNumberFormatter sequence_numbers(options_.identity.creation_seconds,
                                           options_.identity.shard_index);
  uint64_t offset = from_offset;
  size_t total_bytes = 0;
  bool full = max_records == 0;
  if (offset < tip) {
    result.records.reserve(static_cast<size_t>(
        std::min<uint64_t>({max_records, tip - offset, kMaxReservedRecords})));
  }
  while (!full && offset < tip) {
    std::shared_ptr<Segment> segment;
    {
      std::lock_guard lock(segments_mu_);
      auto after =
          std::upper_bound(segments_.begin(), segments_.end(), offset,
                           [](uint64_t o, const std::shared_ptr<Segment>& s) {
                             return o < s->base_offset();
                           });
      if (after == segments_.begin()) {
        offset = segments_.front()->base_offset();  // trimmed: skip ahead
        segment = segments_.front();
      } else {
        segment = *(after - 1);
      }
    }
    IndexEntry start = segment->EntryAtOrBefore(offset);
    FrameCursor cursor(*segment, start.position, segment->published_bytes(),
                       chunk_bytes, ReadBuffer());
    while (!full && !cursor.at_end()) {
      uint64_t position = cursor.position();
      Result<DecodedFrame> frame = cursor.Next();
      if (!frame.ok()) return frame.status();
      if (frame->check != FrameCheck::kComplete) {
        return StorageError("bad frame in segment", segment->path(), position,
                            frame->problem);
      }
      const FrameFields& fields = frame->fields;
      if (fields.offset < offset) continue;
      if (fields.offset >= tip) {
        full = true;
        break;
      }
      size_t record_bytes = fields.partition_key.size() + fields.data.size();
      if (!result.records.empty() && total_bytes + record_bytes > max_bytes) {
        full = true;
        break;
      }
      total_bytes += record_bytes;
      StoredRecord& record = result.records.emplace_back();
      record.offset = fields.offset;
      record.sequence_number = sequence_numbers.Format(
          fields.offset, ArrivalSeconds(fields.arrival_millis));
      record.arrival_millis = fields.arrival_millis;
      record.partition_key = fields.partition_key;
      if (fields.explicit_hash_key) {
        record.explicit_hash_key = std::string(*fields.explicit_hash_key);
      }
      record.data = fields.data;
      offset = fields.offset + 1;
      full = result.records.size() >= max_records;
    }
    if (full || offset >= tip) break;
    // This segment has nothing more at or after `offset`: the rest lives in
    // later segments (after a roll, or past a corrupt segment's gap).
    std::lock_guard lock(segments_mu_);
    auto next = std::upper_bound(
        segments_.begin(), segments_.end(), segment->base_offset(),
        [](uint64_t o, const std::shared_ptr<Segment>& s) {
          return o < s->base_offset();
        });
    if (next == segments_.end()) break;
    offset = std::max(offset, (*next)->base_offset());
  }
  result.next_offset = offset;
  result.at_tip = offset >= tip;
  return result;
}

Result<uint64_t> FileShardLog::SeekTime(EpochMillis time) {
  const uint64_t tip = tip_.load(std::memory_order_acquire);
  std::vector<std::shared_ptr<Segment>> segments = SnapshotSegments();
  // Arrival times never decrease, so the answer is in the last segment whose
  // first record is older than `time`, or is the start of the one after it.
  size_t chosen = segments.size();
  for (size_t i = segments.size(); i-- > 0;) {
    std::optional<EpochMillis> first = segments[i]->FirstArrival();
    if (first && *first < time) {
      chosen = i;
      break;
    }
  }
  if (chosen == segments.size()) return segments.front()->base_offset();

  const Segment& segment = *segments[chosen];
  std::optional<IndexEntry> start = segment.LastEntryBefore(time);
  FrameCursor cursor(segment, start ? start->position : 0,
                     segment.published_bytes(), kSeekChunkBytes, ReadBuffer());
  while (!cursor.at_end()) {
    uint64_t position = cursor.position();
    Result<DecodedFrame> frame = cursor.Next();
    if (!frame.ok()) return frame.status();
    if (frame->check != FrameCheck::kComplete) {
      return StorageError("bad frame in segment", segment.path(), position,
                          frame->problem);
    }
    if (frame->fields.offset >= tip) return tip;
    if (frame->fields.arrival_millis >= time) return frame->fields.offset;
  }
  if (chosen + 1 < segments.size()) {
    return std::min(segments[chosen + 1]->base_offset(), tip);
  }
  return tip;
}

// --- retention and shutdown -------------------------------------------------

Status FileShardLog::ApplyRetention(EpochMillis now,
                                    std::chrono::milliseconds retention) {
  const EpochMillis cutoff = now - retention.count();
  std::vector<std::shared_ptr<Segment>> expired;
  {
    std::lock_guard lock(append_mu_);
    if (closed_) return Status::Ok();
    // A tail whose newest record is expired is sealed so it can go too.
    if (segments_.back()->published_bytes() > 0 &&
        last_arrival_millis_ < cutoff && !failed_.load()) {
      Status rolled = Roll();
      if (!rolled.ok()) return rolled;
    }
    std::lock_guard segments_lock(segments_mu_);
    size_t count = 0;
    while (count + 1 < segments_.size() &&
           segments_[count]->last_arrival_millis < cutoff) {
      ++count;
    }
    expired.assign(segments_.begin(),
                   segments_.begin() + static_cast<long>(count));
    segments_.erase(segments_.begin(),
                    segments_.begin() + static_cast<long>(count));
  }
  // Readers still holding these segments keep their descriptors open.
  for (const std::shared_ptr<Segment>& segment : expired) {
    std::error_code ignored;
    std::filesystem::remove(segment->index_path(), ignored);
    if (::unlink(segment->path().c_str()) != 0) {
      return ErrnoError("cannot remove expired segment", segment->path(), 0);
    }
    SLUICE_LOG(kInfo) << "shard log: removed expired segment "
                      << segment->path().string();
  }
  return Status::Ok();
}

Status FileShardLog::Close() {
  StopFlusher();
  std::lock_guard lock(append_mu_);
  if (closed_) return Status::Ok();
  closed_ = true;
  Status synced = WaitDurable(tip_.load());
  if (!synced.ok()) return synced;  // no marker: the next open recovers
  for (const std::shared_ptr<Segment>& segment : segments_) {
    if (segment->index_file_current) continue;
    Status written = segment->WriteIndexFile(ops_);
    if (!written.ok()) return written;
    segment->index_file_current = true;
  }
  return WriteCleanMarker();
}

Status FileShardLog::WriteCleanMarker() {
  CleanMarker marker;
  marker.tip = tip_.load();
  marker.tail_base_offset = segments_.back()->base_offset();
  marker.tail_bytes = segments_.back()->published_bytes();
  marker.last_arrival_millis = last_arrival_millis_;
  std::string bytes = EncodeCleanMarker(marker);

  std::filesystem::path temp = options_.directory / kCleanMarkerTempName;
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create", temp, 0);
  Status status = WriteAll(ops_, fd, bytes, temp, 0);
  if (status.ok() && ops_.Sync(fd) != 0) {
    status = ErrnoError("cannot fsync", temp, bytes.size());
  }
  ::close(fd);
  if (!status.ok()) return status;
  std::filesystem::path path = options_.directory / kCleanMarkerName;
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    return ErrnoError("cannot rename to", path, 0);
  }
  return SyncDirectory();
}

}  // namespace sluice::storage
