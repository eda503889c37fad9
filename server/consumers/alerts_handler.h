// The `alerts` handler: threshold rules ("a purchase over 500") that raise
// an alert record (rule, subject, message JSON, time, the source record's
// shard and sequence number) and send it on to outputs: a JSONL file, an
// HTTP webhook, a Kinesis stream or a Firehose delivery stream.
//
// Every alert is first recorded in an SQLite table, the ledger, in one
// transaction per batch with INSERT OR IGNORE on a unique (consumer, rule,
// shard, sequence number): a batch delivered again after a retry or a crash
// raises nothing new. Outputs are fed from the ledger by the handler's own
// delivery thread (a transactional outbox), so a slow or dead webhook never
// holds up the shard: each output remembers the last alert it delivered; a
// failed delivery is retried with exponential backoff until the output's
// retry bound, measured from when the alert was raised, and then recorded in
// sluice_alert_undelivered (and logged) and skipped. A JSONL output is
// exactly once (the file is cut back to the length recorded with the last
// delivered alert before appending); webhooks and streams are at least once
// across a crash, each alert carrying a stable alert_id to dedupe on.
// docs/consumers.md has the settings.
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/catalog/sqlite.h"
#include "server/consumers/handler.h"
#include "server/consumers/handler_files.h"
#include "server/consumers/record_rules.h"
#include "server/consumers/webhook.h"

namespace sluice::consumers {

// Built by the factory; owned by the consumer runtime. Handle() may run on
// several threads at once; the delivery thread starts in Create() and is
// joined by the destructor (which waits for at most one delivery attempt,
// bounded by the output's timeout).
class AlertsHandler final : public Handler {
 public:
  static Result<std::unique_ptr<AlertsHandler>> Create(const HandlerSpec& spec);
  ~AlertsHandler() override;

  HandlerResult Handle(const Batch& batch) override;

  // Blocks until every output has delivered or given up on every alert
  // recorded so far, or `timeout` passes; true when caught up. For tests
  // and an orderly shutdown.
  bool WaitForDeliveries(std::chrono::milliseconds timeout);

  const std::filesystem::path& database_path() const { return path_; }

  struct Rule;
  struct Output;
  struct PendingAlert;

 private:
  AlertsHandler();
  Status OpenDatabase();
  void DeliveryLoop();
  // One pass over the outputs; returns the wait until the next due retry
  // (or max() when nothing waits).
  std::chrono::milliseconds DeliverDue();
  Status DeliverTo(Output& output, bool& caught_up);
  Status DeliverJsonl(Output& output, const std::vector<PendingAlert>& alerts);
  Status DeliverOne(Output& output, const PendingAlert& alert);

  std::string consumer_;
  const Clock* clock_ = nullptr;
  StreamWriter* writer_ = nullptr;
  std::string synchronous_;
  std::string table_;
  std::vector<Rule> rules_;
  std::vector<std::unique_ptr<Output>> outputs_;
  std::unique_ptr<HandlerFiles> files_;
  std::filesystem::path path_;

  std::mutex write_mu_;
  catalog::Database db_;  // guarded by write_mu_, as is insert_
  catalog::Statement insert_;

  // The delivery thread's own connection and statements.
  catalog::Database delivery_db_;

  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;            // guarded by mu_
  uint64_t raised_ = 0;          // guarded by mu_: alerts recorded
  uint64_t passes_ = 0;          // guarded by mu_: delivery passes finished
  bool caught_up_ = false;       // guarded by mu_: after the last pass
  uint64_t raised_at_pass_ = 0;  // guarded by mu_: raised_ when it started
  std::thread delivery_thread_;
};

}  // namespace sluice::consumers
