#include "server/firehose/destination.h"

#include "server/firehose/compression.h"
#include "server/firehose/http_endpoint.h"
#include "server/firehose/s3_key.h"
#include "server/model/service_model.h"

namespace sluice::firehose {
namespace {

constexpr std::string_view kNoEncryption =
    R"({"NoEncryptionConfig":"NoEncryption"})";
constexpr std::string_view kLoggingDisabled = R"({"Enabled":false})";

Status Unsupported(std::string message) {
  return Status(ErrorCode::kInvalidArgument, std::move(message));
}

const json::Value* Member(const json::Value& object, const char* name) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

// Whether an optional {"Enabled": bool} configuration is switched on; AWS
// takes a configuration without Enabled as enabled.
bool IsEnabled(const json::Value* config) {
  if (config == nullptr) return false;
  std::optional<bool> enabled = model::GetBool(*config, "Enabled");
  return enabled.value_or(true);
}

// The bucket of "arn:<partition>:s3:::<bucket>" (the model checked the form).
Result<std::string> BucketOf(std::string_view arn) {
  size_t at = arn.find(":s3:::");
  std::string bucket(at == std::string_view::npos ? std::string_view()
                                                  : arn.substr(at + 6));
  if (bucket.empty() || bucket == "." || bucket == "..") {
    return Status(ErrorCode::kInvalidArgument,
                  "BucketARN " + std::string(arn) +
                      " does not name a bucket Sluice can map to a directory "
                      "of the archive.");
  }
  return bucket;
}

}  // namespace

Status ParseProcessingConfiguration(const json::Value& processing,
                                    S3Destination& dest) {
  dest.processing_json = SerializeJson(processing);
  if (!IsEnabled(&processing)) return Status::Ok();
  const json::Value* processors = Member(processing, "Processors");
  if (processors == nullptr || !processors->IsArray()) return Status::Ok();
  for (const json::Value& processor : processors->GetArray()) {
    std::string type(model::GetString(processor, "Type").value_or(""));
    if (type == "AppendDelimiterToRecord") {
      dest.append_delimiter = true;
      continue;
    }
    if (type == "Lambda") {
      if (dest.lambda) {
        return Unsupported(
            "ProcessingConfiguration may hold only one processor of type "
            "Lambda.");
      }
      Result<LambdaProcessor> lambda = ParseLambdaProcessor(processor);
      if (!lambda.ok()) return lambda.status();
      dest.lambda = std::move(*lambda);
      continue;
    }
    return Unsupported("ProcessingConfiguration processor type " + type +
                       " is not supported by Sluice yet; only Lambda and "
                       "AppendDelimiterToRecord are.");
  }
  return Status::Ok();
}

std::string S3Destination::Extension() const {
  if (file_extension && !file_extension->empty()) return *file_extension;
  return std::string(CompressionExtension(compression));
}

Result<S3Destination> ParseS3Destination(const json::Value& config,
                                         bool extended) {
  S3Destination dest;
  dest.extended = extended;
  dest.role_arn = std::string(model::GetString(config, "RoleARN").value_or(""));
  dest.bucket_arn =
      std::string(model::GetString(config, "BucketARN").value_or(""));
  Result<std::string> bucket = BucketOf(dest.bucket_arn);
  if (!bucket.ok()) return bucket.status();
  dest.bucket = std::move(*bucket);
  if (auto prefix = model::GetString(config, "Prefix")) {
    dest.prefix = std::string(*prefix);
  }
  if (auto prefix = model::GetString(config, "ErrorOutputPrefix")) {
    dest.error_output_prefix = std::string(*prefix);
  }
  if (const json::Value* hints = Member(config, "BufferingHints")) {
    dest.size_mb =
        model::GetInteger(*hints, "SizeInMBs").value_or(dest.size_mb);
    dest.interval_seconds = model::GetInteger(*hints, "IntervalInSeconds")
                                .value_or(dest.interval_seconds);
  }
  dest.compression = std::string(
      model::GetString(config, "CompressionFormat").value_or("UNCOMPRESSED"));
  if (!IsSupportedCompression(dest.compression)) {
    return Unsupported("CompressionFormat " + dest.compression +
                       " is not supported by Sluice; use UNCOMPRESSED, GZIP, "
                       "ZIP, Snappy or HADOOP_SNAPPY.");
  }
  const json::Value* encryption = Member(config, "EncryptionConfiguration");
  dest.encryption_json =
      encryption ? SerializeJson(*encryption) : std::string(kNoEncryption);
  const json::Value* logging = Member(config, "CloudWatchLoggingOptions");
  dest.cloudwatch_json =
      logging ? SerializeJson(*logging) : std::string(kLoggingDisabled);
  if (const json::Value* processing =
          Member(config, "ProcessingConfiguration")) {
    if (Status s = ParseProcessingConfiguration(*processing, dest); !s.ok()) {
      return s;
    }
  }
  dest.s3_backup_mode = std::string(
      model::GetString(config, "S3BackupMode").value_or("Disabled"));
  if (dest.s3_backup_mode != "Disabled") {
    return Unsupported("S3BackupMode " + dest.s3_backup_mode +
                       " is not supported by Sluice yet.");
  }
  if (IsEnabled(Member(config, "DataFormatConversionConfiguration"))) {
    return Unsupported(
        "DataFormatConversionConfiguration (Parquet/ORC conversion) is not "
        "supported by Sluice yet.");
  }
  if (IsEnabled(Member(config, "DynamicPartitioningConfiguration"))) {
    return Unsupported(
        "DynamicPartitioningConfiguration is not supported by Sluice yet.");
  }
  if (auto extension = model::GetString(config, "FileExtension")) {
    dest.file_extension = std::string(*extension);
  }
  if (auto zone = model::GetString(config, "CustomTimeZone")) {
    dest.custom_time_zone = std::string(*zone);
    if (!zone->empty() && *zone != "UTC") {
      return Unsupported("CustomTimeZone " + std::string(*zone) +
                         " is not supported by Sluice yet; only UTC is.");
    }
  }
  if (Status s = ValidatePrefixes(dest.prefix.value_or(""),
                                  dest.error_output_prefix.value_or(""));
      !s.ok()) {
    return s;
  }
  return dest;
}

std::string StoreDestination(const json::Value& config, bool extended) {
  return std::string(R"({"Extended":)") + (extended ? "true" : "false") +
         R"(,"Configuration":)" + SerializeJson(config) + "}";
}

Result<S3Destination> LoadDestination(std::string_view stored) {
  json::Document doc;
  doc.Parse(stored.data(), stored.size());
  const json::Value* config = Member(doc, "Configuration");
  if (!doc.HasParseError() && config != nullptr && IsHttpEndpointStored(doc)) {
    return ParseHttpEndpointDestination(*config);
  }
  const json::Value* extended = Member(doc, "Extended");
  if (doc.HasParseError() || config == nullptr || extended == nullptr ||
      !extended->IsBool()) {
    return Status(ErrorCode::kInternalFailure,
                  "catalog holds a damaged destination: " +
                      std::string(stored.substr(0, 200)));
  }
  return ParseS3Destination(*config, extended->GetBool());
}

Result<std::pair<std::string, S3Destination>> MergeDestination(
    std::string_view stored, const json::Value& update, bool extended_update) {
  json::Document doc;
  doc.Parse(stored.data(), stored.size());
  if (doc.HasParseError() || Member(doc, "Configuration") == nullptr) {
    return Status(ErrorCode::kInternalFailure,
                  "catalog holds a damaged destination");
  }
  auto& allocator = doc.GetAllocator();
  json::Value& config = doc["Configuration"];
  for (auto& member : update.GetObject()) {
    if (member.value.IsNull()) continue;
    std::string name(member.name.GetString(), member.name.GetStringLength());
    if (name == "S3BackupUpdate") continue;  // S3 backup is refused anyway
    json::Value copy(member.value, allocator);
    auto existing = config.FindMember(member.name);
    if (name == "BufferingHints" && existing != config.MemberEnd() &&
        existing->value.IsObject() && copy.IsObject()) {
      for (auto& hint : copy.GetObject()) {
        json::Value hint_value(hint.value, allocator);
        auto old = existing->value.FindMember(hint.name);
        if (old != existing->value.MemberEnd()) {
          old->value = hint_value;
        } else {
          existing->value.AddMember(json::Value(hint.name, allocator),
                                    hint_value, allocator);
        }
      }
      continue;
    }
    if (existing != config.MemberEnd()) {
      existing->value = copy;
    } else {
      config.AddMember(json::Value(member.name, allocator), copy, allocator);
    }
  }
  bool extended = extended_update || doc["Extended"].GetBool();
  Result<S3Destination> parsed = ParseS3Destination(config, extended);
  if (!parsed.ok()) return parsed.status();
  return std::pair{StoreDestination(config, extended), std::move(*parsed)};
}

void WriteS3DescriptionMembers(Encoder& out, const S3Destination& dest,
                               bool extended) {
  auto write_raw = [&out](const std::string& text) {
    json::Document doc;
    doc.Parse(text.data(), text.size());
    WriteJson(out, doc);
  };
  out.Key("RoleARN");
  out.String(dest.role_arn);
  out.Key("BucketARN");
  out.String(dest.bucket_arn);
  if (dest.prefix) {
    out.Key("Prefix");
    out.String(*dest.prefix);
  }
  if (dest.error_output_prefix) {
    out.Key("ErrorOutputPrefix");
    out.String(*dest.error_output_prefix);
  }
  out.Key("BufferingHints");
  out.StartObject();
  out.Key("SizeInMBs");
  out.Int(dest.size_mb);
  out.Key("IntervalInSeconds");
  out.Int(dest.interval_seconds);
  out.EndObject();
  out.Key("CompressionFormat");
  out.String(dest.compression);
  out.Key("EncryptionConfiguration");
  write_raw(dest.encryption_json);
  out.Key("CloudWatchLoggingOptions");
  write_raw(dest.cloudwatch_json);
  if (!extended) return;
  if (dest.processing_json) {
    out.Key("ProcessingConfiguration");
    write_raw(*dest.processing_json);
  }
  out.Key("S3BackupMode");
  out.String(dest.s3_backup_mode);
  if (dest.file_extension) {
    out.Key("FileExtension");
    out.String(*dest.file_extension);
  }
  if (dest.custom_time_zone) {
    out.Key("CustomTimeZone");
    out.String(*dest.custom_time_zone);
  }
}

void WriteDestinationDescription(Encoder& out, const S3Destination& dest) {
  if (dest.http_endpoint) {
    WriteHttpEndpointDescription(out, dest);
    return;
  }
  out.Key("S3DestinationDescription");
  out.StartObject();
  WriteS3DescriptionMembers(out, dest, false);
  out.EndObject();
  out.Key("ExtendedS3DestinationDescription");
  out.StartObject();
  WriteS3DescriptionMembers(out, dest, true);
  out.EndObject();
}

void WriteJson(Encoder& out, const json::Value& value) {
  switch (value.GetType()) {
    case rapidjson::kNullType:
      out.Null();
      break;
    case rapidjson::kFalseType:
      out.Bool(false);
      break;
    case rapidjson::kTrueType:
      out.Bool(true);
      break;
    case rapidjson::kStringType:
      out.String(json::AsView(value));
      break;
    case rapidjson::kNumberType:
      if (value.IsInt64()) {
        out.Int(value.GetInt64());
      } else {
        out.Double(value.GetDouble());
      }
      break;
    case rapidjson::kArrayType:
      out.StartArray();
      for (const json::Value& item : value.GetArray()) WriteJson(out, item);
      out.EndArray();
      break;
    case rapidjson::kObjectType:
      out.StartObject();
      for (const auto& member : value.GetObject()) {
        out.Key(json::AsView(member.name));
        WriteJson(out, member.value);
      }
      out.EndObject();
      break;
  }
}

std::string SerializeJson(const json::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace sluice::firehose
