// Everything `sluice serve` can be told: embedded defaults, then the JSON
// config file (--config), then command-line flags, each overriding the last.
// Later parts of Sluice add sections to the file (delivery streams,
// consumers). The file's "streams" array declares streams that exist from
// startup on.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/log.h"
#include "common/status.h"
#include "server/firehose/delivery_stream_manager.h"
#include "server/firehose/transform.h"
#include "server/gateway/gateway_config.h"
#include "server/http/http_options.h"
#include "server/kinesis/stream_manager.h"
#include "server/kinesis/subscriptions.h"
#include "server/storage/shard_log.h"

namespace sluice {

// A stream the config file declares: created at startup when absent, left as
// it is when present (so a restart changes nothing), with the same rules as
// CreateStream: a shard count means PROVISIONED, neither a shard count nor a
// mode means ON_DEMAND.
struct DeclaredStream {
  std::string name;
  catalog::StreamMode mode = catalog::StreamMode::kOnDemand;
  uint32_t shard_count = 0;  // PROVISIONED only
  int retention_hours = 24;
  std::map<std::string, std::string> tags;
  // Unset: the server's aws.region / aws.account_id, as they stand after
  // flags are applied.
  std::optional<std::string> region;
  std::optional<std::string> account_id;

  friend bool operator==(const DeclaredStream&,
                         const DeclaredStream&) = default;
};

// A Firehose delivery stream the config file declares: created at startup
// when absent (through the same checks as CreateDeliveryStream), left as it
// is when present.
struct DeclaredDeliveryStream {
  std::string name;
  // The ExtendedS3DestinationConfiguration or (exactly one of the two) the
  // HttpEndpointDestinationConfiguration, as JSON text in AWS's shape.
  std::string extended_s3;
  std::string http_endpoint;
  std::map<std::string, std::string> tags;
  std::optional<std::string> region;
  std::optional<std::string> account_id;

  friend bool operator==(const DeclaredDeliveryStream&,
                         const DeclaredDeliveryStream&) = default;
};

struct ServerConfig {
  http::HttpOptions http;
  std::string data_dir = "./sluice-data";
  bool in_memory = false;  // nothing touches disk
  storage::FsyncMode fsync_mode = storage::kDefaultFsyncMode;
  // Where Firehose writes objects: <archive root>/<bucket>/<key>. Empty:
  // <data dir>/archive, or with --in-memory a new temporary directory made
  // at the first delivery.
  std::string archive_root;
  // Delivery-stream state-transition delays and limit.
  firehose::DeliveryStreamOptions firehose;
  // Handler programs of Firehose Lambda processors.
  firehose::LambdaOptions lambda;
  // State-transition delays, shard limit, maintenance interval.
  kinesis::StreamManagerOptions kinesis;
  // SubscribeToShard: lifetime, idle events, takeover, live limit.
  kinesis::SubscriptionOptions subscriptions;
  // Region for requests whose credential scope names none, and for resources
  // declared in the config file.
  std::string region = "us-east-1";
  // The account of every access key id that is not itself 12 digits.
  std::string account_id = "000000000000";
  log::Level log_level = log::Level::kInfo;
  // From the config file only; no flag sets them.
  std::vector<DeclaredStream> streams;
  std::vector<DeclaredDeliveryStream> delivery_streams;
  // In-process consumers, each a SluiceAdmin.CreateConsumer request as JSON
  // text (already checked); created at startup when absent, left as they
  // are when present.
  std::vector<std::string> consumers;
  // SQL applications, each a SluiceAdmin.CreateApplication request as JSON
  // text (already checked); created at startup when absent, left as they
  // are when present. Each runs as a consumer of the same name.
  std::vector<std::string> applications;
  // The server's clock starts at the current time and moves only through
  // SluiceAdmin.SetClock: tests drive windows and expiry with it.
  bool test_clock = false;
  // Where consumers keep files. Empty: <data dir>/consumers, or none with
  // --in-memory.
  std::string consumer_root;
  // The ingestion gateway's routes, keys and CORS origins ("gateway").
  gateway::GatewayConfig gateway;

  friend bool operator==(const ServerConfig&, const ServerConfig&) = default;
};

// Reads the JSON config file at `path` over `base`: every key present replaces
// the base value, keys absent keep it. An unreadable file, bad JSON, an
// unknown key or a bad value is an error naming the file, the key and what is
// wrong.
Result<ServerConfig> LoadConfigFile(const std::string& path, ServerConfig base);

// `sluice serve` arguments, split from their values but not yet applied.
struct ServeCommandLine {
  bool help = false;
  std::optional<std::string> config_path;
  std::vector<std::pair<std::string, std::string>> flags;  // ("--port", "0")
};

// Accepts "--flag value", "--flag=value" and bare boolean flags; an unknown
// flag or a missing value is an error.
Result<ServeCommandLine> ParseServeCommandLine(
    const std::vector<std::string>& args);

// Applies parsed flags over `config` (which already holds the file's values).
Status ApplyFlags(const ServeCommandLine& command_line, ServerConfig& config);

// The `sluice serve --help` text: every flag, its config key and default.
std::string ServeHelpText();

}  // namespace sluice
