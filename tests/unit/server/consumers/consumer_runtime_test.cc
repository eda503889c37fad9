#include "server/consumers/consumer_runtime.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/json.h"
#include "common/temp_dir.h"
#include "server/consumers/metrics_handler.h"
#include "server/firehose/delivery_stream_manager.h"

namespace sluice::consumers {
namespace {

constexpr EpochMillis kStart = 1'700'000'000'000;
constexpr std::chrono::seconds kDeadline{20};

// The runtime in process, over in-memory streams and catalog, with the exec
// handler running a small Python program: each call appends the event's
// records' data to a file, one line per call. So ASan and UBSan (which run the
// unit tests) cover the runtime's threads too.
class ConsumerRuntimeTest : public ::testing::Test {
 protected:
  ConsumerRuntimeTest() : clock_(kStart) {
    auto catalog = catalog::Catalog::Open(":memory:");
    EXPECT_TRUE(catalog.ok());
    catalog_ = std::move(*catalog);
    kinesis::StreamManagerOptions options;
    options.maintenance_interval = std::chrono::hours(1);
    streams_ = std::make_unique<kinesis::StreamManager>(
        *catalog_, kinesis::NewMemoryLogFactory(), clock_, options);
    EXPECT_TRUE(streams_->Start().ok());
    kinesis::StreamManager::NewStream request;
    request.key = kOrders;
    request.shard_count = 1;
    EXPECT_TRUE(streams_->CreateStream(request).ok());
  }
  ~ConsumerRuntimeTest() override { runtime_.reset(); }

  void StartRuntime() {
    runtime_ = std::make_unique<ConsumerRuntime>(
        *streams_, delivery_streams_.get(), *catalog_, clock_,
        RuntimeOptions{dir_.string(), std::chrono::milliseconds(1),
                       std::chrono::milliseconds(10)});
    ASSERT_TRUE(runtime_->Start().ok());
  }

  // A consumer whose handler writes one line per call: the data of its
  // records, joined by spaces.
  ConsumerDefinition Definition(const std::string& extra = "") {
    std::filesystem::path script = dir_ / "handler.py";
    std::ofstream(script)
        << "import base64, json, sys\n"
           "event = json.load(sys.stdin)\n"
           "with open(sys.argv[1], 'a') as out:\n"
           "    out.write(' '.join(base64.b64decode(r['kinesis']['data'])"
           ".decode() for r in event['Records']) + '\\n')\n";
    std::string text =
        R"({"ConsumerName": "counter", "StreamName": "orders",
            "StartingPosition": "TRIM_HORIZON",
            "Handler": {"type": "exec", "command": ["python3", ")" +
        script.string() + R"(", ")" + (dir_ / "calls.txt").string() + "\"]}" +
        extra + "}";
    auto definition = ParseConsumerDefinition(text);
    EXPECT_TRUE(definition.ok()) << definition.status().ToString();
    return definition.ok() ? *definition : ConsumerDefinition{};
  }

  void Put(std::initializer_list<std::string_view> datas) {
    auto stream = streams_->Find(kOrders);
    ASSERT_TRUE(stream.ok());
    std::vector<storage::RecordToAppend> records;
    for (std::string_view data : datas) {
      storage::RecordToAppend record;
      record.partition_key = "k";
      record.data = data;
      records.push_back(record);
    }
    for (const auto& outcome : streams_->Put(**stream, records)) {
      ASSERT_TRUE(outcome.status.ok());
    }
  }

  std::vector<std::string> Calls() {
    std::ifstream in(dir_ / "calls.txt");
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  // Waits (with a deadline) until the checkpoint of shard 0 is `position`.
  bool WaitForCheckpoint(const std::string& position) {
    auto deadline = std::chrono::steady_clock::now() + kDeadline;
    int64_t stream_id = (*streams_->Find(kOrders))->record.stream_id;
    while (std::chrono::steady_clock::now() < deadline) {
      auto saved =
          catalog_->LoadCheckpoint(ConsumerReaderName("counter"), stream_id, 0);
      if (saved.ok() && *saved == position) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  // A DirectPut delivery stream "raw-orders" for a runtime started after.
  void CreateDeliveryStream() {
    delivery_streams_ = std::make_unique<firehose::DeliveryStreamManager>(
        *catalog_, firehose::NewMemoryDeliveryLogFactory(), clock_,
        firehose::DeliveryStreamOptions{});
    ASSERT_TRUE(delivery_streams_->Start().ok());
    json::Document config;
    config.Parse(R"({"RoleARN": "arn:aws:iam::000000000000:role/r",
                     "BucketARN": "arn:aws:s3:::b"})");
    firehose::DeliveryStreamManager::NewDeliveryStream request;
    request.key = kRawOrders;
    request.destination = firehose::StoreDestination(config, true);
    request.parsed = firehose::ParseS3Destination(config, true).value();
    request.encryption = R"({"Status":"DISABLED"})";
    ASSERT_TRUE(delivery_streams_->Create(request).ok());
  }

  void PutToDeliveryStream(std::vector<std::string> records) {
    auto stream = delivery_streams_->Find(kRawOrders);
    ASSERT_TRUE(stream.ok());
    ASSERT_TRUE(delivery_streams_->Put(**stream, records).ok());
  }

  // Waits (with a deadline) until the consumer's position in the delivery
  // stream's log is `position`.
  bool WaitForDeliveryPosition(uint64_t position) {
    auto deadline = std::chrono::steady_clock::now() + kDeadline;
    int64_t id =
        (*delivery_streams_->Find(kRawOrders))->record.delivery_stream_id;
    while (std::chrono::steady_clock::now() < deadline) {
      auto saved = catalog_->LoadDeliveryReaderPosition(
          ConsumerReaderName("counter"), id);
      if (saved.ok() && *saved == position) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  const kinesis::StreamKey kOrders{"000000000000", "us-east-1", "orders"};
  const firehose::DeliveryStreamKey kRawOrders{"000000000000", "us-east-1",
                                               "raw-orders"};
  ManualClock clock_;
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<kinesis::StreamManager> streams_;
  std::unique_ptr<firehose::DeliveryStreamManager> delivery_streams_;
  TempDir scratch_{"sluice-consumers"};
  const std::filesystem::path dir_ = scratch_.path();
  std::unique_ptr<ConsumerRuntime> runtime_;
};

TEST_F(ConsumerRuntimeTest, HandsOverBatchesInOrderAndCheckpointsAfterThem) {
  Put({"a", "b", "c", "d", "e", "f", "g"});
  StartRuntime();
  ASSERT_TRUE(runtime_
                  ->Create(Definition(R"(, "BatchSize": 3)"), "000000000000",
                           "us-east-1")
                  .ok());
  ASSERT_TRUE(WaitForCheckpoint("7"));
  EXPECT_EQ(Calls(), (std::vector<std::string>{"a b c", "d e f", "g"}));
  auto view = runtime_->Describe("counter");
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->state, "ACTIVE");
  EXPECT_EQ(view->batches, 3u);
  EXPECT_EQ(view->records, 7u);
  ASSERT_EQ(view->shards.size(), 1u);
  EXPECT_EQ(view->shards[0].position, 7u);
  EXPECT_EQ(view->shards[0].records_behind, 0u);
  // The clock did not move: every record was handed over as it arrived.
  EXPECT_EQ(view->shards[0].iterator_age_millis, 0);
}

TEST_F(ConsumerRuntimeTest, ARestartedRuntimeResumesFromTheCheckpointPaused) {
  StartRuntime();
  ASSERT_TRUE(runtime_->Create(Definition(), "000000000000", "us-east-1").ok());
  Put({"a", "b"});
  ASSERT_TRUE(WaitForCheckpoint("2"));
  ASSERT_TRUE(runtime_->Pause("counter").ok());
  runtime_.reset();  // stops it

  Put({"c"});
  StartRuntime();
  auto view = runtime_->Describe("counter");
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->state, "PAUSED");
  ASSERT_EQ(view->shards.size(), 1u);
  EXPECT_EQ(view->shards[0].records_behind, 1u);
  EXPECT_EQ(view->shards[0].millis_behind_latest, 0);  // the clock stood
  ASSERT_TRUE(runtime_->Resume("counter").ok());
  ASSERT_TRUE(WaitForCheckpoint("3"));
  EXPECT_EQ(Calls(), (std::vector<std::string>{"a b", "c"}));
}

// The metrics handler skips what it applied already, so the runtime saves
// its checkpoint at most once a second while busy, and at once when caught
// up, paused or stopped; nothing is lost or counted twice across a restart.
TEST_F(ConsumerRuntimeTest, ASkippingHandlerCheckpointsWhenCaughtUpOrStopped) {
  const std::string definition =
      R"({"ConsumerName": "counter", "StreamName": "orders",
          "StartingPosition": "TRIM_HORIZON", "BatchSize": 1,
          "Handler": {"type": "metrics", "database": "m.db",
                      "rules": [{"table": "t", "key": "{k}",
                                 "add": {"n": 1}}]}})";
  auto parsed = ParseConsumerDefinition(definition);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  auto count = [&]() -> int64_t {
    auto handler = runtime_->HandlerOf("counter");
    EXPECT_TRUE(handler.ok());
    auto* metrics = dynamic_cast<MetricsHandler*>(handler->get());
    EXPECT_NE(metrics, nullptr);
    auto rows = metrics->Query({"t", std::string("a"), std::nullopt, 10});
    EXPECT_TRUE(rows.ok());
    const size_t at = rows->find("\"n\":");
    return at == std::string::npos ? 0 : std::stoll(rows->substr(at + 4));
  };
  for (int i = 0; i < 30; ++i) Put({R"({"k": "a"})"});
  StartRuntime();
  ASSERT_TRUE(runtime_->Create(*parsed, "000000000000", "us-east-1").ok());
  ASSERT_TRUE(WaitForCheckpoint("30"));  // caught up: saved
  EXPECT_EQ(count(), 30);
  for (int i = 0; i < 20; ++i) Put({R"({"k": "a"})"});
  runtime_.reset();  // stops it, wherever it is in those 20
  StartRuntime();
  ASSERT_TRUE(WaitForCheckpoint("50"));
  EXPECT_EQ(count(), 50);
  auto view = runtime_->Describe("counter");
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->records, view->batches);
  ASSERT_EQ(view->shards.size(), 1u);
  EXPECT_EQ(view->shards[0].position, 50u);
}

TEST_F(ConsumerRuntimeTest, CreateRefusesWhatCannotRun) {
  StartRuntime();
  ConsumerDefinition definition = Definition();
  definition.stream_name = "missing";
  EXPECT_EQ(runtime_->Create(definition, "000000000000", "us-east-1").code(),
            ErrorCode::kResourceNotFound);
  ASSERT_TRUE(runtime_->Create(Definition(), "000000000000", "us-east-1").ok());
  EXPECT_EQ(runtime_->Create(Definition(), "000000000000", "us-east-1").code(),
            ErrorCode::kResourceInUse);
  EXPECT_EQ(runtime_->Describe("nobody").status().code(),
            ErrorCode::kResourceNotFound);
  ASSERT_TRUE(runtime_->Delete("counter").ok());
  EXPECT_TRUE(runtime_->List().empty());
  EXPECT_TRUE(catalog_->ListEventConsumers()->empty());
}

TEST_F(ConsumerRuntimeTest, ReadsADeliveryStreamsLogAsOneShard) {
  CreateDeliveryStream();
  PutToDeliveryStream({"a", "b"});
  StartRuntime();
  ConsumerDefinition definition = Definition();
  definition.stream_name.clear();
  definition.delivery_stream_name = "raw-orders";
  ASSERT_TRUE(runtime_->Create(definition, "000000000000", "us-east-1").ok());
  ASSERT_TRUE(WaitForDeliveryPosition(2));
  PutToDeliveryStream({"c"});
  ASSERT_TRUE(WaitForDeliveryPosition(3));
  EXPECT_EQ(Calls(), (std::vector<std::string>{"a b", "c"}));
  auto view = runtime_->Describe("counter");
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->state, "ACTIVE");
  ASSERT_EQ(view->shards.size(), 1u);
  EXPECT_EQ(view->shards[0].shard_id, "shardId-000000000000");
  EXPECT_EQ(view->shards[0].position, 3u);

  // A restart resumes at the saved position: nothing is handed over twice.
  runtime_.reset();
  PutToDeliveryStream({"d"});
  StartRuntime();
  ASSERT_TRUE(WaitForDeliveryPosition(4));
  EXPECT_EQ(Calls(), (std::vector<std::string>{"a b", "c", "d"}));

  // Deleting the delivery stream stops the consumer.
  ASSERT_TRUE(delivery_streams_->Delete(kRawOrders).ok());
  auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (runtime_->Describe("counter")->state != "STREAM_NOT_FOUND" &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(runtime_->Describe("counter")->state, "STREAM_NOT_FOUND");
}

TEST_F(ConsumerRuntimeTest, ADeliveryStreamSourceMustExist) {
  StartRuntime();  // a runtime without delivery streams
  ConsumerDefinition definition = Definition();
  definition.stream_name.clear();
  definition.delivery_stream_name = "raw-orders";
  EXPECT_EQ(runtime_->Create(definition, "000000000000", "us-east-1").code(),
            ErrorCode::kResourceNotFound);
  runtime_.reset();
  CreateDeliveryStream();
  StartRuntime();
  definition.delivery_stream_name = "missing";
  Status missing = runtime_->Create(definition, "000000000000", "us-east-1");
  EXPECT_EQ(missing.code(), ErrorCode::kResourceNotFound);
  EXPECT_EQ(missing.message(),
            "Firehose missing under account 000000000000 not found.");
}

}  // namespace
}  // namespace sluice::consumers
