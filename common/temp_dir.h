// A fresh directory under $TMPDIR (default /tmp), removed with everything in
// it when its owner goes: where an --in-memory server keeps its archive and
// handler files, and the scratch space of tests and benchmarks.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/status.h"

namespace sluice {

class TempDir {
 public:
  // Makes "<temporary directory>/<prefix>-XXXXXX" (mkdtemp, mode 0700).
  static Result<TempDir> Make(std::string_view prefix);
  // The same for tests and benchmarks, which cannot go on without it: a
  // failure aborts with the reason on stderr.
  explicit TempDir(std::string_view prefix = "sluice-scratch");

  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // Removes the directory; a failure is logged, not thrown.
  ~TempDir();

  const std::filesystem::path& path() const { return path_; }
  // path() / name, as a string (SQLite and most of our APIs take one).
  std::string File(std::string_view name) const {
    return (path_ / name).string();
  }

 private:
  struct Adopt {};  // takes over a directory Make() just made
  TempDir(Adopt, std::filesystem::path path) : path_(std::move(path)) {}
  void Remove();

  std::filesystem::path path_;  // empty once moved from
};

}  // namespace sluice
