// Sluice's admin operations for in-process consumers, under the same JSON
// 1.1 envelope as the AWS APIs with X-Amz-Target SluiceAdmin.<operation>:
// CreateConsumer, ListConsumers, DescribeConsumer, PauseConsumer,
// ResumeConsumer, DeleteConsumer, and QueryMetrics, a read of a metrics
// handler's tables (docs/consumers.md). Not to be confused
// with Kinesis's RegisterStreamConsumer (enhanced fan-out), which is a
// reader outside the server.
#pragma once

#include "common/json.h"
#include "server/consumers/consumer_runtime.h"
#include "server/http/api_router.h"

namespace sluice::consumers {

// Writes a parsed JSON value through a response's encoder.
void EmitValue(Encoder& out, const json::Value& value);

// Owned by Server; handlers run on worker threads, concurrently.
class ConsumersApi {
 public:
  explicit ConsumersApi(ConsumerRuntime& runtime) : runtime_(runtime) {}

  void RegisterWith(http::ApiRouter& router);

 private:
  Status QueryMetrics(const json::Value& input, Encoder& output);

  ConsumerRuntime& runtime_;
};

}  // namespace sluice::consumers
