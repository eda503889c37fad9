// The ingestion gateway: an API-Gateway-style REST front door on the same
// HTTP server as the AWS APIs. Routes declared in the config file ("POST
// /api/events") take JSON events from browsers, apps and devices with an API
// key instead of SigV4, check them against the route's rules, add what the
// route asks for (receive time, source IP, request id) and append them to a
// Kinesis stream or a Firehose delivery stream through the same calls
// PutRecords and PutRecordBatch use. GET routes list streams.
//
// Answers are JSON ({"message": ...} for errors): 400 validation (every
// failing field named), 401 no key, 403 wrong key or a key not bound to the
// route, 413 body over the route's limit, 429 over the key's rate (with
// Retry-After). Nothing is written for a refused request; a batch stores
// the events that pass and reports each one.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/codec.h"
#include "common/json.h"
#include "common/status.h"
#include "server/catalog/catalog.h"
#include "server/firehose/firehose_api.h"
#include "server/gateway/api_keys.h"
#include "server/gateway/gateway_config.h"
#include "server/gateway/validation.h"
#include "server/http/api_router.h"
#include "server/kinesis/kinesis_api.h"
#include "server/kinesis/stream_manager.h"

namespace sluice::gateway {

// What the gateway writes to and reads from; all outlive it.
struct GatewayTargets {
  kinesis::KinesisApi& kinesis;
  kinesis::StreamManager& streams;
  firehose::FirehoseApi& firehose;
  firehose::DeliveryStreamManager& delivery_streams;
  catalog::Catalog& catalog;
};

// Owned by Server, built before the HTTP server starts and destroyed after
// it stops. Handle() and the admin operations run on worker threads,
// concurrently; routes are fixed after construction, keys change under the
// KeyStore's lock.
class Gateway {
 public:
  Gateway(GatewayConfig config, GatewayTargets targets, const Clock& clock,
          std::string account_id, std::string region);
  ~Gateway();

  // Loads the keys the config file declares (reading those given by
  // environment variable) and those created at run time (the catalog), and
  // opens the rejected-events file. An unset variable is an error.
  Status Start();

  // Serves every configured path and the SluiceAdmin key operations.
  void RegisterWith(http::ApiRouter& router);

  http::PathResponse Handle(const http::PathRequest& request);

  using Context = http::RequestContext;
  // SluiceAdmin.CreateGatewayKey {"Name", "Routes": [...], "RateLimit":
  // {"RequestsPerSecond", "Burst"}}: answers the new key's secret, "Key",
  // the only time it is shown.
  Status CreateKey(const Context& context, const json::Value& input,
                   Encoder& output);
  // SluiceAdmin.ListGatewayKeys {}: names, routes, rate limits, sources.
  Status ListKeys(const Context& context, const json::Value& input,
                  Encoder& output);
  // SluiceAdmin.DeleteGatewayKey {"Name"}: only keys made at run time.
  Status DeleteKey(const Context& context, const json::Value& input,
                   Encoder& output);
  // SluiceAdmin.DescribeGateway {}: each route with its counters.
  Status Describe(const Context& context, const json::Value& input,
                  Encoder& output);

 private:
  struct RouteState {
    Route route;
    std::atomic<uint64_t> accepted{0};  // events stored
    std::atomic<uint64_t> rejected{0};  // events refused (bad JSON, rules)
    std::atomic<uint64_t> failed{0};    // events the target did not store
  };
  // One event of a request on its way through.
  struct Event;
  struct Call;

  http::PathResponse Preflight(const http::PathRequest& request,
                               std::string_view origin);
  http::PathResponse Serve(RouteState& state, const http::PathRequest& request,
                           Call& call);
  http::PathResponse List(const Route& route, Call& call);
  http::PathResponse Put(RouteState& state, const http::PathRequest& request,
                         Call& call);
  // Appends the events that passed to the route's target; fills each one's
  // outcome. A non-OK Status refuses the whole request.
  Status Store(const Route& route, std::vector<Event>& events);
  void KeepRejected(const Route& route, const Call& call, const Event& event);
  bool OriginAllowed(std::string_view origin) const;

  const GatewayConfig config_;
  GatewayTargets targets_;
  const Clock& clock_;
  const std::string account_id_;
  const std::string region_;
  KeyStore keys_;
  std::vector<std::unique_ptr<RouteState>> routes_;
  std::mutex rejected_mu_;
  std::FILE* rejected_file_ = nullptr;  // guarded by rejected_mu_
};

}  // namespace sluice::gateway
