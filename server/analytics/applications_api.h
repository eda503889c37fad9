// Sluice's admin operations for SQL applications, under the SluiceAdmin
// JSON 1.1 envelope: CreateApplication (a Kinesis Data Analytics
// CreateApplication body, application_definition.h), ListApplications,
// DescribeApplication, DeleteApplication (by ApplicationName).
//
// An application runs as an in-process consumer of its source stream, of
// the same name, whose handler is type "analytics" (application_handler.h):
// the consumer runtime reads the shards and keeps the checkpoints, and the
// catalog keeps the definition, so applications outlive restarts. They also
// show in ListConsumers.
#pragma once

#include <string>

#include "common/status.h"
#include "server/consumers/consumer_runtime.h"
#include "server/http/api_router.h"

namespace sluice::analytics {

// The consumer that runs an application: every setting but the handler is
// fixed (TRIM_HORIZON, one lane per shard so each shard's rows stay in
// order, retries until the records expire). Checks the definition and the
// SQL against SQLite first.
Result<consumers::ConsumerDefinition> ApplicationConsumer(
    const json::Value& request);

// Owned by Server; handlers run on worker threads, concurrently.
class ApplicationsApi {
 public:
  explicit ApplicationsApi(consumers::ConsumerRuntime& runtime)
      : runtime_(runtime) {}

  void RegisterWith(http::ApiRouter& router);

 private:
  Status Describe(const std::string& name, Encoder& output, bool full);

  consumers::ConsumerRuntime& runtime_;
};

}  // namespace sluice::analytics
