// Stream management: CreateStream, DeleteStream, DescribeStream,
// DescribeStreamSummary, ListStreams.
#include <algorithm>

#include "server/kinesis/kinesis_api.h"
#include "server/kinesis/next_token.h"
#include "server/kinesis/tag_rules.h"
#include "server/model/service_model.h"

namespace sluice::kinesis {
namespace {

inline constexpr int64_t kDescribeStreamPageMax = 100;
inline constexpr int64_t kListStreamsDefaultLimit = 100;

void WriteModeDetails(Encoder& out, catalog::StreamMode mode) {
  out.Key("StreamModeDetails");
  out.StartObject();
  out.Key("StreamMode");
  out.String(catalog::ToString(mode));
  out.EndObject();
}

void WriteEnhancedMonitoring(Encoder& out,
                             const catalog::StreamRecord& stream) {
  out.Key("EnhancedMonitoring");
  out.StartArray();
  out.StartObject();
  out.Key("ShardLevelMetrics");
  out.StartArray();
  for (const std::string& metric : stream.enhanced_metrics) out.String(metric);
  out.EndArray();
  out.EndObject();
  out.EndArray();
}

void WriteEncryption(Encoder& out, const catalog::StreamRecord& stream) {
  out.Key("EncryptionType");
  out.String(stream.encryption_type);
  if (!stream.kms_key_id.empty()) {
    out.Key("KeyId");
    out.String(stream.kms_key_id);
  }
}

// The members DescribeStream and DescribeStreamSummary both open with.
void WriteIdentity(Encoder& out, const catalog::StreamRecord& stream) {
  out.Key("StreamName");
  out.String(stream.name);
  out.Key("StreamARN");
  out.String(stream.Arn());
  out.Key("StreamStatus");
  out.String(catalog::ToString(stream.status));
  WriteModeDetails(out, stream.mode);
}

// Retention, age, monitoring and encryption, as both describe operations
// report them.
void WriteSettings(Encoder& out, const catalog::StreamRecord& stream) {
  out.Key("RetentionPeriodHours");
  out.Int(stream.retention_hours);
  out.Key("StreamCreationTimestamp");
  out.Timestamp(stream.created_at);
  WriteEnhancedMonitoring(out, stream);
  WriteEncryption(out, stream);
}

std::optional<std::string_view> StreamModeOf(const json::Value& input) {
  auto details = input.FindMember("StreamModeDetails");
  if (details == input.MemberEnd() || !details->value.IsObject())
    return std::nullopt;
  return model::GetString(details->value, "StreamMode");
}

}  // namespace

Status KinesisApi::CreateStream(const Context& context,
                                const json::Value& input, Encoder& /*output*/) {
  std::optional<int64_t> shard_count = model::GetInteger(input, "ShardCount");
  std::optional<std::string_view> mode = StreamModeOf(input);
  std::optional<int64_t> max_record_kib =
      model::GetInteger(input, "MaxRecordSizeInKiB");

  StreamManager::NewStream request;
  request.key = {
      context.account_id, context.region,
      std::string(model::GetString(input, "StreamName").value_or(""))};
  if (mode == "ON_DEMAND" || (!mode && !shard_count)) {
    if (shard_count) {
      return Status(ErrorCode::kValidation,
                    "ShardCount is not expected when StreamMode=ON_DEMAND");
    }
    request.mode = catalog::StreamMode::kOnDemand;
    request.shard_count = kOnDemandShardCount;
  } else {
    if (!shard_count) {
      return Status(ErrorCode::kValidation,
                    "ShardCount is required when StreamMode=PROVISIONED");
    }
    request.shard_count = static_cast<uint32_t>(*shard_count);
  }
  if (max_record_kib)
    request.max_record_size_kib = static_cast<int>(*max_record_kib);

  std::vector<std::pair<std::string, std::string>> tags;
  if (auto it = input.FindMember("Tags");
      it != input.MemberEnd() && it->value.IsObject()) {
    for (auto& tag : it->value.GetObject()) {
      tags.emplace_back(json::AsView(tag.name), json::AsView(tag.value));
    }
    if (tags.size() > kMaxTagsPerResource) {
      return Status(ErrorCode::kInvalidArgument,
                    "Failed to create stream " + request.key.name +
                        " because the number of tags exceeds the limit of 50.");
    }
    if (Status s = CheckTagCharacters(tags); !s.ok()) return s;
  }

  auto created = streams_.CreateStream(request);
  if (!created.ok()) return created.status();
  if (!tags.empty()) {
    if (Status s = catalog_.TagResource(created->Arn(), tags); !s.ok())
      return s;
  }
  return Status::Ok();
}

Status KinesisApi::DeleteStream(const Context& context,
                                const json::Value& input, Encoder& /*output*/) {
  auto key = ResolveStream(context, input);
  if (!key.ok()) return key.status();
  bool enforce =
      model::GetBool(input, "EnforceConsumerDeletion").value_or(false);
  return streams_.DeleteStream(*key, [enforce](LiveStream& stream) {
    return ConsumerRegistry::PrepareStreamDeletion(stream, enforce);
  });
}

Status KinesisApi::DescribeStream(const Context& context,
                                  const json::Value& input, Encoder& output) {
  auto stream = FindStream(context, input);
  if (!stream.ok()) return stream.status();
  int64_t limit = std::min(
      model::GetInteger(input, "Limit").value_or(kDescribeStreamPageMax),
      kDescribeStreamPageMax);
  std::optional<std::string_view> start =
      model::GetString(input, "ExclusiveStartShardId");

  std::shared_lock lock((*stream)->mu);
  const catalog::StreamRecord& record = (*stream)->record;
  output.StartObject();
  output.Key("StreamDescription");
  output.StartObject();
  WriteIdentity(output, record);
  output.Key("Shards");
  output.StartArray();
  int64_t written = 0;
  bool has_more = false;
  for (const LiveShard& shard : (*stream)->shards) {
    // Shard ids sort like their indexes, so "after" is a string compare.
    if (start && shard.record.ShardId() <= *start) continue;
    if (written == limit) {
      has_more = true;
      break;
    }
    WriteShard(output, shard.record);
    ++written;
  }
  output.EndArray();
  output.Key("HasMoreShards");
  output.Bool(has_more);
  WriteSettings(output, record);
  output.EndObject();
  output.EndObject();
  return Status::Ok();
}

Status KinesisApi::DescribeStreamSummary(const Context& context,
                                         const json::Value& input,
                                         Encoder& output) {
  auto stream = FindStream(context, input);
  if (!stream.ok()) return stream.status();
  std::shared_lock lock((*stream)->mu);
  const catalog::StreamRecord& record = (*stream)->record;
  int64_t open_shards = 0;
  for (const LiveShard& shard : (*stream)->shards)
    open_shards += shard.record.IsOpen();

  output.StartObject();
  output.Key("StreamDescriptionSummary");
  output.StartObject();
  WriteIdentity(output, record);
  WriteSettings(output, record);
  output.Key("OpenShardCount");
  output.Int(open_shards);
  output.Key("ConsumerCount");
  output.Int(static_cast<int64_t>(
      ConsumerRegistry::CountLocked(**stream, streams_.clock().NowMillis())));
  output.Key("MaxRecordSizeInKiB");
  output.Int(record.max_record_size_kib);
  WriteWarmThroughputIfAny(output, **stream);
  output.EndObject();
  output.EndObject();
  return Status::Ok();
}

Status KinesisApi::ListStreams(const Context& context, const json::Value& input,
                               Encoder& output) {
  int64_t limit =
      model::GetInteger(input, "Limit").value_or(kListStreamsDefaultLimit);
  std::string start(
      model::GetString(input, "ExclusiveStartStreamName").value_or(""));
  EpochMillis now = streams_.clock().NowMillis();
  if (auto token = model::GetString(input, "NextToken")) {
    auto resume = DecodeNextToken(*token, now);
    if (!resume.ok()) return resume.status();
    start = std::move(*resume);
  }

  // One more than the page tells whether there are more.
  std::vector<catalog::StreamRecord> streams =
      streams_.List(context.account_id, context.region, start,
                    static_cast<size_t>(limit) + 1);
  bool has_more = streams.size() > static_cast<size_t>(limit);
  if (has_more) streams.pop_back();

  output.StartObject();
  output.Key("StreamNames");
  output.StartArray();
  for (const catalog::StreamRecord& stream : streams)
    output.String(stream.name);
  output.EndArray();
  output.Key("HasMoreStreams");
  output.Bool(has_more);
  if (has_more) {
    output.Key("NextToken");
    output.String(EncodeNextToken(streams.back().name, now));
  }
  output.Key("StreamSummaries");
  output.StartArray();
  for (const catalog::StreamRecord& stream : streams) {
    output.StartObject();
    output.Key("StreamName");
    output.String(stream.name);
    output.Key("StreamARN");
    output.String(stream.Arn());
    output.Key("StreamStatus");
    output.String(catalog::ToString(stream.status));
    WriteModeDetails(output, stream.mode);
    output.Key("StreamCreationTimestamp");
    output.Timestamp(stream.created_at);
    output.EndObject();
  }
  output.EndArray();
  output.EndObject();
  return Status::Ok();
}

}  // namespace sluice::kinesis
