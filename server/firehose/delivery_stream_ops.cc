// Control plane: create, delete, describe, list, UpdateDestination,
// encryption and tags; and the registration of every operation.
#include <algorithm>
#include <shared_mutex>

#include "common/json_codec.h"
#include "server/firehose/firehose_api.h"
#include "server/firehose/http_endpoint.h"
#include "server/model/service_model.h"
#include "server/model/validated_operations.h"

namespace sluice::firehose {
namespace {

constexpr model::ApiOperation<FirehoseApi> kOperations[] = {
    {"CreateDeliveryStream", &FirehoseApi::CreateDeliveryStream},
    {"DeleteDeliveryStream", &FirehoseApi::DeleteDeliveryStream},
    {"DescribeDeliveryStream", &FirehoseApi::DescribeDeliveryStream},
    {"ListDeliveryStreams", &FirehoseApi::ListDeliveryStreams},
    {"UpdateDestination", &FirehoseApi::UpdateDestination},
    {"StartDeliveryStreamEncryption",
     &FirehoseApi::StartDeliveryStreamEncryption},
    {"StopDeliveryStreamEncryption",
     &FirehoseApi::StopDeliveryStreamEncryption},
    {"TagDeliveryStream", &FirehoseApi::TagDeliveryStream},
    {"UntagDeliveryStream", &FirehoseApi::UntagDeliveryStream},
    {"ListTagsForDeliveryStream", &FirehoseApi::ListTagsForDeliveryStream},
    {"PutRecord", &FirehoseApi::PutRecord},
    {"PutRecordBatch", &FirehoseApi::PutRecordBatch},
};

// Destination configurations Sluice does not deliver to, by member name.
constexpr std::string_view kOtherDestinations[] = {
    "RedshiftDestinationConfiguration",
    "ElasticsearchDestinationConfiguration",
    "AmazonopensearchserviceDestinationConfiguration",
    "SplunkDestinationConfiguration",
    "AmazonOpenSearchServerlessDestinationConfiguration",
    "SnowflakeDestinationConfiguration",
    "IcebergDestinationConfiguration",
};
constexpr std::string_view kOtherUpdates[] = {
    "RedshiftDestinationUpdate",
    "ElasticsearchDestinationUpdate",
    "AmazonopensearchserviceDestinationUpdate",
    "SplunkDestinationUpdate",
    "AmazonOpenSearchServerlessDestinationUpdate",
    "SnowflakeDestinationUpdate",
    "IcebergDestinationUpdate",
};

using json::Member;

Status InvalidArgument(std::string message) {
  return Status(ErrorCode::kInvalidArgument, std::move(message));
}

std::string Describe(const DeliveryStreamKey& key) {
  return "Firehose " + key.name + " under account " + key.account_id;
}

// DeliveryStreamEncryptionConfigurationInput to the stored encryption JSON.
Result<std::string> EncryptionFrom(const json::Value& config) {
  std::string key_type(model::GetString(config, "KeyType").value_or(""));
  std::optional<std::string_view> key_arn = model::GetString(config, "KeyARN");
  if (key_type == "CUSTOMER_MANAGED_CMK" && !key_arn) {
    return InvalidArgument(
        "KeyARN is required when KeyType is CUSTOMER_MANAGED_CMK.");
  }
  if (key_type == "AWS_OWNED_CMK" && key_arn) {
    return InvalidArgument(
        "KeyARN must not be specified when KeyType is AWS_OWNED_CMK.");
  }
  std::string out = R"({"Status":"ENABLED","KeyType":")" + key_type + "\"";
  if (key_arn) out += R"(,"KeyARN":")" + std::string(*key_arn) + "\"";
  return out + "}";
}

constexpr std::string_view kEncryptionDisabled = R"({"Status":"DISABLED"})";

catalog::Tags ReadTags(const json::Value& list) {
  catalog::Tags tags;
  for (const json::Value& tag : list.GetArray()) {
    tags.emplace_back(std::string(model::GetString(tag, "Key").value_or("")),
                      std::string(model::GetString(tag, "Value").value_or("")));
  }
  return tags;
}

// The tag count after adding `adding` to `existing`.
size_t CountAfter(const catalog::Tags& existing, const catalog::Tags& adding) {
  size_t count = existing.size();
  for (const auto& [key, value] : adding) {
    bool present = std::any_of(existing.begin(), existing.end(),
                               [&](const auto& t) { return t.first == key; });
    if (!present) ++count;
  }
  return count;
}

}  // namespace

void FirehoseApi::RegisterWith(http::ApiRouter& router) {
  model::RegisterValidated<FirehoseApi>(
      router, kApiName, model::FirehoseModel(), kOperations, *this);
  router.Register(kAdminApiName, "FlushDeliveryStream",
                  [this](const http::RequestContext& context,
                         const json::Value& input, Encoder& output) {
                    return FlushDeliveryStream(context, input, output);
                  });
  router.Register(kAdminApiName, "ReadDeliveryStream",
                  [this](const http::RequestContext& context,
                         const json::Value& input, Encoder& output) {
                    return ReadDeliveryStream(context, input, output);
                  });
}

DeliveryStreamKey FirehoseApi::KeyFor(const Context& context,
                                      const json::Value& input) const {
  return {
      context.account_id, context.region,
      std::string(model::GetString(input, "DeliveryStreamName").value_or(""))};
}

Result<std::shared_ptr<LiveDeliveryStream>> FirehoseApi::Find(
    const Context& context, const json::Value& input) {
  return streams_.Find(KeyFor(context, input));
}

Status FirehoseApi::CreateDeliveryStream(const Context& context,
                                         const json::Value& input,
                                         Encoder& output) {
  const DeliveryStreamKey key = KeyFor(context, input);
  std::string type(
      model::GetString(input, "DeliveryStreamType").value_or("DirectPut"));
  if (type != "DirectPut" && type != "KinesisStreamAsSource") {
    return InvalidArgument("DeliveryStreamType " + type +
                           " is not supported by Sluice yet; only DirectPut "
                           "and KinesisStreamAsSource are.");
  }
  for (std::string_view source :
       {"KinesisStreamSourceConfiguration", "MSKSourceConfiguration",
        "DatabaseSourceConfiguration"}) {
    if (Member(input, source) != nullptr &&
        !(type == "KinesisStreamAsSource" &&
          source == "KinesisStreamSourceConfiguration")) {
      return InvalidArgument(std::string(source) +
                             " is only allowed with a matching "
                             "DeliveryStreamType, not " +
                             type + ".");
    }
  }
  std::optional<KinesisSource> source;
  if (type == "KinesisStreamAsSource") {
    const json::Value* config =
        Member(input, "KinesisStreamSourceConfiguration");
    if (config == nullptr) {
      return InvalidArgument(
          "KinesisStreamSourceConfiguration is required when "
          "DeliveryStreamType is KinesisStreamAsSource.");
    }
    auto resolved = ResolveSource(context, *config);
    if (!resolved.ok()) return resolved.status();
    source = std::move(*resolved);
    if (Member(input, "DeliveryStreamEncryptionConfigurationInput")) {
      return InvalidArgument(
          "DeliveryStreamEncryptionConfigurationInput is only allowed with "
          "DeliveryStreamType DirectPut.");
    }
  }
  const json::Value* s3 = Member(input, "S3DestinationConfiguration");
  const json::Value* extended =
      Member(input, "ExtendedS3DestinationConfiguration");
  const json::Value* http =
      Member(input, "HttpEndpointDestinationConfiguration");
  int destinations =
      (s3 != nullptr) + (extended != nullptr) + (http != nullptr);
  for (std::string_view other : kOtherDestinations) {
    if (Member(input, other) == nullptr) continue;
    if (destinations == 0) {
      std::string kind(other.substr(0, other.find("DestinationConfiguration")));
      return InvalidArgument(
          "Sluice does not deliver to " + kind +
          " destinations; use ExtendedS3DestinationConfiguration, which "
          "writes to the local archive.");
    }
    ++destinations;
  }
  if (destinations != 1) {
    return InvalidArgument(
        "Exactly one destination configuration must be specified.");
  }
  const json::Value& config =
      http != nullptr ? *http : (extended != nullptr ? *extended : *s3);
  auto parsed = http != nullptr
                    ? ParseHttpEndpointDestination(config)
                    : ParseS3Destination(config, extended != nullptr);
  if (!parsed.ok()) return parsed.status();

  std::string encryption(kEncryptionDisabled);
  if (const json::Value* enc =
          Member(input, "DeliveryStreamEncryptionConfigurationInput")) {
    auto stored = EncryptionFrom(*enc);
    if (!stored.ok()) return stored.status();
    encryption = std::move(*stored);
  }
  catalog::Tags tags;
  if (const json::Value* list = Member(input, "Tags")) tags = ReadTags(*list);

  DeliveryStreamManager::NewDeliveryStream request;
  request.key = key;
  request.type = type;
  request.destination = http != nullptr
                            ? StoreHttpEndpointDestination(config)
                            : StoreDestination(config, extended != nullptr);
  request.parsed = std::move(*parsed);
  request.encryption = std::move(encryption);
  request.source = std::move(source);
  auto created = streams_.Create(request);
  if (!created.ok()) return created.status();
  if (!tags.empty()) {
    if (Status s = catalog_.TagResource(created->Arn(), tags); !s.ok())
      return s;
  }
  output.StartObject();
  output.Key("DeliveryStreamARN");
  output.String(created->Arn());
  output.EndObject();
  return Status::Ok();
}

Result<KinesisSource> FirehoseApi::ResolveSource(const Context& context,
                                                 const json::Value& config) {
  KinesisSource source;
  source.stream_arn =
      std::string(model::GetString(config, "KinesisStreamARN").value_or(""));
  source.role_arn =
      std::string(model::GetString(config, "RoleARN").value_or(""));
  // arn:<partition>:kinesis:<region>:<account>:stream/<name>; the model
  // checked the form.
  std::string_view rest = source.stream_arn;
  std::string_view parts[5];
  for (std::string_view& part : parts) {
    size_t colon = rest.find(':');
    part = rest.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view()
                                           : rest.substr(colon + 1);
  }
  kinesis::StreamKey key{std::string(parts[4]), std::string(parts[3]),
                         std::string(rest.substr(rest.find('/') + 1))};
  auto stream = kinesis_.Find(key);
  if (!stream.ok() || key.account_id != context.account_id) {
    return InvalidArgument("Kinesis stream " + source.stream_arn +
                           " does not exist or is not accessible.");
  }
  std::shared_lock lock((*stream)->mu);
  source.stream_id = (*stream)->record.stream_id;
  return source;
}

Status FirehoseApi::CreateDeclared(const Context& context,
                                   const json::Value& input) {
  if (Status s = model::ValidateInput(model::FirehoseModel(),
                                      "CreateDeliveryStream", input);
      !s.ok()) {
    return s;
  }
  std::unique_ptr<Encoder> ignored = NewJsonEncoder();
  return CreateDeliveryStream(context, input, *ignored);
}

Status FirehoseApi::DeleteDeliveryStream(const Context& context,
                                         const json::Value& input,
                                         Encoder& output) {
  const DeliveryStreamKey key = KeyFor(context, input);
  auto stream = streams_.Find(key);
  if (!stream.ok()) return stream.status();
  {
    std::lock_guard lock((*stream)->mu);
    if ((*stream)->record.status == "CREATING") {
      return Status(
          ErrorCode::kResourceInUse,
          Describe(key) + " is in CREATING state, cannot be deleted.");
    }
  }
  if (Status s = streams_.Delete(key); !s.ok()) return s;
  output.StartObject();
  output.EndObject();
  return Status::Ok();
}

Status FirehoseApi::DescribeDeliveryStream(const Context& context,
                                           const json::Value& input,
                                           Encoder& output) {
  auto stream = Find(context, input);
  if (!stream.ok()) return stream.status();
  catalog::DeliveryStreamRecord record;
  S3Destination destination;
  {
    std::lock_guard lock((*stream)->mu);
    record = (*stream)->record;
    destination = (*stream)->destination;
  }
  const std::optional<KinesisSource>& source = (*stream)->source;
  output.StartObject();
  output.Key("DeliveryStreamDescription");
  output.StartObject();
  output.Key("DeliveryStreamName");
  output.String(record.name);
  output.Key("DeliveryStreamARN");
  output.String(record.Arn());
  output.Key("DeliveryStreamStatus");
  output.String(record.status);
  output.Key("DeliveryStreamEncryptionConfiguration");
  {
    json::Document encryption;
    encryption.Parse(record.encryption.data(), record.encryption.size());
    WriteJson(output, encryption);
  }
  output.Key("DeliveryStreamType");
  output.String(record.type);
  output.Key("VersionId");
  output.String(std::to_string(record.version_id));
  output.Key("CreateTimestamp");
  output.Timestamp(record.created_at);
  if (record.updated_at != record.created_at) {
    output.Key("LastUpdateTimestamp");
    output.Timestamp(record.updated_at);
  }
  if (source) {
    output.Key("Source");
    output.StartObject();
    output.Key("KinesisStreamSourceDescription");
    output.StartObject();
    output.Key("KinesisStreamARN");
    output.String(source->stream_arn);
    output.Key("RoleARN");
    output.String(source->role_arn);
    output.Key("DeliveryStartTimestamp");
    output.Timestamp(record.created_at);
    output.EndObject();
    output.EndObject();
  }
  output.Key("Destinations");
  output.StartArray();
  output.StartObject();
  output.Key("DestinationId");
  output.String(kDestinationId);
  WriteDestinationDescription(output, destination);
  output.EndObject();
  output.EndArray();
  output.Key("HasMoreDestinations");
  output.Bool(false);
  output.EndObject();
  output.EndObject();
  return Status::Ok();
}

Status FirehoseApi::ListDeliveryStreams(const Context& context,
                                        const json::Value& input,
                                        Encoder& output) {
  const size_t limit =
      static_cast<size_t>(model::GetInteger(input, "Limit").value_or(10));
  std::vector<std::string> names = streams_.List(
      context.account_id, context.region,
      model::GetString(input, "DeliveryStreamType").value_or(""),
      model::GetString(input, "ExclusiveStartDeliveryStreamName").value_or(""),
      limit + 1);
  const bool more = names.size() > limit;
  if (more) names.resize(limit);
  output.StartObject();
  output.Key("DeliveryStreamNames");
  output.StartArray();
  for (const std::string& name : names) output.String(name);
  output.EndArray();
  output.Key("HasMoreDeliveryStreams");
  output.Bool(more);
  output.EndObject();
  return Status::Ok();
}

Status FirehoseApi::UpdateDestination(const Context& context,
                                      const json::Value& input,
                                      Encoder& output) {
  const DeliveryStreamKey key = KeyFor(context, input);
  const std::string version(
      model::GetString(input, "CurrentDeliveryStreamVersionId").value_or(""));
  const std::string destination_id(
      model::GetString(input, "DestinationId").value_or(""));
  const json::Value* s3 = Member(input, "S3DestinationUpdate");
  const json::Value* extended = Member(input, "ExtendedS3DestinationUpdate");
  const json::Value* http = Member(input, "HttpEndpointDestinationUpdate");
  Status status = streams_.Update(
      key,
      [&](catalog::DeliveryStreamRecord& record,
          S3Destination& destination) -> Status {
        if (record.status != "ACTIVE") {
          return Status(ErrorCode::kResourceInUse,
                        Describe(key) + " is not ACTIVE, instead in state " +
                            record.status + ".");
        }
        if (version != std::to_string(record.version_id)) {
          return Status(ErrorCode::kConcurrentModification,
                        "Cannot update " + Describe(key) +
                            ": CurrentDeliveryStreamVersionId " + version +
                            " does not match the current version " +
                            std::to_string(record.version_id) + ".");
        }
        if (destination_id != kDestinationId) {
          return InvalidArgument("Destination " + destination_id +
                                 " not found in " + Describe(key) + ".");
        }
        for (std::string_view other : kOtherUpdates) {
          if (Member(input, other) != nullptr) {
            return InvalidArgument(
                std::string(other) +
                " does not apply: Sluice delivers to "
                "S3 (the local archive) and HTTP endpoints only.");
          }
        }
        if ((s3 != nullptr) + (extended != nullptr) + (http != nullptr) != 1) {
          return InvalidArgument(
              "Exactly one destination update must be specified.");
        }
        Result<std::pair<std::string, S3Destination>> merged =
            Status(ErrorCode::kInternalFailure, "no update");
        if (http != nullptr) {
          merged = MergeHttpEndpointDestination(record.destination, *http);
        } else if (destination.http_endpoint) {
          // Another destination type replaces the whole destination.
          const json::Value& update = extended ? *extended : *s3;
          auto parsed = ParseS3Destination(update, extended != nullptr);
          if (!parsed.ok()) return parsed.status();
          merged = std::pair{StoreDestination(update, extended != nullptr),
                             std::move(*parsed)};
        } else {
          merged =
              MergeDestination(record.destination, extended ? *extended : *s3,
                               extended != nullptr);
        }
        if (!merged.ok()) return merged.status();
        record.destination = std::move(merged->first);
        destination = std::move(merged->second);
        record.version_id += 1;
        record.updated_at = streams_.clock().NowMillis();
        return Status::Ok();
      });
  if (!status.ok()) return status;
  output.StartObject();
  output.EndObject();
  return Status::Ok();
}

Status FirehoseApi::StartDeliveryStreamEncryption(const Context& context,
                                                  const json::Value& input,
                                                  Encoder& output) {
  const DeliveryStreamKey key = KeyFor(context, input);
  std::string encryption = R"({"Status":"ENABLED","KeyType":"AWS_OWNED_CMK"})";
  if (const json::Value* config =
          Member(input, "DeliveryStreamEncryptionConfigurationInput")) {
    auto stored = EncryptionFrom(*config);
    if (!stored.ok()) return stored.status();
    encryption = std::move(*stored);
  }
  Status status = streams_.Update(
      key, [&](catalog::DeliveryStreamRecord& record, S3Destination&) {
        if (record.status != "ACTIVE") {
          return Status(ErrorCode::kResourceInUse,
                        Describe(key) + " is not ACTIVE, instead in state " +
                            record.status + ".");
        }
        if (record.type != "DirectPut") {
          return InvalidArgument(
              "Encryption can only be changed on a DirectPut delivery "
              "stream.");
        }
        record.encryption = encryption;
        return Status::Ok();
      });
  if (!status.ok()) return status;
  output.StartObject();
  output.EndObject();
  return Status::Ok();
}

Status FirehoseApi::StopDeliveryStreamEncryption(const Context& context,
                                                 const json::Value& input,
                                                 Encoder& output) {
  const DeliveryStreamKey key = KeyFor(context, input);
  Status status = streams_.Update(
      key, [&](catalog::DeliveryStreamRecord& record, S3Destination&) {
        if (record.status != "ACTIVE") {
          return Status(ErrorCode::kResourceInUse,
                        Describe(key) + " is not ACTIVE, instead in state " +
                            record.status + ".");
        }
        record.encryption = std::string(kEncryptionDisabled);
        return Status::Ok();
      });
  if (!status.ok()) return status;
  output.StartObject();
  output.EndObject();
  return Status::Ok();
}

Result<std::string> FirehoseApi::FindArn(const Context& context,
                                         const json::Value& input) {
  auto stream = Find(context, input);
  if (!stream.ok()) return stream.status();
  std::lock_guard lock((*stream)->mu);
  return (*stream)->record.Arn();
}

Status FirehoseApi::TagDeliveryStream(const Context& context,
                                      const json::Value& input,
                                      Encoder& output) {
  auto found = FindArn(context, input);
  if (!found.ok()) return found.status();
  const std::string& arn = *found;
  catalog::Tags adding = ReadTags(*Member(input, "Tags"));
  auto existing = catalog_.ListTags(arn);
  if (!existing.ok()) return existing.status();
  if (size_t after = CountAfter(*existing, adding);
      after > kMaxTagsPerDeliveryStream) {
    return Status(ErrorCode::kLimitExceeded,
                  "Tagging " + Describe(KeyFor(context, input)) +
                      " would give it " + std::to_string(after) +
                      " tags; a delivery stream can have at most " +
                      std::to_string(kMaxTagsPerDeliveryStream) + ".");
  }
  if (Status s = catalog_.TagResource(arn, adding); !s.ok()) return s;
  output.StartObject();
  output.EndObject();
  return Status::Ok();
}

Status FirehoseApi::UntagDeliveryStream(const Context& context,
                                        const json::Value& input,
                                        Encoder& output) {
  auto found = FindArn(context, input);
  if (!found.ok()) return found.status();
  const std::string& arn = *found;
  std::vector<std::string> keys;
  for (const json::Value& k : Member(input, "TagKeys")->GetArray()) {
    keys.emplace_back(json::AsView(k));
  }
  if (Status s = catalog_.UntagResource(arn, keys); !s.ok()) return s;
  output.StartObject();
  output.EndObject();
  return Status::Ok();
}

Status FirehoseApi::ListTagsForDeliveryStream(const Context& context,
                                              const json::Value& input,
                                              Encoder& output) {
  auto found = FindArn(context, input);
  if (!found.ok()) return found.status();
  const std::string& arn = *found;
  auto tags = catalog_.ListTags(arn);
  if (!tags.ok()) return tags.status();
  const std::string start(
      model::GetString(input, "ExclusiveStartTagKey").value_or(""));
  const size_t limit = static_cast<size_t>(
      model::GetInteger(input, "Limit").value_or(kMaxTagsPerDeliveryStream));
  output.StartObject();
  output.Key("Tags");
  output.StartArray();
  size_t written = 0;
  bool more = false;
  for (const auto& [tag_key, value] : *tags) {
    if (!start.empty() && tag_key <= start) continue;
    if (written == limit) {
      more = true;
      break;
    }
    output.StartObject();
    output.Key("Key");
    output.String(tag_key);
    output.Key("Value");
    output.String(value);
    output.EndObject();
    ++written;
  }
  output.EndArray();
  output.Key("HasMoreTags");
  output.Bool(more);
  output.EndObject();
  return Status::Ok();
}

}  // namespace sluice::firehose
