// Tags on streams and consumers: AddTagsToStream, RemoveTagsFromStream,
// ListTagsForStream, and the ARN-based TagResource, UntagResource,
// ListTagsForResource. Tags live in the catalog under the resource's ARN, so
// both families see the same set of a stream's tags.
#include <algorithm>

#include "server/kinesis/kinesis_api.h"
#include "server/kinesis/tag_rules.h"
#include "server/model/service_model.h"

namespace sluice::kinesis {
namespace {

inline constexpr int64_t kListTagsDefaultLimit = 50;

catalog::Tags TagsOf(const json::Value& input) {
  catalog::Tags tags;
  if (auto it = input.FindMember("Tags");
      it != input.MemberEnd() && it->value.IsObject()) {
    for (auto& tag : it->value.GetObject()) {
      if (!tag.value.IsString()) continue;  // the model has checked
      tags.emplace_back(json::AsView(tag.name), json::AsView(tag.value));
    }
  }
  return tags;
}

std::vector<std::string> TagKeysOf(const json::Value& input) {
  std::vector<std::string> keys;
  if (auto it = input.FindMember("TagKeys");
      it != input.MemberEnd() && it->value.IsArray()) {
    for (auto& key : it->value.GetArray()) {
      if (key.IsString()) keys.emplace_back(json::AsView(key));
    }
  }
  return keys;
}

void WriteTagList(Encoder& out, const catalog::Tags& tags, size_t count) {
  out.Key("Tags");
  out.StartArray();
  for (size_t i = 0; i < count; ++i) {
    out.StartObject();
    out.Key("Key");
    out.String(tags[i].first);
    out.Key("Value");
    out.String(tags[i].second);
    out.EndObject();
  }
  out.EndArray();
}

}  // namespace

Result<KinesisApi::Resource> KinesisApi::ResolveResource(
    const Context& context, const json::Value& input) const {
  std::string arn(model::GetString(input, "ResourceARN").value_or(""));
  // arn:<partition>:kinesis:<region>:<account>:stream/<name>[/consumer/...];
  // the model's pattern has checked the overall form.
  std::string_view rest = arn;
  std::string_view parts[5];
  for (std::string_view& part : parts) {
    size_t colon = rest.find(':');
    part = rest.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view()
                                           : rest.substr(colon + 1);
  }
  if (parts[2] != "kinesis" || rest.rfind("stream/", 0) != 0) {
    return Status(ErrorCode::kInvalidArgument, "Invalid ResourceARN " + arn);
  }
  if (parts[4] != context.account_id || parts[3] != context.region) {
    return ForeignArnDenied(context, arn);
  }
  std::string_view path = rest.substr(7);
  if (size_t consumer = path.find("/consumer/");
      consumer != std::string_view::npos) {
    // ConsumerRegistry checks the rest when the consumer is looked up.
    return Resource{{context.account_id, context.region,
                     std::string(path.substr(0, consumer))},
                    arn};
  }
  if (path.empty() || path.find('/') != std::string_view::npos) {
    return Status(ErrorCode::kInvalidArgument, "Invalid ResourceARN " + arn);
  }
  return Resource{{context.account_id, context.region, std::string(path)}, ""};
}

namespace {

// Adds `tags` to what `arn` carries, unless the total passes the limit.
Status AddTagsWithinLimit(catalog::Catalog& catalog, const std::string& arn,
                          const catalog::Tags& tags, const std::string& failed,
                          std::string_view resource_kind) {
  auto existing = catalog.ListTags(arn);
  if (!existing.ok()) return existing.status();
  size_t total = existing->size();
  for (const auto& tag : tags) {
    bool present =
        std::any_of(existing->begin(), existing->end(),
                    [&](const auto& old) { return old.first == tag.first; });
    if (!present) ++total;
  }
  if (total > kMaxTagsPerResource) {
    return Status(ErrorCode::kInvalidArgument,
                  failed + "a given " + std::string(resource_kind) +
                      " cannot have more than 50 tags associated with it.");
  }
  return catalog.TagResource(arn, tags);
}

}  // namespace

Status KinesisApi::AddTags(const Resource& resource, const json::Value& input) {
  const StreamKey& key = resource.stream;
  catalog::Tags tags = TagsOf(input);
  if (Status s = CheckTagCharacters(tags); !s.ok()) return s;
  std::string failed =
      resource.consumer_arn.empty()
          ? "Failed to add tags to stream " + key.name + " under account " +
                key.account_id + " because "
          : "Failed to add tags to consumer " + resource.consumer_arn +
                " because ";  // (verify)
  for (const auto& tag : tags) {
    if (HasReservedTagPrefix(tag.first)) {
      return Status(ErrorCode::kInvalidArgument,
                    failed + "the tag key " + tag.first +
                        " uses the reserved prefix aws:.");
    }
  }
  if (!resource.consumer_arn.empty()) {
    return consumers_.WithConsumer(
        resource.consumer_arn, [&](const ConsumerInfo& consumer) {
          return AddTagsWithinLimit(catalog_, consumer.arn, tags, failed,
                                    "consumer");
        });
  }
  return streams_.UpdateStream(
      key, /*through_updating=*/false,
      [&](catalog::StreamRecord& stream) -> Status {
        if (stream.status != catalog::StreamStatus::kActive)
          return StreamNotActive(stream);
        return AddTagsWithinLimit(catalog_, stream.Arn(), tags, failed,
                                  "stream");
      });
}

Status KinesisApi::RemoveTags(const Resource& resource,
                              const json::Value& input) {
  std::vector<std::string> keys = TagKeysOf(input);
  for (const std::string& tag_key : keys) {
    if (Status s = CheckTagKeyCharacters(tag_key); !s.ok()) return s;
  }
  if (!resource.consumer_arn.empty()) {
    return consumers_.WithConsumer(
        resource.consumer_arn, [&](const ConsumerInfo& consumer) {
          return catalog_.UntagResource(consumer.arn, keys);
        });
  }
  return streams_.UpdateStream(
      resource.stream, /*through_updating=*/false,
      [&](catalog::StreamRecord& stream) -> Status {
        if (stream.status != catalog::StreamStatus::kActive)
          return StreamNotActive(stream);
        return catalog_.UntagResource(stream.Arn(), keys);
      });
}

Status KinesisApi::AddTagsToStream(const Context& context,
                                   const json::Value& input,
                                   Encoder& /*output*/) {
  auto key = ResolveStream(context, input);
  if (!key.ok()) return key.status();
  return AddTags({*key, ""}, input);
}

Status KinesisApi::RemoveTagsFromStream(const Context& context,
                                        const json::Value& input,
                                        Encoder& /*output*/) {
  auto key = ResolveStream(context, input);
  if (!key.ok()) return key.status();
  return RemoveTags({*key, ""}, input);
}

Status KinesisApi::ListTagsForStream(const Context& context,
                                     const json::Value& input,
                                     Encoder& output) {
  auto stream = FindStream(context, input);
  if (!stream.ok()) return stream.status();
  std::string arn;
  {
    std::shared_lock lock((*stream)->mu);
    arn = (*stream)->record.Arn();
  }
  auto tags = catalog_.ListTags(arn);
  if (!tags.ok()) return tags.status();
  if (auto start = model::GetString(input, "ExclusiveStartTagKey")) {
    std::erase_if(*tags, [&](const auto& tag) { return tag.first <= *start; });
  }
  // The model has checked 1..50.
  auto limit = static_cast<size_t>(
      model::GetInteger(input, "Limit").value_or(kListTagsDefaultLimit));
  size_t count = std::min(limit, tags->size());
  output.StartObject();
  WriteTagList(output, *tags, count);
  output.Key("HasMoreTags");
  output.Bool(count < tags->size());
  output.EndObject();
  return Status::Ok();
}

Status KinesisApi::TagResource(const Context& context, const json::Value& input,
                               Encoder& /*output*/) {
  auto resource = ResolveResource(context, input);
  if (!resource.ok()) return resource.status();
  return AddTags(*resource, input);
}

Status KinesisApi::UntagResource(const Context& context,
                                 const json::Value& input,
                                 Encoder& /*output*/) {
  auto resource = ResolveResource(context, input);
  if (!resource.ok()) return resource.status();
  return RemoveTags(*resource, input);
}

Status KinesisApi::ListTagsForResource(const Context& context,
                                       const json::Value& input,
                                       Encoder& output) {
  auto arn = ResourceArnOf(context, input);
  if (!arn.ok()) return arn.status();
  auto tags = catalog_.ListTags(*arn);
  if (!tags.ok()) return tags.status();
  output.StartObject();
  WriteTagList(output, *tags, tags->size());
  output.EndObject();
  return Status::Ok();
}

// The ARN tags and policies of the resource a ResourceARN names are kept
// under, once the resource is found: the stream's own ARN, or the consumer's.
Result<std::string> KinesisApi::ResourceArnOf(const Context& context,
                                              const json::Value& input) {
  auto resource = ResolveResource(context, input);
  if (!resource.ok()) return resource.status();
  if (!resource->consumer_arn.empty()) {
    auto consumer = consumers_.FindConsumerByArn(resource->consumer_arn);
    if (!consumer.ok()) return consumer.status();
    return consumer->arn;
  }
  auto stream = streams_.Find(resource->stream);
  if (!stream.ok()) return stream.status();
  std::shared_lock lock((*stream)->mu);
  return (*stream)->record.Arn();
}

}  // namespace sluice::kinesis

namespace sluice::kinesis {

// Resource policies live next to tags: keyed by the same resource ARN, stored
// verbatim and never enforced.
Status KinesisApi::PutResourcePolicy(const Context& context,
                                     const json::Value& input,
                                     Encoder& /*output*/) {
  // The model has checked that Policy is there.
  std::string_view policy = model::GetString(input, "Policy").value_or("");
  auto resource = ResolveResource(context, input);
  if (!resource.ok()) return resource.status();
  if (!resource->consumer_arn.empty()) {
    // Under the stream's lock, so the policy cannot outlive a concurrent
    // deregistration.
    return consumers_.WithConsumer(
        resource->consumer_arn, [&](const ConsumerInfo& consumer) {
          return catalog_.PutResourcePolicy(consumer.arn, policy);
        });
  }
  auto stream = streams_.Find(resource->stream);
  if (!stream.ok()) return stream.status();
  return catalog_.PutResourcePolicy(StreamArn(resource->stream), policy);
}

Status KinesisApi::GetResourcePolicy(const Context& context,
                                     const json::Value& input,
                                     Encoder& output) {
  auto arn = ResourceArnOf(context, input);
  if (!arn.ok()) return arn.status();
  auto policy = catalog_.GetResourcePolicy(*arn);
  if (!policy.ok()) return policy.status();
  output.StartObject();
  output.Key("Policy");
  // A resource without a policy has the empty document.
  output.String(policy->value_or("{}"));
  output.EndObject();
  return Status::Ok();
}

Status KinesisApi::DeleteResourcePolicy(const Context& context,
                                        const json::Value& input,
                                        Encoder& /*output*/) {
  auto found = ResourceArnOf(context, input);
  if (!found.ok()) return found.status();
  const std::string& arn = *found;
  auto deleted = catalog_.DeleteResourcePolicy(arn);
  if (!deleted.ok()) return deleted.status();
  if (!*deleted) {
    return Status(ErrorCode::kResourceNotFound,
                  "No resource policy found for resource ARN " + arn + ".");
  }
  return Status::Ok();
}

}  // namespace sluice::kinesis
