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
#include "common/temp_dir.h"

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

// A per-test directory, removed when the test ends.
using sluice::TempDir;

}  // namespace sluice::catalog::test
