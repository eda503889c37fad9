#include "server/storage/segment.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/crc32c.h"

namespace sluice::storage {
namespace {

constexpr size_t kSegmentNameDigits = 20;
constexpr std::string_view kSegmentSuffix = ".log";
constexpr std::string_view kIndexSuffix = ".index";
constexpr size_t kIndexEntryBytes = 32;
constexpr size_t kScanChunkBytes = 1 << 20;

// The index rule, shared by appends and scans so both build the same index:
// the first frame, then the first frame at least `interval` bytes after the
// previous entry.
bool ShouldIndex(const std::vector<IndexEntry>& index, uint64_t position,
                 uint64_t interval) {
  return index.empty() || position - index.back().position >= interval;
}

void EncodeIndexEntry(const IndexEntry& entry, char* out) {
  std::memcpy(out, &entry.offset, 8);
  std::memcpy(out + 8, &entry.position, 8);
  std::memcpy(out + 16, &entry.arrival_millis, 8);
  uint32_t crc = Crc32cExtend(0, out, 24);
  std::memcpy(out + 24, &crc, 4);
  std::memset(out + 28, 0, 4);
}

bool DecodeIndexEntry(const char* in, IndexEntry& entry) {
  uint32_t crc;
  std::memcpy(&crc, in + 24, 4);
  if (crc != Crc32cExtend(0, in, 24)) return false;
  std::memcpy(&entry.offset, in, 8);
  std::memcpy(&entry.position, in + 8, 8);
  std::memcpy(&entry.arrival_millis, in + 16, 8);
  return true;
}

}  // namespace

Status StorageError(std::string_view what, const std::filesystem::path& path,
                    uint64_t position, std::string_view reason) {
  std::string message(what);
  message += ' ';
  message += path.string();
  message += " at position ";
  message += std::to_string(position);
  message += ": ";
  message += reason;
  return Status(ErrorCode::kInternalFailure, std::move(message));
}

Status ErrnoError(std::string_view what, const std::filesystem::path& path,
                  uint64_t position) {
  return StorageError(what, path, position, std::strerror(errno));
}

Status WriteAll(FileOps& ops, int fd, std::string_view bytes,
                const std::filesystem::path& path, uint64_t position) {
  while (!bytes.empty()) {
    ssize_t n = ops.Write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot write", path, position);
    }
    position += static_cast<uint64_t>(n);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

std::string SegmentFileName(uint64_t base_offset) {
  std::string digits = std::to_string(base_offset);
  return std::string(kSegmentNameDigits - digits.size(), '0') + digits +
         std::string(kSegmentSuffix);
}

std::optional<uint64_t> ParseSegmentFileName(const std::string& name) {
  if (name.size() != kSegmentNameDigits + kSegmentSuffix.size() ||
      !name.ends_with(kSegmentSuffix)) {
    return std::nullopt;
  }
  uint64_t value = 0;
  for (size_t i = 0; i < kSegmentNameDigits; ++i) {
    char c = name[i];
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

Segment::Segment(std::filesystem::path path, uint64_t base_offset, int fd)
    : path_(std::move(path)), base_offset_(base_offset), fd_(fd) {}

Segment::~Segment() { ::close(fd_); }

// Segments are opened O_APPEND: every write lands at the end of the file,
// also after recovery truncated it, without tracking a file position.
Result<std::shared_ptr<Segment>> Segment::Create(
    const std::filesystem::path& directory, uint64_t base_offset) {
  std::filesystem::path path = directory / SegmentFileName(base_offset);
  int fd = ::open(path.c_str(),
                  O_RDWR | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create segment", path, 0);
  return std::shared_ptr<Segment>(new Segment(path, base_offset, fd));
}

Result<std::shared_ptr<Segment>> Segment::OpenExisting(
    const std::filesystem::path& directory, uint64_t base_offset) {
  std::filesystem::path path = directory / SegmentFileName(base_offset);
  int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open segment", path, 0);
  auto segment = std::shared_ptr<Segment>(new Segment(path, base_offset, fd));
  uint64_t size = segment->FileBytes();
  segment->written_bytes_ = size;
  segment->Publish(size);
  return segment;
}

std::filesystem::path Segment::index_path() const {
  std::filesystem::path path = path_;
  return path.replace_extension(kIndexSuffix);
}

uint64_t Segment::FileBytes() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_size);
}

Status Segment::ReadAt(uint64_t position, size_t size, char* out) const {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd_, out + done, size - done,
                        static_cast<off_t>(position + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot read segment", path_, position + done);
    }
    if (n == 0) {
      return StorageError("cannot read segment", path_, position + done,
                          "unexpected end of file");
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

IndexEntry Segment::EntryAtOrBefore(uint64_t offset) const {
  std::lock_guard lock(index_mu_);
  auto after = std::upper_bound(
      index_.begin(), index_.end(), offset,
      [](uint64_t o, const IndexEntry& entry) { return o < entry.offset; });
  if (after == index_.begin()) return IndexEntry{base_offset_, 0, 0};
  return *(after - 1);
}

std::optional<IndexEntry> Segment::LastEntryBefore(EpochMillis time) const {
  std::lock_guard lock(index_mu_);
  auto at_or_after =
      std::lower_bound(index_.begin(), index_.end(), time,
                       [](const IndexEntry& entry, EpochMillis t) {
                         return entry.arrival_millis < t;
                       });
  if (at_or_after == index_.begin()) return std::nullopt;
  return *(at_or_after - 1);
}

std::optional<EpochMillis> Segment::FirstArrival() const {
  std::lock_guard lock(index_mu_);
  if (index_.empty()) return std::nullopt;
  return index_.front().arrival_millis;
}

Status Segment::Write(FileOps& ops, std::string_view bytes) {
  Status status = WriteAll(ops, fd_, bytes, path_, written_bytes_);
  // On failure some bytes may have reached the file; they stay unpublished
  // and the owning log refuses further appends.
  if (status.ok()) written_bytes_ += bytes.size();
  return status;
}

void Segment::MaybeIndex(const IndexEntry& entry,
                         uint64_t index_interval_bytes) {
  std::lock_guard lock(index_mu_);
  if (ShouldIndex(index_, entry.position, index_interval_bytes)) {
    index_.push_back(entry);
  }
}

Status Segment::Sync(FileOps& ops) {
  if (ops.Sync(fd_) != 0) {
    return ErrnoError("cannot fsync segment", path_, published_bytes());
  }
  return Status::Ok();
}

Status Segment::Truncate(uint64_t size_bytes) {
  if (::ftruncate(fd_, static_cast<off_t>(size_bytes)) != 0) {
    return ErrnoError("cannot truncate segment", path_, size_bytes);
  }
  written_bytes_ = size_bytes;
  Publish(size_bytes);
  return Status::Ok();
}

Result<SegmentScan> Segment::Scan(uint64_t index_interval_bytes) const {
  SegmentScan scan;
  scan.file_bytes = FileBytes();
  scan.next_offset = base_offset_;
  std::string buffer;
  FrameCursor cursor(*this, 0, scan.file_bytes, kScanChunkBytes, buffer);
  while (!cursor.at_end()) {
    uint64_t position = cursor.position();
    Result<DecodedFrame> frame = cursor.Next();
    if (!frame.ok()) return frame.status();
    if (frame->check != FrameCheck::kComplete) {
      scan.problem = frame->problem;
    } else if (frame->fields.offset != scan.next_offset) {
      scan.problem = "out-of-sequence offset " +
                     std::to_string(frame->fields.offset) + ", expected " +
                     std::to_string(scan.next_offset);
    }
    if (!scan.problem.empty()) {
      scan.valid_bytes = position;
      return scan;
    }
    if (ShouldIndex(scan.index, position, index_interval_bytes)) {
      scan.index.push_back(
          {frame->fields.offset, position, frame->fields.arrival_millis});
    }
    scan.last_arrival_millis = frame->fields.arrival_millis;
    ++scan.next_offset;
  }
  scan.valid_bytes = scan.file_bytes;
  return scan;
}

void Segment::SetIndex(std::vector<IndexEntry> index) {
  std::lock_guard lock(index_mu_);
  index_ = std::move(index);
}

bool Segment::LoadIndexFile(uint64_t file_bytes) {
  int fd = ::open(index_path().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::string bytes;
  char chunk[1 << 16];
  ssize_t n;
  while ((n = ::read(fd, chunk, sizeof chunk)) > 0) {
    bytes.append(chunk, static_cast<size_t>(n));
  }
  ::close(fd);
  if (n < 0 || bytes.size() % kIndexEntryBytes != 0) return false;

  std::vector<IndexEntry> index(bytes.size() / kIndexEntryBytes);
  for (size_t i = 0; i < index.size(); ++i) {
    IndexEntry& entry = index[i];
    if (!DecodeIndexEntry(bytes.data() + i * kIndexEntryBytes, entry)) {
      return false;
    }
    bool ordered =
        i == 0 ? entry.offset == base_offset_ && entry.position == 0
               : entry.offset > index[i - 1].offset &&
                     entry.position > index[i - 1].position &&
                     entry.arrival_millis >= index[i - 1].arrival_millis;
    if (!ordered || entry.position >= file_bytes) return false;
  }
  if (index.empty() != (file_bytes == 0)) return false;
  SetIndex(std::move(index));
  return true;
}

Status Segment::WriteIndexFile(FileOps& ops) {
  std::string bytes;
  {
    std::lock_guard lock(index_mu_);
    bytes.resize(index_.size() * kIndexEntryBytes);
    for (size_t i = 0; i < index_.size(); ++i) {
      EncodeIndexEntry(index_[i], bytes.data() + i * kIndexEntryBytes);
    }
  }
  std::filesystem::path path = index_path();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create index", path, 0);
  Status status = WriteAll(ops, fd, bytes, path, 0);
  if (status.ok() && ops.Sync(fd) != 0) {
    status = ErrnoError("cannot fsync index", path, bytes.size());
  }
  ::close(fd);
  return status;
}

FrameCursor::FrameCursor(const Segment& segment, uint64_t position,
                         uint64_t end_position, size_t chunk_bytes,
                         std::string& buffer)
    : segment_(segment),
      position_(position),
      end_position_(end_position),
      chunk_bytes_(chunk_bytes),
      buffer_(buffer),
      buffer_position_(position) {}

Result<DecodedFrame> FrameCursor::Next() {
  auto buffered = [&] {
    uint64_t skip =
        std::min<uint64_t>(position_ - buffer_position_, buffered_bytes_);
    return std::string_view(buffer_.data() + skip, buffered_bytes_ - skip);
  };
  DecodedFrame frame = DecodeFrame(buffered());
  uint64_t buffer_end = buffer_position_ + buffered_bytes_;
  if (frame.check == FrameCheck::kTruncated && buffer_end < end_position_) {
    // Refill from the frame's start with at least the whole frame.
    size_t wanted = std::max(chunk_bytes_, frame.frame_bytes);
    size_t size = static_cast<size_t>(
        std::min<uint64_t>(wanted, end_position_ - position_));
    if (buffer_.size() < size) buffer_.resize(size);
    buffer_position_ = position_;
    buffered_bytes_ = 0;
    Status read = segment_.ReadAt(position_, size, buffer_.data());
    if (!read.ok()) return read;
    buffered_bytes_ = size;
    frame = DecodeFrame(buffered());
  }
  if (frame.check == FrameCheck::kComplete) position_ += frame.frame_bytes;
  return frame;
}

}  // namespace sluice::storage
