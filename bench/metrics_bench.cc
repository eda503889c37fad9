// Records/s through the metrics handler: batches of 100 e-commerce events
// (pipelines.md: page views, carts, purchases, errors) against the five
// rules of docs/consumers.md's example, each batch one SQLite transaction
// with its exactly-once mark, as the consumer runtime calls it. The database
// is a real file under $TMPDIR (default /tmp), WAL, synchronous NORMAL (the
// default) or FULL.
//
//   ninja -C build metrics_bench && build/bench/metrics_bench
//
// Target on a 2-core box: >= 200,000 records/s with synchronous NORMAL.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/sequence_number.h"
#include "common/temp_dir.h"
#include "server/consumers/metrics_handler.h"

namespace sluice::consumers {
namespace {

constexpr EpochMillis kArrival = 1796195109042;
constexpr size_t kBatchSize = 100;

constexpr std::string_view kRules = R"("rules": [
    {"table": "pageviews", "match": {"event_type": "page_view"},
     "key": "pageviews#{@date}", "sort_key": "{data.page}",
     "add": {"view_count": 1}, "set": {"last_updated": "{timestamp}"}},
    {"table": "revenue", "match": {"event_type": "purchase"},
     "key": "revenue#{@date}", "sort_key": "total",
     "add": {"total_revenue": {"cents": "data.amount"}, "order_count": 1},
     "set": {"last_updated": "{timestamp}"}},
    {"table": "errors", "match": {"event_type": "error"},
     "key": "errors#{@date}#{@hour}", "sort_key": "{data.error_code|'unknown'}",
     "add": {"error_count": 1},
     "set": {"last_updated": "{timestamp}",
             "last_message": {"value": "{data.message}", "max_length": 500}}},
    {"table": "users", "match": {"data.user_id": {"exists": true}},
     "key": "{data.user_id}", "add": {"total_events": 1},
     "set": {"last_activity": "{timestamp}"}},
    {"table": "user_events", "match": {"data.user_id": {"exists": true}},
     "key": "{data.user_id}", "sort_key": "{event_type}", "add": {"events": 1}}
  ])";

// An e-commerce event of about 200 bytes, as the pipelines.md producer
// sends it.
std::string Event(std::mt19937& rng, int n) {
  const unsigned cents = static_cast<unsigned>(rng() % 50000);
  const std::string amount = std::to_string(cents / 100) + "." +
                             std::to_string(cents % 100 / 10) +
                             std::to_string(cents % 10);
  const std::string user = "user-" + std::to_string(rng() % 1000);
  const std::string stamp =
      "\"timestamp\":\"2026-12-02T07:05:" + std::to_string(10 + n % 50) +
      ".123Z\"";
  const std::string id =
      "\"event_id\":\"6f1c2a7e-" + std::to_string(100000 + n) + "\"";
  switch (rng() % 10) {
    case 0:
    case 1:
      return "{" + id + ",\"event_type\":\"purchase\"," + stamp +
             ",\"data\":{\"user_id\":\"" + user + "\",\"product_id\":\"p-" +
             std::to_string(rng() % 50) + "\",\"amount\":" + amount +
             ",\"currency\":\"USD\"}}";
    case 2:
      return "{" + id + ",\"event_type\":\"error\"," + stamp +
             ",\"data\":{\"error_code\":\"E" + std::to_string(500 + rng() % 4) +
             "\",\"message\":\"upstream timed out after 30 s\"}}";
    case 3:
      return "{" + id + ",\"event_type\":\"add_to_cart\"," + stamp +
             ",\"data\":{\"user_id\":\"" + user +
             "\",\"product_id\":\"p-7\",\"quantity\":2,\"price\":9.99}}";
    default:
      return "{" + id + ",\"event_type\":\"page_view\"," + stamp +
             ",\"data\":{\"user_id\":\"" + user +
             "\",\"page\":\"/products/widget-" + std::to_string(rng() % 40) +
             "\",\"referrer\":\"google\",\"device\":\"mobile\"}}";
  }
}

void BM_MetricsHandler(benchmark::State& state, std::string_view synchronous) {
  log::SetLevel(log::Level::kWarn);
  TempDir dir;
  const std::string settings =
      "{\"database\": \"shop.db\", \"synchronous\": \"" +
      std::string(synchronous) + "\", " + std::string(kRules) + "}";
  json::Document document;
  document.Parse(settings.data(), settings.size());
  HandlerEnvironment environment;
  environment.clock = &SystemClock::Instance();
  environment.data_dir = dir.path();
  HandlerSpec spec{"shop", "metrics", &document, &environment};
  Result<std::unique_ptr<MetricsHandler>> handler =
      MetricsHandler::Create(spec);
  if (!handler.ok()) {
    state.SkipWithError(handler.status().ToString().c_str());
    return;
  }

  // 50 distinct batches, reused with ever higher offsets so that no batch
  // is ever a redelivery the handler would skip.
  std::mt19937 rng(42);
  std::vector<Batch> batches(50);
  int n = 0;
  for (Batch& batch : batches) {
    batch.consumer = "shop";
    batch.stream_arn = "arn:aws:kinesis:us-east-1:000000000000:stream/events";
    batch.shard_id = "shardId-000000000000";
    for (size_t i = 0; i < kBatchSize; ++i, ++n) {
      ConsumerRecord record;
      record.sequence_number = EncodeSequenceNumber(
          {1796190000, 0, static_cast<uint64_t>(n), kArrival / 1000});
      record.partition_key = "pk";
      record.data = Event(rng, n);
      record.arrival_millis = kArrival + n;
      batch.records.push_back(std::move(record));
    }
  }
  uint64_t offset = 0;
  size_t next = 0;
  for (auto _ : state) {
    Batch& batch = batches[next];
    next = (next + 1) % batches.size();
    for (ConsumerRecord& record : batch.records) record.offset = offset++;
    HandlerResult result = (*handler)->Handle(batch);
    if (result.function_error) {
      state.SkipWithError(result.function_error->c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() *
                          static_cast<int64_t>(kBatchSize));
}

BENCHMARK_CAPTURE(BM_MetricsHandler, synchronous_normal, "NORMAL")
    ->Unit(benchmark::kMicrosecond)
    ->MinTime(3);
BENCHMARK_CAPTURE(BM_MetricsHandler, synchronous_full, "FULL")
    ->Unit(benchmark::kMicrosecond)
    ->MinTime(3);

}  // namespace
}  // namespace sluice::consumers

BENCHMARK_MAIN();
