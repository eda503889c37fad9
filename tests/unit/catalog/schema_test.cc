#include "server/catalog/schema.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <string>

#include "tests/unit/catalog/test_util.h"

namespace sluice::catalog {
namespace {

using test::HasError;
using test::IsOk;

Database OpenMemory() {
  Result<Database> db = Database::Open(":memory:");
  EXPECT_THAT(db, IsOk());
  return std::move(db).value();
}

int64_t UserVersion(Database& db) {
  Result<int64_t> version = db.PragmaInt("user_version");
  EXPECT_THAT(version, IsOk());
  return version.ok() ? *version : -1;
}

bool HasTable(Database& db, const std::string& table) {
  Result<Statement> find =
      db.Prepare("find table",
                 "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND "
                 "name = '" +
                     table + "'");
  EXPECT_THAT(find, IsOk());
  Result<bool> row = find->Step();
  EXPECT_THAT(row, IsOk());
  return row.ok() && *row;
}

constexpr Migration kCreateA{1, "table a", "CREATE TABLE a (x INTEGER);"};
constexpr Migration kFillA{2, "fill a", "INSERT INTO a VALUES (7);"};

TEST(SchemaTest, CatalogMigrationsAreNumberedFromOneInOrder) {
  const auto migrations = CatalogMigrations();
  ASSERT_FALSE(migrations.empty());
  for (size_t i = 0; i < migrations.size(); ++i) {
    EXPECT_EQ(migrations[i].version, static_cast<int>(i) + 1);
    EXPECT_FALSE(migrations[i].description.empty());
  }
  EXPECT_EQ(CurrentSchemaVersion(), static_cast<int>(migrations.size()));
}

TEST(SchemaTest, MigratesEmptyDatabaseToCurrentVersion) {
  Database db = OpenMemory();
  Result<int> version = Migrate(db, CatalogMigrations(), ":memory:");
  ASSERT_THAT(version, IsOk());
  EXPECT_EQ(*version, CurrentSchemaVersion());
  EXPECT_EQ(UserVersion(db), CurrentSchemaVersion());
  for (const char* table : {"streams", "stream_shard_level_metrics", "shards",
                            "tags", "checkpoints", "resource_policies"}) {
    EXPECT_TRUE(HasTable(db, table)) << table;
  }
}

TEST(SchemaTest, MigratingAnUpToDateDatabaseChangesNothing) {
  Database db = OpenMemory();
  ASSERT_THAT(Migrate(db, CatalogMigrations(), ":memory:"), IsOk());
  Result<int> again = Migrate(db, CatalogMigrations(), ":memory:");
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(*again, CurrentSchemaVersion());
}

TEST(SchemaTest, AppliesOnlyMigrationsNotYetRun) {
  Database db = OpenMemory();
  const std::array<Migration, 1> v1 = {kCreateA};
  ASSERT_THAT(Migrate(db, v1, "test.db"), IsOk());
  EXPECT_EQ(UserVersion(db), 1);

  // Re-running migration 1 would fail: table a already exists.
  const std::array<Migration, 2> v2 = {kCreateA, kFillA};
  Result<int> version = Migrate(db, v2, "test.db");
  ASSERT_THAT(version, IsOk());
  EXPECT_EQ(*version, 2);
  EXPECT_EQ(UserVersion(db), 2);
  Result<int64_t> x = [&]() -> Result<int64_t> {
    Result<Statement> read = db.Prepare("read a", "SELECT x FROM a");
    if (!read.ok()) return read.status();
    Result<bool> row = read->Step();
    if (!row.ok()) return row.status();
    return read->ColumnInt(0);
  }();
  ASSERT_THAT(x, IsOk());
  EXPECT_EQ(*x, 7);
}

TEST(SchemaTest, FailedMigrationRollsBackToThePreviousVersion) {
  Database db = OpenMemory();
  const std::array<Migration, 2> migrations = {
      kCreateA,
      Migration{2, "broken",
                "CREATE TABLE b (y); INSERT INTO nowhere VALUES (1);"},
  };
  Result<int> version = Migrate(db, migrations, "test.db");
  EXPECT_THAT(version,
              HasError(ErrorCode::kInternalFailure,
                       "Catalog test.db migration to schema version 2 "
                       "(broken): script failed: no such table: nowhere"));
  EXPECT_EQ(UserVersion(db), 1);
  EXPECT_TRUE(HasTable(db, "a"));
  EXPECT_FALSE(HasTable(db, "b"));
}

TEST(SchemaTest, MigrationLeavingBrokenForeignKeysFails) {
  Database db = OpenMemory();
  const std::array<Migration, 1> migrations = {
      Migration{1, "orphan",
                "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
                "CREATE TABLE child (parent_id INTEGER REFERENCES parent (id));"
                "INSERT INTO child VALUES (5);"},
  };
  EXPECT_THAT(Migrate(db, migrations, "test.db"),
              HasError(ErrorCode::kInternalFailure,
                       "Catalog test.db migration to schema version 1 "
                       "(orphan): foreign key violation in table child"));
  EXPECT_EQ(UserVersion(db), 0);
  EXPECT_FALSE(HasTable(db, "child"));
}

TEST(SchemaTest, RefusesDatabaseNewerThanItsMigrations) {
  Database db = OpenMemory();
  ASSERT_THAT(db.Exec("set version", "PRAGMA user_version = 3"), IsOk());
  const std::array<Migration, 2> migrations = {kCreateA, kFillA};
  EXPECT_THAT(Migrate(db, migrations, "test.db"),
              HasError(ErrorCode::kInternalFailure,
                       "Catalog test.db has schema version 3, newer than "
                       "version 2, the newest this build of Sluice knows. "
                       "Upgrade Sluice or use another data directory."));
  EXPECT_EQ(UserVersion(db), 3);
  EXPECT_FALSE(HasTable(db, "a"));
}

TEST(SchemaTest, RefusesNegativeVersion) {
  Database db = OpenMemory();
  ASSERT_THAT(db.Exec("set version", "PRAGMA user_version = -1"), IsOk());
  const std::array<Migration, 1> migrations = {kCreateA};
  EXPECT_THAT(Migrate(db, migrations, "test.db"),
              HasError(ErrorCode::kInternalFailure,
                       "Catalog test.db has invalid schema version -1"));
}

}  // namespace
}  // namespace sluice::catalog
