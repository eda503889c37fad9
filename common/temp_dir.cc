#include "common/temp_dir.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "common/log.h"

namespace sluice {

Result<TempDir> TempDir::Make(std::string_view prefix) {
  std::error_code error;
  std::filesystem::path base = std::filesystem::temp_directory_path(error);
  if (error) base = "/tmp";
  std::string pattern = (base / prefix).string();
  pattern += "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::string message = "cannot make a temporary directory ";
    message += pattern;
    message += ": ";
    message += ::strerror(errno);
    return Status(ErrorCode::kInternalFailure, std::move(message));
  }
  return TempDir(Adopt{}, std::filesystem::path(pattern));
}

TempDir::TempDir(std::string_view prefix) {
  Result<TempDir> made = Make(prefix);
  if (!made.ok()) {
    std::fprintf(stderr, "%s\n", made.status().message().c_str());
    std::abort();
  }
  path_ = std::exchange(made.value().path_, {});
}

TempDir::TempDir(TempDir&& other) noexcept
    : path_(std::exchange(other.path_, {})) {}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    Remove();
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

TempDir::~TempDir() { Remove(); }

void TempDir::Remove() {
  if (path_.empty()) return;
  std::error_code error;
  std::filesystem::remove_all(path_, error);
  if (error) {
    SLUICE_LOG(kWarn) << "cannot remove the temporary directory " << path_
                      << ": " << error.message();
  }
  path_.clear();
}

}  // namespace sluice
