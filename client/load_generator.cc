#include "client/load_generator.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <ostream>
#include <thread>
#include <vector>

#include "client/batch_calls.h"
#include "client/producer.h"
#include "client/workloads.h"

namespace sluice::client {
namespace {

using Clock = std::chrono::steady_clock;

// Generated records are under 2 KiB, so 500 of them stay well below
// PutRecordBatch's 4 MiB.
constexpr size_t kFirehoseBatchRecords = 500;
constexpr int kFirehoseEntryAttempts = 20;

// Latencies from several threads, and the percentiles at the end.
class Latencies {
 public:
  void Add(Clock::duration latency, size_t count = 1) {
    const double ms =
        std::chrono::duration<double, std::milli>(latency).count();
    std::lock_guard lock(mu_);
    samples_.insert(samples_.end(), count, ms);
  }

  void Fill(LoadReport& report) {
    std::lock_guard lock(mu_);
    if (samples_.empty()) return;
    std::sort(samples_.begin(), samples_.end());
    auto at = [&](double q) {
      return samples_[static_cast<size_t>(
          q * static_cast<double>(samples_.size() - 1))];
    };
    report.p50_ms = at(0.50);
    report.p90_ms = at(0.90);
    report.p99_ms = at(0.99);
    report.max_ms = samples_.back();
  }

 private:
  std::mutex mu_;
  std::vector<double> samples_;
};

// Hands out the workload's records, paced to the target rate, until the
// count or the time is up. Thread-safe.
class Pacer {
 public:
  Pacer(const LoadOptions& options) : options_(options), start_(Clock::now()) {
    if (options.workload == "telemetry") {
      next_ = [g = std::make_shared<TelemetryRecords>(
                   options.seed, options.keys)] { return g->Next(); };
    } else {
      next_ = [g = std::make_shared<EcommerceEvents>(
                   options.seed, options.keys)] { return g->Next(); };
    }
  }

  // The next record, after waiting for its turn; nullopt when done.
  std::optional<GeneratedRecord> Next() {
    std::unique_lock lock(mu_);
    if (options_.records && issued_ >= *options_.records) return std::nullopt;
    if (options_.duration && Clock::now() - start_ >= *options_.duration) {
      return std::nullopt;
    }
    const uint64_t turn = issued_++;  // taken now, so no one else counts it
    if (options_.rate) {
      const auto due =
          start_ + std::chrono::duration_cast<Clock::duration>(
                       std::chrono::duration<double>(static_cast<double>(turn) /
                                                     *options_.rate));
      lock.unlock();
      std::this_thread::sleep_until(due);
      lock.lock();
    }
    return next_();
  }

  Clock::time_point start() const { return start_; }

 private:
  const LoadOptions& options_;
  const Clock::time_point start_;
  std::mutex mu_;
  uint64_t issued_ = 0;  // guarded by mu_
  std::function<GeneratedRecord()> next_;
};

// Prints the stored count once a second until stopped.
class Progress {
 public:
  Progress(std::ostream* out, const std::atomic<uint64_t>& sent)
      : out_(out), sent_(sent) {
    if (out_ == nullptr) return;
    thread_ = std::thread([this] {
      std::unique_lock lock(mu_);
      const Clock::time_point start = Clock::now();
      while (!stop_.wait_for(lock, std::chrono::seconds(1),
                             [&] { return stopping_; })) {
        const double seconds =
            std::chrono::duration<double>(Clock::now() - start).count();
        *out_ << "load: " << sent_.load() << " records in "
              << static_cast<int>(seconds) << " s\n";
      }
    });
  }
  ~Progress() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    stop_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::ostream* out_;
  const std::atomic<uint64_t>& sent_;
  std::mutex mu_;
  std::condition_variable stop_;
  bool stopping_ = false;
  std::thread thread_;
};

LoadReport ToKinesis(const ClientOptions& client_options,
                     const LoadOptions& options, std::ostream* progress_out) {
  Latencies latencies;
  std::atomic<uint64_t> sent{0};
  ProducerOptions producer_options;
  producer_options.connections = options.connections;
  Producer producer(client_options, options.stream, producer_options,
                    [&](const PutOutcome& outcome) {
                      if (outcome.status.ok()) {
                        sent++;
                        latencies.Add(outcome.latency);
                      }
                    });
  Pacer pacer(options);
  {
    Progress progress(progress_out, sent);
    while (auto record = pacer.Next()) {
      if (!producer
               .Put(std::move(record->partition_key), std::move(record->data))
               .ok()) {
        break;
      }
    }
    producer.Flush();
  }
  LoadReport report;
  report.seconds =
      std::chrono::duration<double>(Clock::now() - pacer.start()).count();
  report.sent = producer.stored();
  report.failed = producer.failed();
  report.retried = producer.retried_entries();
  latencies.Fill(report);
  return report;
}

Result<LoadReport> ToFirehose(const ClientOptions& client_options,
                              const LoadOptions& options,
                              std::ostream* progress_out) {
  Latencies latencies;
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> retried{0};
  std::mutex error_mu;
  Status error;
  Pacer pacer(options);
  {
    Progress progress(progress_out, sent);
    std::vector<std::thread> senders;
    for (int c = 0; c < std::max(1, options.connections); ++c) {
      senders.emplace_back([&] {
        auto client = ApiClient::Create(client_options);
        if (!client.ok()) {
          std::lock_guard lock(error_mu);
          error = client.status();
          return;
        }
        bool done = false;
        while (!done) {
          std::vector<GeneratedRecord> batch;
          const Clock::time_point first = Clock::now();
          while (batch.size() < kFirehoseBatchRecords) {
            auto record = pacer.Next();
            if (!record) {
              done = true;
              break;
            }
            record->data += '\n';  // Firehose writes records back to back
            batch.push_back(std::move(*record));
            // With a target rate, send what a short while gathered.
            if (options.rate &&
                Clock::now() - first > std::chrono::milliseconds(20)) {
              break;
            }
          }
          for (int attempt = 1; !batch.empty(); ++attempt) {
            std::vector<std::string_view> data;
            for (const GeneratedRecord& record : batch) {
              data.push_back(record.data);
            }
            const Clock::time_point start = Clock::now();
            auto outcomes =
                PutRecordBatch(**client, options.delivery_stream, data);
            if (!outcomes.ok()) {
              failed += batch.size();
              std::lock_guard lock(error_mu);
              error = outcomes.status();
              return;
            }
            std::vector<GeneratedRecord> refused;
            for (size_t i = 0; i < batch.size(); ++i) {
              const Status& status = (*outcomes)[i].status;
              if (status.ok()) {
                sent++;
                latencies.Add(Clock::now() - start);
              } else if (IsTransient(status.code()) &&
                         attempt < kFirehoseEntryAttempts) {
                refused.push_back(std::move(batch[i]));
              } else {
                failed++;
              }
            }
            batch = std::move(refused);
            if (batch.empty()) break;
            retried += batch.size();
            std::this_thread::sleep_for(
                JitteredBackoff(client_options, attempt));
          }
        }
      });
    }
    for (std::thread& sender : senders) sender.join();
  }
  if (!error.ok()) return error;
  LoadReport report;
  report.seconds =
      std::chrono::duration<double>(Clock::now() - pacer.start()).count();
  report.sent = sent.load();
  report.failed = failed.load();
  report.retried = retried.load();
  latencies.Fill(report);
  return report;
}

}  // namespace

Result<LoadReport> RunLoad(const ClientOptions& client_options,
                           const LoadOptions& options, std::ostream* progress) {
  if (options.workload != "ecommerce" && options.workload != "telemetry") {
    return Status(ErrorCode::kInvalidArgument,
                  "unknown workload '" + options.workload +
                      "'; use ecommerce or telemetry");
  }
  if (options.stream.empty() == options.delivery_stream.empty()) {
    return Status(ErrorCode::kInvalidArgument,
                  "name either a stream or a delivery stream");
  }
  if (!options.records && !options.duration) {
    return Status(ErrorCode::kInvalidArgument,
                  "say how much: a number of records or a duration");
  }
  if (options.stream.empty()) {
    return ToFirehose(client_options, options, progress);
  }
  return ToKinesis(client_options, options, progress);
}

}  // namespace sluice::client
