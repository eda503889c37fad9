#include "server/consumers/consumer_runtime.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <shared_mutex>
#include <thread>

#include "common/log.h"
#include "common/uuid.h"
#include "server/consumers/delivery.h"
#include "server/consumers/handler.h"
#include "server/consumers/stream_writer.h"
#include "server/firehose/delivery_stream_manager.h"

namespace sluice::consumers {
namespace {

using SteadyClock = std::chrono::steady_clock;

// A worker at the tip sleeps until an append or a close wakes it; this only
// bounds the sleep so a deleted stream (which wakes nobody) is noticed.
constexpr auto kIdleRecheck = std::chrono::seconds(5);
// After a failed read of the log or a failed checkpoint.
constexpr auto kErrorPause = std::chrono::seconds(1);
// How stale the saved checkpoint of a handler that skips redeliveries may
// be while its shard is busy. The catalog is synchronous FULL: saving after
// every batch put an fsync into every batch.
constexpr auto kSkippingHandlerCheckpointInterval = std::chrono::seconds(1);

Result<uint64_t> ParsePosition(const std::string& text,
                               const std::string& reader) {
  uint64_t position = 0;
  auto [ptr, ec] =
      std::from_chars(text.data(), text.data() + text.size(), position);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return Status(ErrorCode::kInternalFailure,
                  "damaged checkpoint '" + text + "' of " + reader);
  }
  return position;
}

Status NotFound(std::string_view name) {
  return Status(ErrorCode::kResourceNotFound,
                "Consumer " + std::string(name) + " not found.");
}

}  // namespace

std::string ConsumerReaderName(std::string_view consumer) {
  return "consumer/" + std::string(consumer);
}

// One consumer: its handler, its coordinator thread and its shard workers.
// Owned (shared) by the runtime; Stop() joins every thread it started.
class ConsumerRuntime::Consumer
    : public std::enable_shared_from_this<Consumer> {
 public:
  Consumer(ConsumerRuntime& runtime, catalog::EventConsumerRecord record,
           ConsumerDefinition definition, Status definition_status)
      : runtime_(runtime),
        definition_status_(std::move(definition_status)),
        record_(std::move(record)),
        definition_(std::move(definition)),
        reader_(ConsumerReaderName(record_.name)),
        writer_(runtime.streams_, runtime.delivery_streams_, record_.account_id,
                record_.region),
        paused_(record_.paused) {
    policy_.maximum_retry_attempts = definition_.maximum_retry_attempts;
    policy_.maximum_record_age_seconds = definition_.maximum_record_age_seconds;
    policy_.bisect_on_function_error = definition_.bisect_on_function_error;
    policy_.report_batch_item_failures = definition_.report_batch_item_failures;
    function_arn_ = "arn:aws:lambda:" + record_.region + ":" +
                    record_.account_id + ":function:" + record_.name;
  }

  // Builds the handler and finds the stream. A failure is kept (FAILED or
  // STREAM_NOT_FOUND) and returned.
  // Set by Initialize(), before the consumer can be found; null if FAILED.
  Handler* handler() const { return handler_.get(); }

  Status Initialize() {
    environment_.clock = &runtime_.clock_;
    environment_.data_dir = runtime_.options_.root;
    environment_.region = record_.region;
    environment_.account_id = record_.account_id;
    environment_.writer = &writer_;
    // By name: the handler may ask before the source is found below.
    environment_.source_tips = [this] {
      std::vector<std::pair<std::string, uint64_t>> tips;
      auto source = FindSourceByName();
      if (!source.ok()) return tips;
      for (const ShardRef& shard : source->shards) {
        // Nothing left to read (every record trimmed by retention) is 0, as
        // an empty shard: the consumer gets no batch of it to move a mark.
        const uint64_t tip = shard.log->Tip();
        tips.emplace_back(catalog::ShardIdFor(shard.record.shard_index),
                          shard.log->TrimHorizon() >= tip ? 0 : tip);
      }
      return tips;
    };
    json::Document settings;
    settings.Parse(definition_.handler_json.data(),
                   definition_.handler_json.size());
    const HandlerFactory* factory = FindHandlerType(definition_.handler_type);
    Status status = definition_status_;
    if (!status.ok()) {
      // Stays FAILED.
    } else if (factory == nullptr || settings.HasParseError()) {
      status = Status(ErrorCode::kInvalidArgument,
                      "Handler.type '" + definition_.handler_type +
                          "' is not a handler type.");
    } else {
      HandlerSpec spec{record_.name, definition_.handler_type, &settings,
                       &environment_};
      auto built = (*factory)(spec);
      if (built.ok()) {
        handler_ = std::move(*built);
      } else {
        status = built.status();
      }
    }
    if (!status.ok()) {
      std::lock_guard lock(mu_);
      failed_ = true;
      last_error_ = status.message();
      return status;
    }
    auto source = FindSourceByName();
    if (!source.ok()) {
      std::lock_guard lock(mu_);
      stream_missing_ = true;
      last_error_ = source.status().message();
      return source.status();
    }
    // Its identity, so a source deleted and re-created under the same name
    // later is not read.
    stream_id_ = source->Id();
    stream_arn_ = source->Arn();
    // Before Create answers: LATEST means the tip as the consumer is
    // created, not when its thread gets going.
    if (Status loaded = LoadPositions(source->shards); !loaded.ok()) {
      std::lock_guard lock(mu_);
      failed_ = true;
      last_error_ = loaded.message();
      return loaded;
    }
    return Status::Ok();
  }

  const catalog::EventConsumerRecord& record() const { return record_; }

  void Start() {
    if (handler_ == nullptr || stream_id_ == 0) return;
    coordinator_ =
        std::thread([self = shared_from_this()] { self->Coordinate(); });
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      for (auto& [index, worker] : workers_) worker->wakeup.Notify();
    }
    changed_.notify_all();
    if (coordinator_.joinable()) coordinator_.join();
  }

  void SetPaused(bool paused) {
    {
      std::lock_guard lock(mu_);
      paused_ = paused;
      for (auto& [index, worker] : workers_) worker->wakeup.Notify();
    }
    changed_.notify_all();
  }

  ConsumerView View(bool with_shards) {
    ConsumerView view;
    view.definition = definition_;
    view.account_id = record_.account_id;
    view.region = record_.region;
    view.created_at = record_.created_at;
    std::vector<std::pair<uint32_t, ShardState>> shards;
    {
      std::lock_guard lock(mu_);
      view.state = failed_           ? "FAILED"
                   : stream_missing_ ? "STREAM_NOT_FOUND"
                   : paused_         ? "PAUSED"
                                     : "ACTIVE";
      view.last_error = last_error_;
      view.batches = stats_.batches;
      view.records = stats_.records;
      view.function_errors = stats_.function_errors;
      view.failed_items = stats_.failed_items;
      view.discarded_batches = stats_.discarded_batches;
      view.discarded_records = stats_.discarded_records;
      if (with_shards) shards.assign(shards_.begin(), shards_.end());
    }
    if (shards.empty()) return view;
    std::optional<Source> source = FindSource();
    const EpochMillis now = runtime_.clock_.NowMillis();
    for (const auto& [index, state] : shards) {
      ShardView shard;
      shard.shard_id = catalog::ShardIdFor(index);
      shard.state = state.state;
      shard.position = state.position;
      shard.checkpoint_sequence_number = state.checkpoint_sequence_number;
      shard.iterator_age_millis = state.iterator_age_millis;
      storage::ShardLog* log = nullptr;
      if (source) {
        for (const ShardRef& ref : source->shards) {
          if (ref.record.shard_index == index) log = ref.log;
        }
      }
      if (log != nullptr) {
        uint64_t from = std::max(state.position, log->TrimHorizon());
        uint64_t tip = log->Tip();
        shard.records_behind = tip > from ? tip - from : 0;
        if (shard.records_behind > 0) {
          auto oldest = log->Read(from, 1, 1);
          if (oldest.ok() && !oldest->records.empty()) {
            shard.millis_behind_latest = std::max<EpochMillis>(
                0, now - oldest->records.front().arrival_millis);
          }
        }
      }
      view.max_iterator_age_millis = std::max(
          view.max_iterator_age_millis, shard.iterator_age_millis.value_or(0));
      view.max_millis_behind_latest =
          std::max(view.max_millis_behind_latest, shard.millis_behind_latest);
      view.shards.push_back(std::move(shard));
    }
    return view;
  }

 private:
  struct ShardState {
    std::string state = "WAITING_FOR_PARENTS";
    uint64_t position = 0;
    bool position_known = false;  // from a checkpoint or the first start
    std::optional<std::string> checkpoint_sequence_number;
    std::optional<int64_t> iterator_age_millis;
  };
  struct Stats {
    uint64_t batches = 0;
    uint64_t records = 0;
    uint64_t function_errors = 0;
    uint64_t failed_items = 0;
    uint64_t discarded_batches = 0;
    uint64_t discarded_records = 0;
  };
  struct Worker {
    storage::Wakeup wakeup;
    std::thread thread;
  };

  // The DeliveryContext of one lane of one shard.
  class LaneContext final : public DeliveryContext {
   public:
    LaneContext(Consumer& consumer, uint32_t shard_index)
        : consumer_(consumer), shard_index_(shard_index) {}

    bool WaitUntilRunning() override {
      std::unique_lock lock(consumer_.mu_);
      consumer_.changed_.wait(
          lock, [&] { return consumer_.stopping_ || !consumer_.paused_; });
      return !consumer_.stopping_;
    }

    bool WaitBeforeRetry(int64_t retry) override {
      return consumer_.Pause(consumer_.RetryDelay(retry));
    }

    void Called(const Batch& batch, const HandlerResult& result,
                EpochMillis handed_over_at) override {
      std::lock_guard lock(consumer_.mu_);
      Stats& stats = consumer_.stats_;
      ++stats.batches;
      stats.records += batch.records.size();
      if (result.function_error) ++stats.function_errors;
      stats.failed_items += result.failed_items.size();
      consumer_.shards_[shard_index_].iterator_age_millis =
          handed_over_at - batch.records.back().arrival_millis;
    }

    bool Discard(const Batch& batch, const DiscardedBatch& why) override {
      return consumer_.ReportFailure(batch, why);
    }

   private:
    Consumer& consumer_;
    const uint32_t shard_index_;
  };

  std::chrono::milliseconds RetryDelay(int64_t retry) const {
    const RuntimeOptions& options = runtime_.options_;
    auto delay = options.first_retry_delay;
    for (int64_t i = 1; i < retry && delay < options.max_retry_delay; ++i) {
      delay *= 2;
    }
    return std::min(delay, options.max_retry_delay);
  }

  // Waits `delay` unless the consumer stops first; false when it stops.
  bool Pause(std::chrono::milliseconds delay) {
    std::unique_lock lock(mu_);
    changed_.wait_for(lock, delay, [&] { return stopping_; });
    return !stopping_;
  }

  bool Stopping() {
    std::lock_guard lock(mu_);
    return stopping_;
  }

  // Sends the on-failure record; retries a failing destination until it
  // works or the consumer stops (then false: the batch stays unacknowledged).
  bool ReportFailure(const Batch& batch, const DiscardedBatch& why) {
    const std::string record = OnFailureRecord(
        batch, why, function_arn_, NewUuid(), runtime_.clock_.NowMillis());
    {
      std::lock_guard lock(mu_);
      ++stats_.discarded_batches;
      stats_.discarded_records += batch.records.size();
    }
    const OnFailureDestination& destination = definition_.on_failure;
    if (destination.kind == OnFailureDestination::Kind::kNone) {
      SLUICE_LOG(kWarn) << "consumer " << record_.name << " discarded "
                        << batch.records.size() << " records of "
                        << batch.shard_id << " (" << why.condition
                        << "); no on-failure destination";
      return true;
    }
    for (int64_t attempt = 1;; ++attempt) {
      Status sent = Status::Ok();
      if (destination.kind == OnFailureDestination::Kind::kFile) {
        sent = AppendLine(record);
      } else {
        sent = writer_
                   .PutTo({destination.stream_account_id,
                           destination.stream_region, destination.stream_name},
                          batch.shard_id, record)
                   .status();
      }
      if (sent.ok()) return true;
      SLUICE_LOG(kError) << "consumer " << record_.name
                         << " cannot send an on-failure record to "
                         << destination.destination << ": " << sent.message();
      {
        std::lock_guard lock(mu_);
        last_error_ = sent.message();
      }
      if (!Pause(RetryDelay(attempt))) return false;
    }
  }

  // Appends one line to the JSONL destination and fsyncs it: the report is
  // durable before the checkpoint moves past the batch.
  Status AppendLine(const std::string& line) {
    std::lock_guard lock(file_mu_);
    std::filesystem::path path = std::filesystem::path(runtime_.options_.root) /
                                 definition_.on_failure.file_path;
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    int fd =
        ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      return Status(
          ErrorCode::kInternalFailure,
          "cannot open " + path.string() + ": " + std::strerror(errno));
    }
    std::string text = line + "\n";
    size_t done = 0;
    while (done < text.size()) {
      ssize_t wrote = ::write(fd, text.data() + done, text.size() - done);
      if (wrote < 0 && errno == EINTR) continue;
      if (wrote <= 0) break;
      done += static_cast<size_t>(wrote);
    }
    bool ok = done == text.size() && ::fsync(fd) == 0;
    int error = errno;
    ::close(fd);
    if (!ok) {
      return Status(
          ErrorCode::kInternalFailure,
          "cannot write " + path.string() + ": " + std::strerror(error));
    }
    return Status::Ok();
  }

  // A shard of the source, copied out under the source's lock. The log and
  // notifier live as long as the source, which Source holds.
  struct ShardRef {
    catalog::ShardRecord record;
    storage::ShardLog* log = nullptr;
    std::shared_ptr<storage::AppendNotifier> appended;
  };
  // The source as it is now: a Kinesis stream with its shards, or a
  // delivery stream whose own log reads as one shard (shardId-000000000000,
  // never closed).
  struct Source {
    std::shared_ptr<kinesis::LiveStream> stream;
    std::shared_ptr<firehose::LiveDeliveryStream> delivery_stream;
    std::vector<ShardRef> shards;

    // The catalog id of the stream or delivery stream, and its ARN.
    int64_t Id() const {
      if (stream) {
        std::shared_lock lock(stream->mu);
        return stream->record.stream_id;
      }
      std::lock_guard lock(delivery_stream->mu);
      return delivery_stream->record.delivery_stream_id;
    }
    std::string Arn() const {
      if (stream) {
        std::shared_lock lock(stream->mu);
        return stream->record.Arn();
      }
      std::lock_guard lock(delivery_stream->mu);
      return delivery_stream->record.Arn();
    }
  };

  bool ReadsDeliveryStream() const {
    return !definition_.delivery_stream_name.empty();
  }

  static Source SourceOf(std::shared_ptr<kinesis::LiveStream> stream) {
    Source source;
    {
      std::shared_lock lock(stream->mu);
      for (const kinesis::LiveShard& shard : stream->shards) {
        source.shards.push_back(
            {shard.record, shard.log.get(), shard.appended});
      }
    }
    source.stream = std::move(stream);
    return source;
  }
  static Source SourceOf(
      std::shared_ptr<firehose::LiveDeliveryStream> delivery_stream) {
    Source source;
    source.shards.push_back(
        {{}, delivery_stream->log.get(), delivery_stream->appended});
    source.delivery_stream = std::move(delivery_stream);
    return source;
  }

  Result<std::shared_ptr<firehose::LiveDeliveryStream>> FindDeliveryStream()
      const {
    if (runtime_.delivery_streams_ == nullptr) {
      return Status(ErrorCode::kResourceNotFound,
                    "this server has no delivery streams");
    }
    return runtime_.delivery_streams_->Find(
        {record_.account_id, record_.region, definition_.delivery_stream_name});
  }

  // The source of the definition's name, whichever incarnation it is.
  Result<Source> FindSourceByName() const {
    if (ReadsDeliveryStream()) {
      auto found = FindDeliveryStream();
      if (!found.ok()) return found.status();
      return SourceOf(std::move(*found));
    }
    auto stream = runtime_.streams_.Find(
        {record_.account_id, record_.region, definition_.stream_name});
    if (!stream.ok()) return stream.status();
    return SourceOf(std::move(*stream));
  }

  // The source Initialize() found, as it is now; nullopt once deleted.
  std::optional<Source> FindSource() const {
    if (!ReadsDeliveryStream()) {
      auto stream = runtime_.streams_.FindById(stream_id_);
      if (!stream) return std::nullopt;
      return SourceOf(std::move(stream));
    }
    auto found = FindSourceByName();
    if (!found.ok() || found->Id() != stream_id_) return std::nullopt;
    return std::move(*found);
  }

  static bool IsOpen(const Source& source, uint32_t index) {
    if (!source.stream) return true;
    std::shared_lock lock(source.stream->mu);
    return source.stream->shards[index].record.IsOpen();
  }

  // A shard's saved position: a reader checkpoint of a Kinesis shard, or
  // the reader's position in a delivery stream's log, which also keeps the
  // delivery engine from trimming what the consumer has not read
  // (catalog.h, delivery_readers).
  Result<std::optional<uint64_t>> LoadPosition(uint32_t index) {
    if (ReadsDeliveryStream()) {
      return runtime_.catalog_.LoadDeliveryReaderPosition(reader_, stream_id_);
    }
    auto saved = runtime_.catalog_.LoadCheckpoint(reader_, stream_id_, index);
    if (!saved.ok()) return saved.status();
    if (!saved->has_value()) return std::optional<uint64_t>();
    auto position = ParsePosition(**saved, reader_);
    if (!position.ok()) return position.status();
    return std::optional<uint64_t>(*position);
  }

  Status SavePosition(uint32_t index, uint64_t position) {
    if (ReadsDeliveryStream()) {
      return runtime_.catalog_.SaveDeliveryReaderPosition(reader_, stream_id_,
                                                          position);
    }
    return runtime_.catalog_.SaveCheckpoint(reader_, stream_id_, index,
                                            std::to_string(position));
  }

  // Loads saved positions. At the very first start (no checkpoint of any
  // shard) saves one for every shard from StartingPosition.
  Status LoadPositions(const std::vector<ShardRef>& shards) {
    bool fresh = true;
    for (const ShardRef& shard : shards) {
      auto saved = LoadPosition(shard.record.shard_index);
      if (!saved.ok()) return saved.status();
      if (!saved->has_value()) continue;
      fresh = false;
      std::lock_guard lock(mu_);
      ShardState& state = shards_[shard.record.shard_index];
      state.position = **saved;
      state.position_known = true;
    }
    if (!fresh) return Status::Ok();
    for (const ShardRef& shard : shards) {
      uint64_t position = shard.log->TrimHorizon();
      switch (definition_.starting_position) {
        case StartingPosition::kTrimHorizon:
          break;
        case StartingPosition::kLatest:
          position = shard.log->Tip();
          break;
        case StartingPosition::kAtTimestamp: {
          auto found = shard.log->SeekTime(definition_.starting_timestamp);
          if (!found.ok()) return found.status();
          position = *found;
          break;
        }
      }
      if (Status s = SavePosition(shard.record.shard_index, position);
          !s.ok()) {
        return s;
      }
      std::lock_guard lock(mu_);
      ShardState& state = shards_[shard.record.shard_index];
      state.position = position;
      state.position_known = true;
    }
    return Status::Ok();
  }

  bool Finished(std::optional<uint32_t> index) {
    if (!index) return true;
    auto it = shards_.find(*index);
    return it != shards_.end() && it->second.state == "FINISHED";
  }

  // The coordinator: starts a worker for each shard whose parents are
  // finished; runs again whenever a worker finishes its shard.
  void Coordinate() {
    while (true) {
      std::optional<Source> source = FindSource();
      if (!source) {
        std::lock_guard lock(mu_);
        stream_missing_ = true;
        last_error_ = ReadsDeliveryStream()
                          ? "the source delivery stream " +
                                definition_.delivery_stream_name +
                                " was deleted"
                          : "the source stream " + definition_.stream_name +
                                " was deleted";
        break;
      }
      std::unique_lock lock(mu_);
      if (stopping_) break;
      for (const ShardRef& shard : source->shards) {
        const uint32_t index = shard.record.shard_index;
        shards_.try_emplace(index);
        if (workers_.count(index) || Finished(index)) continue;
        if (!Finished(shard.record.parent_index) ||
            !Finished(shard.record.adjacent_parent_index)) {
          continue;
        }
        shards_[index].state = "READING";
        auto worker = std::make_unique<Worker>();
        Worker* raw = worker.get();
        workers_[index] = std::move(worker);
        raw->thread = std::thread([this, source = *source, shard, raw] {
          RunShard(source, shard, *raw);
        });
      }
      shard_finished_ = false;
      changed_.wait_for(lock, kIdleRecheck,
                        [&] { return stopping_ || shard_finished_; });
      if (stopping_) break;
    }
    std::map<uint32_t, std::unique_ptr<Worker>> workers;
    {
      std::lock_guard lock(mu_);
      stopping_ = true;  // a deleted stream stops the workers too
      for (auto& [index, worker] : workers_) worker->wakeup.Notify();
      workers.swap(workers_);
    }
    changed_.notify_all();
    for (auto& [index, worker] : workers) worker->thread.join();
  }

  // Reads one shard to its end (when closed) or forever, in rounds: a round
  // reads up to BatchSize records per lane, hands each lane its records
  // (in batches of at most BatchSize), and saves the checkpoint after it.
  void RunShard(Source source, ShardRef shard, Worker& worker) {
    const uint32_t index = shard.record.shard_index;
    shard.appended->Add(&worker.wakeup);
    uint64_t position = 0;
    bool known = false;
    {
      std::lock_guard lock(mu_);
      position = shards_[index].position;
      known = shards_[index].position_known;
    }
    if (!known) {  // a shard born after the first start: from its start
      position = shard.log->TrimHorizon();
      auto saved = LoadPosition(index);
      if (saved.ok() && saved->has_value()) position = **saved;
    }
    const uint32_t lanes =
        static_cast<uint32_t>(definition_.parallelization_factor);
    const uint64_t round_records =
        static_cast<uint64_t>(definition_.batch_size) * lanes;
    const EpochMillis window_millis =
        definition_.batching_window_seconds * 1000;
    EpochMillis gathering_since = 0;
    // With a handler that skips redeliveries, checkpoints are kept in memory
    // between saves; `unsaved` is the last one not in the catalog yet.
    const bool skipping_handler = handler_->SkipsRedeliveries();
    std::optional<std::pair<uint64_t, std::string>> unsaved;
    auto last_save = SteadyClock::now();
    auto save_unsaved = [&] {
      if (!unsaved) return;
      Checkpoint(index, unsaved->first, std::move(unsaved->second));
      unsaved.reset();
      last_save = SteadyClock::now();
    };
    while (true) {
      {
        std::unique_lock lock(mu_);
        if ((stopping_ || paused_) && unsaved) {
          lock.unlock();
          save_unsaved();
          lock.lock();
        }
        changed_.wait(lock, [&] { return stopping_ || !paused_; });
        if (stopping_) break;
      }
      const bool open = IsOpen(source, index);
      const uint64_t tip = shard.log->Tip();
      position = std::max(position, shard.log->TrimHorizon());
      if (position >= tip) {
        save_unsaved();  // caught up: the checkpoint goes to the catalog now
        if (!open) {
          // Read to its end: the children may go.
          Checkpoint(index, position, std::nullopt);
          std::lock_guard lock(mu_);
          shards_[index].state = "FINISHED";
          shard_finished_ = true;
          changed_.notify_all();
          break;
        }
        worker.wakeup.WaitUntil(SteadyClock::now() + kIdleRecheck);
        continue;
      }
      if (window_millis > 0 && open && tip - position < round_records) {
        const EpochMillis now = runtime_.clock_.NowMillis();
        if (gathering_since == 0) gathering_since = now;
        const EpochMillis left = BatchingWindowLeft(
            tip - position, round_records, window_millis, gathering_since, now);
        if (left > 0) {
          worker.wakeup.WaitUntil(SteadyClock::now() +
                                  std::chrono::milliseconds(left));
          continue;
        }
      }
      gathering_since = 0;
      auto read =
          shard.log->Read(position, round_records, kMaxBatchBytes * lanes);
      if (!read.ok()) {
        Failed("reading " + catalog::ShardIdFor(index) + ": " +
               read.status().message());
        if (!Pause(std::chrono::duration_cast<std::chrono::milliseconds>(
                kErrorPause))) {
          break;
        }
        continue;
      }
      if (read->records.empty()) {
        position = read->next_offset;
        continue;
      }
      std::string last_sequence = read->records.back().sequence_number;
      if (DeliverRound(index, std::move(read->records), lanes) ==
          DeliveryOutcome::kStopped) {
        break;
      }
      position = read->next_offset;
      if (skipping_handler &&
          SteadyClock::now() - last_save < kSkippingHandlerCheckpointInterval) {
        Remember(index, position, last_sequence);
        unsaved.emplace(position, std::move(last_sequence));
      } else {
        unsaved.reset();
        Checkpoint(index, position, std::move(last_sequence));
        last_save = SteadyClock::now();
      }
    }
    save_unsaved();
    shard.appended->Remove(&worker.wakeup);
  }

  void Failed(const std::string& why) {
    SLUICE_LOG(kError) << "consumer " << record_.name << ": " << why;
    std::lock_guard lock(mu_);
    last_error_ = why;
  }

  void Checkpoint(uint32_t index, uint64_t position,
                  std::optional<std::string> last_sequence) {
    Status saved = SavePosition(index, position);
    if (!saved.ok()) {
      // The records are handled; a restart before the next save hands them
      // over again, which at-least-once allows.
      Failed("saving the checkpoint of " + catalog::ShardIdFor(index) + ": " +
             saved.message());
    }
    Remember(index, position, std::move(last_sequence));
  }

  // The checkpoint as DescribeConsumer shows it and a resume after a pause
  // starts from; Checkpoint() also saves it in the catalog.
  void Remember(uint32_t index, uint64_t position,
                std::optional<std::string> last_sequence) {
    std::lock_guard lock(mu_);
    ShardState& state = shards_[index];
    state.position = position;
    state.position_known = true;
    if (last_sequence) state.checkpoint_sequence_number = last_sequence;
  }

  std::vector<Batch> Batches(uint32_t index, uint32_t lane, uint32_t lanes,
                             std::vector<ConsumerRecord> records) {
    Batch shape;
    shape.consumer = record_.name;
    shape.stream_arn = stream_arn_;
    shape.shard_id = catalog::ShardIdFor(index);
    shape.lane = lane;
    shape.lane_count = lanes;
    return SplitIntoBatches(shape, std::move(records),
                            static_cast<size_t>(definition_.batch_size),
                            kMaxBatchBytes);
  }

  DeliveryOutcome DeliverLane(uint32_t index, std::vector<Batch> batches) {
    LaneContext context(*this, index);
    for (const Batch& batch : batches) {
      if (DeliverBatch(*handler_, batch, policy_, runtime_.clock_, context) ==
          DeliveryOutcome::kStopped) {
        return DeliveryOutcome::kStopped;
      }
    }
    return DeliveryOutcome::kDone;
  }

  // Hands a round's records to the lanes: one partition key always goes to
  // the same lane, in order; lanes run at once, each on its own thread.
  DeliveryOutcome DeliverRound(uint32_t index,
                               std::vector<storage::StoredRecord> stored,
                               uint32_t lanes) {
    std::vector<std::vector<ConsumerRecord>> by_lane(lanes);
    for (storage::StoredRecord& record : stored) {
      uint32_t lane = lanes == 1 ? 0 : LaneOf(record.partition_key, lanes);
      by_lane[lane].push_back({record.offset, std::move(record.sequence_number),
                               std::move(record.partition_key),
                               std::move(record.data), record.arrival_millis});
    }
    if (lanes == 1) {
      return DeliverLane(index, Batches(index, 0, 1, std::move(by_lane[0])));
    }
    std::vector<DeliveryOutcome> outcomes(lanes, DeliveryOutcome::kDone);
    std::vector<std::thread> threads;
    for (uint32_t lane = 0; lane < lanes; ++lane) {
      if (by_lane[lane].empty()) continue;
      threads.emplace_back([this, index, lane, lanes, &outcomes, &by_lane] {
        outcomes[lane] = DeliverLane(
            index, Batches(index, lane, lanes, std::move(by_lane[lane])));
      });
    }
    for (std::thread& thread : threads) thread.join();
    for (DeliveryOutcome outcome : outcomes) {
      if (outcome == DeliveryOutcome::kStopped) return outcome;
    }
    return DeliveryOutcome::kDone;
  }

  ConsumerRuntime& runtime_;
  const Status definition_status_;  // not OK: the stored definition is bad
  const catalog::EventConsumerRecord record_;
  const ConsumerDefinition definition_;
  const std::string reader_;
  DeliveryPolicy policy_;
  std::string function_arn_;
  HandlerEnvironment environment_;
  ServerStreamWriter writer_;
  std::unique_ptr<Handler> handler_;  // null when FAILED
  // The source's catalog id (a stream's, or a delivery stream's); 0 when
  // it was not found.
  int64_t stream_id_ = 0;
  std::string stream_arn_;
  std::mutex file_mu_;  // serialises appends to the on-failure file

  std::mutex mu_;
  std::condition_variable changed_;  // stopping_, paused_, shard_finished_
  bool stopping_ = false;            // guarded by mu_
  bool paused_ = false;              // guarded by mu_
  bool shard_finished_ = false;      // guarded by mu_
  bool failed_ = false;              // guarded by mu_
  bool stream_missing_ = false;      // guarded by mu_
  std::string last_error_;           // guarded by mu_
  Stats stats_;                      // guarded by mu_
  std::map<uint32_t, ShardState> shards_;                // guarded by mu_
  std::map<uint32_t, std::unique_ptr<Worker>> workers_;  // guarded by mu_
  std::thread coordinator_;
};

ConsumerRuntime::ConsumerRuntime(
    kinesis::StreamManager& streams,
    firehose::DeliveryStreamManager* delivery_streams,
    catalog::Catalog& catalog, const Clock& clock, RuntimeOptions options)
    : streams_(streams),
      delivery_streams_(delivery_streams),
      catalog_(catalog),
      clock_(clock),
      options_(std::move(options)) {}

ConsumerRuntime::~ConsumerRuntime() { Stop(); }

std::shared_ptr<ConsumerRuntime::Consumer> ConsumerRuntime::Build(
    catalog::EventConsumerRecord record) {
  auto definition = ParseConsumerDefinition(record.definition);
  if (!definition.ok()) {
    // Kept (FAILED), so it is listed and can be deleted: a stored
    // definition this build cannot read (a handler type it lacks).
    ConsumerDefinition named;
    named.name = record.name;
    return std::make_shared<Consumer>(*this, std::move(record),
                                      std::move(named), definition.status());
  }
  return std::make_shared<Consumer>(*this, std::move(record),
                                    std::move(*definition), Status::Ok());
}

Status ConsumerRuntime::Start() {
  auto stored = catalog_.ListEventConsumers();
  if (!stored.ok()) return stored.status();
  for (catalog::EventConsumerRecord& record : *stored) {
    std::shared_ptr<Consumer> consumer = Build(record);
    if (Status s = consumer->Initialize(); !s.ok()) {
      SLUICE_LOG(kError) << "consumer " << record.name
                         << " not started: " << s.message();
    }
    consumer->Start();
    std::lock_guard lock(mu_);
    consumers_[record.name] = consumer;
  }
  return Status::Ok();
}

void ConsumerRuntime::Stop() {
  std::map<std::string, std::shared_ptr<Consumer>, std::less<>> consumers;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    consumers.swap(consumers_);
  }
  for (auto& [name, consumer] : consumers) consumer->Stop();
}

Status ConsumerRuntime::Create(const ConsumerDefinition& definition,
                               const std::string& account_id,
                               const std::string& region) {
  std::lock_guard control(control_mu_);
  {
    std::lock_guard lock(mu_);
    if (stopped_) {
      return Status(ErrorCode::kServiceUnavailable, "The server is stopping.");
    }
    if (consumers_.count(definition.name)) {
      return Status(ErrorCode::kResourceInUse,
                    "Consumer " + definition.name + " already exists.");
    }
  }
  const OnFailureDestination& destination = definition.on_failure;
  if (destination.kind == OnFailureDestination::Kind::kFile &&
      options_.root.empty()) {
    return Status(ErrorCode::kInvalidArgument,
                  "DestinationConfig.OnFailure.Destination " +
                      destination.destination +
                      " needs a consumer root: start sluice with "
                      "--consumer-root or a data directory.");
  }
  if (destination.kind == OnFailureDestination::Kind::kStream) {
    auto found =
        streams_.Find({destination.stream_account_id, destination.stream_region,
                       destination.stream_name});
    if (!found.ok()) {
      return Status(found.status().code(),
                    "DestinationConfig.OnFailure.Destination: " +
                        found.status().message());
    }
  }
  catalog::EventConsumerRecord record;
  record.name = definition.name;
  record.account_id = account_id;
  record.region = region;
  record.definition = definition.ToJson();
  record.created_at = clock_.NowMillis();
  std::shared_ptr<Consumer> consumer = Build(record);
  if (Status s = consumer->Initialize(); !s.ok()) return s;
  if (Status s = catalog_.CreateEventConsumer(record); !s.ok()) return s;
  consumer->Start();
  std::lock_guard lock(mu_);
  consumers_[record.name] = consumer;
  SLUICE_LOG(kInfo) << "consumer " << record.name << " reads "
                    << (definition.delivery_stream_name.empty()
                            ? "stream " + definition.stream_name
                            : "delivery stream " +
                                  definition.delivery_stream_name)
                    << " with handler " << definition.handler_type;
  return Status::Ok();
}

Status ConsumerRuntime::Declare(const ConsumerDefinition& definition,
                                const std::string& account_id,
                                const std::string& region) {
  {
    std::lock_guard lock(mu_);
    if (consumers_.count(definition.name)) return Status::Ok();
  }
  return Create(definition, account_id, region);
}

Result<std::shared_ptr<ConsumerRuntime::Consumer>> ConsumerRuntime::Find(
    std::string_view name) {
  std::lock_guard lock(mu_);
  auto it = consumers_.find(name);
  if (it == consumers_.end()) return NotFound(name);
  return it->second;
}

Status ConsumerRuntime::Delete(std::string_view name) {
  std::lock_guard control(control_mu_);
  auto consumer = Find(name);
  if (!consumer.ok()) return consumer.status();
  (*consumer)->Stop();
  {
    std::lock_guard lock(mu_);
    consumers_.erase(consumers_.find(name));
  }
  return catalog_.DeleteEventConsumer(name, ConsumerReaderName(name));
}

Status ConsumerRuntime::Pause(std::string_view name) {
  std::lock_guard control(control_mu_);
  auto consumer = Find(name);
  if (!consumer.ok()) return consumer.status();
  if (Status s = catalog_.SetEventConsumerPaused(name, true); !s.ok()) return s;
  (*consumer)->SetPaused(true);
  return Status::Ok();
}

Status ConsumerRuntime::Resume(std::string_view name) {
  std::lock_guard control(control_mu_);
  auto consumer = Find(name);
  if (!consumer.ok()) return consumer.status();
  if (Status s = catalog_.SetEventConsumerPaused(name, false); !s.ok())
    return s;
  (*consumer)->SetPaused(false);
  return Status::Ok();
}

Result<std::shared_ptr<Handler>> ConsumerRuntime::HandlerOf(
    std::string_view name) {
  auto consumer = Find(name);
  if (!consumer.ok()) return consumer.status();
  Handler* handler = (*consumer)->handler();
  if (handler == nullptr) {
    return Status(ErrorCode::kResourceNotFound,
                  "Consumer " + std::string(name) + " has no working handler.");
  }
  // Shares ownership with the consumer, so a DeleteConsumer meanwhile
  // cannot destroy the handler under the caller.
  return std::shared_ptr<Handler>(*consumer, handler);
}

Result<ConsumerView> ConsumerRuntime::Describe(std::string_view name) {
  auto consumer = Find(name);
  if (!consumer.ok()) return consumer.status();
  return (*consumer)->View(/*with_shards=*/true);
}

std::vector<ConsumerView> ConsumerRuntime::List() {
  std::vector<std::shared_ptr<Consumer>> consumers;
  {
    std::lock_guard lock(mu_);
    for (auto& [name, consumer] : consumers_) consumers.push_back(consumer);
  }
  std::vector<ConsumerView> views;
  for (auto& consumer : consumers) views.push_back(consumer->View(false));
  return views;
}

}  // namespace sluice::consumers
