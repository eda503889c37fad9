// The `archive` handler: writes a stream's records into compressed (gzip by
// default), date-partitioned objects
//   <root>/<prefix>year=YYYY/month=MM/day=DD/[hour=HH/]
//       <consumer>-<shardId>-<first sequence number>.gz
// rolled by size and by time as Firehose's BufferingHints, with Firehose
// delivery's object writer (firehose/object_writer.h: compress, temp name,
// fsync, rename).
//
// Exactly once, across retries and crashes. Handle() stages a batch's new
// records in the handler's SQLite database, with the lane's staged mark (the
// last offset accepted), in one transaction, and only then reports success:
// the runtime's checkpoint never passes a record that is not durable, and a
// redelivered record at or below the mark is skipped. Rolling writes the
// staged records of one (shard, lane) as one object whose key is fixed by
// its first staged record (its arrival date and sequence number), then, in
// one transaction, deletes those records and notes the object in
// sluice_archive_objects. A crash between the two leaves the records staged,
// and the next roll writes the same key again (with as many or more records),
// replacing the earlier copy whole: each record ends in exactly one object.
// docs/consumers.md has the settings and the argument in full.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>

#include "server/catalog/sqlite.h"
#include "server/consumers/handler.h"
#include "server/consumers/handler_files.h"

namespace sluice::consumers {

// Built by the factory; owned by the consumer runtime. Handle() may run on
// several threads at once (different lanes). A roller thread, started in
// Create() and joined by the destructor, rolls objects that are due by time
// when no batch comes to do it.
class ArchiveHandler final : public Handler {
 public:
  static Result<std::unique_ptr<ArchiveHandler>> Create(
      const HandlerSpec& spec);
  ~ArchiveHandler() override;

  HandlerResult Handle(const Batch& batch) override;

  // Rolls every lane that has staged records now, due or not (tests, and
  // an operator's flush). The first failure, after trying every lane.
  Status Flush();

  const std::filesystem::path& archive_dir() const { return archive_dir_; }
  const std::filesystem::path& database_path() const { return path_; }

  struct Lane;

 private:
  ArchiveHandler();
  Status OpenDatabase();
  // The lane of `batch`, loaded from the database or made. Caller holds
  // no lock.
  Result<std::shared_ptr<Lane>> LaneOf(const Batch& batch,
                                       uint64_t shard_created);
  // Stages `batch`'s records above the lane's mark. REQUIRES: lane.mu held.
  Status Stage(Lane& lane, const Batch& batch);
  bool Due(const Lane& lane) const;
  // Writes the lane's staged records as one object and forgets them.
  // REQUIRES: lane.mu held.
  Status Roll(Lane& lane);
  void RollerLoop();

  std::string consumer_;
  const Clock* clock_ = nullptr;
  std::string synchronous_;
  std::string compression_;
  std::string prefix_;
  bool hourly_ = false;
  bool append_newline_ = true;
  uint64_t size_bytes_ = 0;
  int64_t interval_millis_ = 0;
  std::unique_ptr<HandlerFiles> files_;
  std::filesystem::path archive_dir_;
  std::filesystem::path path_;

  std::mutex db_mu_;
  catalog::Database db_;  // guarded by db_mu_, as are the statements
  catalog::Statement find_lane_;
  catalog::Statement add_lane_;
  catalog::Statement update_lane_;
  catalog::Statement stage_record_;
  catalog::Statement read_staged_;
  catalog::Statement drop_staged_;
  catalog::Statement note_object_;

  // Lanes by (stream ARN, shard created, shard id, lane, lane count).
  using LaneKey =
      std::tuple<std::string, uint64_t, std::string, uint32_t, uint32_t>;
  std::mutex lanes_mu_;
  std::map<LaneKey, std::shared_ptr<Lane>> lanes_;  // guarded by lanes_mu_

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;  // guarded by stop_mu_
  std::thread roller_;
};

}  // namespace sluice::consumers
