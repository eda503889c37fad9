// Tags on streams: AddTagsToStream, RemoveTagsFromStream, ListTagsForStream,
// and the ARN-based TagResource, UntagResource, ListTagsForResource. Tags live
// in the catalog under the stream's ARN, so both families see the same set.
// Consumers do not exist yet: a consumer ARN is answered ResourceNotFound.
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

Result<StreamKey> KinesisApi::ResolveResource(const Context& context,
                                              const json::Value& input) const {
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
    return Status(ErrorCode::kAccessDenied,
                  "User: arn:aws:iam::" + context.account_id +
                      ":root is not authorized to perform: kinesis:" +
                      std::string(context.operation) + " on resource: " + arn +
                      " because no resource-based policy allows the kinesis:" +
                      std::string(context.operation) + " action");
  }
  std::string_view path = rest.substr(7);
  if (path.find("/consumer/") != std::string_view::npos) {
    // Enhanced fan-out consumers are not built yet, so none exists.
    return Status(ErrorCode::kResourceNotFound,
                  "Consumer " + arn + " under account " + context.account_id +
                      " not found.");
  }
  if (path.empty() || path.find('/') != std::string_view::npos) {
    return Status(ErrorCode::kInvalidArgument, "Invalid ResourceARN " + arn);
  }
  return StreamKey{context.account_id, context.region, std::string(path)};
}

Status KinesisApi::AddTags(const StreamKey& key, const json::Value& input) {
  catalog::Tags tags = TagsOf(input);
  if (Status s = CheckTagCharacters(tags); !s.ok()) return s;
  std::string failed = "Failed to add tags to stream " + key.name +
                       " under account " + key.account_id + " because ";
  for (const auto& tag : tags) {
    if (HasReservedTagPrefix(tag.first)) {
      return Status(ErrorCode::kInvalidArgument,
                    failed + "the tag key " + tag.first +
                        " uses the reserved prefix aws:.");
    }
  }
  return streams_.UpdateStream(
      key, /*through_updating=*/false,
      [&](catalog::StreamRecord& stream) -> Status {
        if (stream.status != catalog::StreamStatus::kActive)
          return StreamNotActive(stream);
        auto existing = catalog_.ListTags(stream.Arn());
        if (!existing.ok()) return existing.status();
        size_t total = existing->size();
        for (const auto& tag : tags) {
          bool present = std::any_of(
              existing->begin(), existing->end(),
              [&](const auto& old) { return old.first == tag.first; });
          if (!present) ++total;
        }
        if (total > kMaxTagsPerResource) {
          return Status(ErrorCode::kInvalidArgument,
                        failed +
                            "a given stream cannot have more than 50 tags "
                            "associated with it.");
        }
        return catalog_.TagResource(stream.Arn(), tags);
      });
}

Status KinesisApi::RemoveTags(const StreamKey& key, const json::Value& input) {
  std::vector<std::string> keys = TagKeysOf(input);
  for (const std::string& tag_key : keys) {
    if (Status s = CheckTagKeyCharacters(tag_key); !s.ok()) return s;
  }
  return streams_.UpdateStream(
      key, /*through_updating=*/false,
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
  return AddTags(*key, input);
}

Status KinesisApi::RemoveTagsFromStream(const Context& context,
                                        const json::Value& input,
                                        Encoder& /*output*/) {
  auto key = ResolveStream(context, input);
  if (!key.ok()) return key.status();
  return RemoveTags(*key, input);
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
  auto key = ResolveResource(context, input);
  if (!key.ok()) return key.status();
  return AddTags(*key, input);
}

Status KinesisApi::UntagResource(const Context& context,
                                 const json::Value& input,
                                 Encoder& /*output*/) {
  auto key = ResolveResource(context, input);
  if (!key.ok()) return key.status();
  return RemoveTags(*key, input);
}

Status KinesisApi::ListTagsForResource(const Context& context,
                                       const json::Value& input,
                                       Encoder& output) {
  auto key = ResolveResource(context, input);
  if (!key.ok()) return key.status();
  auto stream = streams_.Find(*key);
  if (!stream.ok()) return stream.status();
  std::string arn;
  {
    std::shared_lock lock((*stream)->mu);
    arn = (*stream)->record.Arn();
  }
  auto tags = catalog_.ListTags(arn);
  if (!tags.ok()) return tags.status();
  output.StartObject();
  WriteTagList(output, *tags, tags->size());
  output.EndObject();
  return Status::Ok();
}

}  // namespace sluice::kinesis

namespace sluice::kinesis {

// Resource policies live next to tags: keyed by the same resource ARN, stored
// verbatim and never enforced.
Status KinesisApi::PutResourcePolicy(const Context& context,
                                     const json::Value& input,
                                     Encoder& /*output*/) {
  auto key = ResolveResource(context, input);
  if (!key.ok()) return key.status();
  auto stream = streams_.Find(*key);
  if (!stream.ok()) return stream.status();
  // The model has checked that Policy is there.
  std::string_view policy = model::GetString(input, "Policy").value_or("");
  return catalog_.PutResourcePolicy(StreamArn(*key), policy);
}

Status KinesisApi::GetResourcePolicy(const Context& context,
                                     const json::Value& input,
                                     Encoder& output) {
  auto key = ResolveResource(context, input);
  if (!key.ok()) return key.status();
  auto stream = streams_.Find(*key);
  if (!stream.ok()) return stream.status();
  auto policy = catalog_.GetResourcePolicy(StreamArn(*key));
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
  auto key = ResolveResource(context, input);
  if (!key.ok()) return key.status();
  auto stream = streams_.Find(*key);
  if (!stream.ok()) return stream.status();
  std::string arn = StreamArn(*key);
  auto deleted = catalog_.DeleteResourcePolicy(arn);
  if (!deleted.ok()) return deleted.status();
  if (!*deleted) {
    return Status(ErrorCode::kResourceNotFound,
                  "No resource policy found for resource ARN " + arn + ".");
  }
  return Status::Ok();
}

}  // namespace sluice::kinesis
