// The "gateway" section of the config file: the routes of the ingestion
// gateway (an API-Gateway-style REST front door to streams and delivery
// streams), their validation rules, the API keys declared in the file and
// the browser origins allowed by CORS. Parsed once, at startup.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/status.h"

namespace sluice::gateway {

// A route takes at most this many events per batch, as PutRecords does.
inline constexpr size_t kMaxBatchEvents = 500;
// Default body limit of a route; "max_body_bytes" changes it.
inline constexpr size_t kDefaultMaxBodyBytes = 1024 * 1024;

// The JSON types a field may be required to have.
enum class FieldType { kString, kNumber, kInteger, kBoolean, kObject, kArray };

// Rules every event of a route must pass. Field names may be dotted paths
// into nested objects ("data.amount").
struct ValidationRules {
  std::vector<std::string> required;
  std::map<std::string, FieldType> types;
  // The field whose value picks per-type rules ("event_type"), and for each
  // value the fields such an event must also carry.
  std::string type_field;
  std::map<std::string, std::vector<std::string>> required_by_type;
  // When set, the type field must hold one of the values above.
  bool closed_types = false;

  bool empty() const {
    return required.empty() && types.empty() && required_by_type.empty();
  }
  friend bool operator==(const ValidationRules&,
                         const ValidationRules&) = default;
};

enum class RouteAction {
  kPutEvent,            // POST one JSON object
  kPutBatch,            // POST a JSON array or NDJSON of objects
  kListStreams,         // GET the Kinesis streams
  kListDeliveryStreams  // GET the Firehose delivery streams
};

struct Route {
  std::string method;  // "POST" or "GET"
  std::string path;    // "/api/events"
  RouteAction action = RouteAction::kPutEvent;
  // Exactly one is set for a put route.
  std::string stream;           // a Kinesis stream
  std::string delivery_stream;  // a Firehose delivery stream
  // Kinesis: the event field that becomes the partition key; events without
  // it (or with an unusable one) get a random UUID.
  std::string partition_key_field;
  // What the gateway adds to each event: field name for each of the receive
  // time (ISO-8601 UTC), the source IP, the request id; empty adds nothing.
  std::string enrich_received_at;
  std::string enrich_source_ip;
  std::string enrich_request_id;
  ValidationRules validation;
  size_t max_body_bytes = kDefaultMaxBodyBytes;
  bool require_key = true;

  // "POST /api/events": how keys name the routes they may use.
  std::string Name() const { return method + " " + path; }
  friend bool operator==(const Route&, const Route&) = default;
};

struct RateLimit {
  double requests_per_second = 0;  // 0: no limit
  double burst = 0;                // the bucket's size; 0: one second's worth
  friend bool operator==(const RateLimit&, const RateLimit&) = default;
};

// An API key declared in the config file: its SHA-256 (hex), or the
// environment variable holding it, so no plaintext secret is committed.
struct DeclaredKey {
  std::string name;
  std::string sha256_hex;           // lowercase
  std::string env;                  // read at startup
  std::vector<std::string> routes;  // Route::Name() values, or "*"
  RateLimit rate_limit;
  friend bool operator==(const DeclaredKey&, const DeclaredKey&) = default;
};

struct GatewayConfig {
  std::vector<Route> routes;
  std::vector<DeclaredKey> keys;
  std::vector<std::string> cors_origins;  // exact origins, or "*"
  int cors_max_age_seconds = 600;
  // Rejected events are appended here as JSON lines when set.
  std::string rejected_events_file;

  bool empty() const { return routes.empty(); }
  friend bool operator==(const GatewayConfig&, const GatewayConfig&) = default;
};

// Reads one key as "api_keys" declares it ({"name", "sha256" or "env",
// "routes", "rate_limit"}); the catalog keeps run-time keys in this shape.
Result<DeclaredKey> ParseDeclaredKey(const json::Value& value);

// Reads the "gateway" object; the error names the key and what is wrong.
Result<GatewayConfig> ParseGatewayConfig(const json::Value& section);

}  // namespace sluice::gateway
