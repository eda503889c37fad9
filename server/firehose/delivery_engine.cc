#include "server/firehose/delivery_engine.h"

#include <algorithm>
#include <charconv>
#include <shared_mutex>

#include "common/json.h"
#include "common/log.h"
#include "common/uuid.h"
#include "server/firehose/compression.h"
#include "server/firehose/delivery_batch.h"
#include "server/firehose/http_delivery.h"
#include "server/firehose/kinesis_source.h"
#include "server/firehose/s3_key.h"

namespace sluice::firehose {
namespace {

// Records and bytes read from a log at a time.
constexpr size_t kReadRecords = 10000;
constexpr size_t kReadBytes = 16u << 20;
// How long delivered records an in-process consumer has not read yet are
// kept: a day, a Kinesis stream's default retention, so a paused or failed
// application cannot make the log grow without end.
constexpr EpochMillis kReaderHoldMillis = 24 * 3600 * 1000;

// One object to write: which records, where, and how; saved before the
// object is written so that a restart writes the very same object.
struct Plan {
  uint64_t from = 0;
  uint64_t to = 0;
  std::string bucket;
  std::string key;
  std::string compression;
  bool delimiter = false;
  // With a Lambda processor: the transform, and the key of the error object
  // that gets the records it fails (same bucket and compression). Plans
  // stored before transforms existed have no "lambda" member.
  std::optional<LambdaProcessor> lambda;
  std::string error_key;
  // HttpEndpoint destinations: the batch's progress (http_delivery.h), and
  // `key` is its AllData copy's.
  std::string http;
};

std::string PlanToJson(const Plan& plan) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> out(buffer);
  out.StartObject();
  out.Key("from");
  out.Uint64(plan.from);
  out.Key("to");
  out.Uint64(plan.to);
  out.Key("bucket");
  out.String(plan.bucket.data(),
             static_cast<rapidjson::SizeType>(plan.bucket.size()));
  out.Key("key");
  out.String(plan.key.data(),
             static_cast<rapidjson::SizeType>(plan.key.size()));
  out.Key("compression");
  out.String(plan.compression.data(),
             static_cast<rapidjson::SizeType>(plan.compression.size()));
  out.Key("delimiter");
  out.Bool(plan.delimiter);
  if (plan.lambda) {
    out.Key("lambda");
    out.StartObject();
    out.Key("arn");
    out.String(
        plan.lambda->lambda_arn.data(),
        static_cast<rapidjson::SizeType>(plan.lambda->lambda_arn.size()));
    out.Key("retries");
    out.Int64(plan.lambda->number_of_retries);
    out.Key("buffer_bytes");
    out.Uint64(plan.lambda->buffer_bytes);
    out.Key("error_key");
    out.String(plan.error_key.data(),
               static_cast<rapidjson::SizeType>(plan.error_key.size()));
    out.EndObject();
  }
  if (!plan.http.empty()) {
    out.Key("http");
    out.String(plan.http.data(),
               static_cast<rapidjson::SizeType>(plan.http.size()));
  }
  out.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

Result<Plan> PlanFromJson(const std::string& text) {
  json::Document doc;
  doc.Parse(text.data(), text.size());
  auto bad = [&] {
    return Status(ErrorCode::kInternalFailure,
                  "catalog holds a damaged planned object: " + text);
  };
  if (doc.HasParseError() || !doc.IsObject()) return bad();
  for (const char* name : {"from", "to"}) {
    if (!doc.HasMember(name) || !doc[name].IsUint64()) return bad();
  }
  for (const char* name : {"bucket", "key", "compression"}) {
    if (!doc.HasMember(name) || !doc[name].IsString()) return bad();
  }
  if (!doc.HasMember("delimiter") || !doc["delimiter"].IsBool()) return bad();
  Plan plan;
  plan.from = doc["from"].GetUint64();
  plan.to = doc["to"].GetUint64();
  plan.bucket = json::AsView(doc["bucket"]);
  plan.key = json::AsView(doc["key"]);
  plan.compression = json::AsView(doc["compression"]);
  plan.delimiter = doc["delimiter"].GetBool();
  if (doc.HasMember("http")) {
    if (!doc["http"].IsString()) return bad();
    plan.http = json::AsView(doc["http"]);
  }
  if (plan.to <= plan.from) return bad();
  if (auto lambda = doc.FindMember("lambda"); lambda != doc.MemberEnd()) {
    const json::Value& l = lambda->value;
    if (!l.IsObject() || !l.HasMember("arn") || !l["arn"].IsString() ||
        !l.HasMember("retries") || !l["retries"].IsInt64() ||
        !l.HasMember("buffer_bytes") || !l["buffer_bytes"].IsUint64() ||
        !l.HasMember("error_key") || !l["error_key"].IsString()) {
      return bad();
    }
    auto processor =
        LambdaProcessorFromArn(json::AsView(l["arn"]), l["retries"].GetInt64(),
                               l["buffer_bytes"].GetUint64());
    if (!processor.ok()) return bad();
    plan.lambda = std::move(*processor);
    plan.error_key = json::AsView(l["error_key"]);
  }
  return plan;
}

// What a plan's records become.
struct BuiltObject {
  std::string body;  // compressed
  uint64_t records = 0;
  std::string errors;  // compressed; with a Lambda processor only
  uint64_t error_records = 0;
  uint64_t data_bytes = 0;  // of the records as received
};

// The transform's view of a record. A Kinesis source's copies carry
// "<shard index>:<offset>" as their origin (kinesis_source.h); the source
// record, while its shard still holds it, gives the sequence number of
// kinesisRecordMetadata, and its partition key unless the record is a user
// record of a KPL aggregate, which has its own.
TransformRecord ToTransformRecord(const DeliveryRecord& record,
                                  kinesis::LiveStream* source) {
  TransformRecord out;
  out.record_id = std::to_string(record.offset);
  if (record.subsequence) {
    out.record_id += "." + std::to_string(*record.subsequence);
  }
  out.arrival_millis = record.arrival_millis;
  out.data = record.data;
  const std::string& origin = record.origin;
  const char* end = origin.data() + origin.size();
  uint32_t shard = 0;
  uint64_t offset = 0;
  auto parsed = std::from_chars(origin.data(), end, shard);
  if (parsed.ec != std::errc() || parsed.ptr == end || *parsed.ptr != ':' ||
      std::from_chars(parsed.ptr + 1, end, offset).ec != std::errc()) {
    return out;
  }
  KinesisRecordMetadata& metadata = out.kinesis.emplace();
  metadata.shard_id = catalog::ShardIdFor(shard);
  metadata.subsequence_number = record.subsequence.value_or(0);
  if (source == nullptr) return out;
  storage::ShardLog* log = nullptr;
  {
    std::shared_lock lock(source->mu);
    for (const kinesis::LiveShard& live : source->shards) {
      if (live.record.shard_index == shard) log = live.log.get();
    }
  }
  if (log == nullptr) return out;
  auto read = log->Read(offset, 1, kReadBytes);
  if (read.ok() && !read->records.empty() &&
      read->records.front().offset == offset) {
    metadata.partition_key = record.subsequence
                                 ? record.user_partition_key
                                 : read->records.front().partition_key;
    metadata.sequence_number = read->records.front().sequence_number;
  }
  return out;
}

// The object's bytes: records [from, to) as received (plus a newline each
// with AppendDelimiterToRecord), then compressed; for a Kinesis source, KPL
// aggregated records as their user records. With a Lambda processor the
// records go through the transform first: Ok ones (as transformed) into the
// object, failed ones into the error object, dropped ones nowhere.
Result<BuiltObject> BuildObject(storage::ShardLog& log, const Plan& plan,
                                const Transformer& transformer,
                                const TransformContext& context,
                                kinesis::LiveStream* source, bool deaggregate,
                                const Clock& clock) {
  BuiltObject built;
  std::string& body = built.body;
  auto range = ReadDeliveryRecords(log, plan.from, plan.to, deaggregate);
  if (!range.ok()) return range.status();
  built.data_bytes = range->log_bytes;
  if (plan.lambda) {
    std::vector<TransformRecord> inputs;
    inputs.reserve(range->records.size());
    for (const DeliveryRecord& record : range->records) {
      inputs.push_back(ToTransformRecord(record, source));
    }
    Result<TransformedObject> transformed =
        transformer.Apply(*plan.lambda, context, inputs, plan.delimiter, clock);
    if (!transformed.ok()) return transformed.status();
    body = std::move(transformed->body);
    built.records = transformed->body_records;
    built.errors = std::move(transformed->errors);
    built.error_records = transformed->error_records;
  } else {
    for (const DeliveryRecord& record : range->records) {
      body += record.data;
      if (plan.delimiter) body += '\n';
    }
    built.records = range->records.size();
  }
  // A ZIP entry is named after its object's key.
  for (auto [bytes, key] : {std::pair{&body, &plan.key},
                            std::pair{&built.errors, &plan.error_key}}) {
    if (bytes->empty()) continue;
    Result<std::string> compressed =
        CompressObject(plan.compression, *key, std::move(*bytes));
    if (!compressed.ok()) return compressed.status();
    *bytes = std::move(*compressed);
  }
  return built;
}

Result<EpochMillis> ArrivalOf(storage::ShardLog& log, uint64_t offset) {
  auto read = log.Read(offset, 1, kReadBytes);
  if (!read.ok()) return read.status();
  if (read->records.empty()) {
    return Status(
        ErrorCode::kInternalFailure,
        "delivery stream log has no record " + std::to_string(offset));
  }
  return read->records.front().arrival_millis;
}

struct HttpPlanOutcome : HttpBatchOutcome {
  uint64_t data_bytes = 0;  // of the batch's records
};

// One step of a planned batch to an HTTP endpoint (http_delivery.h); its
// progress is saved in the plan. REQUIRES: stream.delivery_mu held.
Result<HttpPlanOutcome> DeliverHttpPlanLocked(
    catalog::Catalog& catalog, const Clock& clock,
    const DeliveryEngineOptions& options, LiveDeliveryStream& stream,
    const catalog::DeliveryStreamRecord& record,
    const S3Destination& destination, Plan& plan,
    const std::filesystem::path& bucket_dir) {
  // A plan made before UpdateDestination switched to an HTTP endpoint has no
  // HTTP progress yet.
  auto state = plan.http.empty() ? Result(HttpDeliveryState::New())
                                 : HttpDeliveryState::FromJson(plan.http);
  if (!state.ok()) return state.status();
  auto range = ReadDeliveryRecords(*stream.log, plan.from, plan.to,
                                   /*deaggregate=*/stream.source.has_value());
  if (!range.ok()) return range.status();
  const std::string arn = record.Arn();
  HttpBatch batch{destination,    record.name, record.version_id, arn,
                  range->records, bucket_dir,  plan.key};
  HttpDeliveryEnv env{clock, *options.file_ops, options.retry_delay,
                      kHttpEndpointTimeout,
                      [&](const HttpDeliveryState& progress) -> Status {
                        plan.http = progress.ToJson();
                        std::string json = PlanToJson(plan);
                        if (Status s = catalog.SaveDeliveryCheckpoint(
                                record.delivery_stream_id, plan.from, json);
                            !s.ok()) {
                          return s;
                        }
                        std::lock_guard lock(stream.mu);
                        stream.record.planned_object = std::move(json);
                        return Status::Ok();
                      }};
  auto step = DeliverHttpBatch(batch, env, *state);
  if (!step.ok()) return step.status();
  HttpPlanOutcome outcome;
  static_cast<HttpBatchOutcome&>(outcome) = std::move(*step);
  outcome.data_bytes = range->log_bytes;
  return outcome;
}

}  // namespace

DeliveryEngine::DeliveryEngine(DeliveryStreamManager& streams,
                               catalog::Catalog& catalog,
                               kinesis::StreamManager* kinesis,
                               ArchiveRoot& archive, const Clock& clock,
                               DeliveryEngineOptions options)
    : streams_(streams),
      catalog_(catalog),
      kinesis_(kinesis),
      archive_(archive),
      clock_(clock),
      options_(options),
      transformer_(options.lambda) {}

DeliveryEngine::~DeliveryEngine() { Stop(); }

void DeliveryEngine::Start() {
  std::lock_guard lock(mu_);
  if (worker_.joinable()) return;
  transformer_.Resume();
  stopping_ = false;
  worker_ = std::thread([this] { Run(); });
}

void DeliveryEngine::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  // A handler program in the middle of an object is killed: the object
  // stays planned and is redone at the next start.
  transformer_.Cancel();
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void DeliveryEngine::CancelTransforms() { transformer_.Cancel(); }

void DeliveryEngine::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  wake_.notify_all();
}

void DeliveryEngine::Run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    woken_ = false;
    lock.unlock();
    RunOnce();
    lock.lock();
    wake_.wait_for(lock, options_.poll_interval,
                   [this] { return stopping_ || woken_; });
  }
}

void DeliveryEngine::RunOnce() {
  for (const std::shared_ptr<LiveDeliveryStream>& stream :
       streams_.Snapshot()) {
    std::lock_guard delivery(stream->delivery_mu);
    const EpochMillis now = clock_.NowMillis();
    if (now < stream->retry_at) continue;
    Status pumped = PumpLocked(*stream);
    auto delivered = pumped.ok() ? DeliverLocked(*stream, std::nullopt)
                                 : Result<std::vector<DeliveredObject>>(pumped);
    if (!delivered.ok()) {
      // An HTTP endpoint's retry may already be set later (its backoff).
      stream->retry_at =
          std::max(stream->retry_at, now + options_.retry_delay.count());
      std::lock_guard lock(stream->mu);
      SLUICE_LOG(kError) << "delivery stream " << stream->record.name
                         << ": delivery failed, will retry: "
                         << delivered.status().ToString();
    }
  }
}

Result<std::vector<DeliveredObject>> DeliveryEngine::Flush(
    LiveDeliveryStream& stream) {
  std::lock_guard delivery(stream.delivery_mu);
  if (Status s = PumpLocked(stream); !s.ok()) return s;
  auto delivered = DeliverLocked(stream, stream.log->Tip());
  if (delivered.ok()) stream.retry_at = 0;
  return delivered;
}

Status DeliveryEngine::PumpLocked(LiveDeliveryStream& stream) {
  if (!stream.source || kinesis_ == nullptr) return Status::Ok();
  {
    std::lock_guard lock(stream.mu);
    if (stream.gone || stream.record.status != "ACTIVE") return Status::Ok();
  }
  return PumpKinesisSource(stream, *kinesis_, catalog_);
}

Result<std::vector<DeliveredObject>> DeliveryEngine::DeliverLocked(
    LiveDeliveryStream& stream, std::optional<uint64_t> until) {
  std::vector<DeliveredObject> delivered;
  while (true) {
    catalog::DeliveryStreamRecord record;
    S3Destination destination;
    {
      std::lock_guard lock(stream.mu);
      // A stream being deleted delivers nothing more: its records go with it.
      if (stream.gone || stream.record.status == "DELETING") return delivered;
      record = stream.record;
      destination = stream.destination;
    }
    storage::ShardLog& log = *stream.log;
    Plan plan;
    if (record.planned_object) {
      // A restart, or a failed attempt: write exactly what was planned.
      auto planned = PlanFromJson(*record.planned_object);
      if (!planned.ok()) return planned.status();
      plan = std::move(*planned);
    } else {
      const uint64_t from = record.delivered_offset;
      const uint64_t end = std::min(until.value_or(log.Tip()), log.Tip());
      if (from >= end) return delivered;
      auto first_arrival = ArrivalOf(log, from);
      if (!first_arrival.ok()) return first_arrival.status();
      const uint64_t size_bytes = destination.SizeBytes();
      if (!until) {
        const bool full = stream.buffered_bytes.load() >= size_bytes;
        const bool old = clock_.NowMillis() - *first_arrival >=
                         destination.interval_seconds * 1000;
        if (!full && !old) return delivered;
      }
      // The object: records from the checkpoint until SizeInMBs of data is
      // in it, or the end.
      uint64_t to = from;
      uint64_t bytes = 0;
      while (to < end && bytes < size_bytes) {
        auto read = log.Read(to, std::min<uint64_t>(end - to, kReadRecords),
                             kReadBytes);
        if (!read.ok()) return read.status();
        if (read->records.empty()) break;
        for (const storage::StoredRecord& r : read->records) {
          if (r.offset >= end || bytes >= size_bytes) break;
          bytes += r.data.size();
          to = r.offset + 1;
        }
      }
      KeyContext context{*first_arrival, nullptr};
      auto prefix = EvaluatePrefix(destination.prefix.value_or(""), context);
      if (!prefix.ok()) return prefix.status();
      plan.from = from;
      plan.to = to;
      plan.bucket = destination.bucket;
      plan.key =
          *prefix + ObjectName(record.name, record.version_id, *first_arrival,
                               NewUuid(), destination.Extension());
      plan.compression = destination.compression;
      plan.delimiter = destination.append_delimiter;
      if (destination.lambda) {
        plan.lambda = destination.lambda;
        auto error_prefix =
            EvaluateErrorPrefix(destination.prefix.value_or(""),
                                destination.error_output_prefix.value_or(""),
                                kProcessingFailedOutputType, context);
        if (!error_prefix.ok()) return error_prefix.status();
        plan.error_key =
            *error_prefix + ObjectName(record.name, record.version_id,
                                       *first_arrival, NewUuid(),
                                       destination.Extension());
      }
      if (destination.http_endpoint) {
        plan.http = HttpDeliveryState::New().ToJson();
      }
      std::string plan_json = PlanToJson(plan);
      if (Status s = catalog_.SaveDeliveryCheckpoint(record.delivery_stream_id,
                                                     from, plan_json);
          !s.ok()) {
        return s;
      }
      std::lock_guard lock(stream.mu);
      stream.record.planned_object = std::move(plan_json);
    }

    auto root = archive_.Path();
    if (!root.ok()) return root.status();
    uint64_t data_bytes = 0;
    if (destination.http_endpoint) {
      auto sent =
          DeliverHttpPlanLocked(catalog_, clock_, options_, stream, record,
                                destination, plan, *root / plan.bucket);
      if (!sent.ok()) return sent.status();
      for (std::string& key : sent->backup_keys) {
        delivered.push_back({plan.bucket, std::move(key), plan.to - plan.from});
      }
      if (!sent->finished) {
        stream.retry_at = sent->retry_at;
        return sent->failure;
      }
      data_bytes = sent->data_bytes;
    } else {
      TransformContext context{record.Arn(), record.region, std::nullopt};
      std::shared_ptr<kinesis::LiveStream> source;
      if (stream.source) {
        context.source_stream_arn = stream.source->stream_arn;
        if (plan.lambda && kinesis_ != nullptr) {
          source = kinesis_->FindById(stream.source->stream_id);
        }
      }
      auto object =
          BuildObject(log, plan, transformer_, context, source.get(),
                      /*deaggregate=*/stream.source.has_value(), clock_);
      if (!object.ok()) return object.status();
      // A key that gets no records (all dropped or failed, or none failed)
      // is not written, and a copy an earlier attempt left there is removed.
      auto write = [&](const std::string& key, const std::string& bytes,
                       uint64_t records) {
        const std::filesystem::path path = ObjectPath(*root / plan.bucket, key);
        if (records == 0) return RemoveObjectFile(path, *options_.file_ops);
        return WriteObjectFile(path, bytes, *options_.file_ops);
      };
      if (Status s = write(plan.key, object->body, object->records); !s.ok()) {
        return s;
      }
      if (plan.lambda) {
        if (Status s =
                write(plan.error_key, object->errors, object->error_records);
            !s.ok()) {
          return s;
        }
      }
      data_bytes = object->data_bytes;
      if (object->records > 0) {
        delivered.push_back({plan.bucket, plan.key, object->records, false});
      }
      if (object->error_records > 0) {
        delivered.push_back(
            {plan.bucket, plan.error_key, object->error_records, true});
      }
    }
    if (Status s = catalog_.SaveDeliveryCheckpoint(record.delivery_stream_id,
                                                   plan.to, std::nullopt);
        !s.ok()) {
      return s;
    }
    {
      std::lock_guard lock(stream.mu);
      stream.record.delivered_offset = plan.to;
      stream.record.planned_object.reset();
    }
    stream.buffered_bytes.fetch_sub(data_bytes);

    // Delivered records are no longer needed, unless an in-process consumer
    // reading this delivery stream (a SQL application's KinesisFirehoseInput)
    // has not read them yet: those stay, up to kReaderHoldMillis old. Drop
    // what arrived before the oldest record kept (arrival times never
    // decrease in a log).
    const uint64_t keep_from = std::min(plan.to, log.Tip() - 1);
    if (auto arrival = ArrivalOf(log, keep_from); arrival.ok()) {
      EpochMillis keep_since = *arrival;
      const EpochMillis now = std::max(clock_.NowMillis(), keep_since);
      auto reader =
          catalog_.LowestDeliveryReaderPosition(record.delivery_stream_id);
      if (reader.ok() && reader->has_value() && **reader < keep_from) {
        auto unread = ArrivalOf(log, std::max(**reader, log.TrimHorizon()));
        if (unread.ok()) {
          keep_since =
              std::min(keep_since, std::max(*unread, now - kReaderHoldMillis));
        }
      }
      (void)log.ApplyRetention(now,
                               std::chrono::milliseconds(now - keep_since));
    }
  }
}

}  // namespace sluice::firehose
