#include "server/firehose/delivery_engine.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cerrno>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "common/json.h"
#include "server/firehose/http_endpoint.h"
#include "tests/unit/catalog/test_util.h"

namespace sluice::firehose {
namespace {

using catalog::test::IsOk;
using catalog::test::TempDir;

constexpr EpochMillis kStart = 1'700'000'000'000;  // 2023-11-14T22:13:20Z
const DeliveryStreamKey kKey{"000000000000", "us-east-1", "orders"};

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// Every object file under `root`, relative to it, without temp files.
std::vector<std::string> Objects(const std::filesystem::path& root) {
  std::vector<std::string> found;
  if (!std::filesystem::exists(root)) return found;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) {
      found.push_back(entry.path().lexically_relative(root).string());
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

// Fails every fsync while `failing` is set.
class SwitchableOps final : public storage::FileOps {
 public:
  ssize_t Write(int fd, const void* data, size_t size) override {
    return storage::FileOps::Posix().Write(fd, data, size);
  }
  int Sync(int fd) override {
    if (failing) {
      errno = EIO;
      return -1;
    }
    return storage::FileOps::Posix().Sync(fd);
  }
  std::atomic<bool> failing{false};
};

class DeliveryEngineTest : public ::testing::Test {
 protected:
  DeliveryEngineTest()
      : clock_(kStart), archive_((dir_.path() / "archive").string()) {
    catalog_ =
        catalog::Catalog::Open((dir_.path() / "catalog.db").string()).value();
  }

  void Open(bool file_logs = false) {
    engine_.reset();
    streams_.reset();
    streams_ = std::make_unique<DeliveryStreamManager>(
        *catalog_,
        file_logs ? NewFileDeliveryLogFactory(dir_.path().string(),
                                              storage::FsyncMode::kNever)
                  : NewMemoryDeliveryLogFactory(),
        clock_, DeliveryStreamOptions{});
    ASSERT_THAT(streams_->Start(), IsOk());
    DeliveryEngineOptions options;
    options.file_ops = &ops_;
    options.retry_delay = std::chrono::milliseconds(0);
    engine_ = std::make_unique<DeliveryEngine>(*streams_, *catalog_, nullptr,
                                               archive_, clock_, options);
  }

  void Create(std::string_view config_json) {
    json::Document config;
    config.Parse(config_json.data(), config_json.size());
    ASSERT_FALSE(config.HasParseError());
    DeliveryStreamManager::NewDeliveryStream request;
    request.key = kKey;
    request.destination = StoreDestination(config, true);
    auto parsed = ParseS3Destination(config, true);
    ASSERT_THAT(parsed, IsOk());
    request.parsed = *parsed;
    request.encryption = R"({"Status":"DISABLED"})";
    ASSERT_THAT(streams_->Create(request), IsOk());
  }

  std::shared_ptr<LiveDeliveryStream> Stream() {
    return streams_->Find(kKey).value();
  }

  void Put(std::vector<std::string> records) {
    ASSERT_THAT(streams_->Put(*Stream(), records), IsOk());
  }

  std::filesystem::path Bucket() const { return dir_.path() / "archive" / "b"; }

  TempDir dir_;
  ManualClock clock_;
  ArchiveRoot archive_;
  SwitchableOps ops_;
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<DeliveryStreamManager> streams_;
  std::unique_ptr<DeliveryEngine> engine_;
};

constexpr std::string_view kMinuteBuffer =
    R"({"RoleARN": "arn:aws:iam::000000000000:role/r",
        "BucketARN": "arn:aws:s3:::b", "Prefix": "p/",
        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60}})";

TEST_F(DeliveryEngineTest, WritesWhenTheIntervalHasPassedSinceTheFirstRecord) {
  Open();
  Create(kMinuteBuffer);
  Put({"a"});
  clock_.Advance(30'000);
  Put({"b"});
  engine_->RunOnce();
  EXPECT_TRUE(Objects(Bucket()).empty());
  clock_.Advance(29'999);  // 59.999 s after "a"
  engine_->RunOnce();
  EXPECT_TRUE(Objects(Bucket()).empty());
  clock_.Advance(1);
  engine_->RunOnce();
  std::vector<std::string> objects = Objects(Bucket());
  ASSERT_EQ(objects.size(), 1u);
  // The key's time is the arrival of "a", the oldest record.
  EXPECT_EQ(objects[0].substr(0, 41),
            "p/2023/11/14/22/orders-1-2023-11-14-22-13");
  EXPECT_EQ(ReadFile(Bucket() / objects[0]), "ab");
  EXPECT_EQ(Stream()->buffered_bytes.load(), 0u);
}

TEST_F(DeliveryEngineTest, WritesAsSoonAsTheSizeHintIsReached) {
  Open();
  Create(kMinuteBuffer);
  const std::string half(512 * 1024, 'x');
  Put({half});
  engine_->RunOnce();
  EXPECT_TRUE(Objects(Bucket()).empty());
  Put({half + "y"});
  engine_->RunOnce();
  std::vector<std::string> objects = Objects(Bucket());
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_EQ(ReadFile(Bucket() / objects[0]), half + half + "y");
}

TEST_F(DeliveryEngineTest, FlushSplitsObjectsAtTheSizeHint) {
  Open();
  Create(kMinuteBuffer);
  const std::string part(512 * 1024, 'z');
  for (int i = 0; i < 5; ++i) Put({part});
  auto delivered = engine_->Flush(*Stream());
  ASSERT_THAT(delivered, IsOk());
  ASSERT_EQ(delivered->size(), 3u);
  EXPECT_EQ((*delivered)[0].records, 2u);
  EXPECT_EQ((*delivered)[1].records, 2u);
  EXPECT_EQ((*delivered)[2].records, 1u);
  EXPECT_EQ(Objects(Bucket()).size(), 3u);
  EXPECT_TRUE(engine_->Flush(*Stream())->empty());
}

TEST_F(DeliveryEngineTest, AFailedWriteIsRetriedUnderTheSameKey) {
  Open();
  Create(kMinuteBuffer);
  Put({"one", "two"});
  ops_.failing = true;
  EXPECT_FALSE(engine_->Flush(*Stream()).ok());
  EXPECT_TRUE(Objects(Bucket()).empty() ||
              Objects(Bucket()).front().ends_with(".sluice-tmp"));
  std::optional<std::string> plan;
  {
    auto stream = Stream();
    std::lock_guard lock(stream->mu);
    plan = stream->record.planned_object;
  }
  ASSERT_TRUE(plan.has_value());
  Put({"three"});  // arrives after the plan: goes to the next object
  ops_.failing = false;
  auto delivered = engine_->Flush(*Stream());
  ASSERT_THAT(delivered, IsOk());
  ASSERT_EQ(delivered->size(), 2u);
  EXPECT_NE(plan->find((*delivered)[0].key), std::string::npos);
  EXPECT_EQ(ReadFile(Bucket() / (*delivered)[0].key), "onetwo");
  EXPECT_EQ(ReadFile(Bucket() / (*delivered)[1].key), "three");
  EXPECT_EQ(Objects(Bucket()).size(), 2u);
}

TEST_F(DeliveryEngineTest, ARestartRewritesThePlannedObjectExactlyOnce) {
  Open(/*file_logs=*/true);
  Create(R"({"RoleARN": "arn:aws:iam::000000000000:role/r",
             "BucketARN": "arn:aws:s3:::b", "CompressionFormat": "GZIP",
             "ProcessingConfiguration": {"Enabled": true, "Processors": [
                 {"Type": "AppendDelimiterToRecord"}]}})");
  Put({"r1", "r2", "r3"});
  ops_.failing = true;
  EXPECT_FALSE(engine_->Flush(*Stream()).ok());
  std::string planned;
  {
    auto stream = Stream();
    std::lock_guard lock(stream->mu);
    planned = stream->record.planned_object.value();
  }
  // The "crash": a new manager and engine over the same catalog and logs.
  ops_.failing = false;
  Open(/*file_logs=*/true);
  Put({"r4"});
  auto delivered = engine_->Flush(*Stream());
  ASSERT_THAT(delivered, IsOk());
  ASSERT_EQ(delivered->size(), 2u);
  EXPECT_NE(planned.find((*delivered)[0].key), std::string::npos);
  EXPECT_TRUE((*delivered)[0].key.ends_with(".gz"));
  EXPECT_EQ((*delivered)[0].records, 3u);
  EXPECT_EQ((*delivered)[1].records, 1u);
  EXPECT_EQ(Objects(Bucket()).size(), 2u);
  // Nothing is planned or buffered any more, and a third start finds it so.
  Open(/*file_logs=*/true);
  EXPECT_TRUE(engine_->Flush(*Stream())->empty());
  EXPECT_EQ(Objects(Bucket()).size(), 2u);
}

TEST_F(DeliveryEngineTest, KeepsDeliveredRecordsAReaderHasNotReadForADay) {
  Open();
  Create(kMinuteBuffer);
  Put({"a"});
  clock_.Advance(1'000);
  Put({"b"});
  clock_.Advance(1'000);
  Put({"c"});
  storage::ShardLog& log = *Stream()->log;
  // An in-process consumer (a SQL application) has read "a" only.
  const int64_t id = Stream()->record.delivery_stream_id;
  ASSERT_THAT(catalog_->SaveDeliveryReaderPosition("consumer/app", id, 1),
              IsOk());
  ASSERT_THAT(engine_->Flush(*Stream()), IsOk());
  EXPECT_EQ(log.TrimHorizon(), 1u);  // "b" and "c" stay for it

  // Once it has read everything, delivery trims as without readers: all
  // but the newest record.
  ASSERT_THAT(catalog_->SaveDeliveryReaderPosition("consumer/app", id, 3),
              IsOk());
  clock_.Advance(1'000);
  Put({"d"});
  ASSERT_THAT(engine_->Flush(*Stream()), IsOk());
  EXPECT_EQ(log.TrimHorizon(), 3u);

  // A reader that stops (paused, failed) holds records back for a day only.
  clock_.Advance(1'000);
  Put({"e"});
  clock_.Advance(24 * 3600 * 1000 + 1);
  Put({"f"});
  ASSERT_THAT(engine_->Flush(*Stream()), IsOk());
  EXPECT_EQ(log.TrimHorizon(), 5u);  // "d" and "e" are more than a day old
  EXPECT_EQ(log.Tip(), 6u);
}

TEST_F(DeliveryEngineTest, ConcurrentPutsFlushesAndTheWorkerDeliverEachOnce) {
  Open();
  Create(R"({"RoleARN": "arn:aws:iam::000000000000:role/r",
             "BucketARN": "arn:aws:s3:::b",
             "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0}})");
  engine_->Start();
  constexpr int kThreads = 4;
  constexpr int kRecords = 300;
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([this, t] {
      for (int i = 0; i < kRecords; ++i) {
        std::string record = std::to_string(t) + "-" + std::to_string(i) +
                             std::string(4000, '.') + "\n";
        ASSERT_THAT(streams_->Put(*Stream(), {&record, 1}), IsOk());
        if (i % 50 == 0) {
          ASSERT_THAT(engine_->Flush(*Stream()), IsOk());
        }
      }
    });
  }
  for (std::thread& producer : producers) producer.join();
  ASSERT_THAT(engine_->Flush(*Stream()), IsOk());
  engine_->Stop();
  std::multiset<std::string> lines;
  for (const std::string& object : Objects(Bucket())) {
    std::istringstream in(ReadFile(Bucket() / object));
    for (std::string line; std::getline(in, line);) {
      lines.insert(line.substr(0, line.find('.')));
    }
  }
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kRecords));
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kRecords; ++i) {
      EXPECT_EQ(lines.count(std::to_string(t) + "-" + std::to_string(i)), 1u);
    }
  }
  EXPECT_EQ(Stream()->buffered_bytes.load(), 0u);
}

// ExtendedS3 configuration with a Lambda processor running the built-in
// `function` and the delimiter processor after it.
std::string WithTransform(std::string_view function, std::string_view extra) {
  return R"({"RoleARN": "arn:aws:iam::000000000000:role/r",
             "BucketARN": "arn:aws:s3:::b", "Prefix": "p/", )" +
         std::string(extra) +
         R"("ProcessingConfiguration": {"Enabled": true, "Processors": [
               {"Type": "Lambda", "Parameters": [{"ParameterName": "LambdaArn",
                "ParameterValue": "arn:aws:lambda:us-east-1:000000000000:function:)" +
         std::string(function) + R"("}]},
               {"Type": "AppendDelimiterToRecord"}]}})";
}

// The planned object's JSON, parsed.
json::Document PlanOf(LiveDeliveryStream& stream) {
  std::lock_guard lock(stream.mu);
  json::Document plan;
  const std::string& text = stream.record.planned_object.value();
  plan.Parse(text.data(), text.size());
  return plan;
}

TEST_F(DeliveryEngineTest,
       TransformedRecordsGoToTheObjectAndFailedOnesToErrors) {
  Open();
  Create(WithTransform(
      "sluice-builtin-drop-if:level=debug",
      R"("ErrorOutputPrefix": "err/!{firehose:error-output-type}/",)"));
  Put({R"({"level":"debug"})", R"({"level":"info"})", "not json"});
  auto delivered = engine_->Flush(*Stream());
  ASSERT_THAT(delivered, IsOk());
  ASSERT_EQ(delivered->size(), 2u);
  const DeliveredObject& object = (*delivered)[0];
  EXPECT_FALSE(object.error_output);
  EXPECT_EQ(object.records, 1u);
  EXPECT_EQ(ReadFile(Bucket() / object.key), "{\"level\":\"info\"}\n");
  const DeliveredObject& errors = (*delivered)[1];
  EXPECT_TRUE(errors.error_output);
  EXPECT_EQ(errors.records, 1u);
  EXPECT_TRUE(errors.key.starts_with(
      "err/processing-failed/2023/11/14/22/orders-1-2023-11-14-22-13-20-"))
      << errors.key;
  EXPECT_EQ(ReadFile(Bucket() / errors.key),
            R"({"attemptsMade":1,"arrivalTimestamp":1700000000000,)"
            R"("errorCode":"Lambda.ProcessingFailed","errorMessage":)"
            R"("sluice-builtin-drop-if: the record is not a JSON object",)"
            R"("attemptEndingTimestamp":1700000000000,)"
            R"("rawData":"bm90IGpzb24=","lambdaArn":)"
            R"("arn:aws:lambda:us-east-1:000000000000:function:)"
            R"(sluice-builtin-drop-if:level=debug"})"
            "\n");
  EXPECT_EQ(Objects(Bucket()).size(), 2u);
  EXPECT_EQ(Stream()->buffered_bytes.load(), 0u);
}

TEST_F(DeliveryEngineTest, ErrorsGoUnderTheDefaultErrorPrefixWithoutOne) {
  Open();
  Create(WithTransform("sluice-builtin-add-field:x=y", ""));
  Put({"[]"});
  auto delivered = engine_->Flush(*Stream());
  ASSERT_THAT(delivered, IsOk());
  ASSERT_EQ(delivered->size(), 1u);  // nothing was Ok: no main object
  EXPECT_TRUE((*delivered)[0].error_output);
  EXPECT_TRUE((*delivered)[0].key.starts_with(
      "p/processing-failed/2023/11/14/22/orders-1-2023-11-14-22-13-20-"))
      << (*delivered)[0].key;
  EXPECT_EQ(Objects(Bucket()).size(), 1u);
}

TEST_F(DeliveryEngineTest, ARedoRewritesBothPlannedKeysExactlyOnce) {
  Open(/*file_logs=*/true);
  Create(WithTransform("sluice-builtin-add-field:x=y",
                       R"("CompressionFormat": "GZIP",)"));
  Put({R"({"k":1})", "bad"});
  ops_.failing = true;
  EXPECT_FALSE(engine_->Flush(*Stream()).ok());
  json::Document plan = PlanOf(*Stream());
  ASSERT_TRUE(plan.HasMember("lambda"));
  const std::string key = plan["key"].GetString();
  const std::string error_key = plan["lambda"]["error_key"].GetString();
  EXPECT_TRUE(key.ends_with(".gz"));
  EXPECT_TRUE(error_key.starts_with("p/processing-failed/"));
  EXPECT_TRUE(error_key.ends_with(".gz"));
  // The "crash": a new manager and engine over the same catalog and logs.
  ops_.failing = false;
  Open(/*file_logs=*/true);
  auto delivered = engine_->Flush(*Stream());
  ASSERT_THAT(delivered, IsOk());
  ASSERT_EQ(delivered->size(), 2u);
  EXPECT_EQ((*delivered)[0].key, key);
  EXPECT_EQ((*delivered)[1].key, error_key);
  EXPECT_EQ(Objects(Bucket()), (std::vector<std::string>{key, error_key}));
  Open(/*file_logs=*/true);
  EXPECT_TRUE(engine_->Flush(*Stream())->empty());
}

TEST_F(DeliveryEngineTest, ARedoRemovesAPlannedKeyThatNowGetsNoRecords) {
  Open(/*file_logs=*/true);
  Create(WithTransform("sluice-builtin-add-field:x=y", ""));
  Put({R"({"k":1})"});
  ops_.failing = true;
  EXPECT_FALSE(engine_->Flush(*Stream()).ok());
  json::Document plan = PlanOf(*Stream());
  const std::string error_key = plan["lambda"]["error_key"].GetString();
  // What an earlier run of a transform that failed the record left behind.
  std::filesystem::create_directories((Bucket() / error_key).parent_path());
  std::ofstream(Bucket() / error_key) << "stale";
  ops_.failing = false;
  Open(/*file_logs=*/true);
  auto delivered = engine_->Flush(*Stream());
  ASSERT_THAT(delivered, IsOk());
  ASSERT_EQ(delivered->size(), 1u);
  EXPECT_EQ(ReadFile(Bucket() / (*delivered)[0].key),
            "{\"k\":1,\"x\":\"y\"}\n");
  EXPECT_EQ(Objects(Bucket()), (std::vector<std::string>{(*delivered)[0].key}));
}

TEST_F(DeliveryEngineTest, APlanStoredBeforeTransformsExistedIsRedoneAsIs) {
  Open(/*file_logs=*/true);
  Create(WithTransform("sluice-builtin-add-field:x=y", ""));
  Put({"x", "y"});
  // The plan's JSON as Sluice wrote it before Lambda processors.
  ASSERT_THAT(catalog_->SaveDeliveryCheckpoint(
                  Stream()->record.delivery_stream_id, 0,
                  R"({"from":0,"to":2,"bucket":"b","key":"old/key",)"
                  R"("compression":"UNCOMPRESSED","delimiter":false})"),
              IsOk());
  Open(/*file_logs=*/true);
  auto delivered = engine_->Flush(*Stream());
  ASSERT_THAT(delivered, IsOk());
  ASSERT_EQ(delivered->size(), 1u);
  EXPECT_EQ((*delivered)[0].key, "old/key");
  EXPECT_EQ(ReadFile(Bucket() / "old/key"), "xy");
}

TEST_F(DeliveryEngineTest, ADeletedStreamDeliversNothingMore) {
  Open();
  Create(kMinuteBuffer);
  Put({"gone"});
  auto stream = Stream();
  ASSERT_THAT(streams_->Delete(kKey), IsOk());
  EXPECT_TRUE(engine_->Flush(*stream)->empty());
  engine_->RunOnce();
  EXPECT_TRUE(Objects(Bucket()).empty());
}

// An HttpEndpoint stream whose endpoint refuses connections (a port just
// closed), retrying for a minute; its backup bucket is "b".
void CreateUnreachableHttpStream(DeliveryStreamManager& streams) {
  uint16_t port = 0;
  {
    boost::asio::io_context context;
    boost::asio::ip::tcp::acceptor acceptor(
        context, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = acceptor.local_endpoint().port();
  }
  const std::string text =
      R"({"EndpointConfiguration": {"Url": "http://127.0.0.1:)" +
      std::to_string(port) + R"(/"},
          "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
          "RetryOptions": {"DurationInSeconds": 60},
          "S3Configuration": {"RoleARN": "r", "BucketARN": "arn:aws:s3:::b"}})";
  json::Document config;
  config.Parse(text.data(), text.size());
  ASSERT_FALSE(config.HasParseError());
  DeliveryStreamManager::NewDeliveryStream request;
  request.key = kKey;
  request.destination = StoreHttpEndpointDestination(config);
  auto parsed = ParseHttpEndpointDestination(config);
  ASSERT_THAT(parsed, IsOk());
  request.parsed = *parsed;
  request.encryption = R"({"Status":"DISABLED"})";
  ASSERT_THAT(streams.Create(request), IsOk());
}

// The request id the stream's saved plan holds.
std::string PlannedRequestId(LiveDeliveryStream& stream) {
  std::lock_guard lock(stream.mu);
  if (!stream.record.planned_object) return "";
  json::Document plan;
  plan.Parse(stream.record.planned_object->c_str());
  json::Document http;
  http.Parse(plan["http"].GetString());
  return http["requestId"].GetString();
}

TEST_F(DeliveryEngineTest, HttpEndpointRetriesByTheClockThenBacksUpErrors) {
  Open(/*file_logs=*/true);
  CreateUnreachableHttpStream(*streams_);
  Put({"one", "two"});
  engine_->RunOnce();
  const std::string request_id = PlannedRequestId(*Stream());
  EXPECT_EQ(request_id.size(), 36u);
  engine_->RunOnce();  // retry_delay 0: a second attempt at once
  EXPECT_TRUE(Objects(Bucket()).empty());

  // A restart resumes the same batch with the same request id.
  Open(/*file_logs=*/true);
  EXPECT_EQ(PlannedRequestId(*Stream()), request_id);
  engine_->RunOnce();
  EXPECT_TRUE(Objects(Bucket()).empty());

  clock_.Advance(59'999);
  engine_->RunOnce();
  EXPECT_TRUE(Objects(Bucket()).empty());
  clock_.Advance(1);  // a minute since the first attempt
  engine_->RunOnce();
  std::vector<std::string> objects = Objects(Bucket());
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_EQ(objects[0].substr(0, 60),
            "http-endpoint-failed/2023/11/14/22/orders-1-2023-11-14-22-13");
  std::istringstream lines(ReadFile(Bucket() / objects[0]));
  std::vector<std::string> raw;
  for (std::string line; std::getline(lines, line);) {
    json::Document error;
    error.Parse(line.c_str());
    ASSERT_FALSE(error.HasParseError()) << line;
    EXPECT_EQ(error["attemptsMade"].GetInt64(), 5);
    EXPECT_STREQ(error["errorCode"].GetString(),
                 "HttpEndpoint.ConnectionFailed");
    EXPECT_EQ(error["arrivalTimestamp"].GetInt64(), kStart);
    EXPECT_EQ(error["attemptEndingTimestamp"].GetInt64(), kStart + 60'000);
    raw.push_back(error["rawData"].GetString());
  }
  EXPECT_EQ(raw, (std::vector<std::string>{"b25l", "dHdv"}));  // base64
  auto stream = Stream();
  std::lock_guard lock(stream->mu);
  EXPECT_EQ(stream->record.delivered_offset, 2u);
  EXPECT_FALSE(stream->record.planned_object.has_value());
}

}  // namespace
}  // namespace sluice::firehose
