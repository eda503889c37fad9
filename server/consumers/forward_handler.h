// The `forward` handler: copies a stream's records, or those matching a
// condition on their JSON fields (record_rules.h), to another Kinesis stream
// (with the record's partition key or one built from a template) or to a
// Firehose delivery stream, through the runtime's StreamWriter.
//
// At least once: records are put one by one in offset order and the call
// succeeds only when all of them were accepted. A put that fails (throttled,
// the target missing) fails the whole call, a function error the runtime
// retries (or bisects), so the records put before the failure are put again:
// a retry after a partial write, or a crash before the checkpoint is saved,
// can duplicate records in the target. docs/consumers.md says why and how a
// reader dedupes (the source sequence number travels in no header, so
// dedupe on a field of the record).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "server/consumers/handler.h"
#include "server/consumers/record_rules.h"

namespace sluice::consumers {

class ForwardHandler final : public Handler {
 public:
  static Result<std::unique_ptr<ForwardHandler>> Create(
      const HandlerSpec& spec);

  HandlerResult Handle(const Batch& batch) override;

 private:
  ForwardHandler() = default;

  StreamWriter* writer_ = nullptr;
  std::string stream_;           // a Kinesis stream, or
  std::string delivery_stream_;  // a Firehose delivery stream
  std::optional<Condition> match_;
  std::optional<Template> partition_key_;  // Kinesis only; default: as is
};

}  // namespace sluice::consumers
