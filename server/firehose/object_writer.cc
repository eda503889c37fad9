#include "server/firehose/object_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/log.h"
#include "server/firehose/compression.h"

namespace sluice::firehose {
namespace {

Status Failed(std::string_view what, const std::filesystem::path& path,
              int error) {
  return Status(
      ErrorCode::kInternalFailure,
      std::string(what) + " " + path.string() + ": " + std::strerror(error));
}

// Opens and fsyncs a directory, so the entries created or renamed in it
// survive a power cut.
Status SyncDirectory(const std::filesystem::path& dir, storage::FileOps& ops) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Failed("cannot open directory", dir, errno);
  int synced = ops.Sync(fd);
  int error = errno;
  ::close(fd);
  if (synced != 0) return Failed("cannot fsync directory", dir, error);
  return Status::Ok();
}

// Creates `dir` and its missing parents, fsyncing the parent of each one
// created.
Status CreateDirectories(const std::filesystem::path& dir,
                         storage::FileOps& ops) {
  std::vector<std::filesystem::path> missing;
  for (std::filesystem::path at = dir; !at.empty() && at != at.root_path();
       at = at.parent_path()) {
    std::error_code ec;
    if (std::filesystem::is_directory(at, ec)) break;
    missing.push_back(at);
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0755) != 0 && errno != EEXIST) {
      return Failed("cannot create directory", *it, errno);
    }
    if (Status s = SyncDirectory(it->parent_path(), ops); !s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace

Status WriteObjectFile(const std::filesystem::path& path,
                       std::string_view bytes, storage::FileOps& ops) {
  const std::filesystem::path dir = path.parent_path();
  if (Status s = CreateDirectories(dir, ops); !s.ok()) return s;
  std::filesystem::path temp = path;
  temp += ".sluice-tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Failed("cannot create", temp, errno);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ops.Write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int error = errno;
      ::close(fd);
      return Failed("cannot write", temp, error);
    }
    done += static_cast<size_t>(n);
  }
  if (ops.Sync(fd) != 0) {
    int error = errno;
    ::close(fd);
    return Failed("cannot fsync", temp, error);
  }
  if (::close(fd) != 0) return Failed("cannot close", temp, errno);
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    return Failed("cannot rename to", path, errno);
  }
  return SyncDirectory(dir, ops);
}

Status WriteCompressedObject(const std::filesystem::path& path,
                             std::string_view compression, std::string_view key,
                             std::string body, storage::FileOps& ops) {
  Result<std::string> bytes = CompressObject(compression, key, std::move(body));
  if (!bytes.ok()) return bytes.status();
  return WriteObjectFile(path, *bytes, ops);
}

Status RemoveObjectFile(const std::filesystem::path& path,
                        storage::FileOps& ops) {
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::Ok();
    return Failed("cannot remove", path, errno);
  }
  return SyncDirectory(path.parent_path(), ops);
}

Result<std::filesystem::path> ArchiveRoot::Path() {
  std::lock_guard lock(mu_);
  if (root_.empty()) {
    Result<TempDir> made = TempDir::Make("sluice-archive");
    if (!made.ok()) return made.status();
    temporary_ = std::move(made).value();
    root_ = temporary_->path().string();
    SLUICE_LOG(kInfo) << "archive root (temporary, --in-memory; removed when "
                         "the server stops): "
                      << root_;
  }
  std::error_code ec;
  std::filesystem::create_directories(root_, ec);
  if (ec) {
    return Status(ErrorCode::kInternalFailure,
                  "cannot create archive root " + root_ + ": " + ec.message());
  }
  return std::filesystem::path(root_);
}

}  // namespace sluice::firehose
