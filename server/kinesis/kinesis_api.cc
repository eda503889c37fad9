#include "server/kinesis/kinesis_api.h"

#include "server/model/service_model.h"
#include "server/model/validated_operations.h"

namespace sluice::kinesis {
namespace {

constexpr model::ApiOperation<KinesisApi> kOperations[] = {
    {"CreateStream", &KinesisApi::CreateStream},
    {"DeleteStream", &KinesisApi::DeleteStream},
    {"DescribeStream", &KinesisApi::DescribeStream},
    {"DescribeStreamSummary", &KinesisApi::DescribeStreamSummary},
    {"ListStreams", &KinesisApi::ListStreams},
    {"PutRecord", &KinesisApi::PutRecord},
    {"PutRecords", &KinesisApi::PutRecords},
    {"GetShardIterator", &KinesisApi::GetShardIterator},
    {"GetRecords", &KinesisApi::GetRecords},
    {"ListShards", &KinesisApi::ListShards},
    {"IncreaseStreamRetentionPeriod",
     &KinesisApi::IncreaseStreamRetentionPeriod},
    {"DecreaseStreamRetentionPeriod",
     &KinesisApi::DecreaseStreamRetentionPeriod},
    {"UpdateStreamMode", &KinesisApi::UpdateStreamMode},
    {"UpdateMaxRecordSize", &KinesisApi::UpdateMaxRecordSize},
    {"UpdateStreamWarmThroughput", &KinesisApi::UpdateStreamWarmThroughput},
    {"DescribeLimits", &KinesisApi::DescribeLimits},
    {"DescribeAccountSettings", &KinesisApi::DescribeAccountSettings},
    {"UpdateAccountSettings", &KinesisApi::UpdateAccountSettings},
    {"AddTagsToStream", &KinesisApi::AddTagsToStream},
    {"RemoveTagsFromStream", &KinesisApi::RemoveTagsFromStream},
    {"ListTagsForStream", &KinesisApi::ListTagsForStream},
    {"TagResource", &KinesisApi::TagResource},
    {"UntagResource", &KinesisApi::UntagResource},
    {"ListTagsForResource", &KinesisApi::ListTagsForResource},
    {"PutResourcePolicy", &KinesisApi::PutResourcePolicy},
    {"GetResourcePolicy", &KinesisApi::GetResourcePolicy},
    {"DeleteResourcePolicy", &KinesisApi::DeleteResourcePolicy},
    {"StartStreamEncryption", &KinesisApi::StartStreamEncryption},
    {"StopStreamEncryption", &KinesisApi::StopStreamEncryption},
    {"EnableEnhancedMonitoring", &KinesisApi::EnableEnhancedMonitoring},
    {"DisableEnhancedMonitoring", &KinesisApi::DisableEnhancedMonitoring},
    {"SplitShard", &KinesisApi::SplitShard},
    {"MergeShards", &KinesisApi::MergeShards},
    {"UpdateShardCount", &KinesisApi::UpdateShardCount},
    {"RegisterStreamConsumer", &KinesisApi::RegisterStreamConsumer},
    {"DeregisterStreamConsumer", &KinesisApi::DeregisterStreamConsumer},
    {"DescribeStreamConsumer", &KinesisApi::DescribeStreamConsumer},
    {"ListStreamConsumers", &KinesisApi::ListStreamConsumers},
};

}  // namespace

void KinesisApi::RegisterWith(http::ApiRouter& router) {
  router.RegisterStreaming(
      kApiName, "SubscribeToShard",
      [this](const http::RequestContext& context,
             const json::Value& input) -> Result<http::StreamedAnswer> {
        if (Status s = model::ValidateInput(model::KinesisModel(),
                                            "SubscribeToShard", input);
            !s.ok()) {
          return s;
        }
        return SubscribeToShard(context, input);
      });
  model::RegisterValidated<KinesisApi>(router, kApiName, model::KinesisModel(),
                                       kOperations, *this);
}

std::string StreamArn(const StreamKey& key) {
  return "arn:aws:kinesis:" + key.region + ":" + key.account_id + ":stream/" +
         key.name;
}

Result<StreamKey> KinesisApi::ResolveStream(const Context& context,
                                            const json::Value& input) const {
  std::optional<std::string_view> name = model::GetString(input, "StreamName");
  std::optional<std::string_view> arn = model::GetString(input, "StreamARN");
  if (!name && !arn) {
    return Status(ErrorCode::kInvalidArgument,
                  "Either StreamName or StreamARN must be provided.");
  }
  StreamKey key{context.account_id, context.region,
                std::string(name.value_or(""))};
  if (arn) {
    // arn:<partition>:kinesis:<region>:<account>:stream/<name>; the model's
    // pattern has already checked the overall form.
    std::string_view rest = *arn;
    std::string_view parts[5];
    for (std::string_view& part : parts) {
      size_t colon = rest.find(':');
      part = rest.substr(0, colon);
      rest = colon == std::string_view::npos ? std::string_view()
                                             : rest.substr(colon + 1);
    }
    std::string_view region = parts[3];
    std::string_view account = parts[4];
    if (rest.rfind("stream/", 0) != 0) {
      return Status(ErrorCode::kInvalidArgument,
                    "Invalid StreamARN " + std::string(*arn));
    }
    std::string_view arn_name = rest.substr(7);
    if (account != context.account_id || region != context.region) {
      return ForeignArnDenied(context, *arn);
    }
    if (name && *name != arn_name) {
      return Status(ErrorCode::kInvalidArgument,
                    "StreamARN " + std::string(*arn) + " and StreamName " +
                        std::string(*name) + " do not name the same stream.");
    }
    key.name = std::string(arn_name);
  }
  return key;
}

Status ForeignArnDenied(const http::RequestContext& context,
                        std::string_view arn) {
  return Status(ErrorCode::kAccessDenied,
                "User: arn:aws:iam::" + context.account_id +
                    ":root is not authorized to perform: kinesis:" +
                    std::string(context.operation) +
                    " on resource: " + std::string(arn) +
                    " because no resource-based policy allows the kinesis:" +
                    std::string(context.operation) + " action");
}

Result<std::shared_ptr<LiveStream>> KinesisApi::FindStream(
    const Context& context, const json::Value& input) {
  auto key = ResolveStream(context, input);
  if (!key.ok()) return key.status();
  return streams_.Find(*key);
}

void WriteShard(Encoder& out, const catalog::ShardRecord& shard) {
  out.StartObject();
  out.Key("ShardId");
  out.String(shard.ShardId());
  if (shard.parent_index) {
    out.Key("ParentShardId");
    out.String(catalog::ShardIdFor(*shard.parent_index));
  }
  if (shard.adjacent_parent_index) {
    out.Key("AdjacentParentShardId");
    out.String(catalog::ShardIdFor(*shard.adjacent_parent_index));
  }
  out.Key("HashKeyRange");
  out.StartObject();
  out.Key("StartingHashKey");
  out.String(shard.hash_key_start);
  out.Key("EndingHashKey");
  out.String(shard.hash_key_end);
  out.EndObject();
  out.Key("SequenceNumberRange");
  out.StartObject();
  out.Key("StartingSequenceNumber");
  out.String(shard.starting_sequence_number);
  if (shard.ending_sequence_number) {
    out.Key("EndingSequenceNumber");
    out.String(*shard.ending_sequence_number);
  }
  out.EndObject();
  out.EndObject();
}

}  // namespace sluice::kinesis
