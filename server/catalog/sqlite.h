// Thin RAII wrappers over the SQLite C API that turn its result codes into our
// Status. They keep <sqlite3.h> out of every header that includes the catalog,
// and make it hard to leak a statement, a handle or an open transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace sluice::catalog {

class Statement;

// One SQLite connection. Owned by whoever opened it; a connection must only be
// used by one thread at a time (we open it without SQLite's own mutex), so the
// owner serializes calls, e.g. with a mutex.
class Database {
 public:
  Database() = default;
  ~Database();
  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Opens, creating if needed, the database at `path` (":memory:" for one that
  // lives and dies with this connection). With `batch_wal_writes`, through
  // the VFS of server/catalog/wal_batching_vfs.h (one write per commit to
  // the WAL).
  static Result<Database> Open(const std::string& path,
                               bool batch_wal_writes = false);

  // Runs one or more statements that return no rows we need.
  // `what` names the action in the error: "<what> failed: <sqlite message>".
  Status Exec(std::string_view what, const std::string& sql);

  // Prepares one statement meant to be kept and reused.
  Result<Statement> Prepare(std::string_view what, std::string_view sql);

  // The single integer a PRAGMA such as user_version returns.
  Result<int64_t> PragmaInt(std::string_view pragma);
  // The single text value a PRAGMA such as journal_mode=WAL returns.
  Result<std::string> PragmaText(std::string_view pragma);

  // Rows changed by the most recent INSERT, UPDATE or DELETE.
  int64_t Changes() const;
  // True while a transaction is open (BEGIN without COMMIT or ROLLBACK yet).
  bool InTransaction() const;
  // The message of the most recent failure on this connection.
  std::string ErrorMessage() const;
  Status Error(std::string_view what) const;

  sqlite3* handle() const { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}

  sqlite3* db_ = nullptr;
};

// One prepared statement of a Database, reusable: each use binds, steps until
// done, and resets (Reset() runs on every path through StatementUse, below).
// Same threading rule as its Database; must be destroyed before it.
class Statement {
 public:
  Statement() = default;
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters count from 1, as in SQLite.
  void BindInt(int index, int64_t value);
  void BindText(int index, std::string_view value);  // copied by SQLite
  // As BindText, without the copy, for hot loops. REQUIRES: `value` stays
  // alive and unchanged until the statement is reset.
  void BindTextNoCopy(int index, std::string_view value);
  void BindNull(int index);
  void BindDouble(int index, double value);
  void BindOptionalInt(int index, const std::optional<int64_t>& value);
  void BindOptionalText(int index, const std::optional<std::string>& value);

  // Runs to the next row: true when a row is ready, false when done.
  Result<bool> Step();
  // Runs a statement that returns no rows.
  Status Run();

  // Columns count from 0.
  bool IsNull(int column) const;
  int64_t ColumnInt(int column) const;
  std::string ColumnText(int column) const;  // "" for NULL
  std::optional<int64_t> ColumnOptionalInt(int column) const;
  std::optional<std::string> ColumnOptionalText(int column) const;
  double ColumnDouble(int column) const;
  // For statements whose columns are not known in advance (a user's table).
  enum class ColumnType { kInteger, kReal, kText, kBlob, kNull };
  ColumnType TypeOf(int column) const;
  int ColumnCount() const;
  std::string ColumnName(int column) const;

  // Makes the statement ready for its next use and drops its bindings, which
  // also ends the read snapshot a half-stepped statement would hold open.
  void Reset();

  // The SQLite extended result code of the last failed Step(), or 0.
  int last_error() const { return last_error_; }

 private:
  friend class Database;
  Statement(sqlite3* db, sqlite3_stmt* stmt, std::string what)
      : db_(db), stmt_(stmt), what_(std::move(what)) {}

  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  std::string what_;  // names the statement in error messages
  int last_error_ = 0;
};

// Resets a cached statement when the scope that used it ends, on every path.
// Lives on the stack of the one call that uses the statement.
class StatementUse {
 public:
  explicit StatementUse(Statement& statement) : statement_(statement) {}
  ~StatementUse() { statement_.Reset(); }
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;
  Statement* operator->() { return &statement_; }
  Statement& operator*() { return statement_; }

 private:
  Statement& statement_;
};

// A write transaction (BEGIN IMMEDIATE): it takes the write lock up front, so
// a busy database fails at Begin() under busy_timeout rather than mid-way.
// Rolls back when destroyed without a successful Commit(). Lives on the stack
// of one call, on the thread that currently owns the Database.
class Transaction {
 public:
  static Result<Transaction> Begin(Database& db, std::string_view what);
  ~Transaction();
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Status Commit();

 private:
  Transaction(Database& db, std::string_view what) : db_(&db), what_(what) {}

  Database* db_;  // null once committed, rolled back or moved from
  std::string what_;
};

// True when `code`, an extended result code, is a constraint violation.
bool IsUniqueViolation(int code);
bool IsForeignKeyViolation(int code);

}  // namespace sluice::catalog
