#include "server/server_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace sluice {
namespace {

class ConfigFileTest : public ::testing::Test {
 protected:
  ConfigFileTest() {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-config-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  ~ConfigFileTest() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& text) {
    std::string path = (dir_ / "sluice.json").string();
    std::ofstream(path) << text;
    return path;
  }

  Status LoadError(const std::string& text) {
    auto loaded = LoadConfigFile(Write(text), ServerConfig());
    return loaded.ok() ? Status::Ok() : loaded.status();
  }

  std::filesystem::path dir_;
};

TEST_F(ConfigFileTest, ShippedDefaultFileMatchesTheEmbeddedDefaults) {
  auto loaded =
      LoadConfigFile(SLUICE_SOURCE_DIR "/config/default.json", ServerConfig());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(*loaded, ServerConfig());

  // And every value in it is really read: start from different values.
  ServerConfig other;
  other.http.port = 1;
  other.http.host = "0.0.0.0";
  other.data_dir = "elsewhere";
  other.in_memory = true;
  other.region = "eu-west-1";
  other.account_id = "111111111111";
  other.log_level = log::Level::kDebug;
  other.http.io_threads = 3;
  other.http.worker_threads = 3;
  other.http.max_request_bytes = 4096;
  other.http.read_timeout = std::chrono::seconds(3);
  other.http.shutdown_grace = std::chrono::seconds(3);
  other.streams.emplace_back();
  other.streams.back().name = "replaced-by-the-empty-array";
  loaded = LoadConfigFile(SLUICE_SOURCE_DIR "/config/default.json", other);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(*loaded, ServerConfig());
}

TEST_F(ConfigFileTest, KeysPresentOverrideAndAbsentKeysKeepTheBase) {
  ServerConfig base;
  base.region = "ap-south-1";
  auto loaded = LoadConfigFile(
      Write(R"({"server": {"port": 0}, "storage": {"in_memory": true}})"),
      base);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->http.port, 0);
  EXPECT_TRUE(loaded->in_memory);
  EXPECT_EQ(loaded->region, "ap-south-1");
}

TEST_F(ConfigFileTest, ErrorsNameTheFileTheKeyAndTheProblem) {
  std::string path = (dir_ / "sluice.json").string();
  EXPECT_EQ(LoadError(R"({"server": {"port": "x"}})").message(),
            "config file '" + path +
                "': 'server.port' must be an integer from 0 to 65535");
  EXPECT_EQ(LoadError(R"({"server": {"port": 70000}})").message(),
            "config file '" + path +
                "': 'server.port' must be an integer from 0 to 65535");
  EXPECT_EQ(LoadError(R"({"server": {"prot": 1}})").message(),
            "config file '" + path + "': unknown key 'server.prot'");
  EXPECT_EQ(LoadError(R"({"sever": {}})").message(),
            "config file '" + path + "': unknown key 'sever'");
  EXPECT_EQ(LoadError(R"({"server": 5})").message(),
            "config file '" + path + "': 'server' must be an object");
  EXPECT_EQ(
      LoadError(R"({"storage": {"in_memory": "yes"}})").message(),
      "config file '" + path + "': 'storage.in_memory' must be true or false");
  EXPECT_EQ(LoadError(R"({"aws": {"account_id": "12"}})").message(),
            "config file '" + path + "': 'aws.account_id' must be 12 digits");
  EXPECT_EQ(LoadError(R"({"log_level": "loud"})").message(),
            "config file '" + path +
                "': 'log_level' must be one of debug, info, warn, error, off");
  EXPECT_EQ(LoadError("[]").message(),
            "config file '" + path + "': the top level must be a JSON object");
  EXPECT_EQ(LoadError("{\"server\": ")
                .message()
                .rfind("config file '" + path + "': invalid JSON at byte ", 0),
            0u);
}

TEST_F(ConfigFileTest, ReadsDeclaredStreams) {
  auto loaded = LoadConfigFile(Write(R"({"streams": [
    {"name": "orders", "shard_count": 2, "retention_hours": 48,
     "tags": {"team": "data", "env": ""}},
    {"name": "clicks", "mode": "ON_DEMAND", "region": "eu-west-1",
     "account_id": "123456789012"},
    {"name": "plain"},
    {"name": "orders", "mode": "PROVISIONED", "shard_count": 1,
     "region": "eu-west-1"}
  ]})"),
                               ServerConfig());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->streams.size(), 4u);

  DeclaredStream orders;
  orders.name = "orders";
  orders.mode = catalog::StreamMode::kProvisioned;
  orders.shard_count = 2;
  orders.retention_hours = 48;
  orders.tags = {{"team", "data"}, {"env", ""}};
  EXPECT_EQ(loaded->streams[0], orders);

  DeclaredStream clicks;
  clicks.name = "clicks";
  clicks.mode = catalog::StreamMode::kOnDemand;
  clicks.region = "eu-west-1";
  clicks.account_id = "123456789012";
  EXPECT_EQ(loaded->streams[1], clicks);

  // Neither a shard count nor a mode: ON_DEMAND, as CreateStream decides.
  EXPECT_EQ(loaded->streams[2].mode, catalog::StreamMode::kOnDemand);
  EXPECT_EQ(loaded->streams[2].retention_hours, 24);
  EXPECT_FALSE(loaded->streams[2].region);
  EXPECT_EQ(loaded->streams[3].shard_count, 1u);
}

TEST_F(ConfigFileTest, AFileWithoutStreamsKeepsTheBaseStreams) {
  ServerConfig base;
  base.streams.emplace_back();
  base.streams.back().name = "kept";
  auto loaded = LoadConfigFile(Write(R"({"log_level": "warn"})"), base);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->streams, base.streams);
  loaded = LoadConfigFile(Write(R"({"streams": []})"), base);
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->streams.empty());
}

TEST_F(ConfigFileTest, StreamErrorsNameThePathAndTheProblem) {
  std::string prefix =
      "config file '" + (dir_ / "sluice.json").string() + "': ";
  auto error = [&](const std::string& streams) {
    return LoadError(R"({"streams": )" + streams + "}").message();
  };
  EXPECT_EQ(error(R"({"name": "a"})"), prefix + "'streams' must be an array");
  EXPECT_EQ(error(R"([{"name": "a"}, 5])"),
            prefix + "'streams[1]' must be an object");
  EXPECT_EQ(error(R"([{"shard_count": 1}])"),
            prefix + "'streams[0].name' is missing");
  EXPECT_EQ(error(R"([{"name": "a b"}])"),
            prefix +
                "'streams[0].name' must be 1 to 128 letters, digits, '_', '.' "
                "or '-'");
  EXPECT_EQ(error(R"([{"name": ")" + std::string(129, 'a') + R"("}])"),
            prefix +
                "'streams[0].name' must be 1 to 128 letters, digits, '_', '.' "
                "or '-'");
  EXPECT_EQ(
      error(R"([{"name": "a"}, {"name": "b", "shard_count": 0}])"),
      prefix + "'streams[1].shard_count' must be an integer from 1 to 100000");
  EXPECT_EQ(
      error(R"([{"name": "a", "shard_count": "2"}])"),
      prefix + "'streams[0].shard_count' must be an integer from 1 to 100000");
  EXPECT_EQ(error(R"([{"name": "a", "mode": "on_demand"}])"),
            prefix + "'streams[0].mode' must be PROVISIONED or ON_DEMAND");
  EXPECT_EQ(error(R"([{"name": "a", "mode": "ON_DEMAND", "shard_count": 2}])"),
            prefix +
                "'streams[0].shard_count' is not allowed with mode "
                "ON_DEMAND");
  EXPECT_EQ(error(R"([{"name": "a", "mode": "PROVISIONED"}])"),
            prefix +
                "'streams[0].shard_count' is required with mode "
                "PROVISIONED");
  EXPECT_EQ(error(R"([{"name": "a", "retention_hours": 23}])"),
            prefix +
                "'streams[0].retention_hours' must be an integer from 24 to "
                "8760");
  EXPECT_EQ(error(R"([{"name": "a", "retention_hours": 8761}])"),
            prefix +
                "'streams[0].retention_hours' must be an integer from 24 to "
                "8760");
  EXPECT_EQ(error(R"([{"name": "a", "tags": ["x"]}])"),
            prefix + "'streams[0].tags' must be an object of strings");
  EXPECT_EQ(error(R"([{"name": "a", "tags": {"team": 1}}])"),
            prefix + "'streams[0].tags.team' must be a string");
  EXPECT_EQ(error(R"([{"name": "a", "tags": {"": "x"}}])"),
            prefix + "'streams[0].tags.' key must be 1 to 128 characters");
  std::string many = "{";
  for (int i = 0; i < 51; ++i) {
    many += (i ? ", \"k" : "\"k") + std::to_string(i) + "\": \"v\"";
  }
  many += "}";
  EXPECT_EQ(error(R"([{"name": "a", "tags": )" + many + "}]"),
            prefix + "'streams[0].tags' has 51 tags; at most 50 are allowed");
  EXPECT_EQ(
      error(R"([{"name": "a", "region": "EU"}])"),
      prefix + "'streams[0].region' must be a region name such as us-east-1");
  EXPECT_EQ(error(R"([{"name": "a", "account_id": "1"}])"),
            prefix + "'streams[0].account_id' must be 12 digits");
  EXPECT_EQ(error(R"([{"name": "a", "shards": 1}])"),
            prefix + "unknown key 'streams[0].shards'");
  EXPECT_EQ(error(R"([{"name": "a"}, {"name": "b"}, {"name": "a"}])"),
            prefix + "'streams[2].name' repeats stream 'a' of streams[0]");
}

TEST_F(ConfigFileTest, ReadsDeclaredDeliveryStreams) {
  auto loaded = LoadConfigFile(Write(R"({"delivery_streams": [
    {"name": "archive", "extended_s3": {"BucketARN": "arn:aws:s3:::b",
                                        "CompressionFormat": "GZIP"},
     "tags": {"team": "data"}, "region": "eu-west-1"}
  ], "storage": {"archive_root": "/srv/archive"},
     "firehose": {"create_delivery_stream_delay_ms": 500}})"),
                               ServerConfig());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->delivery_streams.size(), 1u);
  DeclaredDeliveryStream expected;
  expected.name = "archive";
  expected.extended_s3 =
      R"({"BucketARN":"arn:aws:s3:::b","CompressionFormat":"GZIP"})";
  expected.tags = {{"team", "data"}};
  expected.region = "eu-west-1";
  EXPECT_EQ(loaded->delivery_streams[0], expected);
  EXPECT_EQ(loaded->archive_root, "/srv/archive");
  auto pushed = LoadConfigFile(Write(R"({"delivery_streams": [
    {"name": "pushed", "http_endpoint": {"EndpointConfiguration":
                                         {"Url": "http://127.0.0.1:9/"}}}]})"),
                               ServerConfig());
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  EXPECT_EQ(pushed->delivery_streams[0].http_endpoint,
            R"({"EndpointConfiguration":{"Url":"http://127.0.0.1:9/"}})");
  EXPECT_EQ(pushed->delivery_streams[0].extended_s3, "");
  EXPECT_EQ(loaded->firehose.create_delay, std::chrono::milliseconds(500));
}

TEST_F(ConfigFileTest, ReadsDeclaredConsumersAndTheConsumerRoot) {
  auto loaded = LoadConfigFile(Write(R"({"consumers": [
    {"ConsumerName": "c", "StreamName": "s", "StartingPosition": "LATEST",
     "Handler": {"type": "exec", "command": ["true"]}}
  ], "storage": {"consumer_root": "/srv/consumers"}})"),
                               ServerConfig());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->consumers.size(), 1u);
  EXPECT_EQ(loaded->consumers[0],
            R"({"ConsumerName":"c","StreamName":"s","StartingPosition":)"
            R"("LATEST","Handler":{"type":"exec","command":["true"]}})");
  EXPECT_EQ(loaded->consumer_root, "/srv/consumers");
}

TEST_F(ConfigFileTest, ConsumerErrorsNameThePathAndTheSetting) {
  std::string prefix =
      "config file '" + (dir_ / "sluice.json").string() + "': ";
  auto error = [&](const std::string& consumers) {
    std::string text = R"({"consumers": )";
    text += consumers;
    text += "}";
    return LoadError(text).message();
  };
  EXPECT_EQ(error("{}"), prefix + "'consumers' must be an array");
  const std::string item =
      R"({"ConsumerName": "c", "StreamName": "s", "StartingPosition": "LATEST",
          "Handler": {"type": "exec", "command": ["true"]})";
  EXPECT_EQ(error("[" + item + R"(, "BatchSize": 0}])"),
            prefix +
                "'consumers[0]': 1 validation error detected: Value '0' at "
                "'batchSize' failed to satisfy constraint: Member must have "
                "value greater than or equal to 1");
  EXPECT_EQ(error("[" + item + "}, " + item + "}]"),
            prefix +
                "'consumers[1].ConsumerName' repeats consumer 'c' of "
                "consumers[0]");
}

TEST_F(ConfigFileTest, ApplicationsAreCheckedSqlIncludedAndTheTestClockRead) {
  const std::string app = R"({"ApplicationName": "a", "ApplicationCode":
      "CREATE STREAM o (n DOUBLE);\nCREATE PUMP p AS INSERT INTO o SELECT STREAM COLUMN FROM SOURCE_SQL_STREAM_001;",
      "Inputs": [{"KinesisStreamsInput": {"StreamName": "s"},
        "InputSchema": {"RecordFormat": {"RecordFormatType": "JSON"},
          "RecordColumns": [{"Name": "speed", "SqlType": "DOUBLE",
                             "Mapping": "$.speed"}]}}]})";
  auto good = app;
  good.replace(good.find("COLUMN"), 6, "speed");
  auto loaded = LoadConfigFile(
      Write(R"({"emulation": {"test_clock": true}, "applications": [)" + good +
            "]}"),
      ServerConfig());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->applications.size(), 1u);
  EXPECT_NE(loaded->applications[0].find("\"ApplicationName\":\"a\""),
            std::string::npos);
  EXPECT_TRUE(loaded->test_clock);
  auto bad = app;
  bad.replace(bad.find("COLUMN"), 6, "\\\"spede\\\"");
  EXPECT_EQ(LoadError(R"({"applications": [)" + bad + "]}").message(),
            "config file '" + (dir_ / "sluice.json").string() +
                "': 'applications[0]': SQL error at line 2, column 46: no "
                "such column: spede");
}

TEST_F(ConfigFileTest, DeliveryStreamErrorsNameThePathAndTheProblem) {
  std::string prefix =
      "config file '" + (dir_ / "sluice.json").string() + "': ";
  auto error = [&](const std::string& streams) {
    return LoadError(R"({"delivery_streams": )" + streams + "}").message();
  };
  EXPECT_EQ(error("{}"), prefix + "'delivery_streams' must be an array");
  EXPECT_EQ(error(R"([{"extended_s3": {}}])"),
            prefix + "'delivery_streams[0].name' is missing");
  EXPECT_EQ(error(R"([{"name": "a"}])"),
            prefix +
                "'delivery_streams[0]' needs exactly one of extended_s3 and "
                "http_endpoint");
  EXPECT_EQ(error(R"([{"name": "a", "extended_s3": {}, "http_endpoint": {}}])"),
            prefix +
                "'delivery_streams[0]' needs exactly one of extended_s3 and "
                "http_endpoint");
  EXPECT_EQ(error(R"([{"name": "a", "http_endpoint": 1}])"),
            prefix +
                "'delivery_streams[0].http_endpoint' must be an object: an "
                "HttpEndpointDestinationConfiguration");
  EXPECT_EQ(error(R"([{"name": "a", "extended_s3": []}])"),
            prefix +
                "'delivery_streams[0].extended_s3' must be an object: an "
                "ExtendedS3DestinationConfiguration");
  EXPECT_EQ(error(R"([{"name": ")" + std::string(65, 'a') +
                  R"(", "extended_s3": {}}])"),
            prefix +
                "'delivery_streams[0].name' must be 1 to 64 letters, digits, "
                "'_', '.' or '-'");
  EXPECT_EQ(error(R"([{"name": "a", "extended_s3": {}},
                {"name": "a", "extended_s3": {}}])"),
            prefix +
                "'delivery_streams[1].name' repeats delivery stream 'a' of "
                "delivery_streams[0]");
  EXPECT_EQ(error(R"([{"name": "a", "extended_s3": {}, "x": 1}])"),
            prefix + "unknown key 'delivery_streams[0].x'");
}

TEST_F(ConfigFileTest, AMissingFileIsAnError) {
  auto loaded = LoadConfigFile((dir_ / "absent.json").string(), ServerConfig());
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().message(),
            "config file '" + (dir_ / "absent.json").string() +
                "': cannot read it: No such file or directory");
}

TEST(ServeCommandLineTest, FlagsOverrideInOrder) {
  auto parsed = ParseServeCommandLine(
      {"--port", "0", "--host=0.0.0.0", "--in-memory", "--region", "eu-west-1",
       "--config", "x.json", "--log-level=debug"});
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->config_path, "x.json");
  ServerConfig config;
  ASSERT_TRUE(ApplyFlags(*parsed, config).ok());
  EXPECT_EQ(config.http.port, 0);
  EXPECT_EQ(config.http.host, "0.0.0.0");
  EXPECT_TRUE(config.in_memory);
  EXPECT_EQ(config.region, "eu-west-1");
  EXPECT_EQ(config.log_level, log::Level::kDebug);
}

TEST(ServeCommandLineTest, SetsTheSubscriptionSettings) {
  auto parsed = ParseServeCommandLine({"--subscription-lifetime-ms", "1500",
                                       "--subscription-idle-event-ms=200",
                                       "--max-subscriptions", "7"});
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ServerConfig config;
  ASSERT_TRUE(ApplyFlags(*parsed, config).ok());
  EXPECT_EQ(config.subscriptions.lifetime, std::chrono::milliseconds(1500));
  EXPECT_EQ(config.subscriptions.idle_event_interval,
            std::chrono::milliseconds(200));
  EXPECT_EQ(config.subscriptions.max_live, 7u);
  parsed = ParseServeCommandLine({"--subscription-lifetime-ms", "0"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(ApplyFlags(*parsed, config).ok());  // at least 1 ms
}

TEST(ServeCommandLineTest, RejectsUnknownFlagsMissingValuesAndBadValues) {
  EXPECT_EQ(ParseServeCommandLine({"--prot", "1"}).status().message(),
            "unknown argument '--prot' (see sluice serve --help)");
  EXPECT_EQ(ParseServeCommandLine({"--port"}).status().message(),
            "--port needs a value");
  auto parsed = ParseServeCommandLine({"--port", "-1"});
  ASSERT_TRUE(parsed.ok());
  ServerConfig config;
  EXPECT_EQ(ApplyFlags(*parsed, config).message(),
            "--port '-1': must be an integer from 0 to 65535");
  parsed = ParseServeCommandLine({"--account-id", "abc"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(ApplyFlags(*parsed, config).message(),
            "--account-id 'abc': must be 12 digits");
}

TEST(ServeCommandLineTest, SetsTheLambdaHandlerDirectoryAndTimeout) {
  ServerConfig config;
  auto parsed = ParseServeCommandLine(
      {"--lambda-handlers-dir", "/srv/handlers", "--lambda-timeout-seconds=5"});
  ASSERT_TRUE(parsed.ok());
  ASSERT_TRUE(ApplyFlags(*parsed, config).ok());
  EXPECT_EQ(config.lambda.handlers_dir, "/srv/handlers");
  EXPECT_EQ(config.lambda.timeout, std::chrono::seconds(5));
  parsed = ParseServeCommandLine({"--lambda-timeout-seconds", "901"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(ApplyFlags(*parsed, config).message(),
            "--lambda-timeout-seconds '901': must be an integer from 1 to 900");
}

TEST(ServeCommandLineTest, HelpDocumentsEveryFlag) {
  std::string help = ServeHelpText();
  for (const char* flag :
       {"--host", "--port", "--data-dir", "--in-memory", "--config", "--region",
        "--account-id", "--log-level", "--help"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace sluice
