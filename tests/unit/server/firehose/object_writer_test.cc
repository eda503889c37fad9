#include "server/firehose/object_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <sstream>

#include "server/firehose/compression.h"
#include "tests/unit/catalog/test_util.h"

namespace sluice::firehose {
namespace {

using catalog::test::HasError;
using catalog::test::IsOk;
using catalog::test::TempDir;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// Fails the Nth write or fsync (counting from 1); 0 never fails.
class FaultyOps final : public storage::FileOps {
 public:
  FaultyOps(int fail_write, int fail_sync)
      : fail_write_(fail_write), fail_sync_(fail_sync) {}
  ssize_t Write(int fd, const void* data, size_t size) override {
    if (++writes_ == fail_write_) {
      errno = EIO;
      return -1;
    }
    return storage::FileOps::Posix().Write(fd, data, size);
  }
  int Sync(int fd) override {
    if (++syncs_ == fail_sync_) {
      errno = EIO;
      return -1;
    }
    return storage::FileOps::Posix().Sync(fd);
  }

 private:
  const int fail_write_;
  const int fail_sync_;
  std::atomic<int> writes_{0};
  std::atomic<int> syncs_{0};
};

TEST(WriteCompressedObjectTest, CompressesAsTheFormatSaysAndWritesWhole) {
  TempDir dir;
  const std::filesystem::path path = dir.path() / "b" / "k.gz";
  ASSERT_THAT(WriteCompressedObject(path, "GZIP", "k.gz", "body"), IsOk());
  EXPECT_EQ(ReadFile(path), GzipCompress("body").value());
  ASSERT_THAT(WriteCompressedObject(path, "UNCOMPRESSED", "k.gz", "plain"),
              IsOk());
  EXPECT_EQ(ReadFile(path), "plain");
  // An unknown format writes nothing.
  EXPECT_THAT(WriteCompressedObject(dir.path() / "c", "LZ4", "c", "x"),
              HasError(ErrorCode::kInternalFailure));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "c"));
}

TEST(WriteObjectFileTest, CreatesDirectoriesAndReplacesWhole) {
  TempDir dir;
  std::filesystem::path path = dir.path() / "bucket" / "a" / "b" / "object";
  ASSERT_THAT(WriteObjectFile(path, "first version"), IsOk());
  EXPECT_EQ(ReadFile(path), "first version");
  ASSERT_THAT(WriteObjectFile(path, "second"), IsOk());
  EXPECT_EQ(ReadFile(path), "second");
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".sluice-tmp"));
}

TEST(WriteObjectFileTest, AFailedWriteOrFsyncNeverLeavesAPartialObject) {
  for (auto [fail_write, fail_sync] :
       {std::pair{1, 0}, std::pair{0, 1}, std::pair{0, 2}, std::pair{0, 3},
        std::pair{0, 4}, std::pair{0, 5}, std::pair{0, 6}}) {
    TempDir dir;
    std::filesystem::path path = dir.path() / "bucket" / "x" / "object";
    FaultyOps ops(fail_write, fail_sync);
    Status written = WriteObjectFile(path, "payload", ops);
    // The fsyncs are: the new directories' parents (bucket, x), the file,
    // then its directory; a failure before the rename leaves no object, a
    // failure after it leaves the whole object.
    if (written.ok()) {
      EXPECT_EQ(ReadFile(path), "payload");
    } else {
      EXPECT_THAT(written, HasError(ErrorCode::kInternalFailure));
      if (std::filesystem::exists(path)) {
        EXPECT_EQ(ReadFile(path), "payload");
      }
    }
    if (fail_write == 1 || (fail_sync >= 1 && fail_sync <= 3)) {
      EXPECT_FALSE(written.ok()) << fail_write << "/" << fail_sync;
      EXPECT_FALSE(std::filesystem::exists(path))
          << fail_write << "/" << fail_sync;
    }
    // A retry with working I/O writes the object whole.
    ASSERT_THAT(WriteObjectFile(path, "payload"), IsOk());
    EXPECT_EQ(ReadFile(path), "payload");
  }
}

TEST(ArchiveRootTest, MakesATemporaryRootOnFirstUseWhenNoneIsGiven) {
  ArchiveRoot root("");
  Result<std::filesystem::path> path = root.Path();
  ASSERT_THAT(path, IsOk());
  EXPECT_TRUE(std::filesystem::is_directory(*path));
  EXPECT_EQ(root.Path().value(), *path);
  std::filesystem::remove_all(*path);
}

}  // namespace
}  // namespace sluice::firehose
