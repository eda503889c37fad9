// The catalog's schema as an ordered list of migrations, and the code that
// brings a database up to date. The schema version is SQLite's user_version:
// 0 for a new, empty file; N after migration N has run. A schema change is a
// new Migration appended to the list in schema.cc, never an edit of an old one,
// since old ones have already run on users' disks.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "server/catalog/sqlite.h"

namespace sluice::catalog {

struct Migration {
  int version;  // the user_version once it has run; 1, 2, 3, ... in order
  std::string_view description;
  std::string_view sql;  // one script; may hold several statements
};

// The catalog's migrations, oldest first.
std::span<const Migration> CatalogMigrations();

// The schema version this build writes and reads.
int CurrentSchemaVersion();

// Applies the migrations `db` has not yet seen, each in its own transaction
// together with its user_version bump, so a crash leaves the database at some
// complete version. Returns the version reached. Fails, touching nothing, if
// the database is newer than `migrations` know; `path` only names it in errors.
// Turns foreign key enforcement off (a table rebuild needs it off; each
// migration is checked with foreign_key_check before it commits instead);
// callers that want enforcement turn it back on.
// REQUIRES: no transaction open on `db`; migrations[i].version == i + 1.
Result<int> Migrate(Database& db, std::span<const Migration> migrations,
                    std::string_view path);

}  // namespace sluice::catalog
