// Records/s through a SQL application's engine (server/analytics/engine.h),
// as its handler drives it: batches of 1,000 records of one shard, each
// batch one SQLite transaction with its exactly-once mark, the outbox read
// and emptied after each step (the PutRecord to the output itself is not
// timed). The database is a real file under $TMPDIR (default /tmp), WAL,
// synchronous NORMAL.
//
//   BM_Filter: the telemetry filter of pipelines.md (speed >= 200, about
//     half the records pass), CSV rows.
//   BM_MinuteWindow: page views and distinct pages per user per minute
//     with 10,000 distinct users; each iteration is one minute of 100,000
//     records and the close of its window (10,000 rows out).
//
//   ninja -C build analytics_bench && build/bench/analytics_bench
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/log.h"
#include "common/temp_dir.h"
#include "server/analytics/engine.h"

namespace sluice::analytics {
namespace {

constexpr EpochMillis kMinute = 60'000;
constexpr EpochMillis kStart = 1'796'205'600'000;  // a minute boundary
constexpr size_t kBatchSize = 1000;

std::string Application(const std::string& columns, const std::string& code) {
  return R"({"ApplicationName": "bench", "ApplicationCode": )" +
         json::Quote(code) +
         R"(, "Inputs": [{"KinesisStreamsInput": {"ResourceARN":
           "arn:aws:kinesis:us-east-1:000000000000:stream/in"},
           "InputSchema": {"RecordFormat": {"RecordFormatType": "JSON"},
           "RecordColumns": [)" +
         columns + R"(]}}], "Outputs": [{"Name": "OUT",
           "KinesisFirehoseOutput": {"ResourceARN":
           "arn:aws:firehose:us-east-1:000000000000:deliverystream/out"},
           "DestinationSchema": {"RecordFormatType": "CSV"}}]})";
}

std::unique_ptr<Engine> OpenEngine(benchmark::State& state, const TempDir& dir,
                                   const std::string& text) {
  log::SetLevel(log::Level::kWarn);
  auto definition = ParseApplicationDefinition(text);
  if (!definition.ok()) {
    state.SkipWithError(definition.status().ToString().c_str());
    return nullptr;
  }
  auto engine = Engine::Open(*definition, (dir.path() / "bench.db").string());
  if (!engine.ok()) {
    state.SkipWithError(engine.status().ToString().c_str());
    return nullptr;
  }
  return std::move(engine).value();
}

bool Drain(benchmark::State& state, Engine& engine) {
  while (true) {
    auto pending = engine.Pending(100);  // the handler's chunk
    if (!pending.ok()) {
      state.SkipWithError(pending.status().ToString().c_str());
      return false;
    }
    if (pending->empty()) return true;
    for (const OutboxRecord& record : *pending) {
      benchmark::DoNotOptimize(record.data.data());
    }
    if (!engine.Delivered(pending->back().id).ok()) return false;
  }
}

void BM_Filter(benchmark::State& state) {
  TempDir dir;
  auto engine = OpenEngine(
      state, dir,
      Application(
          R"({"Name": "speed", "SqlType": "DOUBLE", "Mapping": "$.speed"},
             {"Name": "rpm", "SqlType": "INTEGER", "Mapping": "$.rpm"},
             {"Name": "gear", "SqlType": "INTEGER", "Mapping": "$.gear"},
             {"Name": "throttle", "SqlType": "DOUBLE", "Mapping": "$.throttle"})",
          "CREATE OR REPLACE STREAM \"OUT\" (\"speed\" DOUBLE, \"rpm\" "
          "INTEGER, \"gear\" INTEGER, \"throttle\" DOUBLE);"
          "CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"OUT\" SELECT STREAM "
          "\"speed\", \"rpm\", \"gear\", \"throttle\" FROM "
          "\"SOURCE_SQL_STREAM_001\" WHERE \"speed\" >= 200;"));
  if (engine == nullptr) return;
  std::mt19937 rng(42);
  consumers::Batch batch;
  batch.shard_id = "shardId-000000000000";
  for (size_t i = 0; i < kBatchSize; ++i) {
    consumers::ConsumerRecord record;
    record.data = "{\"speed\":" + std::to_string(150 + rng() % 110) +
                  ".5,\"rpm\":" + std::to_string(8000 + rng() % 4000) +
                  ",\"gear\":" + std::to_string(1 + rng() % 7) +
                  ",\"throttle\":0.87,\"brakes\":0.0,\"steering_angle\":"
                  "-0.12,\"fuel_consumption\":2.31,\"lap_time\":88.512}";
    batch.records.push_back(std::move(record));
  }
  uint64_t offset = 0;
  for (auto _ : state) {
    for (consumers::ConsumerRecord& record : batch.records) {
      record.offset = offset++;
      record.arrival_millis = kStart + static_cast<EpochMillis>(offset);
    }
    if (Status s = engine->Apply(batch); !s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    if (!Drain(state, *engine)) break;
  }
  state.SetItemsProcessed(state.iterations() *
                          static_cast<int64_t>(kBatchSize));
}

void BM_MinuteWindow(benchmark::State& state) {
  constexpr int kUsers = 10'000;
  constexpr size_t kRecordsPerMinute = 100'000;
  TempDir dir;
  auto engine = OpenEngine(
      state, dir,
      Application(
          R"js({"Name": "user_id", "SqlType": "VARCHAR(16)",
              "Mapping": "$.data.user_id"
},
             {"Name": "page", "SqlType": "VARCHAR(64)",
              "Mapping": "$.data.page"})js",
          "CREATE OR REPLACE STREAM \"OUT\" (user_id VARCHAR(16), views "
          "BIGINT, pages BIGINT, window_start TIMESTAMP);"
          "CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"OUT\" SELECT STREAM "
          "user_id, COUNT(*), COUNT(DISTINCT page), STEP(s.ROWTIME BY "
          "INTERVAL '60' SECOND) FROM \"SOURCE_SQL_STREAM_001\" AS s GROUP "
          "BY user_id, STEP(s.ROWTIME BY INTERVAL '60' SECOND);"));
  if (engine == nullptr) return;
  std::mt19937 rng(7);
  std::vector<consumers::Batch> batches(kRecordsPerMinute / kBatchSize);
  for (consumers::Batch& batch : batches) {
    batch.shard_id = "shardId-000000000000";
    for (size_t i = 0; i < kBatchSize; ++i) {
      consumers::ConsumerRecord record;
      record.data =
          "{\"event_type\":\"page_view\",\"data\":{\"user_id\":"
          "\"user-" +
          std::to_string(rng() % kUsers) + "\",\"page\":\"/products/widget-" +
          std::to_string(rng() % 40) +
          "\",\"referrer\":\"google\",\"device\":\"mobile\"}}";
      batch.records.push_back(std::move(record));
    }
  }
  uint64_t offset = 0;
  EpochMillis minute = kStart;
  int64_t rows = 0;
  for (auto _ : state) {
    for (consumers::Batch& batch : batches) {
      for (size_t i = 0; i < batch.records.size(); ++i) {
        batch.records[i].offset = offset++;
        batch.records[i].arrival_millis =
            minute + static_cast<EpochMillis>(offset % 59'000);
      }
      if (Status s = engine->Apply(batch); !s.ok()) {
        state.SkipWithError(s.ToString().c_str());
        return;
      }
    }
    minute += kMinute;
    auto closed = engine->CloseWindows(minute + kWindowCloseGraceMillis,
                                       {{"shardId-000000000000", offset}});
    if (!closed.ok()) {
      state.SkipWithError(closed.status().ToString().c_str());
      return;
    }
    rows += *closed;
    if (!Drain(state, *engine)) return;
  }
  state.SetItemsProcessed(state.iterations() *
                          static_cast<int64_t>(kRecordsPerMinute));
  state.counters["rows_per_window"] =
      static_cast<double>(rows) / static_cast<double>(state.iterations());
}

BENCHMARK(BM_Filter)->Unit(benchmark::kMicrosecond)->MinTime(3)->UseRealTime();
BENCHMARK(BM_MinuteWindow)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(5)
    ->UseRealTime();

}  // namespace
}  // namespace sluice::analytics

BENCHMARK_MAIN();
