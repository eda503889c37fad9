// Where a built-in handler keeps its files (SQLite databases, JSONL outputs)
// and how it opens its SQLite database, shared by the metrics and alerts
// handlers.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/temp_dir.h"
#include "server/catalog/sqlite.h"
#include "server/consumers/handler.h"

namespace sluice::consumers {

// The root a handler's relative paths resolve against: the server's data
// directory or, with --in-memory (empty data_dir), a temporary directory
// made here and removed with this object, so the sqlite3 CLI can still read
// a test's metrics while it runs. Owned by one handler; const methods may be
// called from any thread.
class HandlerFiles {
 public:
  static Result<std::unique_ptr<HandlerFiles>> Make(
      const HandlerEnvironment& environment);
  HandlerFiles(const HandlerFiles&) = delete;
  HandlerFiles& operator=(const HandlerFiles&) = delete;

  // `relative` under the root, with its parent directories made.
  // kInvalidArgument naming `what` for a path that would leave the root
  // (absolute, or with a ".." step).
  Result<std::filesystem::path> Resolve(std::string_view relative,
                                        std::string_view what) const;
  const std::filesystem::path& root() const { return root_; }
  bool temporary() const { return temporary_.has_value(); }

 private:
  explicit HandlerFiles(std::filesystem::path root) : root_(std::move(root)) {}
  explicit HandlerFiles(TempDir temporary)
      : root_(temporary.path()), temporary_(std::move(temporary)) {}

  std::filesystem::path root_;
  std::optional<TempDir> temporary_;  // with --in-memory: root_, owned
};

// Opens, creating it if needed, a handler's SQLite database in WAL mode (so
// the sqlite3 CLI reads it while Sluice writes) with a busy timeout and
// `synchronous` ("NORMAL" or "FULL", checked by ParseSynchronous);
// `batch_wal_writes` as for catalog::Database::Open.
Result<catalog::Database> OpenHandlerDatabase(const std::filesystem::path& path,
                                              std::string_view synchronous,
                                              bool batch_wal_writes = false);

// Reads the optional "synchronous" setting: "NORMAL" (the default) or
// "FULL"; kInvalidArgument otherwise.
Result<std::string> ParseSynchronous(const json::Value& settings,
                                     std::string_view what);

}  // namespace sluice::consumers
