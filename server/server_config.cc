#include "server/server_config.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "common/json.h"
#include "server/analytics/applications_api.h"
#include "server/consumers/consumer_definition.h"

namespace sluice {
namespace {

enum class Kind { kString, kInteger, kBool };

// A value of the kind its Setting expects.
struct Value {
  std::string text;
  int64_t number = 0;
  bool flag = false;
};

// One setting, reachable both as a config-file key and (when `flag` is set) a
// command-line flag, so the two can never disagree on names or checks.
struct Setting {
  const char* flag;     // "--port", or nullptr for file-only settings
  const char* section;  // "server"
  const char* key;      // "port"
  const char* metavar;  // "P"
  const char* help;
  Kind kind;
  int64_t min;  // inclusive range, for integers
  int64_t max;
  // Stores the value; returns what is wrong with it, or "" when it is fine.
  std::string (*store)(ServerConfig&, const Value&);
};

std::string StoreLogLevel(ServerConfig& config, const Value& value) {
  std::optional<log::Level> level = log::ParseLevel(value.text);
  if (!level) return "must be one of debug, info, warn, error, off";
  config.log_level = *level;
  return "";
}

// Each Check* returns what is wrong with a value, or "" when it is fine.
std::string CheckRegion(const std::string& r) {
  // us-east-1, eu-central-2, us-gov-west-1, ...
  bool ok = !r.empty() && r.size() <= 32;
  for (char c : r)
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  return ok ? "" : "must be a region name such as us-east-1";
}

std::string CheckAccountId(const std::string& a) {
  bool ok = a.size() == 12;
  for (char c : a) ok = ok && c >= '0' && c <= '9';
  return ok ? "" : "must be 12 digits";
}

std::string StoreRegion(ServerConfig& config, const Value& value) {
  if (std::string problem = CheckRegion(value.text); !problem.empty())
    return problem;
  config.region = value.text;
  return "";
}

std::string StoreAccountId(ServerConfig& config, const Value& value) {
  if (std::string problem = CheckAccountId(value.text); !problem.empty())
    return problem;
  config.account_id = value.text;
  return "";
}

std::string StoreFsyncMode(ServerConfig& config, const Value& value) {
  std::optional<storage::FsyncMode> mode = storage::ParseFsyncMode(value.text);
  if (!mode) return "must be one of never, interval, always";
  config.fsync_mode = *mode;
  return "";
}

constexpr int64_t kMaxSeconds = 24 * 3600;
constexpr int64_t kMaxDelayMillis = 3600 * 1000;

const Setting kSettings[] = {
    {"--host", "server", "host", "H",
     "address to listen on; loopback by default", Kind::kString, 0, 0,
     [](ServerConfig& c, const Value& v) -> std::string {
       if (v.text.empty()) return "must not be empty";
       c.http.host = v.text;
       return "";
     }},
    {"--port", "server", "port", "P",
     "TCP port; 0 picks a free one and prints it", Kind::kInteger, 0, 65535,
     [](ServerConfig& c, const Value& v) {
       c.http.port = static_cast<uint16_t>(v.number);
       return std::string();
     }},
    {"--io-threads", "server", "io_threads", "N",
     "HTTP I/O threads; 0 means one per hardware thread", Kind::kInteger, 0,
     256,
     [](ServerConfig& c, const Value& v) {
       c.http.io_threads = static_cast<unsigned>(v.number);
       return std::string();
     }},
    {"--worker-threads", "server", "worker_threads", "N",
     "threads that run API handlers (which may block on disk)", Kind::kInteger,
     1, 1024,
     [](ServerConfig& c, const Value& v) {
       c.http.worker_threads = static_cast<unsigned>(v.number);
       return std::string();
     }},
    {"--max-request-bytes", "server", "max_request_bytes", "B",
     "largest request body; larger ones get 413 unread", Kind::kInteger, 1024,
     int64_t{1} << 30,
     [](ServerConfig& c, const Value& v) {
       c.http.max_request_bytes = static_cast<size_t>(v.number);
       return std::string();
     }},
    {"--read-timeout", "server", "read_timeout_seconds", "S",
     "seconds a connection may take per read, and stay idle between requests",
     Kind::kInteger, 1, kMaxSeconds,
     [](ServerConfig& c, const Value& v) {
       c.http.read_timeout = std::chrono::seconds(v.number);
       return std::string();
     }},
    {"--shutdown-grace", "server", "shutdown_grace_seconds", "S",
     "seconds in-flight requests get to finish on SIGINT/SIGTERM",
     Kind::kInteger, 0, kMaxSeconds,
     [](ServerConfig& c, const Value& v) {
       c.http.shutdown_grace = std::chrono::seconds(v.number);
       return std::string();
     }},
    {"--data-dir", "storage", "data_dir", "D",
     "where streams and the catalog live", Kind::kString, 0, 0,
     [](ServerConfig& c, const Value& v) -> std::string {
       if (v.text.empty()) return "must not be empty";
       c.data_dir = v.text;
       return "";
     }},
    {"--in-memory", "storage", "in_memory", nullptr,
     "keep everything in memory; nothing touches disk", Kind::kBool, 0, 0,
     [](ServerConfig& c, const Value& v) {
       c.in_memory = v.flag;
       return std::string();
     }},
    {"--fsync", "storage", "fsync", "M",
     "never, interval (fsync every second) or always (group commit before "
     "acknowledging)",
     Kind::kString, 0, 0, StoreFsyncMode},
    {"--archive-root", "storage", "archive_root", "D",
     "where Firehose writes objects (<root>/<bucket>/<key>); default "
     "<data dir>/archive, or a temporary directory with --in-memory",
     Kind::kString, 0, 0,
     [](ServerConfig& c, const Value& v) -> std::string {
       c.archive_root = v.text;  // "" restores the default
       return "";
     }},
    {"--consumer-root", "storage", "consumer_root", "D",
     "where in-process consumers keep files (on-failure JSONL files, "
     "handlers' relative paths); default <data dir>/consumers, none with "
     "--in-memory",
     Kind::kString, 0, 0,
     [](ServerConfig& c, const Value& v) -> std::string {
       c.consumer_root = v.text;  // "" restores the default
       return "";
     }},
    {"--create-stream-delay-ms", "kinesis", "create_stream_delay_ms", "MS",
     "time a new stream stays CREATING (AWS: ~500 and more)", Kind::kInteger, 0,
     kMaxDelayMillis,
     [](ServerConfig& c, const Value& v) {
       c.kinesis.create_delay = std::chrono::milliseconds(v.number);
       return std::string();
     }},
    {"--delete-stream-delay-ms", "kinesis", "delete_stream_delay_ms", "MS",
     "time a deleted stream stays DELETING", Kind::kInteger, 0, kMaxDelayMillis,
     [](ServerConfig& c, const Value& v) {
       c.kinesis.delete_delay = std::chrono::milliseconds(v.number);
       return std::string();
     }},
    {"--update-stream-delay-ms", "kinesis", "update_stream_delay_ms", "MS",
     "time a changed stream stays UPDATING", Kind::kInteger, 0, kMaxDelayMillis,
     [](ServerConfig& c, const Value& v) {
       c.kinesis.update_delay = std::chrono::milliseconds(v.number);
       return std::string();
     }},
    {"--shard-limit", "kinesis", "shard_limit", "N",
     "open shards allowed per account and region", Kind::kInteger, 1, 1000000,
     [](ServerConfig& c, const Value& v) {
       c.kinesis.shard_limit = static_cast<uint32_t>(v.number);
       return std::string();
     }},
    {"--enforce-limits", "kinesis", "enforce_limits", nullptr,
     "per-shard throughput limits as on AWS (1 MiB/s and 1000 records/s in, "
     "2 MiB/s and 5 reads/s out), and Firehose's Direct PUT quota",
     Kind::kBool, 0, 0,
     [](ServerConfig& c, const Value& v) {
       c.kinesis.enforce_limits = v.flag;
       return std::string();
     }},
    {"--subscription-lifetime-ms", "kinesis", "subscription_lifetime_ms", "MS",
     "how long a SubscribeToShard subscription lasts before the server ends "
     "it (AWS: 300000); tests shorten it",
     Kind::kInteger, 1, kMaxDelayMillis,
     [](ServerConfig& c, const Value& v) {
       c.subscriptions.lifetime = std::chrono::milliseconds(v.number);
       return std::string();
     }},
    {"--subscription-idle-event-ms", "kinesis", "subscription_idle_event_ms",
     "MS", "how often a subscription with no new records sends an empty event",
     Kind::kInteger, 1, kMaxDelayMillis,
     [](ServerConfig& c, const Value& v) {
       c.subscriptions.idle_event_interval =
           std::chrono::milliseconds(v.number);
       return std::string();
     }},
    {"--max-subscriptions", "kinesis", "max_subscriptions", "N",
     "live SubscribeToShard subscriptions (one thread each); more are refused "
     "with LimitExceededException",
     Kind::kInteger, 1, 100000,
     [](ServerConfig& c, const Value& v) {
       c.subscriptions.max_live = static_cast<size_t>(v.number);
       return std::string();
     }},
    {"--create-delivery-stream-delay-ms", "firehose",
     "create_delivery_stream_delay_ms", "MS",
     "time a new delivery stream stays CREATING", Kind::kInteger, 0,
     kMaxDelayMillis,
     [](ServerConfig& c, const Value& v) {
       c.firehose.create_delay = std::chrono::milliseconds(v.number);
       return std::string();
     }},
    {"--delete-delivery-stream-delay-ms", "firehose",
     "delete_delivery_stream_delay_ms", "MS",
     "time a deleted delivery stream stays DELETING", Kind::kInteger, 0,
     kMaxDelayMillis,
     [](ServerConfig& c, const Value& v) {
       c.firehose.delete_delay = std::chrono::milliseconds(v.number);
       return std::string();
     }},
    {nullptr, "firehose", "direct_put_requests_per_second", nullptr,
     "Direct PUT quota per delivery stream with --enforce-limits",
     Kind::kInteger, 1, 1000000000,
     [](ServerConfig& c, const Value& v) {
       c.firehose.put_requests_per_second = v.number;
       return std::string();
     }},
    {nullptr, "firehose", "direct_put_records_per_second", nullptr,
     "Direct PUT quota per delivery stream with --enforce-limits",
     Kind::kInteger, 1, 1000000000,
     [](ServerConfig& c, const Value& v) {
       c.firehose.put_records_per_second = v.number;
       return std::string();
     }},
    {nullptr, "firehose", "direct_put_bytes_per_second", nullptr,
     "Direct PUT quota per delivery stream with --enforce-limits",
     Kind::kInteger, 1, int64_t{1} << 40,
     [](ServerConfig& c, const Value& v) {
       c.firehose.put_bytes_per_second = v.number;
       return std::string();
     }},
    {"--lambda-handlers-dir", "firehose", "lambda_handlers_dir", "DIR",
     "directory of Lambda handler programs: a Firehose Lambda processor "
     "whose LambdaArn names function F runs the executable DIR/F",
     Kind::kString, 0, 0,
     [](ServerConfig& c, const Value& v) {
       c.lambda.handlers_dir = v.text;
       return std::string();
     }},
    {"--lambda-timeout-seconds", "firehose", "lambda_timeout_seconds", "S",
     "how long a Lambda handler program may run before it is killed",
     Kind::kInteger, 1, 900,
     [](ServerConfig& c, const Value& v) {
       c.lambda.timeout = std::chrono::seconds(v.number);
       return std::string();
     }},
    {"--region", "aws", "region", "R",
     "region when a request's credential scope names none", Kind::kString, 0, 0,
     StoreRegion},
    {"--account-id", "aws", "account_id", "A",
     "account of access keys that are not 12 digits themselves", Kind::kString,
     0, 0, StoreAccountId},
    {"--test-clock", "emulation", "test_clock", nullptr,
     "start the server's clock at the current time and move it only through "
     "SluiceAdmin.SetClock (for tests of windows and expiry)",
     Kind::kBool, 0, 0,
     [](ServerConfig& c, const Value& v) {
       c.test_clock = v.flag;
       return std::string();
     }},
    {"--log-level", "", "log_level", "L", "debug, info, warn, error or off",
     Kind::kString, 0, 0, StoreLogLevel},
};

const Setting* FindFlag(std::string_view flag) {
  for (const Setting& s : kSettings) {
    if (s.flag != nullptr && flag == s.flag) return &s;
  }
  return nullptr;
}

std::string KeyPath(const Setting& s) {
  return *s.section ? std::string(s.section) + "." + s.key : std::string(s.key);
}

// Checks kind and range of a config-file value and stores it.
std::string StoreJson(const Setting& s, const json::Value& json,
                      ServerConfig& config) {
  Value value;
  switch (s.kind) {
    case Kind::kString:
      if (!json.IsString()) return "must be a string";
      value.text = json.GetString();
      break;
    case Kind::kBool:
      if (!json.IsBool()) return "must be true or false";
      value.flag = json.GetBool();
      break;
    case Kind::kInteger:
      if (!json.IsInt64() || json.GetInt64() < s.min ||
          json.GetInt64() > s.max) {
        return "must be an integer from " + std::to_string(s.min) + " to " +
               std::to_string(s.max);
      }
      value.number = json.GetInt64();
      break;
  }
  return s.store(config, value);
}

std::string StoreText(const Setting& s, const std::string& text,
                      ServerConfig& config) {
  Value value;
  switch (s.kind) {
    case Kind::kString:
      value.text = text;
      break;
    case Kind::kBool:
      if (text != "true" && text != "false") return "must be true or false";
      value.flag = text == "true";
      break;
    case Kind::kInteger: {
      const char* end = text.data() + text.size();
      auto [ptr, ec] = std::from_chars(text.data(), end, value.number);
      if (ec != std::errc() || ptr != end || text.empty() ||
          value.number < s.min || value.number > s.max) {
        return "must be an integer from " + std::to_string(s.min) + " to " +
               std::to_string(s.max);
      }
      break;
    }
  }
  return s.store(config, value);
}

// Kinesis's own limits, so a declared stream fails at startup for the same
// reasons CreateStream would.
constexpr int64_t kMaxDeclaredShards = 100000;
constexpr int64_t kMinRetentionHours = 24;
constexpr int64_t kMaxRetentionHours = 8760;
constexpr size_t kMaxStreamNameLength = 128;
constexpr size_t kMaxTags = 50;
constexpr size_t kMaxTagKeyLength = 128;
constexpr size_t kMaxTagValueLength = 256;

std::string CheckStreamName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= kMaxStreamNameLength;
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-');
  }
  return ok ? "" : "must be 1 to 128 letters, digits, '_', '.' or '-'";
}

std::string AsString(const json::Value& value) {
  return std::string(value.GetString(), value.GetStringLength());
}

// Reads streams[index] into `out`; returns the problem, naming its path
// ("'streams[1].shard_count' must be ..."), or "".
std::string ParseDeclaredStream(const json::Value& item, size_t index,
                                DeclaredStream& out) {
  const std::string path = "streams[" + std::to_string(index) + "]";
  if (!item.IsObject()) return "'" + path + "' must be an object";
  std::optional<int64_t> shard_count;
  std::optional<std::string> mode;
  bool has_name = false;
  for (auto& member : item.GetObject()) {
    std::string key = AsString(member.name);
    const json::Value& value = member.value;
    std::string where = "'" + path + "." + key + "' ";
    if (key == "name") {
      if (!value.IsString()) return where + "must be a string";
      out.name = AsString(value);
      if (std::string problem = CheckStreamName(out.name); !problem.empty())
        return where + problem;
      has_name = true;
    } else if (key == "shard_count") {
      if (!value.IsInt64() || value.GetInt64() < 1 ||
          value.GetInt64() > kMaxDeclaredShards) {
        return where + "must be an integer from 1 to " +
               std::to_string(kMaxDeclaredShards);
      }
      shard_count = value.GetInt64();
    } else if (key == "mode") {
      if (!value.IsString() || !catalog::ParseStreamMode(json::AsView(value))) {
        return where + "must be PROVISIONED or ON_DEMAND";
      }
      mode = AsString(value);
    } else if (key == "retention_hours") {
      if (!value.IsInt64() || value.GetInt64() < kMinRetentionHours ||
          value.GetInt64() > kMaxRetentionHours) {
        return where + "must be an integer from " +
               std::to_string(kMinRetentionHours) + " to " +
               std::to_string(kMaxRetentionHours);
      }
      out.retention_hours = static_cast<int>(value.GetInt64());
    } else if (key == "tags") {
      if (!value.IsObject()) return where + "must be an object of strings";
      if (value.MemberCount() > kMaxTags) {
        return where + "has " + std::to_string(value.MemberCount()) +
               " tags; at most " + std::to_string(kMaxTags) + " are allowed";
      }
      for (auto& tag : value.GetObject()) {
        std::string tag_key = AsString(tag.name);
        std::string tag_where = "'" + path + ".tags." + tag_key + "' ";
        if (tag_key.empty() || tag_key.size() > kMaxTagKeyLength) {
          return tag_where + "key must be 1 to 128 characters";
        }
        if (!tag.value.IsString()) return tag_where + "must be a string";
        if (tag.value.GetStringLength() > kMaxTagValueLength) {
          return tag_where + "must be at most 256 characters";
        }
        out.tags[tag_key] = AsString(tag.value);
      }
    } else if (key == "region") {
      if (!value.IsString()) return where + "must be a string";
      if (std::string problem = CheckRegion(AsString(value)); !problem.empty())
        return where + problem;
      out.region = AsString(value);
    } else if (key == "account_id") {
      if (!value.IsString()) return where + "must be a string";
      if (std::string problem = CheckAccountId(AsString(value));
          !problem.empty()) {
        return where + problem;
      }
      out.account_id = AsString(value);
    } else {
      return "unknown key '" + path + "." + key + "'";
    }
  }
  if (!has_name) return "'" + path + ".name' is missing";
  // CreateStream's rules: a shard count means PROVISIONED; ON_DEMAND takes
  // none; neither means ON_DEMAND.
  if (mode == "ON_DEMAND" && shard_count) {
    return "'" + path + ".shard_count' is not allowed with mode ON_DEMAND";
  }
  if (mode == "PROVISIONED" && !shard_count) {
    return "'" + path + ".shard_count' is required with mode PROVISIONED";
  }
  if (shard_count) {
    out.mode = catalog::StreamMode::kProvisioned;
    out.shard_count = static_cast<uint32_t>(*shard_count);
  }
  return "";
}

std::string ParseDeclaredStreams(const json::Value& array,
                                 std::vector<DeclaredStream>& out) {
  if (!array.IsArray()) return "'streams' must be an array";
  out.clear();
  for (size_t i = 0; i < array.Size(); ++i) {
    DeclaredStream stream;
    std::string problem = ParseDeclaredStream(
        array[static_cast<rapidjson::SizeType>(i)], i, stream);
    if (!problem.empty()) return problem;
    for (size_t j = 0; j < out.size(); ++j) {
      if (out[j].name == stream.name && out[j].region == stream.region &&
          out[j].account_id == stream.account_id) {
        return "'streams[" + std::to_string(i) + "].name' repeats stream '" +
               stream.name + "' of streams[" + std::to_string(j) + "]";
      }
    }
    out.push_back(std::move(stream));
  }
  return "";
}

constexpr size_t kMaxDeliveryStreamNameLength = 64;

// Reads delivery_streams[index]; returns the problem, naming its path, or "".
// The destination itself is checked at startup by CreateDeliveryStream's own
// rules, which name the field.
std::string ParseDeclaredDeliveryStream(const json::Value& item, size_t index,
                                        DeclaredDeliveryStream& out) {
  const std::string path = "delivery_streams[" + std::to_string(index) + "]";
  if (!item.IsObject()) return "'" + path + "' must be an object";
  bool has_name = false;
  for (auto& member : item.GetObject()) {
    std::string key = AsString(member.name);
    const json::Value& value = member.value;
    std::string where = "'" + path + "." + key + "' ";
    if (key == "name") {
      if (!value.IsString()) return where + "must be a string";
      out.name = AsString(value);
      std::string problem = CheckStreamName(out.name);
      if (!problem.empty() || out.name.size() > kMaxDeliveryStreamNameLength) {
        return where + "must be 1 to 64 letters, digits, '_', '.' or '-'";
      }
      has_name = true;
    } else if (key == "extended_s3" || key == "http_endpoint") {
      if (!value.IsObject()) {
        return where + "must be an object: an " +
               (key == "extended_s3" ? "ExtendedS3" : "HttpEndpoint") +
               "DestinationConfiguration";
      }
      rapidjson::StringBuffer buffer;
      rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
      value.Accept(writer);
      (key == "extended_s3" ? out.extended_s3 : out.http_endpoint)
          .assign(buffer.GetString(), buffer.GetSize());
    } else if (key == "tags") {
      if (!value.IsObject()) return where + "must be an object of strings";
      for (auto& tag : value.GetObject()) {
        if (!tag.value.IsString()) {
          return "'" + path + ".tags." + AsString(tag.name) +
                 "' must be a string";
        }
        out.tags[AsString(tag.name)] = AsString(tag.value);
      }
    } else if (key == "region") {
      if (!value.IsString()) return where + "must be a string";
      if (std::string problem = CheckRegion(AsString(value)); !problem.empty())
        return where + problem;
      out.region = AsString(value);
    } else if (key == "account_id") {
      if (!value.IsString()) return where + "must be a string";
      if (std::string problem = CheckAccountId(AsString(value));
          !problem.empty()) {
        return where + problem;
      }
      out.account_id = AsString(value);
    } else {
      return "unknown key '" + path + "." + key + "'";
    }
  }
  if (!has_name) return "'" + path + ".name' is missing";
  if (out.extended_s3.empty() == out.http_endpoint.empty()) {
    return "'" + path + "' needs exactly one of extended_s3 and http_endpoint";
  }
  return "";
}

std::string ParseDeclaredDeliveryStreams(
    const json::Value& array, std::vector<DeclaredDeliveryStream>& out) {
  if (!array.IsArray()) return "'delivery_streams' must be an array";
  out.clear();
  for (size_t i = 0; i < array.Size(); ++i) {
    DeclaredDeliveryStream stream;
    std::string problem = ParseDeclaredDeliveryStream(
        array[static_cast<rapidjson::SizeType>(i)], i, stream);
    if (!problem.empty()) return problem;
    for (size_t j = 0; j < out.size(); ++j) {
      if (out[j].name == stream.name && out[j].region == stream.region &&
          out[j].account_id == stream.account_id) {
        return "'delivery_streams[" + std::to_string(i) +
               "].name' repeats delivery stream '" + stream.name +
               "' of delivery_streams[" + std::to_string(j) + "]";
      }
    }
    out.push_back(std::move(stream));
  }
  return "";
}

// Reads the "consumers" array: each item is a SluiceAdmin.CreateConsumer
// request (consumers/consumer_definition.h), checked here so a bad setting
// stops the start with its name; the handler's own settings are checked
// when it is built at startup.
std::string ParseDeclaredConsumers(const json::Value& array,
                                   std::vector<std::string>& out) {
  if (!array.IsArray()) return "'consumers' must be an array";
  out.clear();
  std::vector<std::string> names;
  for (size_t i = 0; i < array.Size(); ++i) {
    const json::Value& item = array[static_cast<rapidjson::SizeType>(i)];
    const std::string path = "consumers[" + std::to_string(i) + "]";
    auto definition = consumers::ParseConsumerDefinition(item);
    if (!definition.ok()) {
      return "'" + path + "': " + definition.status().message();
    }
    for (size_t j = 0; j < names.size(); ++j) {
      if (names[j] == definition->name) {
        return "'" + path + ".ConsumerName' repeats consumer '" +
               definition->name + "' of consumers[" + std::to_string(j) + "]";
      }
    }
    names.push_back(definition->name);
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    item.Accept(writer);
    out.emplace_back(buffer.GetString(), buffer.GetSize());
  }
  return "";
}

// Reads the "applications" array: each item is a SluiceAdmin.
// CreateApplication request (analytics/application_definition.h), checked
// here, SQL included, so a bad one stops the start with its position.
std::string ParseDeclaredApplications(const json::Value& array,
                                      std::vector<std::string>& out) {
  if (!array.IsArray()) return "'applications' must be an array";
  out.clear();
  std::vector<std::string> names;
  for (size_t i = 0; i < array.Size(); ++i) {
    const json::Value& item = array[static_cast<rapidjson::SizeType>(i)];
    const std::string path = "applications[" + std::to_string(i) + "]";
    auto consumer = analytics::ApplicationConsumer(item);
    if (!consumer.ok()) return "'" + path + "': " + consumer.status().message();
    for (size_t j = 0; j < names.size(); ++j) {
      if (names[j] == consumer->name) {
        return "'" + path + ".ApplicationName' repeats application '" +
               consumer->name + "' of applications[" + std::to_string(j) + "]";
      }
    }
    names.push_back(consumer->name);
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    item.Accept(writer);
    out.emplace_back(buffer.GetString(), buffer.GetSize());
  }
  return "";
}

}  // namespace

Result<ServerConfig> LoadConfigFile(const std::string& path,
                                    ServerConfig base) {
  auto fail = [&](const std::string& what) {
    return Status(ErrorCode::kInvalidArgument,
                  "config file '" + path + "': " + what);
  };
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(std::string("cannot read it: ") + std::strerror(errno));
  std::stringstream contents;
  contents << in.rdbuf();
  std::string text = contents.str();

  json::Document doc;
  doc.Parse<rapidjson::kParseCommentsFlag |
            rapidjson::kParseTrailingCommasFlag>(text.data(), text.size());
  if (doc.HasParseError()) {
    return fail("invalid JSON at byte " + std::to_string(doc.GetErrorOffset()) +
                ": " + rapidjson::GetParseError_En(doc.GetParseError()));
  }
  if (!doc.IsObject()) return fail("the top level must be a JSON object");

  // Walk the file, not the table, so that a misspelt key is reported instead
  // of silently ignored.
  std::set<std::string> sections;
  for (const Setting& s : kSettings) {
    if (*s.section) sections.insert(s.section);
  }
  auto apply = [&](const char* section,
                   const json::Value& object) -> std::string {
    for (auto& member : object.GetObject()) {
      std::string key(member.name.GetString(), member.name.GetStringLength());
      std::string path_name = *section ? std::string(section) + "." + key : key;
      if (!*section && sections.count(key)) {
        if (!member.value.IsObject()) return "'" + key + "' must be an object";
        continue;  // applied below
      }
      if (!*section && key == "delivery_streams") {
        std::string problem =
            ParseDeclaredDeliveryStreams(member.value, base.delivery_streams);
        if (!problem.empty()) return problem;
        continue;
      }
      if (!*section && key == "gateway") {
        auto parsed = gateway::ParseGatewayConfig(member.value);
        if (!parsed.ok()) return parsed.status().message();
        base.gateway = std::move(*parsed);
        continue;
      }
      if (!*section && key == "consumers") {
        std::string problem =
            ParseDeclaredConsumers(member.value, base.consumers);
        if (!problem.empty()) return problem;
        continue;
      }
      if (!*section && key == "applications") {
        std::string problem =
            ParseDeclaredApplications(member.value, base.applications);
        if (!problem.empty()) return problem;
        continue;
      }
      if (!*section && key == "streams") {
        std::string problem = ParseDeclaredStreams(member.value, base.streams);
        if (!problem.empty()) return problem;
        continue;
      }
      const Setting* found = nullptr;
      for (const Setting& s : kSettings) {
        if (std::strcmp(s.section, section) == 0 && key == s.key) found = &s;
      }
      if (!found) return "unknown key '" + path_name + "'";
      std::string problem = StoreJson(*found, member.value, base);
      if (!problem.empty()) return "'" + path_name + "' " + problem;
    }
    return "";
  };
  if (std::string problem = apply("", doc); !problem.empty())
    return fail(problem);
  for (const std::string& section : sections) {
    auto it = doc.FindMember(section.c_str());
    if (it == doc.MemberEnd()) continue;
    if (std::string problem = apply(section.c_str(), it->value);
        !problem.empty()) {
      return fail(problem);
    }
  }
  return base;
}

Result<ServeCommandLine> ParseServeCommandLine(
    const std::vector<std::string>& args) {
  ServeCommandLine out;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "--help" || arg == "-h") {
      out.help = true;
      continue;
    }
    std::optional<std::string> value;
    if (size_t eq = arg.find('=');
        arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    }
    bool is_config = arg == "--config";
    const Setting* setting = is_config ? nullptr : FindFlag(arg);
    if (!is_config && setting == nullptr) {
      return Status(
          ErrorCode::kInvalidArgument,
          "unknown argument '" + args[i] + "' (see sluice serve --help)");
    }
    if (!value) {
      if (setting != nullptr && setting->kind == Kind::kBool) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return Status(ErrorCode::kInvalidArgument, arg + " needs a value");
      }
    }
    if (is_config) {
      out.config_path = *value;
    } else {
      out.flags.emplace_back(arg, *value);
    }
  }
  return out;
}

Status ApplyFlags(const ServeCommandLine& command_line, ServerConfig& config) {
  for (const auto& [flag, text] : command_line.flags) {
    const Setting* setting = FindFlag(flag);
    if (setting == nullptr) {
      return Status(ErrorCode::kInvalidArgument, "unknown flag " + flag);
    }
    std::string problem = StoreText(*setting, text, config);
    if (!problem.empty()) {
      return Status(ErrorCode::kInvalidArgument,
                    flag + " '" + text + "': " + problem);
    }
  }
  return Status::Ok();
}

std::string ServeHelpText() {
  std::string out =
      "Usage: sluice serve [flags]\n"
      "\n"
      "Serves the AWS Kinesis Data Streams and Firehose APIs over HTTP.\n"
      "Settings come from embedded defaults, then the config file, then "
      "flags.\n"
      "\n"
      "  --config F                JSON config file (see docs/running.md)\n";
  for (const Setting& s : kSettings) {
    if (s.flag == nullptr) continue;
    std::string left = std::string("  ") + s.flag;
    if (s.metavar != nullptr) left += std::string(" ") + s.metavar;
    // Long flags push their text right; a space always separates the two.
    left.resize(std::max<size_t>(left.size() + 1, 28), ' ');
    out += left + s.help + " [" + KeyPath(s) + "]\n";
  }
  out += "  --help                    this text\n";
  return out;
}

}  // namespace sluice
