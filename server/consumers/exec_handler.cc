#include "server/consumers/exec_handler.h"

#include <cstdio>

#include "common/base64.h"
#include "common/json.h"
#include "common/log.h"
#include "common/subprocess.h"

namespace sluice::consumers {
namespace {

constexpr std::string_view kUnhandled = "Unhandled";

class ExecHandler final : public Handler {
 public:
  ExecHandler(std::string consumer, std::vector<std::string> command,
              ProcessOptions options, std::string region, std::string role)
      : consumer_(std::move(consumer)),
        command_(std::move(command)),
        options_(options),
        region_(std::move(region)),
        role_(std::move(role)) {}

  HandlerResult Handle(const Batch& batch) override {
    std::string event = KinesisEventJson(batch, region_, role_);
    auto ran = RunProcess(command_, event, options_);
    if (!ran.ok()) {
      SLUICE_LOG(kError) << "consumer " << consumer_ << ": "
                         << ran.status().message();
      return HandlerResult::FunctionError(std::string(kUnhandled));
    }
    if (!ran->Succeeded()) {
      SLUICE_LOG(kWarn) << "consumer " << consumer_ << ": " << command_.front()
                        << " failed (" << ran->Describe(options_)
                        << "); stderr: " << Tail(ran->stderr_bytes);
      return HandlerResult::FunctionError(std::string(kUnhandled));
    }
    HandlerResult result = ParseFunctionResponse(ran->stdout_bytes);
    if (result.function_error) {
      SLUICE_LOG(kWarn) << "consumer " << consumer_ << ": " << command_.front()
                        << " answered what is not a function response: "
                        << Tail(ran->stdout_bytes);
    }
    return result;
  }

 private:
  static std::string Tail(const std::string& text) {
    constexpr size_t kShown = 500;
    return text.size() <= kShown ? text : text.substr(text.size() - kShown);
  }

  const std::string consumer_;
  const std::vector<std::string> command_;
  const ProcessOptions options_;
  const std::string region_;
  const std::string role_;
};

Status Invalid(std::string message) {
  return Status(ErrorCode::kInvalidArgument, std::move(message));
}

}  // namespace

std::string KinesisEventJson(const Batch& batch, std::string_view region,
                             std::string_view invoke_identity_arn) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  auto string = [&w](std::string_view text) {
    w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  };
  w.StartObject();
  w.Key("Records");
  w.StartArray();
  for (const ConsumerRecord& record : batch.records) {
    w.StartObject();
    w.Key("kinesis");
    w.StartObject();
    w.Key("kinesisSchemaVersion");
    w.String("1.0");
    w.Key("partitionKey");
    string(record.partition_key);
    w.Key("sequenceNumber");
    string(record.sequence_number);
    w.Key("data");
    string(Base64Encode(record.data));
    w.Key("approximateArrivalTimestamp");
    // Epoch seconds with exactly the millisecond fraction, as AWS sends it.
    char number[32];
    int length =
        std::snprintf(number, sizeof number, "%lld.%03lld",
                      static_cast<long long>(record.arrival_millis / 1000),
                      static_cast<long long>(record.arrival_millis % 1000));
    w.RawValue(number, static_cast<size_t>(length), rapidjson::kNumberType);
    w.EndObject();
    w.Key("eventSource");
    w.String("aws:kinesis");
    w.Key("eventVersion");
    w.String("1.0");
    w.Key("eventID");
    string(batch.shard_id + ":" + record.sequence_number);
    w.Key("eventName");
    w.String("aws:kinesis:record");
    w.Key("invokeIdentityArn");
    string(invoke_identity_arn);
    w.Key("awsRegion");
    string(region);
    w.Key("eventSourceARN");
    string(batch.stream_arn);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

HandlerResult ParseFunctionResponse(std::string_view response) {
  size_t start = response.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return HandlerResult::Success();
  json::Document doc;
  doc.Parse<json::kParseFlags>(response.data(), response.size());
  if (doc.HasParseError()) {
    return HandlerResult::FunctionError(std::string(kUnhandled));
  }
  if (!doc.IsObject()) return HandlerResult::Success();
  auto failures = doc.FindMember("batchItemFailures");
  if (failures == doc.MemberEnd() || failures->value.IsNull()) {
    return HandlerResult::Success();
  }
  HandlerResult result;
  if (!failures->value.IsArray()) {
    // Not a list Lambda can read: the whole batch failed.
    result.failed_items.push_back("");
    return result;
  }
  for (const json::Value& item : failures->value.GetArray()) {
    auto id = item.IsObject() ? item.FindMember("itemIdentifier")
                              : json::Value::ConstMemberIterator();
    if (!item.IsObject() || id == item.MemberEnd() || !id->value.IsString()) {
      // An empty identifier makes the runtime fail the whole batch.
      result.failed_items.push_back("");
    } else {
      result.failed_items.push_back(std::string(json::AsView(id->value)));
    }
  }
  return result;
}

Result<std::unique_ptr<Handler>> MakeExecHandler(const HandlerSpec& spec) {
  const json::Value& settings = *spec.settings;
  std::vector<std::string> command;
  ProcessOptions options;
  options.timeout = std::chrono::seconds(kDefaultExecTimeoutSeconds);
  for (auto& member : settings.GetObject()) {
    std::string_view key = json::AsView(member.name);
    const json::Value& value = member.value;
    if (key == "type") continue;
    if (key == "command") {
      if (!value.IsArray() || value.Empty()) {
        return Invalid(
            "Handler.command must be a non-empty array of strings: the "
            "program and its arguments.");
      }
      for (const json::Value& arg : value.GetArray()) {
        if (!arg.IsString() ||
            (command.empty() && arg.GetStringLength() == 0)) {
          return Invalid(
              "Handler.command must be a non-empty array of strings: the "
              "program and its arguments.");
        }
        command.emplace_back(json::AsView(arg));
      }
    } else if (key == "timeout_seconds") {
      if (!value.IsInt64() || value.GetInt64() < 1 ||
          value.GetInt64() > kMaxExecTimeoutSeconds) {
        return Invalid("Handler.timeout_seconds must be an integer from 1 to " +
                       std::to_string(kMaxExecTimeoutSeconds) + ".");
      }
      options.timeout = std::chrono::seconds(value.GetInt64());
    } else {
      return Invalid("Unknown member Handler." + std::string(key) +
                     " of an exec handler (command, timeout_seconds).");
    }
  }
  if (command.empty()) return Invalid("Handler.command is required.");
  const HandlerEnvironment& environment = *spec.environment;
  std::string role =
      "arn:aws:iam::" + environment.account_id + ":role/sluice-consumer";
  return std::unique_ptr<Handler>(
      std::make_unique<ExecHandler>(spec.consumer, std::move(command), options,
                                    environment.region, std::move(role)));
}

}  // namespace sluice::consumers
