// One segment file of a shard log: frames back to back, named by the offset of
// its first record, plus its sparse index (docs/storage-format.md). Holds the
// file descriptor and the position up to which readers may read.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "server/storage/file_ops.h"
#include "server/storage/frame.h"

namespace sluice::storage {

// "00000000000000000042.log": 20 digits sort like the offsets they name.
std::string SegmentFileName(uint64_t base_offset);
std::optional<uint64_t> ParseSegmentFileName(const std::string& name);

// A sparse index entry: the frame of record `offset` starts at `position`.
struct IndexEntry {
  uint64_t offset = 0;
  uint64_t position = 0;
  EpochMillis arrival_millis = 0;
  friend bool operator==(const IndexEntry&, const IndexEntry&) = default;
};

// What a full scan of a segment found: everything up to the first frame that
// is short, damaged or out of sequence.
struct SegmentScan {
  uint64_t valid_bytes = 0;  // position of the first bad frame, or file size
  uint64_t file_bytes = 0;
  uint64_t next_offset = 0;  // base + good frames
  EpochMillis last_arrival_millis = 0;
  std::vector<IndexEntry> index;
  std::string problem;  // empty when the whole file is good
};

// Shared (shared_ptr) by FileShardLog and its readers, so a reader may finish
// with a segment that retention has already unlinked. The writer-side calls
// (Write, Publish, AddIndexEntry, Sync, Truncate, the *_ members marked
// "writer") are made only under the owning log's append mutex; the reader-side
// calls (ReadAt, published_bytes, index lookups) from any thread.
class Segment {
 public:
  // Creates an empty segment file (replacing an empty leftover of a crash).
  static Result<std::shared_ptr<Segment>> Create(
      const std::filesystem::path& directory, uint64_t base_offset);
  static Result<std::shared_ptr<Segment>> OpenExisting(
      const std::filesystem::path& directory, uint64_t base_offset);
  ~Segment();
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  uint64_t base_offset() const { return base_offset_; }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path index_path() const;

  // --- reader side ---
  // Bytes readers may read: every frame below is whole and good.
  uint64_t published_bytes() const {
    return published_bytes_.load(std::memory_order_acquire);
  }
  // Reads exactly `size` bytes at `position` (pread).
  Status ReadAt(uint64_t position, size_t size, char* out) const;
  // The last index entry at or before `offset`; {base, 0} if none.
  IndexEntry EntryAtOrBefore(uint64_t offset) const;
  // The last index entry that arrived before `time`; nullopt if none.
  std::optional<IndexEntry> LastEntryBefore(EpochMillis time) const;
  // The arrival time of the first record; nullopt while empty.
  std::optional<EpochMillis> FirstArrival() const;

  // --- writer side ---
  // Appends `bytes` at the end of the file; readers see them after Publish().
  Status Write(FileOps& ops, std::string_view bytes);
  void Publish(uint64_t size_bytes) {
    published_bytes_.store(size_bytes, std::memory_order_release);
  }
  // Adds an entry if `position` is index_interval_bytes past the last one (or
  // the index is empty).
  void MaybeIndex(const IndexEntry& entry, uint64_t index_interval_bytes);
  Status Sync(FileOps& ops);
  Status Truncate(uint64_t size_bytes);

  // --- recovery and shutdown ---
  // Reads the whole file, checking every frame. Status only for I/O errors.
  Result<SegmentScan> Scan(uint64_t index_interval_bytes) const;
  void SetIndex(std::vector<IndexEntry> index);
  // Loads the .index file; false if it is missing or fails any check (then
  // the caller rebuilds it with Scan()).
  bool LoadIndexFile(uint64_t file_bytes);
  // Writes and fsyncs the .index file.
  Status WriteIndexFile(FileOps& ops);

  uint64_t FileBytes() const;  // current size of the file (fstat)

  // Writer-side bookkeeping, under the owner's append mutex.
  bool index_file_current = false;  // .index on disk matches memory
  // Newest arrival in this segment, or an upper bound of it (see the format
  // doc, "Retention").
  EpochMillis last_arrival_millis = 0;

 private:
  Segment(std::filesystem::path path, uint64_t base_offset, int fd);

  const std::filesystem::path path_;
  const uint64_t base_offset_;
  const int fd_;
  std::atomic<uint64_t> published_bytes_{0};
  uint64_t written_bytes_ = 0;  // writer; may run ahead of published
  mutable std::mutex index_mu_;
  std::vector<IndexEntry> index_;  // guarded by index_mu_
};

// Reads frames of one segment in order, a chunk at a time, between two
// positions. Not thread-safe; one per reader call.
class FrameCursor {
 public:
  // `buffer` holds the chunk read last; handing the same buffer to the next
  // cursor saves a fresh, page-faulting allocation per call.
  FrameCursor(const Segment& segment, uint64_t position, uint64_t end_position,
              size_t chunk_bytes, std::string& buffer);

  uint64_t position() const { return position_; }  // of the next frame
  bool at_end() const { return position_ >= end_position_; }

  // Decodes the frame at position() and moves past it if it is complete.
  // The views in the result stay valid until the next call. A truncated
  // result means the frame runs past end_position. Status only for I/O
  // errors.
  Result<DecodedFrame> Next();

 private:
  const Segment& segment_;
  uint64_t position_;
  const uint64_t end_position_;
  const size_t chunk_bytes_;
  std::string& buffer_;
  size_t buffered_bytes_ = 0;     // valid bytes at the start of buffer_
  uint64_t buffer_position_ = 0;  // file position of buffer_[0]
};

// kInternalFailure "<what> <path> at position <p>: <reason>".
Status StorageError(std::string_view what, const std::filesystem::path& path,
                    uint64_t position, std::string_view reason);
// As above with strerror(errno) as the reason.
Status ErrnoError(std::string_view what, const std::filesystem::path& path,
                  uint64_t position);

// Writes all of `bytes` to `fd` through `ops`, retrying short writes and
// EINTR. `position` is where the bytes start, for the error message.
Status WriteAll(FileOps& ops, int fd, std::string_view bytes,
                const std::filesystem::path& path, uint64_t position);

}  // namespace sluice::storage
