// Where a built-in handler keeps its files (SQLite databases, JSONL outputs)
// and how it opens its SQLite database, shared by the metrics and alerts
// handlers.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
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
  ~HandlerFiles();
  HandlerFiles(const HandlerFiles&) = delete;
  HandlerFiles& operator=(const HandlerFiles&) = delete;

  // `relative` under the root, with its parent directories made.
  // kInvalidArgument naming `what` for a path that would leave the root
  // (absolute, or with a ".." step).
  Result<std::filesystem::path> Resolve(std::string_view relative,
                                        std::string_view what) const;
  const std::filesystem::path& root() const { return root_; }
  bool temporary() const { return temporary_; }

 private:
  HandlerFiles(std::filesystem::path root, bool temporary)
      : root_(std::move(root)), temporary_(temporary) {}

  std::filesystem::path root_;
  bool temporary_;
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
