#include "server/kinesis/consumer_registry.h"

#include <charconv>
#include <mutex>
#include <optional>
#include <shared_mutex>

#include "common/log.h"

namespace sluice::kinesis {
namespace {

// What a consumer ARN names:
// arn:<partition>:kinesis:<region>:<account>:stream/<stream>/consumer/<name>:<s>
struct ConsumerArnParts {
  StreamKey stream;
  std::string name;
  int64_t created_seconds = 0;
};

std::optional<ConsumerArnParts> ParseConsumerArn(std::string_view arn) {
  std::string_view rest = arn;
  std::string_view parts[5];
  for (std::string_view& part : parts) {
    size_t colon = rest.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    part = rest.substr(0, colon);
    rest.remove_prefix(colon + 1);
  }
  if (parts[0] != "arn" || parts[2] != "kinesis") return std::nullopt;
  constexpr std::string_view kStream = "stream/";
  constexpr std::string_view kConsumer = "/consumer/";
  if (!rest.starts_with(kStream)) return std::nullopt;
  rest.remove_prefix(kStream.size());
  size_t consumer = rest.find(kConsumer);
  if (consumer == std::string_view::npos) return std::nullopt;
  std::string_view stream = rest.substr(0, consumer);
  rest.remove_prefix(consumer + kConsumer.size());
  size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view name = rest.substr(0, colon);
  std::string_view seconds = rest.substr(colon + 1);
  ConsumerArnParts out;
  const char* end = seconds.data() + seconds.size();
  auto [ptr, ec] = std::from_chars(seconds.data(), end, out.created_seconds);
  if (stream.empty() || name.empty() || seconds.empty() || ec != std::errc() ||
      ptr != end) {
    return std::nullopt;
  }
  out.stream = {std::string(parts[4]), std::string(parts[3]),
                std::string(stream)};
  out.name = std::string(name);
  return out;
}

Status ConsumerNameNotFound(const StreamKey& stream, std::string_view name) {
  return Status(ErrorCode::kResourceNotFound,
                "Consumer " + std::string(name) + " under stream " +
                    stream.name + " under account " + stream.account_id +
                    " not found.");
}

}  // namespace

Status ConsumerArnNotFound(std::string_view consumer_arn,
                           std::string_view account_id) {
  return Status(ErrorCode::kResourceNotFound,
                "Consumer " + std::string(consumer_arn) + " under account " +
                    std::string(account_id) + " not found.");
}

Status ConsumerRegistry::Load() {
  auto streams = catalog_.ListAllStreams();
  if (!streams.ok()) return streams.status();
  size_t loaded = 0;
  for (const catalog::StreamRecord& record : *streams) {
    std::shared_ptr<LiveStream> stream = streams_.FindById(record.stream_id);
    if (!stream) continue;  // removed by StreamManager::Start()
    auto consumers = catalog_.ListConsumers(record.stream_id);
    if (!consumers.ok()) return consumers.status();
    std::unique_lock lock(stream->mu);
    for (catalog::ConsumerRecord& consumer : *consumers) {
      if (consumer.status == ConsumerStatus::kDeleting) {
        Status s = catalog_.DeleteConsumer(consumer.stream_id, consumer.name);
        if (!s.ok()) return s;
        continue;
      }
      if (consumer.status == ConsumerStatus::kCreating) {
        Status s = catalog_.UpdateConsumerStatus(
            consumer.stream_id, consumer.name, ConsumerStatus::kActive);
        if (!s.ok()) return s;
        consumer.status = ConsumerStatus::kActive;
      }
      std::string name = consumer.name;
      stream->consumers[name] = LiveConsumer{std::move(consumer), 0};
      ++loaded;
    }
  }
  SLUICE_LOG(kInfo) << "loaded " << loaded << " stream consumer(s)";
  return Status::Ok();
}

Result<ConsumerInfo> ConsumerRegistry::Register(const StreamKey& key,
                                                std::string_view name,
                                                const catalog::Tags& tags) {
  auto found = streams_.Find(key);
  if (!found.ok()) return found.status();
  LiveStream& stream = **found;
  EpochMillis now = streams_.clock().NowMillis();
  std::unique_lock lock(stream.mu);
  AdvanceLocked(stream, now);
  if (stream.record.status == catalog::StreamStatus::kCreating ||
      stream.record.status == catalog::StreamStatus::kDeleting) {
    return StreamNotActive(stream.record);
  }
  // The catalog's unique key would refuse the name too, but only after the
  // limits; AWS names the duplicate first. (verify)
  if (stream.consumers.count(std::string(name))) {
    return Status(ErrorCode::kResourceInUse,
                  "Consumer " + std::string(name) + " under stream " +
                      key.name + " under account " + key.account_id +
                      " already exists.");
  }
  if (stream.consumers.size() >= kMaxConsumersPerStream) {
    return Status(ErrorCode::kLimitExceeded,
                  "Stream " + key.name + " under account " + key.account_id +
                      " already has " + std::to_string(kMaxConsumersPerStream) +
                      " registered consumers, the most a stream can have.");
  }
  size_t creating = 0;
  for (const auto& [other_name, other] : stream.consumers) {
    creating += other.record.status == ConsumerStatus::kCreating;
  }
  if (creating >= kMaxCreatingConsumersPerStream) {
    return Status(ErrorCode::kLimitExceeded,
                  "Stream " + key.name + " under account " + key.account_id +
                      " already has " +
                      std::to_string(kMaxCreatingConsumersPerStream) +
                      " consumers in CREATING status.");
  }

  const auto create_delay = streams_.options().create_delay.count();
  LiveConsumer consumer;
  consumer.record.stream_id = stream.record.stream_id;
  consumer.record.name = std::string(name);
  consumer.record.status =
      create_delay > 0 ? ConsumerStatus::kCreating : ConsumerStatus::kActive;
  consumer.record.created_at = now;
  if (create_delay > 0) consumer.transition_due_at = now + create_delay;
  if (Status s = catalog_.CreateConsumer(consumer.record, tags); !s.ok())
    return s;
  auto [it, inserted] =
      stream.consumers.emplace(consumer.record.name, std::move(consumer));
  return InfoLocked(stream, it->second);
}

Result<ConsumerInfo> ConsumerRegistry::Find(const StreamKey& key,
                                            std::string_view name) {
  auto found = streams_.Find(key);
  if (!found.ok()) return found.status();
  LiveStream& stream = **found;
  EpochMillis now = streams_.clock().NowMillis();
  std::unique_lock lock(stream.mu);
  AdvanceLocked(stream, now);
  auto it = stream.consumers.find(std::string(name));
  if (it == stream.consumers.end()) return ConsumerNameNotFound(key, name);
  return InfoLocked(stream, it->second);
}

Result<ConsumerInfo> ConsumerRegistry::FindConsumerByArn(
    std::string_view consumer_arn) {
  ConsumerInfo found;
  Status s = WithConsumer(consumer_arn, [&](const ConsumerInfo& info) {
    found = info;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return found;
}

Status ConsumerRegistry::WithConsumer(
    std::string_view consumer_arn,
    const std::function<Status(const ConsumerInfo&)>& action) {
  std::optional<ConsumerArnParts> parts = ParseConsumerArn(consumer_arn);
  if (!parts) {
    // Only reachable past the model's pattern with an odd region field.
    return Status(ErrorCode::kResourceNotFound,
                  "Consumer " + std::string(consumer_arn) + " not found.");
  }
  Status not_found =
      ConsumerArnNotFound(consumer_arn, parts->stream.account_id);
  // An unknown stream hides behind the consumer. (verify)
  auto found = streams_.Find(parts->stream);
  if (!found.ok()) return not_found;
  LiveStream& stream = **found;
  EpochMillis now = streams_.clock().NowMillis();
  std::unique_lock lock(stream.mu);
  AdvanceLocked(stream, now);
  auto it = stream.consumers.find(parts->name);
  // The creation second tells a consumer from an earlier one of that name.
  if (it == stream.consumers.end() ||
      it->second.record.created_at / 1000 != parts->created_seconds) {
    return not_found;
  }
  return action(InfoLocked(stream, it->second));
}

Result<ConsumerInfo> ConsumerRegistry::Deregister(const StreamKey& key,
                                                  std::string_view name) {
  auto found = streams_.Find(key);
  if (!found.ok()) return found.status();
  LiveStream& stream = **found;
  EpochMillis now = streams_.clock().NowMillis();
  std::unique_lock lock(stream.mu);
  AdvanceLocked(stream, now);
  auto it = stream.consumers.find(std::string(name));
  if (it == stream.consumers.end()) return ConsumerNameNotFound(key, name);
  ConsumerInfo before = InfoLocked(stream, it->second);
  LiveConsumer& consumer = it->second;
  if (consumer.record.status == ConsumerStatus::kDeleting) return before;
  const auto delete_delay = streams_.options().delete_delay.count();
  if (delete_delay == 0) {
    if (Status s = catalog_.DeleteConsumer(stream.record.stream_id,
                                           consumer.record.name);
        !s.ok()) {
      return s;
    }
    stream.consumers.erase(it);
    return before;
  }
  if (Status s = catalog_.UpdateConsumerStatus(stream.record.stream_id,
                                               consumer.record.name,
                                               ConsumerStatus::kDeleting);
      !s.ok()) {
    return s;
  }
  consumer.record.status = ConsumerStatus::kDeleting;
  consumer.transition_due_at = now + delete_delay;
  return before;
}

Result<std::vector<ConsumerInfo>> ConsumerRegistry::List(const StreamKey& key) {
  auto found = streams_.Find(key);
  if (!found.ok()) return found.status();
  LiveStream& stream = **found;
  EpochMillis now = streams_.clock().NowMillis();
  std::unique_lock lock(stream.mu);
  AdvanceLocked(stream, now);
  std::vector<ConsumerInfo> out;
  out.reserve(stream.consumers.size());
  for (const auto& [name, consumer] : stream.consumers) {
    out.push_back(InfoLocked(stream, consumer));
  }
  return out;
}

Status ConsumerRegistry::PrepareStreamDeletion(LiveStream& stream,
                                               bool enforce_consumer_deletion) {
  // A stream already DELETING has settled this on the first DeleteStream.
  if (stream.record.status == catalog::StreamStatus::kDeleting)
    return Status::Ok();
  if (!stream.consumers.empty() && !enforce_consumer_deletion) {
    const catalog::StreamRecord& record = stream.record;
    return Status(ErrorCode::kResourceInUse,
                  "DeleteStream can't delete " + record.account_id + ":" +
                      record.name +
                      " because there are consumers associated with this "
                      "data stream. To delete " +
                      record.name +
                      " anyway, set the EnforceConsumerDeletion parameter to "
                      "true to force the deletion of all the consumers that "
                      "are associated with it.");
  }
  // In memory only: the catalog drops the rows with the stream's, and a
  // restart drops a DELETING stream with everything under it.
  for (auto& [name, consumer] : stream.consumers) {
    consumer.record.status = ConsumerStatus::kDeleting;
    consumer.transition_due_at = 0;  // leaves with the stream, not before
  }
  return Status::Ok();
}

size_t ConsumerRegistry::CountLocked(const LiveStream& stream,
                                     EpochMillis now) {
  size_t count = 0;
  for (const auto& [name, consumer] : stream.consumers) {
    bool gone = consumer.record.status == ConsumerStatus::kDeleting &&
                consumer.transition_due_at != 0 &&
                now >= consumer.transition_due_at;
    count += !gone;
  }
  return count;
}

void ConsumerRegistry::AdvanceLocked(LiveStream& stream, EpochMillis now) {
  for (auto it = stream.consumers.begin(); it != stream.consumers.end();) {
    LiveConsumer& consumer = it->second;
    if (consumer.transition_due_at == 0 || now < consumer.transition_due_at) {
      ++it;
      continue;
    }
    Status s;
    if (consumer.record.status == ConsumerStatus::kDeleting) {
      s = catalog_.DeleteConsumer(consumer.record.stream_id,
                                  consumer.record.name);
      if (s.ok()) {
        it = stream.consumers.erase(it);
        continue;
      }
    } else {
      s = catalog_.UpdateConsumerStatus(consumer.record.stream_id,
                                        consumer.record.name,
                                        ConsumerStatus::kActive);
      if (s.ok()) {
        consumer.record.status = ConsumerStatus::kActive;
        consumer.transition_due_at = 0;
      }
    }
    if (!s.ok()) {
      SLUICE_LOG(kError) << "consumer " << consumer.record.name << " of stream "
                         << stream.record.name << ": " << s.ToString();
    }
    ++it;
  }
}

ConsumerInfo ConsumerRegistry::InfoLocked(const LiveStream& stream,
                                          const LiveConsumer& consumer) {
  ConsumerInfo info;
  info.name = consumer.record.name;
  info.arn = consumer.record.Arn(stream.record.Arn());
  info.status = consumer.record.status;
  info.created_at = consumer.record.created_at;
  info.stream = {stream.record.account_id, stream.record.region,
                 stream.record.name};
  info.stream_id = stream.record.stream_id;
  return info;
}

}  // namespace sluice::kinesis
