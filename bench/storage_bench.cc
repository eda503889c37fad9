// Shard log micro-benchmarks: append and sequential read of 100-byte and
// 10 KiB records in each fsync mode, group commit with 32 writers, and
// recovery time of a 1 GiB shard. Files go under $TMPDIR (default /tmp).
//
//   ninja -C build storage_bench && build/bench/storage_bench
//
// Targets on a 2-core box, 100-byte records, fsync never: >= 1,000,000
// appends/s on one thread, >= 2,000,000 records/s read; fsync always with 32
// writers: >= 50,000 appends/s.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"
#include "common/temp_dir.h"
#include "server/storage/file_shard_log.h"

namespace sluice::storage {
namespace {

constexpr EpochMillis kArrival = 1700000000000;

std::unique_ptr<FileShardLog> OpenLog(const std::filesystem::path& dir,
                                      FsyncMode mode) {
  FileShardLogOptions options;
  options.directory = dir;
  options.fsync_mode = mode;
  auto log = FileShardLog::Open(options);
  if (!log.ok()) {
    std::fprintf(stderr, "%s\n", log.status().ToString().c_str());
    std::abort();
  }
  return std::move(*log);
}

FsyncMode ModeArg(const benchmark::State& state, size_t index) {
  return static_cast<FsyncMode>(state.range(index));
}

// Args: record bytes, fsync mode.
void BM_Append(benchmark::State& state) {
  TempDir dir;
  auto log = OpenLog(dir.path() / "shard", ModeArg(state, 1));
  std::string data(static_cast<size_t>(state.range(0)), 'x');
  RecordToAppend record{.partition_key = "partition-key",
                        .data = data,
                        .arrival_millis = kArrival};
  for (auto _ : state) {
    auto appended = log->Append(record);
    if (!appended.ok()) state.SkipWithError("append failed");
    benchmark::DoNotOptimize(appended);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
  state.SetLabel(std::string(FsyncModeName(ModeArg(state, 1))));
}

// PutRecords: 500 records a call. Args: record bytes, fsync mode.
void BM_AppendBatch500(benchmark::State& state) {
  TempDir dir;
  auto log = OpenLog(dir.path() / "shard", ModeArg(state, 1));
  std::string data(static_cast<size_t>(state.range(0)), 'x');
  std::vector<RecordToAppend> batch(500, {.partition_key = "partition-key",
                                          .data = data,
                                          .arrival_millis = kArrival});
  for (auto _ : state) {
    auto appended = log->AppendBatch(batch);
    if (!appended.ok()) state.SkipWithError("append failed");
    benchmark::DoNotOptimize(appended);
  }
  state.SetItemsProcessed(state.iterations() * 500);
  state.SetLabel(std::string(FsyncModeName(ModeArg(state, 1))));
}

// 32 threads append single records concurrently to one shard; the time is
// wall time for all of them. Args: record bytes, fsync mode.
void BM_AppendConcurrent32(benchmark::State& state) {
  constexpr int kWriters = 32;
  const int per_writer = ModeArg(state, 1) == FsyncMode::kAlways ? 200 : 5000;
  TempDir dir;
  auto log = OpenLog(dir.path() / "shard", ModeArg(state, 1));
  std::string data(static_cast<size_t>(state.range(0)), 'x');
  RecordToAppend record{.partition_key = "partition-key",
                        .data = data,
                        .arrival_millis = kArrival};
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&] {
        for (int i = 0; i < per_writer; ++i) {
          if (!log->Append(record).ok()) std::abort();
        }
      });
    }
    for (std::thread& writer : writers) writer.join();
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count());
  }
  state.SetItemsProcessed(state.iterations() * kWriters * per_writer);
  state.SetLabel(std::string(FsyncModeName(ModeArg(state, 1))));
}

// Sequential read of the whole log in GetRecords-sized calls (10,000
// records, 10 MiB). Reads never fsync; the mode only shaped the file.
// Args: record bytes, fsync mode.
void BM_Read(benchmark::State& state) {
  TempDir dir;
  auto log = OpenLog(dir.path() / "shard", ModeArg(state, 1));
  std::string data(static_cast<size_t>(state.range(0)), 'x');
  const size_t total_bytes = 64u << 20;
  const size_t count = total_bytes / data.size();
  std::vector<RecordToAppend> batch(500, {.partition_key = "partition-key",
                                          .data = data,
                                          .arrival_millis = kArrival});
  for (size_t done = 0; done < count; done += batch.size()) {
    if (!log->AppendBatch(batch).ok()) std::abort();
  }
  int64_t records = 0;
  for (auto _ : state) {
    uint64_t offset = 0;
    while (true) {
      auto read = log->Read(offset, 10000, 10u << 20);
      if (!read.ok()) {
        state.SkipWithError("read failed");
        break;
      }
      records += static_cast<int64_t>(read->records.size());
      offset = read->next_offset;
      if (read->at_tip) break;
    }
  }
  state.SetItemsProcessed(records);
  state.SetBytesProcessed(records * state.range(0));
  state.SetLabel(std::string(FsyncModeName(ModeArg(state, 1))));
}

// Open() of a 1 GiB shard of 1 KiB records: after a crash (every segment is
// scanned and checked) and after a clean Close() (indexes and marker only).
// The files are in the page cache: this measures CPU, not the disk.
// Arg: 1 = clean shutdown.
void BM_Recovery1GiB(benchmark::State& state) {
  const bool clean = state.range(0) == 1;
  TempDir dir;
  {
    auto log = OpenLog(dir.path() / "shard", FsyncMode::kNever);
    std::string data(1024, 'x');
    std::vector<RecordToAppend> batch(500, {.partition_key = "partition-key",
                                            .data = data,
                                            .arrival_millis = kArrival});
    const size_t count = (size_t{1} << 30) / data.size();
    for (size_t done = 0; done < count; done += batch.size()) {
      if (!log->AppendBatch(batch).ok()) std::abort();
    }
    if (clean && !log->Close().ok()) std::abort();
  }
  for (auto _ : state) {
    auto log = OpenLog(dir.path() / "shard", FsyncMode::kNever);
    state.PauseTiming();
    if (clean && !log->Close().ok())
      std::abort();  // the next open is clean too
    log.reset();
    state.ResumeTiming();
  }
  state.SetLabel(clean ? "clean shutdown" : "after crash (full scan)");
}

constexpr int64_t kNever = static_cast<int64_t>(FsyncMode::kNever);
constexpr int64_t kInterval = static_cast<int64_t>(FsyncMode::kInterval);
constexpr int64_t kAlways = static_cast<int64_t>(FsyncMode::kAlways);

// Rates are wall-clock (UseRealTime): an append that waits for an fsync uses
// little CPU, and CPU-based rates would flatter it.
BENCHMARK(BM_Append)
    ->ArgsProduct({{100, 10240}, {kNever, kInterval, kAlways}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AppendBatch500)
    ->ArgsProduct({{100}, {kNever, kAlways}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AppendConcurrent32)
    ->ArgsProduct({{100}, {kNever, kAlways}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Read)
    ->ArgsProduct({{100, 10240}, {kNever, kInterval, kAlways}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Recovery1GiB)
    ->Arg(0)
    ->Arg(1)
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sluice::storage

int main(int argc, char** argv) {
  sluice::log::SetLevel(sluice::log::Level::kWarn);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
