// The `metrics` handler: declarative counter rules into SQLite, what
// tutorials do with DynamoDB UpdateItem behind a Lambda function. Each rule
// matches records by their JSON fields, builds a key and a sort key from
// templates, ADDs to counters (a constant, the sum of a field, or a field
// in integer cents) and SETs last-seen columns, in a table of its own.
//
// Exactly once: the counter updates of a batch and the batch's applied
// offset for its (shard, lane) commit in one SQLite transaction, and
// records at or below that mark are skipped, so a batch delivered again
// after a retry or a crash changes nothing. Malformed records (not JSON, a
// field a rule needs missing or not a number) are skipped and counted in
// the sluice_skipped table; they never fail a batch. Only a failing database
// (disk full, locked past the busy timeout) fails the call, and the runtime
// retries it. docs/consumers.md has the settings and the tables.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "server/catalog/sqlite.h"
#include "server/consumers/handler.h"
#include "server/consumers/handler_files.h"
#include "server/consumers/record_rules.h"

namespace sluice::consumers {

// One read of a metrics table (SluiceAdmin.QueryMetrics).
struct MetricsQuery {
  // Empty: a summary of the database (tables and row counts, skipped
  // records, applied marks) instead of rows.
  std::string table;
  std::optional<std::string> key;       // only rows with this key
  std::optional<std::string> sort_key;  // and this sort key
  size_t limit = 1000;                  // rows at most, 1..10000
};

inline constexpr size_t kMaxMetricsQueryLimit = 10000;

// Built by the factory from a consumer's settings; owned by the consumer
// runtime. Handle() may run on several threads at once (different lanes);
// Query() on any thread at the same time. Destroying it closes the database
// (and removes it, with --in-memory).
class MetricsHandler final : public Handler {
 public:
  static Result<std::unique_ptr<MetricsHandler>> Create(
      const HandlerSpec& spec);
  ~MetricsHandler() override;

  HandlerResult Handle(const Batch& batch) override;
  bool SkipsRedeliveries() const override { return true; }

  // The JSON answer to a query: {"Table", "Rows": [{column: value}],
  // "Truncated"} for a table, a summary when query.table is empty.
  // kResourceNotFound for a table no rule writes, kInvalidArgument for a bad
  // limit.
  Result<std::string> Query(const MetricsQuery& query);

  const std::filesystem::path& database_path() const { return path_; }

  struct Counter;
  struct Column;
  struct Rule;
  struct Aggregate;

 private:
  MetricsHandler();
  Status OpenDatabase();
  Status PrepareRuleTable(Rule& rule);
  // Folds the batch's records above `mark` into `aggregate`.
  void Fold(const Batch& batch, int64_t mark,
            struct Aggregate& aggregate) const;
  // The offset applied last for the batch's (shard, lane), or -1. Caller
  // holds write_mu_.
  Result<int64_t> AppliedMark(const Batch& batch, uint64_t shard_created);
  Status Write(const Batch& batch, uint64_t shard_created,
               const struct Aggregate& aggregate);
  // Caller holds write_mu_.
  static Status RunStatement(catalog::Statement& statement);
  void Rollback();

  // A lane's applied offset in the database: stream ARN, shard, shard
  // creation time, lane, lane count.
  using MarkKey =
      std::tuple<std::string, std::string, uint64_t, uint32_t, uint32_t>;

  std::string consumer_;
  const Clock* clock_ = nullptr;
  std::string synchronous_;
  size_t default_max_length_ = 0;
  std::vector<Rule> rules_;
  std::unique_ptr<HandlerFiles> files_;
  std::filesystem::path path_;

  std::mutex write_mu_;
  catalog::Database db_;  // guarded by write_mu_, as are the statements
  catalog::Statement read_mark_;
  catalog::Statement write_mark_;
  catalog::Statement count_skipped_;
  catalog::Statement begin_;
  catalog::Statement commit_;
  catalog::Statement rollback_;
  // The marks this handler committed last, so that a batch is folded
  // without a read of the database first (the transaction still checks).
  std::map<MarkKey, int64_t> marks_;

  std::mutex query_mu_;
  catalog::Database query_db_;  // guarded by query_mu_; opened on first use
};

}  // namespace sluice::consumers
