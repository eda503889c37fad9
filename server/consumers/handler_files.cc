#include "server/consumers/handler_files.h"

#include <stdlib.h>

#include <system_error>

#include "server/consumers/record_rules.h"

namespace sluice::consumers {
namespace {

// As the catalog's: rides out an operator's sqlite3 shell holding a lock for
// a moment.
constexpr int kBusyTimeoutMillis = 5000;

}  // namespace

Result<std::unique_ptr<HandlerFiles>> HandlerFiles::Make(
    const HandlerEnvironment& environment) {
  if (!environment.data_dir.empty()) {
    return std::unique_ptr<HandlerFiles>(
        new HandlerFiles(environment.data_dir));
  }
  Result<TempDir> temporary = TempDir::Make("sluice-consumer");
  if (!temporary.ok()) return temporary.status();
  return std::unique_ptr<HandlerFiles>(
      new HandlerFiles(std::move(temporary).value()));
}

Result<std::filesystem::path> HandlerFiles::Resolve(
    std::string_view relative, std::string_view what) const {
  if (!IsContainedRelativePath(relative)) {
    return InvalidSetting(what,
                          "must be a relative path inside the data "
                          "directory (no leading '/', no '..')");
  }
  std::filesystem::path path = root_ / std::filesystem::path(relative);
  std::error_code error;
  std::filesystem::create_directories(path.parent_path(), error);
  if (error) {
    return Status(
        ErrorCode::kInternalFailure,
        "cannot make " + path.parent_path().string() + ": " + error.message());
  }
  return path;
}

Result<catalog::Database> OpenHandlerDatabase(const std::filesystem::path& path,
                                              std::string_view synchronous,
                                              bool batch_wal_writes) {
  Result<catalog::Database> opened =
      catalog::Database::Open(path.string(), batch_wal_writes);
  if (!opened.ok()) return opened.status();
  catalog::Database db = std::move(opened).value();
  auto in_file = [&path](const Status& status) {
    return Status(ErrorCode::kInternalFailure,
                  path.string() + ": " + status.message());
  };
  Status busy =
      db.Exec("set busy_timeout",
              "PRAGMA busy_timeout = " + std::to_string(kBusyTimeoutMillis));
  if (!busy.ok()) return in_file(busy);
  Result<std::string> mode = db.PragmaText("journal_mode = WAL");
  if (!mode.ok()) return in_file(mode.status());
  if (*mode != "wal") {
    return Status(
        ErrorCode::kInternalFailure,
        path.string() + ": could not enter WAL mode; journal mode is " + *mode);
  }
  Status sync = db.Exec("set synchronous",
                        "PRAGMA synchronous = " + std::string(synchronous));
  if (!sync.ok()) return in_file(sync);
  return db;
}

Result<std::string> ParseSynchronous(const json::Value& settings,
                                     std::string_view what) {
  auto it = settings.FindMember("synchronous");
  if (it == settings.MemberEnd()) return std::string("NORMAL");
  if (it->value.IsString()) {
    const std::string_view mode = json::AsView(it->value);
    if (mode == "NORMAL" || mode == "FULL") return std::string(mode);
  }
  return InvalidSetting(std::string(what) + ".synchronous",
                        "must be \"NORMAL\" or \"FULL\"");
}

}  // namespace sluice::consumers
