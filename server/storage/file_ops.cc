#include "server/storage/file_ops.h"

#include <unistd.h>

namespace sluice::storage {
namespace {

class PosixFileOps final : public FileOps {
 public:
  ssize_t Write(int fd, const void* data, size_t size) override {
    return ::write(fd, data, size);
  }
  // fdatasync is enough: it also flushes the file size, which is the only
  // metadata needed to read appended bytes back.
  int Sync(int fd) override { return ::fdatasync(fd); }
};

}  // namespace

FileOps& FileOps::Posix() {
  static PosixFileOps ops;
  return ops;
}

}  // namespace sluice::storage
