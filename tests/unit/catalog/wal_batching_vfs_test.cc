#include "server/catalog/wal_batching_vfs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "server/catalog/sqlite.h"
#include "tests/unit/catalog/test_util.h"

namespace sluice::catalog {
namespace {

using test::IsOk;
using test::TempDir;

// A WAL database through the batching VFS (the writer) or the default one.
Database OpenWal(const std::string& path, bool batching,
                 const std::string& pragmas = "") {
  Result<Database> db = Database::Open(path, batching);
  EXPECT_THAT(db, IsOk());
  EXPECT_THAT(db->PragmaText("journal_mode = WAL"), IsOk());
  EXPECT_THAT(db->Exec("pragmas",
                       "PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = "
                       "5000;" +
                           pragmas),
              IsOk());
  return std::move(db).value();
}

int64_t Query(Database& db, const std::string& sql) {
  Result<Statement> select = db.Prepare("query", sql);
  EXPECT_THAT(select, IsOk());
  Result<bool> row = select->Step();
  EXPECT_THAT(row, IsOk());
  return select->ColumnInt(0);
}

// The writer, through the batching VFS, with the table t made.
Database OpenWriter(const std::string& path, const std::string& pragmas) {
  Database writer = OpenWal(path, true, pragmas);
  EXPECT_THAT(writer.Exec("create",
                          "CREATE TABLE t (id INTEGER PRIMARY KEY,"
                          " n INTEGER, pad BLOB)"),
              IsOk());
  return writer;
}

// Rows of 1 KiB each: a few dirty a page, thousands make megabytes of WAL.
void Put(Database& db, int first, int count) {
  EXPECT_THAT(
      db.Exec("put", "WITH RECURSIVE s(v) AS (SELECT " + std::to_string(first) +
                         " UNION ALL SELECT v + 1 FROM s WHERE v < " +
                         std::to_string(first + count - 1) +
                         ") INSERT INTO t (id, n, pad) SELECT v, v, "
                         "zeroblob(1000) FROM s WHERE true"
                         " ON CONFLICT (id) DO UPDATE SET n = n + 1"),
      IsOk());
}

TEST(WalBatchingVfsTest, IsRegisteredUnderItsName) {
  ASSERT_NE(WalBatchingVfs(), nullptr);
  EXPECT_STREQ(WalBatchingVfs(), "sluice-wal-batching");
}

TEST(WalBatchingVfsTest, EveryCommitIsReadByAnotherConnectionAtOnce) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  // No checkpoints: every read of the reader below comes from the WAL file.
  Database writer = OpenWriter(path, "PRAGMA wal_autocheckpoint = 0;");
  Database reader = OpenWal(path, false);
  int64_t rows = 0;
  for (int commit = 0; commit < 40; ++commit) {
    // Small commits, and now and then one of ~3 MB: past the 1 MiB the VFS
    // holds and the 124 KiB it writes per call.
    const int count = commit % 10 == 9 ? 3000 : 1 + commit * 7;
    ASSERT_THAT(writer.Exec("begin", "BEGIN IMMEDIATE"), IsOk());
    Put(writer, static_cast<int>(rows), count);
    ASSERT_THAT(writer.Exec("commit", "COMMIT"), IsOk());
    rows += count;
    // The reader (default VFS) reads the frames from the file: the commit
    // was written out before COMMIT returned and before it was published.
    EXPECT_EQ(Query(reader, "SELECT count(*) FROM t"), rows) << commit;
    EXPECT_EQ(Query(reader, "SELECT sum(n) FROM t"), rows * (rows - 1) / 2)
        << commit;
  }
}

TEST(WalBatchingVfsTest, ACrashRightAfterCommitKeepsEveryCommit) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  Database writer = OpenWriter(path, "PRAGMA wal_autocheckpoint = 0;");
  for (int commit = 0; commit < 5; ++commit) {
    ASSERT_THAT(writer.Exec("begin", "BEGIN IMMEDIATE"), IsOk());
    Put(writer, commit * 500, 500);
    ASSERT_THAT(writer.Exec("commit", "COMMIT"), IsOk());
  }
  // What a process killed now leaves on disk: the files as the OS has them,
  // the writer still open. Recovery from the copy finds every commit.
  std::filesystem::create_directory(dir.path() / "crash");
  for (const char* suffix : {"", "-wal"}) {
    std::filesystem::copy_file(path + suffix, dir.File("crash/t.db") + suffix);
  }
  Database recovered = OpenWal(dir.File("crash/t.db"), false);
  EXPECT_EQ(Query(recovered, "SELECT count(*) FROM t"), 2500);
}

TEST(WalBatchingVfsTest, SpilledAndRolledBackFramesChangeNothing) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  // A tiny page cache: a big transaction spills pages into the WAL before
  // its commit, and SQLite rewrites frames of the open transaction.
  Database writer = OpenWriter(path, "PRAGMA cache_size = 10;");
  Database reader = OpenWal(path, false);
  ASSERT_THAT(writer.Exec("begin", "BEGIN IMMEDIATE"), IsOk());
  Put(writer, 0, 2000);
  Put(writer, 0, 2000);
  ASSERT_THAT(writer.Exec("rollback", "ROLLBACK"), IsOk());
  EXPECT_EQ(Query(reader, "SELECT count(*) FROM t"), 0);
  for (int round = 0; round < 3; ++round) {
    ASSERT_THAT(writer.Exec("begin", "BEGIN IMMEDIATE"), IsOk());
    Put(writer, 0, 2000);
    Put(writer, 1000, 2000);
    ASSERT_THAT(writer.Exec("commit", "COMMIT"), IsOk());
  }
  EXPECT_EQ(Query(reader, "SELECT count(*) FROM t"), 3000);
  // Rows 1000-1999 were put twice per round, the others once.
  EXPECT_EQ(Query(reader, "SELECT sum(n) FROM t"),
            // ids 0..2999 start at their id; 1000..1999 gain 5, the others 2
            int64_t{2999} * 3000 / 2 + 1000 * 5 + 2000 * 2);
  Result<Statement> check = reader.Prepare("check", "PRAGMA integrity_check");
  ASSERT_THAT(check, IsOk());
  ASSERT_THAT(check->Step(), IsOk());
  EXPECT_EQ(check->ColumnText(0), "ok");
}

}  // namespace
}  // namespace sluice::catalog
