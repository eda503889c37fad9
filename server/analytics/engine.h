// The state machine of one SQL application, in its own SQLite database:
// reads the source's records into typed rows, runs the pumps' SELECTs (in
// SQLite), and puts each row an output must receive into an outbox, in the
// same transaction as the state change that produced it.
//
//   Apply(batch)   one transaction: the batch's rows (records at or below
//                  the (shard, lane)'s applied mark are skipped: a replay
//                  after a crash changes nothing), the filter pumps' rows
//                  into the outbox, the rows of open windows kept, the
//                  mark moved.
//   CloseWindows   one transaction per window pump: the windows that have
//                  closed (their end at or before now - grace, and every
//                  shard read past it) are aggregated into the outbox, their
//                  rows deleted and the pump's closed_until moved.
//   Pending/Delivered  the outbox, oldest first: the handler sends each row
//                  and then deletes it.
//
// Not thread-safe: ApplicationHandler serialises every call. The database
// survives restarts; a changed definition (same name, new code or schema)
// starts from an empty database.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "server/analytics/application_definition.h"
#include "server/consumers/handler.h"

namespace sluice::analytics {

// A window closes this long after its end on the clock, so that a record
// whose arrival was stamped just before the end but appended just after
// the close decision (a PutRecord in flight) still belongs to it.
inline constexpr EpochMillis kWindowCloseGraceMillis = 1000;

// A shard of the source and the offset its next record will have.
struct ShardTip {
  std::string shard_id;
  uint64_t tip = 0;
};

struct OutboxRecord {
  int64_t id = 0;     // increases with every row put in; never reused
  size_t output = 0;  // index into the definition's outputs
  std::string data;
};

struct EngineCounts {
  int64_t records = 0;     // source records applied
  int64_t rows = 0;        // rows read from them
  int64_t error_rows = 0;  // records or rows that could not be read
  int64_t late_rows = 0;   // rows for windows that had already closed
  int64_t emitted = 0;     // rows put into the outbox
  int64_t pending = 0;     // rows in the outbox, not yet delivered
  int64_t open_rows = 0;   // rows held for windows not yet closed
  std::string last_error;  // why the last unreadable row was unreadable
};

struct WindowState {
  std::string pump;
  int64_t window_millis = 0;
  EpochMillis closed_until = 0;  // every window ending by then is emitted
};

class Engine {
 public:
  // Prepares every pump over an empty in-memory database: unknown columns,
  // bad expressions and a SELECT list that does not fit its stream are
  // kInvalidArgument with the position in the code.
  static Status Check(const ApplicationDefinition& definition);

  // Opens (creating) the database at `path`; ":memory:" for one that dies
  // with the engine.
  static Result<std::unique_ptr<Engine>> Open(ApplicationDefinition definition,
                                              const std::string& path);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  Status Apply(const consumers::Batch& batch);
  // Closes every window that has closed by `now`, given the source's
  // shards. Returns how many output rows it produced.
  Result<int64_t> CloseWindows(EpochMillis now,
                               const std::vector<ShardTip>& tips);

  Result<std::vector<OutboxRecord>> Pending(size_t limit);
  // Deletes the outbox rows up to and including `through_id` (they have
  // been sent; 0: none) and forgets every sending mark, in one transaction.
  Status Delivered(int64_t through_id);

  // Sending marks: before rows go to a Kinesis output, the output's shard
  // tips are saved, so that after a crash the rows already put can be found
  // (by their "<application>-<id>" keys) after those tips.
  using ShardTips = std::vector<std::pair<std::string, uint64_t>>;
  Status MarkSending(size_t output, const ShardTips& tips);
  Result<std::map<size_t, ShardTips>> Sending();

  Result<EngineCounts> Counts();
  Result<std::vector<WindowState>> Windows();
  const ApplicationDefinition& definition() const;

  struct State;  // engine.cc

 private:
  explicit Engine(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// "2026-12-02 10:01:00.000": how a TIMESTAMP column is written to an output.
std::string FormatTimestamp(EpochMillis millis);

}  // namespace sluice::analytics
