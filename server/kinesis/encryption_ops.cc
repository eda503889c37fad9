// Server-side encryption and enhanced monitoring settings:
// Start/StopStreamEncryption and Enable/DisableEnhancedMonitoring. Sluice
// stores the settings and reports them (DescribeStream, Put/Get answers); it
// neither encrypts with KMS nor publishes CloudWatch metrics.
#include <algorithm>
#include <array>
#include <cctype>
#include <set>

#include "server/kinesis/kinesis_api.h"
#include "server/model/service_model.h"

namespace sluice::kinesis {
namespace {

constexpr std::array<std::string_view, 7> kShardLevelMetrics = {
    "IncomingBytes",
    "IncomingRecords",
    "OutgoingBytes",
    "OutgoingRecords",
    "WriteProvisionedThroughputExceeded",
    "ReadProvisionedThroughputExceeded",
    "IteratorAgeMilliseconds"};

// 8-4-4-4-12 hex digits.
bool IsGuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-'
             : std::isxdigit(static_cast<unsigned char>(text[i])) == 0)
      return false;
  }
  return true;
}

bool IsAliasName(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '/' ||
           c == '_' || c == '-';
  });
}

// A KMS key id as Kinesis takes it: a key GUID, a key or alias ARN, or
// "alias/<name>".
bool IsKmsKeyId(std::string_view key_id) {
  if (IsGuid(key_id)) return true;
  if (key_id.rfind("alias/", 0) == 0) return IsAliasName(key_id.substr(6));
  if (key_id.rfind("arn:aws", 0) != 0) return false;
  // arn:<partition>:kms:<region>:<account>:key/<guid> or :alias/<name>
  std::string_view rest = key_id;
  std::string_view parts[5];
  for (std::string_view& part : parts) {
    size_t colon = rest.find(':');
    if (colon == std::string_view::npos) return false;
    part = rest.substr(0, colon);
    rest = rest.substr(colon + 1);
  }
  if (parts[2] != "kms" || parts[3].empty() || parts[4].size() != 12)
    return false;
  if (rest.rfind("key/", 0) == 0) return IsGuid(rest.substr(4));
  if (rest.rfind("alias/", 0) == 0) return IsAliasName(rest.substr(6));
  return false;
}

std::vector<std::string> MetricsOf(const json::Value& input) {
  std::set<std::string> metrics;
  if (auto it = input.FindMember("ShardLevelMetrics");
      it != input.MemberEnd() && it->value.IsArray()) {
    for (auto& metric : it->value.GetArray()) {
      if (!metric.IsString()) continue;  // the model has checked
      if (json::AsView(metric) == "ALL") {
        metrics.insert(kShardLevelMetrics.begin(), kShardLevelMetrics.end());
      } else {
        metrics.emplace(json::AsView(metric));
      }
    }
  }
  return {metrics.begin(), metrics.end()};
}

void WriteMetrics(Encoder& out, std::string_view name,
                  const std::vector<std::string>& metrics) {
  out.Key(name);
  out.StartArray();
  for (const std::string& metric : metrics) out.String(metric);
  out.EndArray();
}

}  // namespace

Status KinesisApi::ChangeEncryption(const Context& context,
                                    const json::Value& input, bool start) {
  auto key = ResolveStream(context, input);
  if (!key.ok()) return key.status();
  // The model has checked both are present and EncryptionType is NONE or KMS.
  std::string_view type =
      model::GetString(input, "EncryptionType").value_or("");
  std::string key_id(model::GetString(input, "KeyId").value_or(""));
  if (type != "KMS") {
    return Status(ErrorCode::kInvalidArgument,
                  "Encryption type " + std::string(type) +
                      " is not supported. Valid encryption types: KMS.");
  }
  if (!IsKmsKeyId(key_id)) {
    return Status(ErrorCode::kInvalidArgument,
                  "Invalid KeyId " + key_id +
                      ". KeyId must be a KMS key id, a key or alias ARN, or "
                      "an alias name prefixed by alias/.");
  }
  return streams_.UpdateStream(
      *key, /*through_updating=*/true,
      [&](catalog::StreamRecord& stream) -> Status {
        if (stream.status != catalog::StreamStatus::kActive)
          return StreamNotActive(stream);
        if (start) {
          stream.encryption_type = "KMS";
          stream.kms_key_id = key_id;
        } else {
          stream.encryption_type = "NONE";
          stream.kms_key_id.clear();
        }
        return Status::Ok();
      });
}

Status KinesisApi::StartStreamEncryption(const Context& context,
                                         const json::Value& input,
                                         Encoder& /*output*/) {
  return ChangeEncryption(context, input, /*start=*/true);
}

Status KinesisApi::StopStreamEncryption(const Context& context,
                                        const json::Value& input,
                                        Encoder& /*output*/) {
  return ChangeEncryption(context, input, /*start=*/false);
}

Status KinesisApi::ChangeMonitoring(const Context& context,
                                    const json::Value& input, bool enable,
                                    Encoder& output) {
  auto key = ResolveStream(context, input);
  if (!key.ok()) return key.status();
  std::vector<std::string> requested = MetricsOf(input);
  std::vector<std::string> before;
  std::vector<std::string> after;
  std::string name;
  std::string arn;
  Status changed = streams_.UpdateStream(
      *key, /*through_updating=*/false,
      [&](catalog::StreamRecord& stream) -> Status {
        if (stream.status != catalog::StreamStatus::kActive)
          return StreamNotActive(stream);
        before = stream.enhanced_metrics;
        std::sort(before.begin(), before.end());
        std::set<std::string> metrics(before.begin(), before.end());
        for (const std::string& metric : requested) {
          if (enable) {
            metrics.insert(metric);
          } else {
            metrics.erase(metric);
          }
        }
        after.assign(metrics.begin(), metrics.end());
        stream.enhanced_metrics = after;
        name = stream.name;
        arn = stream.Arn();
        return Status::Ok();
      });
  if (!changed.ok()) return changed;
  output.StartObject();
  output.Key("StreamName");
  output.String(name);
  output.Key("StreamARN");
  output.String(arn);
  WriteMetrics(output, "CurrentShardLevelMetrics", before);
  WriteMetrics(output, "DesiredShardLevelMetrics", after);
  output.EndObject();
  return Status::Ok();
}

Status KinesisApi::EnableEnhancedMonitoring(const Context& context,
                                            const json::Value& input,
                                            Encoder& output) {
  return ChangeMonitoring(context, input, /*enable=*/true, output);
}

Status KinesisApi::DisableEnhancedMonitoring(const Context& context,
                                             const json::Value& input,
                                             Encoder& output) {
  return ChangeMonitoring(context, input, /*enable=*/false, output);
}

}  // namespace sluice::kinesis
