#include "server/catalog/sqlite.h"

#include <sqlite3.h>

#include <cstdint>
#include <limits>

#include "server/catalog/wal_batching_vfs.h"

namespace sluice::catalog {
namespace {

// SQLITE_TRANSIENT spelled without the old-style cast of its macro: SQLite
// copies the bound value, so callers may pass views of temporaries.
sqlite3_destructor_type Transient() {
  return reinterpret_cast<sqlite3_destructor_type>(static_cast<intptr_t>(-1));
}

Status ErrorFor(sqlite3* db, std::string_view what) {
  std::string message(what);
  message += " failed: ";
  message += db != nullptr ? sqlite3_errmsg(db) : "out of memory";
  return Status(ErrorCode::kInternalFailure, std::move(message));
}

}  // namespace

// --- Database ---------------------------------------------------------------

Database::~Database() {
  // close_v2 defers the close until the last statement is finalized, so a
  // statement that outlives us by mistake cannot use a dangling handle.
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

Database::Database(Database&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

Result<Database> Database::Open(const std::string& path,
                                bool batch_wal_writes) {
  // Before SQLite initializes (its first open in the process): no memory
  // statistics, which we never read. Debian builds SQLite without lookaside,
  // so every statement step mallocs, and the statistics put a global mutex
  // around each malloc and free. A no-op (SQLITE_MISUSE) if SQLite was
  // initialized already.
  static const int memstatus_off = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  static_cast<void>(memstatus_off);
  sqlite3* db = nullptr;
  // NOMUTEX: our owner serializes all use of the connection already.
  // EXRESCODE: extended codes tell a UNIQUE from a FOREIGN KEY violation.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  const char* vfs = batch_wal_writes ? WalBatchingVfs() : nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, vfs);
  if (rc != SQLITE_OK) {
    Status status = ErrorFor(db, "open catalog " + path);
    sqlite3_close_v2(db);  // a handle comes back even on failure
    return status;
  }
  return Database(db);
}

Status Database::Exec(std::string_view what, const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message(what);
    message += " failed: ";
    message += error != nullptr ? error : sqlite3_errmsg(db_);
    sqlite3_free(error);
    return Status(ErrorCode::kInternalFailure, std::move(message));
  }
  return Status::Ok();
}

Result<Statement> Database::Prepare(std::string_view what,
                                    std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sql.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return Status(ErrorCode::kInternalFailure,
                  std::string(what) + " failed: statement too long");
  }
  // PERSISTENT: these statements live as long as the connection.
  const int rc =
      sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                         SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK)
    return Error(std::string("prepare ") + std::string(what));
  return Statement(db_, stmt, std::string(what));
}

Result<int64_t> Database::PragmaInt(std::string_view pragma) {
  Result<Statement> stmt = Prepare(pragma, "PRAGMA " + std::string(pragma));
  if (!stmt.ok()) return stmt.status();
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return Status(ErrorCode::kInternalFailure,
                  std::string(pragma) + " failed: no value returned");
  }
  return stmt->ColumnInt(0);
}

Result<std::string> Database::PragmaText(std::string_view pragma) {
  Result<Statement> stmt = Prepare(pragma, "PRAGMA " + std::string(pragma));
  if (!stmt.ok()) return stmt.status();
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return Status(ErrorCode::kInternalFailure,
                  std::string(pragma) + " failed: no value returned");
  }
  return stmt->ColumnText(0);
}

int64_t Database::Changes() const { return sqlite3_changes64(db_); }

bool Database::InTransaction() const {
  return sqlite3_get_autocommit(db_) == 0;
}

std::string Database::ErrorMessage() const { return sqlite3_errmsg(db_); }

Status Database::Error(std::string_view what) const {
  return ErrorFor(db_, what);
}

// --- Statement --------------------------------------------------------------

Statement::~Statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      stmt_(std::exchange(other.stmt_, nullptr)),
      what_(std::move(other.what_)),
      last_error_(other.last_error_) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
    what_ = std::move(other.what_);
    last_error_ = other.last_error_;
  }
  return *this;
}

// Bind failures (index out of range, out of memory) surface again as an error
// from the Step() that follows, so the binders need not return a Status.
void Statement::BindInt(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
}

void Statement::BindText(int index, std::string_view value) {
  // A default std::string_view has a null data(), which SQLite would bind as
  // NULL rather than as the empty string.
  const char* data = value.data() != nullptr ? value.data() : "";
  sqlite3_bind_text64(stmt_, index, data, value.size(), Transient(),
                      SQLITE_UTF8);
}

void Statement::BindTextNoCopy(int index, std::string_view value) {
  const char* data = value.data() != nullptr ? value.data() : "";
  // A null destructor is SQLITE_STATIC: SQLite reads the caller's bytes.
  sqlite3_bind_text64(stmt_, index, data, value.size(), nullptr, SQLITE_UTF8);
}

void Statement::BindNull(int index) { sqlite3_bind_null(stmt_, index); }

void Statement::BindDouble(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
}

void Statement::BindOptionalInt(int index,
                                const std::optional<int64_t>& value) {
  if (value.has_value()) {
    BindInt(index, *value);
  } else {
    BindNull(index);
  }
}

void Statement::BindOptionalText(int index,
                                 const std::optional<std::string>& value) {
  if (value.has_value()) {
    BindText(index, *value);
  } else {
    BindNull(index);
  }
}

Result<bool> Statement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  last_error_ = rc;
  return ErrorFor(db_, what_);
}

Status Statement::Run() {
  Result<bool> row = Step();
  if (!row.ok()) return row.status();
  return Status::Ok();
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

int64_t Statement::ColumnInt(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

double Statement::ColumnDouble(int column) const {
  return sqlite3_column_double(stmt_, column);
}

Statement::ColumnType Statement::TypeOf(int column) const {
  switch (sqlite3_column_type(stmt_, column)) {
    case SQLITE_INTEGER:
      return ColumnType::kInteger;
    case SQLITE_FLOAT:
      return ColumnType::kReal;
    case SQLITE_TEXT:
      return ColumnType::kText;
    case SQLITE_BLOB:
      return ColumnType::kBlob;
    default:
      return ColumnType::kNull;
  }
}

int Statement::ColumnCount() const { return sqlite3_column_count(stmt_); }

std::string Statement::ColumnName(int column) const {
  const char* name = sqlite3_column_name(stmt_, column);
  return name != nullptr ? name : "";
}

std::string Statement::ColumnText(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return std::string();
  // column_bytes after column_text: the length of the UTF-8 form just made.
  const int size = sqlite3_column_bytes(stmt_, column);
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(size));
}

std::optional<int64_t> Statement::ColumnOptionalInt(int column) const {
  if (IsNull(column)) return std::nullopt;
  return ColumnInt(column);
}

std::optional<std::string> Statement::ColumnOptionalText(int column) const {
  if (IsNull(column)) return std::nullopt;
  return ColumnText(column);
}

void Statement::Reset() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  last_error_ = 0;
}

// --- Transaction ------------------------------------------------------------

Result<Transaction> Transaction::Begin(Database& db, std::string_view what) {
  Status begun = db.Exec(std::string(what) + " begin", "BEGIN IMMEDIATE");
  if (!begun.ok()) return begun;
  return Transaction(db, what);
}

Transaction::~Transaction() {
  if (db_ == nullptr) return;
  // A failed statement may already have rolled SQLite back; then there is
  // nothing to undo and ROLLBACK fails harmlessly.
  if (sqlite3_get_autocommit(db_->handle()) == 0) {
    sqlite3_exec(db_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

Transaction::Transaction(Transaction&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), what_(std::move(other.what_)) {}

Status Transaction::Commit() {
  Status committed = db_->Exec(what_ + " commit", "COMMIT");
  // On failure the destructor still rolls back whatever is left open.
  if (committed.ok()) db_ = nullptr;
  return committed;
}

bool IsUniqueViolation(int code) {
  return code == SQLITE_CONSTRAINT_UNIQUE ||
         code == SQLITE_CONSTRAINT_PRIMARYKEY;
}

bool IsForeignKeyViolation(int code) {
  return code == SQLITE_CONSTRAINT_FOREIGNKEY;
}

}  // namespace sluice::catalog
