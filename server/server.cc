#include "server/server.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/json.h"
#include "common/log.h"
#include "server/analytics/applications_api.h"
#include "server/catalog/catalog.h"
#include "server/consumers/consumer_runtime.h"
#include "server/consumers/consumers_api.h"
#include "server/firehose/delivery_engine.h"
#include "server/firehose/delivery_stream_manager.h"
#include "server/firehose/firehose_api.h"
#include "server/firehose/object_writer.h"
#include "server/gateway/gateway.h"
#include "server/http/api_router.h"
#include "server/http/http_server.h"
#include "server/kinesis/kinesis_api.h"
#include "server/kinesis/shard_iterator.h"
#include "server/kinesis/stream_manager.h"

namespace sluice {
namespace {

// Holds an exclusive lock on <data dir>/LOCK for as long as it lives, so two
// servers never write the same logs.
class DataDirLock {
 public:
  static Result<std::unique_ptr<DataDirLock>> Acquire(const std::string& dir) {
    std::string path = dir + "/LOCK";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      return Status(ErrorCode::kInternalFailure,
                    "cannot open " + path + ": " + std::strerror(errno));
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int error = errno;
      ::close(fd);
      if (error == EWOULDBLOCK) {
        return Status(
            ErrorCode::kResourceInUse,
            "data directory " + dir + " is in use by another sluice process");
      }
      return Status(ErrorCode::kInternalFailure,
                    "cannot lock " + path + ": " + std::strerror(error));
    }
    return std::make_unique<DataDirLock>(fd);
  }
  explicit DataDirLock(int fd) : fd_(fd) {}
  ~DataDirLock() { ::close(fd_); }  // closing releases the lock
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

 private:
  int fd_;
};

// The shard-iterator key lives in the data directory, so iterators handed out
// before a restart stay valid for their 300 seconds, as on AWS.
Result<std::string> LoadOrCreateIteratorKey(const std::string& dir) {
  std::filesystem::path path = std::filesystem::path(dir) / "iterator.key";
  if (std::FILE* in = std::fopen(path.c_str(), "rb")) {
    std::string key(kinesis::kShardIteratorKeyBytes, '\0');
    size_t got = std::fread(key.data(), 1, key.size(), in);
    std::fclose(in);
    if (got == key.size()) return key;
    SLUICE_LOG(kWarn) << path.string() << " is damaged; making a new key";
  }
  std::string key = kinesis::NewShardIteratorKey();
  std::filesystem::path temp = path;
  temp += ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool written =
      fd >= 0 &&
      ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) &&
      ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  if (!written || ::rename(temp.c_str(), path.c_str()) != 0) {
    return Status(ErrorCode::kInternalFailure, "cannot write " + path.string() +
                                                   ": " + std::strerror(errno));
  }
  return key;
}

// Creates the streams the config file declares that do not exist yet. An
// existing one is left as it is, even if the file now says otherwise, so a
// restart never reshards, retags or drops data.
Status CreateDeclaredStreams(const ServerConfig& config,
                             kinesis::StreamManager& streams,
                             catalog::Catalog& catalog) {
  for (const DeclaredStream& declared : config.streams) {
    kinesis::StreamKey key{declared.account_id.value_or(config.account_id),
                           declared.region.value_or(config.region),
                           declared.name};
    auto fail = [&](const Status& s) {
      return Status(s.code(),
                    "cannot create stream '" + key.name +
                        "' declared in the config file: " + s.message());
    };
    if (streams.Find(key).ok()) continue;
    kinesis::StreamManager::NewStream request;
    request.key = key;
    request.mode = declared.mode;
    request.shard_count = declared.mode == catalog::StreamMode::kOnDemand
                              ? kinesis::kOnDemandShardCount
                              : declared.shard_count;
    auto created = streams.CreateStream(request);
    if (!created.ok()) return fail(created.status());
    if (declared.retention_hours != created->retention_hours) {
      Status s = streams.UpdateStream(
          key, /*through_updating=*/false, [&](catalog::StreamRecord& record) {
            record.retention_hours = declared.retention_hours;
            return Status::Ok();
          });
      if (!s.ok()) return fail(s);
    }
    if (!declared.tags.empty()) {
      catalog::Tags tags(declared.tags.begin(), declared.tags.end());
      if (Status s = catalog.TagResource(created->Arn(), tags); !s.ok())
        return fail(s);
    }
    SLUICE_LOG(kInfo) << "created stream " << key.name << " in " << key.region
                      << " for account " << key.account_id
                      << " from the config file";
  }
  return Status::Ok();
}

// Creates the delivery streams the config file declares that do not exist
// yet, through CreateDeliveryStream's own checks; existing ones are left as
// they are.
Status CreateDeclaredDeliveryStreams(const ServerConfig& config,
                                     firehose::DeliveryStreamManager& streams,
                                     firehose::FirehoseApi& api) {
  for (const DeclaredDeliveryStream& declared : config.delivery_streams) {
    http::RequestContext context;
    context.account_id = declared.account_id.value_or(config.account_id);
    context.region = declared.region.value_or(config.region);
    context.operation = "CreateDeliveryStream";
    if (streams.Find({context.account_id, context.region, declared.name})
            .ok()) {
      continue;
    }
    json::Document input(rapidjson::kObjectType);
    auto& allocator = input.GetAllocator();
    const bool http = !declared.http_endpoint.empty();
    const std::string& text =
        http ? declared.http_endpoint : declared.extended_s3;
    json::Document destination(&allocator);
    destination.Parse(text.data(), text.size());
    if (destination.HasParseError() || !destination.IsObject()) {
      return Status(ErrorCode::kInvalidArgument,
                    "delivery stream '" + declared.name +
                        "' declared in the config file has a malformed " +
                        (http ? "http_endpoint" : "extended_s3"));
    }
    // IAM is not emulated; a declared stream need not invent a role (for an
    // HTTP endpoint: its backup bucket's).
    json::Value* needs_role = &destination;
    if (http && destination.HasMember("S3Configuration") &&
        destination["S3Configuration"].IsObject()) {
      needs_role = &destination["S3Configuration"];
    }
    if (!needs_role->HasMember("RoleARN")) {
      std::string role = "arn:aws:iam::" + context.account_id + ":role/sluice";
      needs_role->AddMember("RoleARN", json::Value(role.c_str(), allocator),
                            allocator);
    }
    input.AddMember("DeliveryStreamName",
                    json::Value(declared.name.c_str(), allocator), allocator);
    input.AddMember(
        rapidjson::StringRef(http ? "HttpEndpointDestinationConfiguration"
                                  : "ExtendedS3DestinationConfiguration"),
        json::Value(destination, allocator), allocator);
    if (!declared.tags.empty()) {
      json::Value tags(rapidjson::kArrayType);
      for (const auto& [key, value] : declared.tags) {
        json::Value tag(rapidjson::kObjectType);
        tag.AddMember("Key", json::Value(key.c_str(), allocator), allocator);
        tag.AddMember("Value", json::Value(value.c_str(), allocator),
                      allocator);
        tags.PushBack(tag, allocator);
      }
      input.AddMember("Tags", tags, allocator);
    }
    if (Status s = api.CreateDeclared(context, input); !s.ok()) {
      return Status(s.code(),
                    "cannot create delivery stream '" + declared.name +
                        "' declared in the config file: " + s.message());
    }
    SLUICE_LOG(kInfo) << "created delivery stream " << declared.name << " in "
                      << context.region << " for account " << context.account_id
                      << " from the config file";
  }
  return Status::Ok();
}

}  // namespace

// Members in construction order; teardown runs in reverse: the front end goes
// first, so no handler runs while the catalog closes.
struct Server::Parts {
  ServerConfig config;
  std::unique_ptr<ManualClock> test_clock;     // with --test-clock
  std::unique_ptr<DataDirLock> data_dir_lock;  // null in memory
  std::unique_ptr<catalog::Catalog> catalog;
  std::unique_ptr<kinesis::StreamManager> streams;
  std::unique_ptr<kinesis::ConsumerRegistry> consumers;
  std::unique_ptr<kinesis::ShardIteratorCodec> iterators;
  std::unique_ptr<firehose::DeliveryStreamManager> delivery_streams;
  std::unique_ptr<firehose::ArchiveRoot> archive;
  std::unique_ptr<firehose::DeliveryEngine> delivery;
  std::unique_ptr<consumers::ConsumerRuntime> consumer_runtime;
  std::unique_ptr<http::ApiRouter> router;
  std::unique_ptr<kinesis::KinesisApi> kinesis;
  std::unique_ptr<firehose::FirehoseApi> firehose;
  std::unique_ptr<consumers::ConsumersApi> consumers_api;
  std::unique_ptr<analytics::ApplicationsApi> applications_api;
  std::unique_ptr<gateway::Gateway> gateway;  // when the config has routes
  std::unique_ptr<http::HttpServer> http;
};

Server::Server(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

Server::~Server() { Shutdown(); }

Result<std::unique_ptr<Server>> Server::Start(const ServerConfig& config) {
  auto parts = std::make_unique<Parts>();
  parts->config = config;

  std::string catalog_path = ":memory:";
  if (!config.in_memory) {
    std::error_code ec;
    std::filesystem::create_directories(config.data_dir, ec);
    if (ec) {
      return Status(ErrorCode::kInternalFailure,
                    "cannot create data directory " + config.data_dir + ": " +
                        ec.message());
    }
    auto lock = DataDirLock::Acquire(config.data_dir);
    if (!lock.ok()) return lock.status();
    parts->data_dir_lock = std::move(*lock);
    catalog_path = config.data_dir + "/catalog.db";
  }
  auto catalog = catalog::Catalog::Open(catalog_path);
  if (!catalog.ok()) return catalog.status();
  parts->catalog = std::move(*catalog);

  if (config.test_clock) {
    parts->test_clock =
        std::make_unique<ManualClock>(SystemClock::Instance().NowMillis());
  }
  const Clock& clock = parts->test_clock
                           ? static_cast<const Clock&>(*parts->test_clock)
                           : SystemClock::Instance();
  parts->streams = std::make_unique<kinesis::StreamManager>(
      *parts->catalog,
      config.in_memory
          ? kinesis::NewMemoryLogFactory()
          : kinesis::NewFileLogFactory(config.data_dir, config.fsync_mode),
      clock, config.kinesis);
  if (Status s = parts->streams->Start(); !s.ok()) return s;
  parts->consumers = std::make_unique<kinesis::ConsumerRegistry>(
      *parts->streams, *parts->catalog);
  if (Status s = parts->consumers->Load(); !s.ok()) return s;
  if (Status s =
          CreateDeclaredStreams(config, *parts->streams, *parts->catalog);
      !s.ok()) {
    return s;
  }

  std::string iterator_key = kinesis::NewShardIteratorKey();
  if (!config.in_memory) {
    auto key = LoadOrCreateIteratorKey(config.data_dir);
    if (!key.ok()) return key.status();
    iterator_key = std::move(*key);
  }
  parts->iterators = std::make_unique<kinesis::ShardIteratorCodec>(
      std::move(iterator_key), clock);

  parts->delivery_streams = std::make_unique<firehose::DeliveryStreamManager>(
      *parts->catalog,
      config.in_memory ? firehose::NewMemoryDeliveryLogFactory()
                       : firehose::NewFileDeliveryLogFactory(config.data_dir,
                                                             config.fsync_mode),
      clock, [&config] {
        // --enforce-limits covers the Direct PUT quota too.
        firehose::DeliveryStreamOptions options = config.firehose;
        options.enforce_limits = config.kinesis.enforce_limits;
        return options;
      }());
  if (Status s = parts->delivery_streams->Start(); !s.ok()) return s;
  std::string archive_root = config.archive_root;
  if (archive_root.empty() && !config.in_memory) {
    archive_root = config.data_dir + "/archive";
  }
  parts->archive = std::make_unique<firehose::ArchiveRoot>(archive_root);
  firehose::DeliveryEngineOptions delivery_options;
  delivery_options.lambda = config.lambda;
  parts->delivery = std::make_unique<firehose::DeliveryEngine>(
      *parts->delivery_streams, *parts->catalog, parts->streams.get(),
      *parts->archive, clock, delivery_options);
  firehose::DeliveryEngine* engine = parts->delivery.get();
  parts->delivery_streams->SetOnBufferFull([engine] { engine->Wake(); });

  parts->router = std::make_unique<http::ApiRouter>(
      http::RouterOptions{config.region, config.account_id});
  kinesis::KinesisLimits limits;
  limits.subscriptions = config.subscriptions;
  parts->kinesis = std::make_unique<kinesis::KinesisApi>(
      *parts->streams, *parts->consumers, *parts->catalog, *parts->iterators,
      limits);
  parts->kinesis->RegisterWith(*parts->router);
  parts->firehose = std::make_unique<firehose::FirehoseApi>(
      *parts->delivery_streams, *parts->delivery, *parts->streams,
      *parts->catalog);
  parts->firehose->RegisterWith(*parts->router);
  if (Status s = CreateDeclaredDeliveryStreams(config, *parts->delivery_streams,
                                               *parts->firehose);
      !s.ok()) {
    return s;
  }
  if (!config.gateway.empty()) {
    parts->gateway = std::make_unique<gateway::Gateway>(
        config.gateway,
        gateway::GatewayTargets{*parts->kinesis, *parts->streams,
                                *parts->firehose, *parts->delivery_streams,
                                *parts->catalog},
        clock, config.account_id, config.region);
    if (Status s = parts->gateway->Start(); !s.ok()) return s;
    parts->gateway->RegisterWith(*parts->router);
  }
  // Objects a crash left planned are rewritten first, by the first poll.
  parts->delivery->Start();

  consumers::RuntimeOptions consumer_options;
  consumer_options.root = config.consumer_root;
  if (consumer_options.root.empty() && !config.in_memory) {
    consumer_options.root = config.data_dir + "/consumers";
  }
  parts->consumer_runtime = std::make_unique<consumers::ConsumerRuntime>(
      *parts->streams, parts->delivery_streams.get(), *parts->catalog, clock,
      consumer_options);
  if (Status s = parts->consumer_runtime->Start(); !s.ok()) return s;
  for (const std::string& declared : config.consumers) {
    auto definition = consumers::ParseConsumerDefinition(declared);
    Status s = definition.ok()
                   ? parts->consumer_runtime->Declare(
                         *definition, config.account_id, config.region)
                   : definition.status();
    if (!s.ok()) {
      return Status(s.code(),
                    "cannot start a consumer declared in the config file: " +
                        s.message());
    }
  }
  for (const std::string& declared : config.applications) {
    json::Document request;
    request.Parse(declared.data(), declared.size());
    auto definition = analytics::ApplicationConsumer(request);
    Status s = definition.ok()
                   ? parts->consumer_runtime->Declare(
                         *definition, config.account_id, config.region)
                   : definition.status();
    if (!s.ok()) {
      return Status(s.code(),
                    "cannot start an application declared in the config "
                    "file: " +
                        s.message());
    }
  }
  parts->consumers_api =
      std::make_unique<consumers::ConsumersApi>(*parts->consumer_runtime);
  parts->consumers_api->RegisterWith(*parts->router);
  parts->applications_api =
      std::make_unique<analytics::ApplicationsApi>(*parts->consumer_runtime);
  parts->applications_api->RegisterWith(*parts->router);
  if (parts->test_clock) {
    // {"EpochMillis": n} sets the clock, {"AdvanceMillis": n} moves it;
    // either way the answer is the new time. Only with --test-clock.
    parts->router->Register(
        "SluiceAdmin", "SetClock",
        [clock = parts->test_clock.get()](const http::RequestContext&,
                                          const json::Value& input,
                                          Encoder& output) -> Status {
          const json::Value* at = json::Member(input, "EpochMillis");
          const json::Value* by = json::Member(input, "AdvanceMillis");
          if ((at == nullptr) == (by == nullptr) ||
              !(at != nullptr ? at : by)->IsInt64()) {
            return Status(ErrorCode::kValidation,
                          "SetClock takes an integer EpochMillis or "
                          "AdvanceMillis.");
          }
          if (at != nullptr) {
            clock->Set(at->GetInt64());
          } else {
            clock->Advance(by->GetInt64());
          }
          output.StartObject();
          output.Key("EpochMillis");
          output.Int(clock->NowMillis());
          output.EndObject();
          return Status::Ok();
        });
  }

  auto http = http::HttpServer::Start(config.http, *parts->router);
  if (!http.ok()) return http.status();
  parts->http = std::move(*http);
  SLUICE_LOG(kInfo) << "serving on " << config.http.host << ":"
                    << parts->http->port();
  return std::unique_ptr<Server>(new Server(std::move(parts)));
}

uint16_t Server::port() const { return parts_->http->port(); }
const ServerConfig& Server::config() const { return parts_->config; }

void Server::Shutdown() {
  if (!parts_->http) return;
  // A Firehose flush waiting on a transform handler must not hold up the
  // wait for in-flight requests.
  parts_->delivery->CancelTransforms();
  parts_->http->Shutdown();
  parts_->http.reset();
  // Consumers first: their handlers may still write to streams and delivery
  // streams. Each saves its last checkpoint and joins its threads.
  parts_->consumer_runtime->Stop();
  parts_->consumers_api.reset();
  parts_->applications_api.reset();
  // Finishes the object being written; what is still buffered stays in the
  // delivery streams' logs for the next start.
  parts_->delivery->Stop();
  parts_->gateway.reset();
  parts_->firehose.reset();
  parts_->kinesis.reset();
  parts_->router.reset();
  parts_->consumer_runtime.reset();
  parts_->delivery.reset();
  parts_->archive.reset();
  parts_->delivery_streams.reset();  // closes every delivery-stream log
  parts_->iterators.reset();
  parts_->streams.reset();  // closes every shard log cleanly
  parts_->catalog.reset();
  parts_->data_dir_lock.reset();
}

}  // namespace sluice
