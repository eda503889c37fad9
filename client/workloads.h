// The records real pipelines carry (../shared/pipelines.md), generated for
// load tests, examples and benchmarks: e-commerce events keyed by user, and
// vehicle telemetry keyed by car. Deterministic for a given seed, except for
// the wall-clock timestamp and the event ids' randomness.
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace sluice::client {

struct GeneratedRecord {
  std::string partition_key;
  std::string data;  // one JSON document
};

// page_view 70%, add_to_cart 15%, purchase 10% (about one in six over 500),
// error 5%; fields as pipelines.md lists them, partition key = user_id.
class EcommerceEvents {
 public:
  EcommerceEvents(uint64_t seed, int users);
  GeneratedRecord Next();

 private:
  std::mt19937_64 random_;
  int users_;
};

// speed, rpm, gear, throttle, brakes, steering, suspension, temperatures,
// pressures, fuel consumption and lap time of `cars` cars; partition key =
// the car. About one record in four has speed >= 200.
class TelemetryRecords {
 public:
  TelemetryRecords(uint64_t seed, int cars);
  GeneratedRecord Next();

 private:
  std::mt19937_64 random_;
  int cars_;
};

}  // namespace sluice::client
