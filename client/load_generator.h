// `sluice-cli load`: sends a generated workload (workloads.h) to a Kinesis
// stream through the batching producer, or to a Firehose delivery stream
// with PutRecordBatch, at a target rate or as fast as the server takes it,
// and reports the achieved rate and latency percentiles.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "client/api_client.h"

namespace sluice::client {

struct LoadOptions {
  std::string workload;  // "ecommerce" or "telemetry"
  // Exactly one of the two.
  std::string stream;
  std::string delivery_stream;
  std::optional<double> rate;  // records/s; unset: as fast as possible
  std::optional<uint64_t> records;
  std::optional<std::chrono::milliseconds> duration;
  int keys = 1000;  // users or cars
  uint64_t seed = 1;
  int connections = 4;
};

struct LoadReport {
  uint64_t sent = 0;    // records stored
  uint64_t failed = 0;  // records given up on
  uint64_t retried = 0;
  double seconds = 0;
  // From handing a record over to the answer that stored it.
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;

  double RecordsPerSecond() const {
    return seconds > 0 ? static_cast<double>(sent) / seconds : 0;
  }
};

// Runs until `records` are sent or `duration` has passed (whichever is set
// and first); progress once a second on `progress` when not null.
Result<LoadReport> RunLoad(const ClientOptions& client_options,
                           const LoadOptions& options, std::ostream* progress);

}  // namespace sluice::client
