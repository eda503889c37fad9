// Helpers shared by the storage tests: a per-test temporary directory, file
// helpers, and a FileOps that fails the Nth write or fsync.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "common/temp_dir.h"
#include "server/storage/file_ops.h"

namespace sluice::storage::testing {

// A fresh directory under $TMPDIR, removed when the test ends.
using sluice::TempDir;

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void WriteFile(const std::filesystem::path& path,
                      const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline void AppendToFile(const std::filesystem::path& path,
                         const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Passes calls through to POSIX until the armed call, which fails with EIO.
// Counts are over calls made after Fail*After().
class FaultyFileOps final : public FileOps {
 public:
  // The `n`th write from now (1 = the next one) fails.
  void FailWriteAfter(int n) { writes_left_.store(n); }
  void FailSyncAfter(int n) { syncs_left_.store(n); }
  int syncs() const { return syncs_.load(); }

  ssize_t Write(int fd, const void* data, size_t size) override {
    if (writes_left_.fetch_sub(1) == 1) {
      errno = EIO;
      return -1;
    }
    return Posix().Write(fd, data, size);
  }
  int Sync(int fd) override {
    syncs_.fetch_add(1);
    if (syncs_left_.fetch_sub(1) == 1) {
      errno = EIO;
      return -1;
    }
    return Posix().Sync(fd);
  }

 private:
  std::atomic<int> writes_left_{0};  // 0 or negative: never fails
  std::atomic<int> syncs_left_{0};
  std::atomic<int> syncs_{0};
};

// Polls `done` until it holds or the deadline passes; no fixed sleeps.
template <class Predicate>
bool PollUntil(Predicate done,
               std::chrono::seconds deadline = std::chrono::seconds(60)) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace sluice::storage::testing
