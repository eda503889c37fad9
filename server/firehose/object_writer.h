// Writes delivered objects into the archive (compression.h makes their
// bytes): the durable write of one object file (temp name, fsync, rename, fsync
// the directory), so an object is either whole under its final name or absent.
// The archive root itself, which --in-memory resolves lazily to a temporary
// directory, lives here too.
#pragma once

#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/temp_dir.h"
#include "server/storage/file_ops.h"

namespace sluice::firehose {

// Writes `bytes` to `path` durably: creates missing directories (fsyncing
// each new directory's parent), writes "<path>.sluice-tmp", fsyncs it,
// renames it over `path` and fsyncs the directory. Rewriting an object that
// exists replaces it whole. Thread-safe for different paths.
Status WriteObjectFile(const std::filesystem::path& path,
                       std::string_view bytes,
                       storage::FileOps& ops = storage::FileOps::Posix());

// `body` compressed as `compression` (a CompressionFormat, compression.h;
// `key` names a ZIP archive's entry) and written durably as `path` with
// WriteObjectFile: how Firehose delivery and the consumers' archive handler
// write an object.
Status WriteCompressedObject(const std::filesystem::path& path,
                             std::string_view compression, std::string_view key,
                             std::string body,
                             storage::FileOps& ops = storage::FileOps::Posix());

// Removes the object at `path` durably if it exists (unlink, fsync the
// directory): a redo whose object now gets no records must not leave an
// earlier attempt's copy behind.
Status RemoveObjectFile(const std::filesystem::path& path,
                        storage::FileOps& ops = storage::FileOps::Posix());

// Where buckets live: <root>/<bucket>/<key>. Thread-safe.
class ArchiveRoot {
 public:
  // `root` empty: a new directory under the system temp dir, made on first
  // use and removed with this object (for --in-memory, so nothing touches
  // disk until a delivery does, and nothing is left once the server stops).
  explicit ArchiveRoot(std::string root) : root_(std::move(root)) {}

  // The root, creating it if needed.
  Result<std::filesystem::path> Path();

 private:
  std::mutex mu_;
  std::string root_;                  // guarded by mu_
  std::optional<TempDir> temporary_;  // guarded by mu_: root_ when made here
};

}  // namespace sluice::firehose
