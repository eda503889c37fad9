#include "server/firehose/http_endpoint.h"

#include <algorithm>

#include "common/json_codec.h"
#include "server/firehose/compression.h"
#include "server/model/service_model.h"

namespace sluice::firehose {
namespace {

constexpr std::string_view kLoggingDisabled = R"({"Enabled":false})";

Status Invalid(std::string message) {
  return Status(ErrorCode::kInvalidArgument, std::move(message));
}

const json::Value* Member(const json::Value& object, const char* name) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

// Copies `from`'s members into `into`, replacing those of the same name;
// the members named in `deep` that are objects on both sides merge member
// by member instead, and so do their BufferingHints (UpdateDestination's
// partial updates).
void MergeInto(json::Value& into, const json::Value& from,
               std::initializer_list<std::string_view> deep,
               json::Document::AllocatorType& allocator) {
  for (const auto& member : from.GetObject()) {
    if (member.value.IsNull()) continue;
    const std::string_view name = json::AsView(member.name);
    auto existing = into.FindMember(member.name);
    if (existing != into.MemberEnd() && existing->value.IsObject() &&
        member.value.IsObject() &&
        std::find(deep.begin(), deep.end(), name) != deep.end()) {
      MergeInto(existing->value, member.value, {"BufferingHints"}, allocator);
      continue;
    }
    json::Value copy(member.value, allocator);
    if (existing != into.MemberEnd()) {
      existing->value = copy;
    } else {
      into.AddMember(json::Value(member.name, allocator), copy, allocator);
    }
  }
}

}  // namespace

Result<HttpEndpointUrl> ParseHttpEndpointUrl(std::string_view url) {
  constexpr std::string_view kHttp = "http://";
  constexpr std::string_view kHttps = "https://";
  HttpEndpointUrl parsed;
  parsed.tls = url.starts_with(kHttps);
  if (!parsed.tls && !url.starts_with(kHttp)) {
    return Invalid("HttpEndpoint Url " + std::string(url) +
                   " is neither an http:// nor an https:// URL.");
  }
  std::string_view rest = url.substr(parsed.tls ? kHttps.size() : kHttp.size());
  const size_t path_at = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_at);
  parsed.target = path_at == std::string_view::npos
                      ? "/"
                      : std::string(rest.substr(path_at));
  if (parsed.target.front() == '?') parsed.target = "/" + parsed.target;
  if (authority.find('@') != std::string_view::npos) {
    return Invalid("HttpEndpoint Url " + std::string(url) +
                   " must not carry user information; use AccessKey.");
  }
  std::string_view host = authority;
  std::string_view port = parsed.tls ? "443" : "80";
  if (authority.starts_with('[')) {  // [IPv6]:port
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return Invalid("HttpEndpoint Url " + std::string(url) +
                     " has a malformed host.");
    }
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return Invalid("HttpEndpoint Url " + std::string(url) +
                       " has a malformed host.");
      }
      port = after.substr(1);
    }
  } else if (size_t colon = authority.rfind(':');
             colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  const bool port_ok =
      !port.empty() && port.size() <= 5 &&
      port.find_first_not_of("0123456789") == std::string_view::npos &&
      std::stoi(std::string(port)) > 0 && std::stoi(std::string(port)) < 65536;
  if (host.empty() || !port_ok) {
    return Invalid("HttpEndpoint Url " + std::string(url) +
                   " needs a host and a port between 1 and 65535.");
  }
  parsed.host = std::string(host);
  parsed.port = std::string(port);
  return parsed;
}

Result<S3Destination> ParseHttpEndpointDestination(const json::Value& config) {
  auto http = std::make_shared<HttpEndpointDestination>();
  const json::Value* endpoint = Member(config, "EndpointConfiguration");
  const json::Value* s3 = Member(config, "S3Configuration");
  if (endpoint == nullptr || s3 == nullptr) {
    return Invalid(
        "An HttpEndpoint destination needs EndpointConfiguration and "
        "S3Configuration (S3Update when UpdateDestination switches to it).");
  }
  http->url = std::string(model::GetString(*endpoint, "Url").value_or(""));
  auto url = ParseHttpEndpointUrl(http->url);
  if (!url.ok()) return url.status();
  http->endpoint = std::move(*url);
  if (auto name = model::GetString(*endpoint, "Name")) {
    http->name = std::string(*name);
  }
  if (auto key = model::GetString(*endpoint, "AccessKey")) {
    http->access_key = std::string(*key);
  }
  if (const json::Value* request = Member(config, "RequestConfiguration")) {
    http->content_encoding = std::string(
        model::GetString(*request, "ContentEncoding").value_or("NONE"));
    if (const json::Value* list = Member(*request, "CommonAttributes")) {
      for (const json::Value& attribute : list->GetArray()) {
        http->common_attributes.emplace_back(
            model::GetString(attribute, "AttributeName").value_or(""),
            model::GetString(attribute, "AttributeValue").value_or(""));
      }
    }
  }
  if (const json::Value* retry = Member(config, "RetryOptions")) {
    http->retry_seconds = model::GetInteger(*retry, "DurationInSeconds")
                              .value_or(http->retry_seconds);
  }
  http->s3_backup_mode = std::string(
      model::GetString(config, "S3BackupMode").value_or("FailedDataOnly"));
  if (auto role = model::GetString(config, "RoleARN")) {
    http->role_arn = std::string(*role);
  }
  const json::Value* logging = Member(config, "CloudWatchLoggingOptions");
  http->cloudwatch_json =
      logging ? SerializeJson(*logging) : std::string(kLoggingDisabled);
  if (Member(config, "SecretsManagerConfiguration") != nullptr &&
      model::GetBool(*Member(config, "SecretsManagerConfiguration"), "Enabled")
          .value_or(false)) {
    return Invalid(
        "SecretsManagerConfiguration is not supported by Sluice; give the "
        "endpoint's AccessKey in EndpointConfiguration.");
  }

  // The backup bucket: an S3DestinationConfiguration like any other.
  Result<S3Destination> parsed = ParseS3Destination(*s3, /*extended=*/false);
  if (!parsed.ok()) return parsed.status();
  S3Destination dest = std::move(*parsed);
  http->backup_size_mb = dest.size_mb;
  http->backup_interval_seconds = dest.interval_seconds;
  dest.size_mb = kDefaultHttpBufferSizeMb;
  dest.interval_seconds = kDefaultHttpBufferIntervalSeconds;
  if (const json::Value* hints = Member(config, "BufferingHints")) {
    dest.size_mb =
        model::GetInteger(*hints, "SizeInMBs").value_or(dest.size_mb);
    dest.interval_seconds = model::GetInteger(*hints, "IntervalInSeconds")
                                .value_or(dest.interval_seconds);
  }
  dest.append_delimiter = false;
  dest.processing_json.reset();
  if (const json::Value* processing =
          Member(config, "ProcessingConfiguration")) {
    if (Status s = ParseProcessingConfiguration(*processing, dest); !s.ok()) {
      return s;
    }
    if (dest.lambda) {
      return Status(ErrorCode::kInvalidArgument,
                    "A Lambda processor on an HttpEndpoint destination is not "
                    "supported by Sluice yet; Sluice runs transforms for S3 "
                    "destinations only.");
    }
    http->processing_json = std::move(dest.processing_json);
    dest.processing_json.reset();
  }
  dest.http_endpoint = std::move(http);
  return dest;
}

std::string StoreHttpEndpointDestination(const json::Value& config) {
  return R"({"HttpEndpoint":true,"Configuration":)" + SerializeJson(config) +
         "}";
}

bool IsHttpEndpointStored(const json::Value& stored) {
  const json::Value* flag = Member(stored, "HttpEndpoint");
  return flag != nullptr && flag->IsBool() && flag->GetBool();
}

Result<std::pair<std::string, S3Destination>> MergeHttpEndpointDestination(
    std::string_view stored, const json::Value& update) {
  json::Document doc;
  doc.Parse(stored.data(), stored.size());
  if (doc.HasParseError() || Member(doc, "Configuration") == nullptr) {
    return Status(ErrorCode::kInternalFailure,
                  "catalog holds a damaged destination");
  }
  json::Document merged;
  json::Value& config = merged.SetObject();
  auto& allocator = merged.GetAllocator();
  if (IsHttpEndpointStored(doc)) {
    config.CopyFrom(doc["Configuration"], allocator);
  }
  // S3Update is the update of S3Configuration.
  json::Value renamed(rapidjson::kObjectType);
  for (const auto& member : update.GetObject()) {
    const std::string_view name = json::AsView(member.name);
    const std::string_view target =
        name == "S3Update" ? std::string_view("S3Configuration") : name;
    renamed.AddMember(
        json::Value(target.data(),
                    static_cast<rapidjson::SizeType>(target.size()), allocator),
        json::Value(member.value, allocator), allocator);
  }
  MergeInto(config, renamed,
            {"EndpointConfiguration", "BufferingHints", "RetryOptions",
             "RequestConfiguration", "S3Configuration"},
            allocator);
  Result<S3Destination> parsed = ParseHttpEndpointDestination(config);
  if (!parsed.ok()) return parsed.status();
  return std::pair{StoreHttpEndpointDestination(config), std::move(*parsed)};
}

void WriteHttpEndpointDescription(Encoder& out, const S3Destination& dest) {
  const HttpEndpointDestination& http = *dest.http_endpoint;
  auto write_raw = [&out](const std::string& text) {
    json::Document doc;
    doc.Parse(text.data(), text.size());
    WriteJson(out, doc);
  };
  out.Key("HttpEndpointDestinationDescription");
  out.StartObject();
  out.Key("EndpointConfiguration");
  out.StartObject();
  out.Key("Url");
  out.String(http.url);
  if (http.name) {
    out.Key("Name");
    out.String(*http.name);
  }
  out.EndObject();
  out.Key("BufferingHints");
  out.StartObject();
  out.Key("SizeInMBs");
  out.Int(dest.size_mb);
  out.Key("IntervalInSeconds");
  out.Int(dest.interval_seconds);
  out.EndObject();
  out.Key("CloudWatchLoggingOptions");
  write_raw(http.cloudwatch_json);
  out.Key("RequestConfiguration");
  out.StartObject();
  out.Key("ContentEncoding");
  out.String(http.content_encoding);
  out.Key("CommonAttributes");
  out.StartArray();
  for (const auto& [name, value] : http.common_attributes) {
    out.StartObject();
    out.Key("AttributeName");
    out.String(name);
    out.Key("AttributeValue");
    out.String(value);
    out.EndObject();
  }
  out.EndArray();
  out.EndObject();
  if (http.processing_json) {
    out.Key("ProcessingConfiguration");
    write_raw(*http.processing_json);
  }
  if (http.role_arn) {
    out.Key("RoleARN");
    out.String(*http.role_arn);
  }
  out.Key("RetryOptions");
  out.StartObject();
  out.Key("DurationInSeconds");
  out.Int(http.retry_seconds);
  out.EndObject();
  out.Key("S3BackupMode");
  out.String(http.s3_backup_mode);
  out.Key("S3DestinationDescription");
  out.StartObject();
  S3Destination backup = dest;
  backup.size_mb = http.backup_size_mb;
  backup.interval_seconds = http.backup_interval_seconds;
  WriteS3DescriptionMembers(out, backup, /*extended=*/false);
  out.EndObject();
  out.EndObject();
}

Result<HttpEndpointRequest> BuildHttpEndpointRequest(
    const HttpEndpointDestination& dest, std::string_view source_arn,
    std::string_view request_id, EpochMillis timestamp,
    std::span<const std::string> records) {
  std::unique_ptr<Encoder> body = NewJsonEncoder();
  body->StartObject();
  body->Key("requestId");
  body->String(request_id);
  body->Key("timestamp");
  body->Int(timestamp);
  body->Key("records");
  body->StartArray();
  for (const std::string& record : records) {
    body->StartObject();
    body->Key("data");
    body->Blob(record);
    body->EndObject();
  }
  body->EndArray();
  body->EndObject();

  HttpEndpointRequest request;
  request.body = body->Take();
  request.headers = {
      {"Content-Type", "application/json"},
      {"X-Amz-Firehose-Protocol-Version", "1.0"},
      {"X-Amz-Firehose-Request-Id", std::string(request_id)},
      {"X-Amz-Firehose-Source-Arn", std::string(source_arn)},
  };
  if (dest.access_key) {
    request.headers.emplace_back("X-Amz-Firehose-Access-Key", *dest.access_key);
  }
  if (!dest.common_attributes.empty()) {
    std::unique_ptr<Encoder> attributes = NewJsonEncoder();
    attributes->StartObject();
    attributes->Key("commonAttributes");
    attributes->StartObject();
    for (const auto& [name, value] : dest.common_attributes) {
      attributes->Key(name);
      attributes->String(value);
    }
    attributes->EndObject();
    attributes->EndObject();
    request.headers.emplace_back("X-Amz-Firehose-Common-Attributes",
                                 attributes->Take());
  }
  if (dest.content_encoding == "GZIP") {
    Result<std::string> gzipped = GzipCompress(request.body);
    if (!gzipped.ok()) return gzipped.status();
    request.body = std::move(*gzipped);
    request.headers.emplace_back("Content-Encoding", "gzip");
  }
  return request;
}

std::optional<HttpEndpointFailure> CheckHttpEndpointResponse(
    int status, std::string_view body, std::string_view request_id) {
  // The endpoint's answer goes into error messages cut short, as AWS logs it.
  constexpr size_t kQuoted = 512;
  const std::string quoted(body.substr(0, kQuoted));
  if (status != 200) {
    return HttpEndpointFailure{
        "HttpEndpoint.DestinationException",
        "The following response was received from the endpoint destination. " +
            std::to_string(status) + ": " + quoted};
  }
  json::Document doc;
  doc.Parse(body.data(), body.size());
  auto invalid = [&](std::string why) {
    return HttpEndpointFailure{
        "HttpEndpoint.InvalidResponseFromDestination",
        "The response received from the endpoint is invalid: " + why +
            ". Response: " + quoted};
  };
  if (doc.HasParseError() || !doc.IsObject()) {
    return invalid("it is not a JSON object");
  }
  const json::Value* id = Member(doc, "requestId");
  if (id == nullptr || !id->IsString()) {
    return invalid("it has no requestId");
  }
  if (json::AsView(*id) != request_id) {
    return invalid("its requestId " + std::string(json::AsView(*id)) +
                   " is not the request's " + std::string(request_id));
  }
  const json::Value* timestamp = Member(doc, "timestamp");
  if (timestamp == nullptr || !timestamp->IsNumber()) {
    return invalid("it has no numeric timestamp");
  }
  return std::nullopt;
}

}  // namespace sluice::firehose
