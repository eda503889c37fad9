#include "server/firehose/transform.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <set>
#include <unordered_map>

#include "common/base64.h"
#include "common/csv.h"
#include "common/log.h"
#include "common/subprocess.h"
#include "common/uuid.h"
#include "server/model/service_model.h"

namespace sluice::firehose {
namespace {

// errorCode values of error records. AWS documents the record shape but not
// the full list of codes; see docs/firehose.md (verify).
constexpr std::string_view kJsonError = "Lambda.JsonProcessingException";
constexpr std::string_view kMissingRecordId = "Lambda.MissingRecordId";
constexpr std::string_view kDuplicatedRecordId = "Lambda.DuplicatedRecordId";
constexpr std::string_view kInvalidRecordId = "Lambda.InvalidRecordId";
constexpr std::string_view kInvalidResult = "Lambda.InvalidResult";
constexpr std::string_view kInvalidData = "Lambda.InvalidData";
constexpr std::string_view kFunctionError = "Lambda.FunctionError";
constexpr std::string_view kResourceNotFound = "Lambda.ResourceNotFound";
constexpr std::string_view kProcessingFailed = "Lambda.ProcessingFailed";

// Lambda's synchronous response limit.
constexpr size_t kMaxResponseBytes = 6u << 20;

constexpr std::string_view kAddField = "sluice-builtin-add-field";
constexpr std::string_view kAddArrival = "sluice-builtin-add-arrival-timestamp";
constexpr std::string_view kDropIf = "sluice-builtin-drop-if";
constexpr std::string_view kMultiply = "sluice-builtin-multiply";
constexpr std::string_view kToCsv = "sluice-builtin-to-csv";

Status Invalid(std::string message) {
  return Status(ErrorCode::kInvalidArgument, std::move(message));
}

void WriteString(rapidjson::Writer<rapidjson::StringBuffer>& out,
                 std::string_view text) {
  out.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

bool IsFunctionName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// "arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]"
Status SplitArn(std::string_view arn, LambdaProcessor& processor) {
  auto invalid = [&] {
    return Invalid("LambdaArn " + std::string(arn) +
                   " is not a Lambda function ARN "
                   "(arn:aws:lambda:<region>:<account>:function:<name>).");
  };
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (int i = 0; i < 6; ++i) {
    size_t colon = arn.find(':', start);
    if (colon == std::string_view::npos) return invalid();
    parts.push_back(arn.substr(start, colon - start));
    start = colon + 1;
  }
  std::string_view tail = arn.substr(start);
  size_t colon = tail.find(':');
  std::string_view name = tail.substr(0, colon);
  if (parts[0] != "arn" || parts[2] != "lambda" || parts[5] != "function" ||
      !IsFunctionName(name)) {
    return invalid();
  }
  processor.lambda_arn = std::string(arn);
  processor.function_name = std::string(name);
  processor.qualifier = colon == std::string_view::npos
                            ? std::string()
                            : std::string(tail.substr(colon + 1));
  return Status::Ok();
}

// "NAME=VALUE" split at the first '='.
std::optional<std::pair<std::string_view, std::string_view>> FieldAndValue(
    std::string_view qualifier) {
  size_t eq = qualifier.find('=');
  if (eq == std::string_view::npos || eq == 0) return std::nullopt;
  return std::pair{qualifier.substr(0, eq), qualifier.substr(eq + 1)};
}

// kToCsv's "F1,F2,...": the columns, each a non-empty field name.
std::optional<std::vector<std::string_view>> ParseColumns(
    std::string_view qualifier) {
  std::vector<std::string_view> columns;
  size_t start = 0;
  while (true) {
    const size_t comma = qualifier.find(',', start);
    const std::string_view column = qualifier.substr(
        start, comma == std::string_view::npos ? comma : comma - start);
    if (column.empty()) return std::nullopt;
    columns.push_back(column);
    if (comma == std::string_view::npos) return columns;
    start = comma + 1;
  }
}

// kToCsv's column `name` of `record`: the top-level field of that name, else
// the dotted path through nested objects ("temperatures.engine"); nullptr
// when neither is there.
const json::Value* FindColumn(const json::Value& record,
                              std::string_view name) {
  auto member = [](const json::Value& object,
                   std::string_view key) -> const json::Value* {
    if (!object.IsObject()) return nullptr;
    auto it = object.FindMember(json::Value(rapidjson::StringRef(
        key.data(), static_cast<rapidjson::SizeType>(key.size()))));
    return it == object.MemberEnd() ? nullptr : &it->value;
  };
  if (const json::Value* whole = member(record, name)) return whole;
  const json::Value* value = &record;
  size_t start = 0;
  while (value != nullptr) {
    const size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) {
      return start == 0 ? nullptr : member(*value, name.substr(start));
    }
    value = member(*value, name.substr(start, dot - start));
    start = dot + 1;
  }
  return nullptr;
}

// kMultiply's "OUT=A*B": the field to set and the two factors' fields.
struct Product {
  std::string_view out, left, right;
};
std::optional<Product> ParseProduct(std::string_view qualifier) {
  auto split = FieldAndValue(qualifier);
  if (!split) return std::nullopt;
  const size_t star = split->second.find('*');
  if (star == std::string_view::npos || star == 0 ||
      star + 1 == split->second.size() ||
      split->second.find('*', star + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  return Product{split->first, split->second.substr(0, star),
                 split->second.substr(star + 1)};
}

Status CheckBuiltin(const LambdaProcessor& processor) {
  const std::string& name = processor.function_name;
  const std::string& argument = processor.qualifier;
  auto needs = [&](std::string_view form) {
    return Invalid("LambdaArn " + processor.lambda_arn + ": the built-in " +
                   name + " takes its argument after the name, as in " +
                   "function:" + name + ":" + std::string(form) + ".");
  };
  if (name == kAddField || name == kDropIf) {
    if (!FieldAndValue(argument)) return needs("FIELD=VALUE");
    return Status::Ok();
  }
  if (name == kAddArrival) {
    if (argument.empty() || argument.find('=') != std::string::npos) {
      return needs("FIELD");
    }
    return Status::Ok();
  }
  if (name == kMultiply) {
    if (!ParseProduct(argument)) return needs("FIELD=A*B");
    return Status::Ok();
  }
  if (name == kToCsv) {
    if (!ParseColumns(argument)) return needs("FIELD,FIELD,...");
    return Status::Ok();
  }
  return Invalid("LambdaArn " + processor.lambda_arn + " names " + name +
                 ", which is not a Sluice built-in transform; built-ins are " +
                 std::string(kAddField) + ", " + std::string(kAddArrival) +
                 ", " + std::string(kDropIf) + ", " + std::string(kMultiply) +
                 " and " + std::string(kToCsv) + ".");
}

bool IsBuiltin(const LambdaProcessor& processor) {
  return processor.function_name.rfind(kBuiltinPrefix, 0) == 0;
}

std::optional<int64_t> ParseInteger(std::string_view text) {
  int64_t value = 0;
  auto [end, error] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

// A plain decimal ("0.2", "3"), whatever the locale.
std::optional<double> ParseDecimal(std::string_view text) {
  double value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(),
                                      value, std::chars_format::fixed);
  if (error != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

RecordOutcome Failed(std::string_view code, std::string message) {
  RecordOutcome outcome;
  outcome.result = RecordResult::kProcessingFailed;
  outcome.error_code = std::string(code);
  outcome.error_message = std::move(message);
  return outcome;
}

Invocation FailedInvocation(std::string_view code, std::string message) {
  Invocation invocation;
  invocation.failure = InvocationFailure{std::string(code), std::move(message)};
  return invocation;
}

// A built-in transform of one record: the record must be a JSON object
// (a trailing newline is kept).
RecordOutcome ApplyBuiltin(const LambdaProcessor& processor,
                           const TransformRecord& record) {
  std::string_view text = record.data;
  const bool newline = !text.empty() && text.back() == '\n';
  if (newline) text.remove_suffix(1);
  json::Document doc;
  doc.Parse<json::kParseFlags>(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return Failed(kProcessingFailed, processor.function_name +
                                         ": the record is not a JSON object");
  }
  const std::string& name = processor.function_name;
  if (name == kToCsv) {
    // One row, ending in its own newline: no AppendDelimiterToRecord needed.
    const std::vector<std::string_view> columns =
        *ParseColumns(processor.qualifier);
    std::vector<std::string> fields;
    for (std::string_view column : columns) {
      const json::Value* value = FindColumn(doc, column);
      fields.push_back(value == nullptr ? std::string()
                                        : csv::FieldText(*value));
    }
    RecordOutcome outcome;
    outcome.data = csv::FormatRow(fields);
    return outcome;
  }
  auto& allocator = doc.GetAllocator();
  auto set = [&](std::string_view field, json::Value value) {
    json::Value key(field.data(),
                    static_cast<rapidjson::SizeType>(field.size()), allocator);
    auto existing = doc.FindMember(key);
    if (existing != doc.MemberEnd()) {
      existing->value = value;
    } else {
      doc.AddMember(key, value, allocator);
    }
  };
  if (name == kDropIf) {
    auto [field, wanted] = *FieldAndValue(processor.qualifier);
    auto member = doc.FindMember(json::Value(rapidjson::StringRef(
        field.data(), static_cast<rapidjson::SizeType>(field.size()))));
    bool matches = false;
    if (member != doc.MemberEnd()) {
      if (member->value.IsString()) {
        matches = json::AsView(member->value) == wanted;
      } else {
        rapidjson::StringBuffer buffer;
        rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
        member->value.Accept(writer);
        matches =
            std::string_view(buffer.GetString(), buffer.GetSize()) == wanted;
      }
    }
    RecordOutcome outcome;
    outcome.result = matches ? RecordResult::kDropped : RecordResult::kOk;
    if (!matches) outcome.data = std::string(record.data);
    return outcome;
  }
  if (name == kAddField) {
    auto [field, value] = *FieldAndValue(processor.qualifier);
    set(field,
        json::Value(value.data(),
                    static_cast<rapidjson::SizeType>(value.size()), allocator));
  } else if (name == kMultiply) {
    const Product product = *ParseProduct(processor.qualifier);
    auto factor = [&](std::string_view field) -> const json::Value* {
      auto member = doc.FindMember(json::Value(rapidjson::StringRef(
          field.data(), static_cast<rapidjson::SizeType>(field.size()))));
      return member != doc.MemberEnd() && member->value.IsNumber()
                 ? &member->value
                 : nullptr;
    };
    const json::Value* left = factor(product.left);
    const json::Value* right = factor(product.right);
    if (left == nullptr || right == nullptr) {
      return Failed(
          kProcessingFailed,
          processor.function_name + ": the record has no number " +
              std::string(left == nullptr ? product.left : product.right));
    }
    const double value = left->GetDouble() * right->GetDouble();
    if (!std::isfinite(value)) {
      return Failed(kProcessingFailed,
                    processor.function_name + ": the product is not finite");
    }
    set(product.out, json::Value(value));
  } else {  // kAddArrival (CheckBuiltin allows nothing else)
    set(processor.qualifier, json::Value(record.arrival_millis));
  }
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  doc.Accept(writer);
  RecordOutcome outcome;
  outcome.data.assign(buffer.GetString(), buffer.GetSize());
  if (newline) outcome.data += '\n';
  return outcome;
}

// What the handler said last on stderr, for the error message.
std::string StderrSuffix(const ProcessResult& run) {
  constexpr size_t kTail = 4096;
  const std::string& err = run.stderr_bytes;
  if (err.empty()) return "";
  return "; stderr: " + err.substr(err.size() > kTail ? err.size() - kTail : 0);
}

}  // namespace

Result<LambdaProcessor> ParseLambdaProcessor(const json::Value& processor) {
  LambdaProcessor out;
  std::optional<std::string> arn;
  std::set<std::string, std::less<>> seen;
  auto params = processor.IsObject() ? processor.FindMember("Parameters")
                                     : processor.MemberEnd();
  if (processor.IsObject() && params != processor.MemberEnd() &&
      params->value.IsArray()) {
    for (const json::Value& parameter : params->value.GetArray()) {
      std::string name(
          model::GetString(parameter, "ParameterName").value_or(""));
      std::string value(
          model::GetString(parameter, "ParameterValue").value_or(""));
      if (!seen.insert(name).second) {
        return Invalid("Processor parameter " + name +
                       " is specified more than once.");
      }
      if (name == "LambdaArn") {
        arn = value;
      } else if (name == "RoleArn") {
        // Echoed as given; Sluice assumes no role.
      } else if (name == "NumberOfRetries") {
        std::optional<int64_t> n = ParseInteger(value);
        if (!n || *n < 0 || *n > kMaxLambdaRetries) {
          return Invalid("NumberOfRetries must be an integer from 0 to " +
                         std::to_string(kMaxLambdaRetries) + "; got '" + value +
                         "'.");
        }
        out.number_of_retries = *n;
      } else if (name == "BufferSizeInMBs") {
        std::optional<double> mb = ParseDecimal(value);
        if (!mb || *mb < kMinLambdaBufferMb || *mb > kMaxLambdaBufferMb) {
          return Invalid(
              "BufferSizeInMBs must be a number from 0.2 to 3; got '" + value +
              "'.");
        }
        out.buffer_bytes = static_cast<uint64_t>(std::llround(*mb * 1048576));
      } else if (name == "BufferIntervalInSeconds") {
        std::optional<int64_t> seconds = ParseInteger(value);
        if (!seconds || *seconds < 0 || *seconds > kMaxLambdaIntervalSeconds) {
          return Invalid(
              "BufferIntervalInSeconds must be an integer from 0 to " +
              std::to_string(kMaxLambdaIntervalSeconds) + "; got '" + value +
              "'.");
        }
        out.buffer_interval_seconds = *seconds;
      } else {
        return Invalid("Processor parameter " + name +
                       " is not valid for processor type Lambda; it takes "
                       "LambdaArn, NumberOfRetries, RoleArn, BufferSizeInMBs "
                       "and BufferIntervalInSeconds.");
      }
    }
  }
  if (!arn) {
    return Invalid(
        "Processor of type Lambda requires the parameter LambdaArn.");
  }
  if (Status s = SplitArn(*arn, out); !s.ok()) return s;
  if (IsBuiltin(out)) {
    if (Status s = CheckBuiltin(out); !s.ok()) return s;
  }
  return out;
}

Result<LambdaProcessor> LambdaProcessorFromArn(std::string_view lambda_arn,
                                               int64_t number_of_retries,
                                               uint64_t buffer_bytes) {
  LambdaProcessor out;
  if (Status s = SplitArn(lambda_arn, out); !s.ok()) return s;
  if (IsBuiltin(out)) {
    if (Status s = CheckBuiltin(out); !s.ok()) return s;
  }
  out.number_of_retries = number_of_retries;
  out.buffer_bytes = buffer_bytes;
  return out;
}

std::string BuildTransformEvent(std::string_view invocation_id,
                                const TransformContext& context,
                                const std::vector<TransformRecord>& records) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> out(buffer);
  out.StartObject();
  out.Key("invocationId");
  WriteString(out, invocation_id);
  out.Key("deliveryStreamArn");
  WriteString(out, context.delivery_stream_arn);
  if (context.source_stream_arn) {
    out.Key("sourceKinesisStreamArn");
    WriteString(out, *context.source_stream_arn);
  }
  out.Key("region");
  WriteString(out, context.region);
  out.Key("records");
  out.StartArray();
  for (const TransformRecord& record : records) {
    out.StartObject();
    out.Key("recordId");
    WriteString(out, record.record_id);
    out.Key("approximateArrivalTimestamp");
    out.Int64(record.arrival_millis);
    out.Key("data");
    WriteString(out, Base64Encode(record.data));
    if (record.kinesis) {
      const KinesisRecordMetadata& metadata = *record.kinesis;
      out.Key("kinesisRecordMetadata");
      out.StartObject();
      out.Key("shardId");
      WriteString(out, metadata.shard_id);
      if (!metadata.sequence_number.empty()) {
        out.Key("partitionKey");
        WriteString(out, metadata.partition_key);
      }
      out.Key("approximateArrivalTimestamp");
      out.Int64(record.arrival_millis);
      if (!metadata.sequence_number.empty()) {
        out.Key("sequenceNumber");
        WriteString(out, metadata.sequence_number);
        out.Key("subsequenceNumber");
        out.Uint(metadata.subsequence_number);
      }
      out.EndObject();
    }
    out.EndObject();
  }
  out.EndArray();
  out.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

Invocation ParseTransformResponse(std::string_view response,
                                  const std::vector<TransformRecord>& records) {
  json::Document doc;
  doc.Parse<json::kParseFlags>(response.data(), response.size());
  if (doc.HasParseError()) {
    return FailedInvocation(
        kJsonError, std::string("The response is not JSON: ") +
                        rapidjson::GetParseError_En(doc.GetParseError()) +
                        " at byte " + std::to_string(doc.GetErrorOffset()));
  }
  const json::Value* list = json::Member(doc, "records");
  if (list == nullptr || !list->IsArray()) {
    return FailedInvocation(
        kJsonError, "The response is not an object with a records array.");
  }
  std::unordered_map<std::string_view, size_t> index;
  for (size_t i = 0; i < records.size(); ++i) {
    index.emplace(records[i].record_id, i);
  }
  Invocation invocation;
  invocation.outcomes.resize(records.size());
  std::vector<bool> answered(records.size(), false);
  for (const json::Value& item : list->GetArray()) {
    if (!item.IsObject()) {
      return FailedInvocation(kJsonError,
                              "An entry of records is not a JSON object.");
    }
    std::optional<std::string_view> id = model::GetString(item, "recordId");
    if (!id) {
      return FailedInvocation(kMissingRecordId,
                              "A record in the response has no recordId.");
    }
    auto found = index.find(*id);
    if (found == index.end()) {
      return FailedInvocation(kInvalidRecordId,
                              "The response has a record with recordId " +
                                  std::string(*id) +
                                  ", which the invocation did not send.");
    }
    if (answered[found->second]) {
      return FailedInvocation(
          kDuplicatedRecordId,
          "The response has recordId " + std::string(*id) + " more than once.");
    }
    answered[found->second] = true;
    RecordOutcome& outcome = invocation.outcomes[found->second];
    std::string_view result = model::GetString(item, "result").value_or("");
    if (result == "Ok") {
      std::optional<std::string_view> data = model::GetString(item, "data");
      std::optional<std::string> decoded =
          data ? Base64Decode(*data) : std::nullopt;
      if (!decoded) {
        return FailedInvocation(kInvalidData,
                                "The record with recordId " + std::string(*id) +
                                    " is Ok but its data is " +
                                    (data ? "not base64." : "missing."));
      }
      outcome.result = RecordResult::kOk;
      outcome.data = std::move(*decoded);
    } else if (result == "Dropped") {
      outcome.result = RecordResult::kDropped;
    } else if (result == "ProcessingFailed") {
      outcome = Failed(kProcessingFailed,
                       "The record was marked ProcessingFailed by the "
                       "transform.");
    } else {
      return FailedInvocation(
          kInvalidResult, "The record with recordId " + std::string(*id) +
                              " has result '" + std::string(result) +
                              "'; it must be Ok, Dropped or ProcessingFailed.");
    }
  }
  for (size_t i = 0; i < records.size(); ++i) {
    if (!answered[i]) {
      return FailedInvocation(kMissingRecordId,
                              "The response has no record with recordId " +
                                  records[i].record_id + ".");
    }
  }
  return invocation;
}

Invocation Transformer::Invoke(
    const LambdaProcessor& processor, const TransformContext& context,
    const std::vector<TransformRecord>& records) const {
  if (!IsBuiltin(processor)) {
    if (cancelled_.load()) {
      Invocation invocation;
      invocation.cancelled = true;
      return invocation;
    }
    return RunHandler(processor, context, records);
  }
  Invocation invocation;
  invocation.outcomes.reserve(records.size());
  for (const TransformRecord& record : records) {
    invocation.outcomes.push_back(ApplyBuiltin(processor, record));
  }
  return invocation;
}

Invocation Transformer::RunHandler(
    const LambdaProcessor& processor, const TransformContext& context,
    const std::vector<TransformRecord>& records) const {
  if (options_.handlers_dir.empty()) {
    return FailedInvocation(kResourceNotFound,
                            "Function not found: " + processor.lambda_arn +
                                " (Sluice runs <lambda handlers dir>/" +
                                processor.function_name +
                                " and no --lambda-handlers-dir is set)");
  }
  // The function name is [a-zA-Z0-9_-]+ (SplitArn), so the path stays in
  // the directory.
  const std::string program =
      options_.handlers_dir + "/" + processor.function_name;
  ProcessOptions child;
  child.timeout = options_.timeout;
  child.max_output_bytes = kMaxResponseBytes;
  child.cancelled = &cancelled_;
  Result<ProcessResult> run = RunProcess(
      {program}, BuildTransformEvent(NewUuid(), context, records), child);
  if (!run.ok()) {
    return FailedInvocation(kResourceNotFound,
                            "Function not found: " + processor.lambda_arn +
                                " (" + run.status().message() + ")");
  }
  if (run->cancelled) {
    Invocation invocation;
    invocation.cancelled = true;
    return invocation;
  }
  if (run->timed_out) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.2f",
                  static_cast<double>(options_.timeout.count()) / 1000);
    return FailedInvocation(kFunctionError,
                            std::string("Task timed out after ") + seconds +
                                " seconds" + StderrSuffix(*run));
  }
  if (run->output_too_large) {
    return FailedInvocation(
        kFunctionError,
        "Response payload size exceeded maximum allowed payload size (" +
            std::to_string(kMaxResponseBytes) + " bytes).");
  }
  if (run->signal != 0) {
    return FailedInvocation(kFunctionError, program + " was killed by signal " +
                                                std::to_string(run->signal) +
                                                StderrSuffix(*run));
  }
  if (run->exit_code != 0) {
    return FailedInvocation(kFunctionError, program + " exited with status " +
                                                std::to_string(run->exit_code) +
                                                StderrSuffix(*run));
  }
  return ParseTransformResponse(run->stdout_bytes, records);
}

Result<std::vector<TransformedRecord>> Transformer::Run(
    const LambdaProcessor& processor, const TransformContext& context,
    const std::vector<TransformRecord>& records, const Clock& clock) const {
  Invocation invocation;
  int64_t attempts = 0;
  while (attempts <= processor.number_of_retries) {
    ++attempts;
    invocation = Invoke(processor, context, records);
    if (invocation.cancelled) {
      return Status(ErrorCode::kServiceUnavailable,
                    "Delivery stopped while " + processor.lambda_arn +
                        " was running; the object is delivered later.");
    }
    if (!invocation.failure) break;
    SLUICE_LOG(kWarn) << "transform " << processor.lambda_arn << " for "
                      << context.delivery_stream_arn << ", attempt " << attempts
                      << " of " << processor.number_of_retries + 1
                      << " failed: " << invocation.failure->code << ": "
                      << invocation.failure->message;
  }
  const EpochMillis ending = clock.NowMillis();
  std::vector<TransformedRecord> out(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    out[i].attempts_made = attempts;
    out[i].attempt_ending_millis = ending;
    if (invocation.failure) {
      out[i].outcome =
          Failed(invocation.failure->code, invocation.failure->message);
    } else {
      out[i].outcome = std::move(invocation.outcomes[i]);
    }
  }
  return out;
}

Result<TransformedObject> Transformer::Apply(
    const LambdaProcessor& processor, const TransformContext& context,
    const std::vector<TransformRecord>& records, bool append_delimiter,
    const Clock& clock) const {
  TransformedObject object;
  size_t begin = 0;
  while (begin < records.size()) {
    size_t end = begin;
    uint64_t bytes = 0;
    while (end < records.size() &&
           (end == begin ||
            bytes + records[end].data.size() <= processor.buffer_bytes)) {
      bytes += records[end].data.size();
      ++end;
    }
    std::vector<TransformRecord> batch(records.begin() + begin,
                                       records.begin() + end);
    Result<std::vector<TransformedRecord>> results =
        Run(processor, context, batch, clock);
    if (!results.ok()) return results.status();
    for (size_t i = 0; i < batch.size(); ++i) {
      const RecordOutcome& outcome = (*results)[i].outcome;
      switch (outcome.result) {
        case RecordResult::kOk:
          object.body += outcome.data;
          if (append_delimiter) object.body += '\n';
          ++object.body_records;
          break;
        case RecordResult::kDropped:
          break;
        case RecordResult::kProcessingFailed:
          object.errors +=
              ErrorRecordLine((*results)[i], batch[i], processor.lambda_arn);
          object.errors += '\n';
          ++object.error_records;
          break;
      }
    }
    begin = end;
  }
  return object;
}

std::string ErrorRecordLine(const TransformedRecord& record,
                            const TransformRecord& input,
                            std::string_view lambda_arn) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> out(buffer);
  out.StartObject();
  out.Key("attemptsMade");
  out.Int64(record.attempts_made);
  out.Key("arrivalTimestamp");
  out.Int64(input.arrival_millis);
  out.Key("errorCode");
  WriteString(out, record.outcome.error_code);
  out.Key("errorMessage");
  WriteString(out, record.outcome.error_message);
  out.Key("attemptEndingTimestamp");
  out.Int64(record.attempt_ending_millis);
  out.Key("rawData");
  WriteString(out, Base64Encode(input.data));
  out.Key("lambdaArn");
  WriteString(out, lambda_arn);
  out.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace sluice::firehose
