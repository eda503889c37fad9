// A SQL application at work: the consumer handler (type "analytics") that
// feeds the source's batches to the application's Engine, closes its
// windows on the clock, and delivers its outbox to the outputs. An
// application is an in-process consumer of its source stream whose handler
// is this class (ApplicationsApi creates that consumer).
//
// Owned by the consumer runtime, like every handler. Handle() may be called
// for several shards at once; a mutex serialises the engine. A timer
// thread, started by Create() and joined by the destructor, closes windows
// (also when no record arrives) and retries deliveries every kTick.
//
// Delivery: a row reaches the outbox exactly once (in the transaction of
// the state change that made it); it is sent and then deleted. Kinesis
// output records carry "<application>-<outbox id>" as partition key, and
// before a chunk is sent the output's shard tips are saved: after a crash
// between the put and the delete, the rows found after those tips are not
// sent again. A delivery-stream output has no keys: a crash there may send
// up to one chunk again. docs/analytics.md.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "server/analytics/engine.h"
#include "server/consumers/handler.h"
#include "server/consumers/handler_files.h"

namespace sluice::analytics {

inline constexpr std::chrono::milliseconds kTick{100};

struct ApplicationStatus {
  EngineCounts counts;
  std::vector<WindowState> windows;
  int64_t delivered = 0;       // since this start
  std::string delivery_error;  // the last failed send, if still failing
  std::string database;        // its path
};

class ApplicationHandler final : public consumers::Handler {
 public:
  // Settings: {"type": "analytics", "application": <CreateApplication
  // body>}.
  static Result<std::unique_ptr<ApplicationHandler>> Create(
      const consumers::HandlerSpec& spec);
  ~ApplicationHandler() override;

  consumers::HandlerResult Handle(const consumers::Batch& batch) override;

  // One round of the timer: close what has closed, deliver the outbox.
  void Tick();

  Result<ApplicationStatus> Describe();
  const ApplicationDefinition& definition() const { return definition_; }

 private:
  ApplicationHandler(ApplicationDefinition definition,
                     const consumers::HandlerEnvironment& environment)
      : definition_(std::move(definition)), environment_(environment) {}

  void Run();
  // Sends the outbox, oldest row first.
  void Deliver();
  // The outbox ids that a crash left put but not deleted: the
  // "<application>-<id>" keys after the sending marks.
  std::set<int64_t> AlreadySent();
  // Saves the tips of the Kinesis outputs `rows` go to, unless marked.
  void MarkSending(const std::vector<OutboxRecord>& rows);

  const ApplicationDefinition definition_;
  const consumers::HandlerEnvironment& environment_;
  std::unique_ptr<consumers::HandlerFiles> files_;
  std::string path_;

  std::mutex engine_mu_;
  std::unique_ptr<Engine> engine_;  // guarded by engine_mu_

  std::mutex deliver_mu_;  // one delivery at a time, so rows keep order
  std::mutex mu_;
  std::condition_variable stop_;
  bool stopping_ = false;       // guarded by mu_
  int64_t delivered_ = 0;       // guarded by mu_
  std::string delivery_error_;  // guarded by mu_
  std::thread timer_;
};

}  // namespace sluice::analytics
