#include "server/catalog/sqlite.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string_view>

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

int64_t CountRows(Database& db, std::string_view table) {
  Result<Statement> count =
      db.Prepare("count", "SELECT count(*) FROM " + std::string(table));
  EXPECT_THAT(count, IsOk());
  Result<bool> row = count->Step();
  EXPECT_THAT(row, IsOk());
  return count->ColumnInt(0);
}

TEST(SqliteTest, ExecErrorNamesTheActionAndSqliteMessage) {
  Database db = OpenMemory();
  EXPECT_THAT(db.Exec("make table", "CREATE TABLEX t (x)"),
              HasError(ErrorCode::kInternalFailure,
                       "make table failed: near \"TABLEX\": syntax error"));
}

TEST(SqliteTest, PrepareErrorNamesTheStatement) {
  Database db = OpenMemory();
  Result<Statement> stmt = db.Prepare("read t", "SELECT x FROM t");
  EXPECT_THAT(stmt, HasError(ErrorCode::kInternalFailure,
                             "prepare read t failed: no such table: t"));
}

TEST(SqliteTest, EmptyStringViewBindsEmptyTextNotNull) {
  Database db = OpenMemory();
  ASSERT_THAT(db.Exec("create", "CREATE TABLE t (x TEXT NOT NULL)"), IsOk());
  Result<Statement> insert = db.Prepare("insert", "INSERT INTO t VALUES (?1)");
  ASSERT_THAT(insert, IsOk());
  insert->BindText(1, std::string_view());
  EXPECT_THAT(insert->Run(), IsOk());
  EXPECT_EQ(CountRows(db, "t"), 1);
}

TEST(SqliteTest, StatementIsReusableAfterReset) {
  Database db = OpenMemory();
  ASSERT_THAT(db.Exec("create", "CREATE TABLE t (x INTEGER)"), IsOk());
  Result<Statement> insert = db.Prepare("insert", "INSERT INTO t VALUES (?1)");
  ASSERT_THAT(insert, IsOk());
  for (int64_t i = 0; i < 3; ++i) {
    StatementUse use(*insert);
    use->BindInt(1, i);
    EXPECT_THAT(use->Run(), IsOk());
  }
  EXPECT_EQ(CountRows(db, "t"), 3);
}

TEST(SqliteTest, StepReportsConstraintViolation) {
  Database db = OpenMemory();
  ASSERT_THAT(db.Exec("create", "CREATE TABLE t (x INTEGER PRIMARY KEY)"),
              IsOk());
  Result<Statement> insert = db.Prepare("insert t", "INSERT INTO t VALUES (1)");
  ASSERT_THAT(insert, IsOk());
  ASSERT_THAT(insert->Run(), IsOk());
  insert->Reset();
  EXPECT_THAT(insert->Run(),
              HasError(ErrorCode::kInternalFailure,
                       "insert t failed: UNIQUE constraint failed: t.x"));
  EXPECT_TRUE(IsUniqueViolation(insert->last_error()));
  EXPECT_FALSE(IsForeignKeyViolation(insert->last_error()));
}

TEST(SqliteTest, TransactionRollsBackUnlessCommitted) {
  Database db = OpenMemory();
  ASSERT_THAT(db.Exec("create", "CREATE TABLE t (x INTEGER)"), IsOk());
  {
    Result<Transaction> txn = Transaction::Begin(db, "test");
    ASSERT_THAT(txn, IsOk());
    ASSERT_THAT(db.Exec("insert", "INSERT INTO t VALUES (1)"), IsOk());
  }
  EXPECT_EQ(CountRows(db, "t"), 0);
  {
    Result<Transaction> txn = Transaction::Begin(db, "test");
    ASSERT_THAT(txn, IsOk());
    ASSERT_THAT(db.Exec("insert", "INSERT INTO t VALUES (1)"), IsOk());
    EXPECT_THAT(txn->Commit(), IsOk());
  }
  EXPECT_EQ(CountRows(db, "t"), 1);
}

TEST(SqliteTest, OpenInMissingDirectoryFails) {
  test::TempDir dir;
  const std::string path = dir.File("no/such/dir/catalog.db");
  Result<Database> db = Database::Open(path);
  EXPECT_THAT(db, HasError(ErrorCode::kInternalFailure,
                           "open catalog " + path +
                               " failed: unable to open database file"));
}

}  // namespace
}  // namespace sluice::catalog
