// Helpers shared by the catalog unit tests: matchers on Status and Result, and
// a per-test temporary directory for file-backed databases.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

#include "common/status.h"

namespace sluice::catalog::test {

inline const Status& StatusOf(const Status& status) { return status; }
template <class T>
const Status& StatusOf(const Result<T>& result) {
  return result.status();
}

// EXPECT_THAT(s, IsOk()); works on a Status or a Result.
MATCHER(IsOk, "") {
  const Status& status = StatusOf(arg);
  *result_listener << status.ToString();
  return status.ok();
}

// EXPECT_THAT(s, HasError(ErrorCode::kResourceNotFound));
MATCHER_P(HasError, code, "") {
  const Status& status = StatusOf(arg);
  *result_listener << status.ToString();
  return status.code() == code;
}

// The code and the exact message.
MATCHER_P2(HasError, code, message, "") {
  const Status& status = StatusOf(arg);
  *result_listener << status.ToString();
  return status.code() == code && status.message() == message;
}

// A fresh directory under the system temp dir, removed with its contents when
// the object goes. Owned by one test.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "sluice-catalog-XXXXXX")
            .string();
    if (mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed for " << pattern;
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string File(const std::string& name) const {
    return (path_ / name).string();
  }

 private:
  std::filesystem::path path_;
};

}  // namespace sluice::catalog::test
