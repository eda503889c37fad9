#include "server/analytics/application_definition.h"

#include <cctype>

namespace sluice::analytics {
namespace {

Status Invalid(std::string message) {
  return Status(ErrorCode::kInvalidArgument, std::move(message));
}

Status WrongType(std::string_view member, std::string_view type) {
  return Status(ErrorCode::kSerialization, "Value of '" + std::string(member) +
                                               "' must be " +
                                               std::string(type) + ".");
}

Result<std::string> StringMember(const json::Value& object,
                                 std::string_view member,
                                 std::string_view where, bool required) {
  const json::Value* value = json::Member(object, member);
  std::string path = where.empty()
                         ? std::string(member)
                         : std::string(where) + "." + std::string(member);
  if (value == nullptr) {
    if (required) return Invalid(path + " is required.");
    return std::string();
  }
  if (!value->IsString()) return WrongType(path, "a string");
  return std::string(json::AsView(*value));
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxApplicationNameLength) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' &&
        c != '.') {
      return false;
    }
  }
  return true;
}

// The resource name of an ARN "arn:aws:<service>:<region>:<account>:<kind>/
// <name>", or `text` itself when it is not an ARN.
Result<std::string> ResourceName(const std::string& text, std::string_view kind,
                                 const std::string& member) {
  if (text.rfind("arn:", 0) != 0) {
    if (text.empty()) return Invalid(member + " is empty.");
    return text;
  }
  std::string marker = ":" + std::string(kind) + "/";
  size_t at = text.find(marker);
  if (at == std::string::npos || at + marker.size() == text.size()) {
    return Invalid(member + " '" + text + "' is not the ARN of a " +
                   std::string(kind) + ".");
  }
  return text.substr(at + marker.size());
}

// The stream (`kinesis`) or delivery stream an input or output names:
// {"ResourceARN": ...} or, as a Sluice shortcut, {"StreamName": ...} /
// {"DeliveryStreamName": ...}.
struct NamedResource {
  std::string name;
  std::string arn;  // as given, or empty
};
Result<NamedResource> ParseResource(const json::Value& target, bool kinesis,
                                    const std::string& where) {
  if (!target.IsObject()) return WrongType(where, "an object");
  auto arn = StringMember(target, "ResourceARN", where, false);
  if (!arn.ok()) return arn.status();
  const std::string plain_member =
      kinesis ? "StreamName" : "DeliveryStreamName";
  auto plain = StringMember(target, plain_member, where, false);
  if (!plain.ok()) return plain.status();
  if (arn->empty() == plain->empty()) {
    return Invalid(where + " needs ResourceARN (or " + plain_member + ").");
  }
  auto name = ResourceName(arn->empty() ? *plain : *arn,
                           kinesis ? "stream" : "deliverystream",
                           where + ".ResourceARN");
  if (!name.ok()) return name.status();
  return NamedResource{*name, *arn};
}

Result<RecordFormat> FormatOf(const std::string& text,
                              const std::string& member) {
  if (text == "JSON") return RecordFormat::kJson;
  if (text == "CSV") return RecordFormat::kCsv;
  return Invalid(member + " must be JSON or CSV, not '" + text + "'.");
}

// "$.a.b[0].c" → {"a", "b", "[0]", "c"}; "$" alone is the whole record.
Result<std::vector<std::string>> ParseMapping(const std::string& mapping,
                                              const std::string& member) {
  auto bad = [&] {
    return Invalid(member + " '" + mapping +
                   "' is not a JSON path such as $.speed or $.a.b[0].");
  };
  if (mapping.empty() || mapping[0] != '$') return bad();
  std::vector<std::string> path;
  size_t i = 1;
  while (i < mapping.size()) {
    if (mapping[i] == '.') {
      size_t j = i + 1;
      while (j < mapping.size() && mapping[j] != '.' && mapping[j] != '[') {
        ++j;
      }
      if (j == i + 1) return bad();
      path.push_back(mapping.substr(i + 1, j - i - 1));
      i = j;
    } else if (mapping[i] == '[') {
      size_t close = mapping.find(']', i);
      if (close == std::string::npos || close == i + 1) return bad();
      std::string inside = mapping.substr(i + 1, close - i - 1);
      if (inside.size() >= 2 &&
          (inside.front() == '\'' || inside.front() == '"') &&
          inside.back() == inside.front()) {
        path.push_back(inside.substr(1, inside.size() - 2));
      } else {
        for (char c : inside) {
          if (!std::isdigit(static_cast<unsigned char>(c))) return bad();
        }
        path.push_back("[" + inside + "]");
      }
      i = close + 1;
    } else {
      return bad();
    }
  }
  return path;
}

Status ParseInput(const json::Value& input, ApplicationDefinition& out) {
  if (!input.IsObject()) return WrongType("Inputs[0]", "an object");
  auto prefix = StringMember(input, "NamePrefix", "Inputs[0]", false);
  if (!prefix.ok()) return prefix.status();
  if (!prefix->empty()) {
    if (!ValidName(*prefix) || prefix->size() > 32) {
      return Invalid("Inputs[0].NamePrefix '" + *prefix +
                     "' must be 1 to 32 letters, digits, _ or -.");
    }
    out.name_prefix = *prefix;
  }
  // The source: a Kinesis stream, or a delivery stream whose own record log
  // the application reads as one shard (docs/analytics.md).
  const json::Value* kinesis = json::Member(input, "KinesisStreamsInput");
  const json::Value* firehose = json::Member(input, "KinesisFirehoseInput");
  if ((kinesis == nullptr) == (firehose == nullptr)) {
    return Invalid(
        "Inputs[0] needs exactly one of KinesisStreamsInput and "
        "KinesisFirehoseInput.");
  }
  auto source = ParseResource(
      kinesis != nullptr ? *kinesis : *firehose, kinesis != nullptr,
      kinesis != nullptr ? "Inputs[0].KinesisStreamsInput"
                         : "Inputs[0].KinesisFirehoseInput");
  if (!source.ok()) return source.status();
  out.source_kind = kinesis != nullptr
                        ? ApplicationDefinition::Source::kStream
                        : ApplicationDefinition::Source::kDeliveryStream;
  out.stream_name = source->name;
  out.stream_arn = source->arn;

  const json::Value* schema = json::Member(input, "InputSchema");
  if (schema == nullptr) return Invalid("Inputs[0].InputSchema is required.");
  if (!schema->IsObject()) {
    return WrongType("Inputs[0].InputSchema", "an object");
  }
  const json::Value* format = json::Member(*schema, "RecordFormat");
  if (format == nullptr || !format->IsObject()) {
    return Invalid(
        "Inputs[0].InputSchema.RecordFormat is required: "
        "{\"RecordFormatType\": \"JSON\"} or \"CSV\".");
  }
  auto type = StringMember(*format, "RecordFormatType",
                           "Inputs[0].InputSchema.RecordFormat", true);
  if (!type.ok()) return type.status();
  auto parsed_format =
      FormatOf(*type, "Inputs[0].InputSchema.RecordFormat.RecordFormatType");
  if (!parsed_format.ok()) return parsed_format.status();
  out.input_format = *parsed_format;
  if (const json::Value* mapping = json::Member(*format, "MappingParameters");
      mapping != nullptr) {
    if (const json::Value* json_mapping =
            json::Member(*mapping, "JSONMappingParameters")) {
      auto row_path = StringMember(*json_mapping, "RecordRowPath",
                                   "JSONMappingParameters", false);
      if (!row_path.ok()) return row_path.status();
      if (!row_path->empty() && *row_path != "$") {
        return Invalid("JSONMappingParameters.RecordRowPath '" + *row_path +
                       "' is not supported: a record is one row ($).");
      }
    }
    if (const json::Value* csv =
            json::Member(*mapping, "CSVMappingParameters")) {
      auto column = StringMember(*csv, "RecordColumnDelimiter",
                                 "CSVMappingParameters", false);
      if (!column.ok()) return column.status();
      if (!column->empty()) {
        if (column->size() != 1) {
          return Invalid(
              "CSVMappingParameters.RecordColumnDelimiter must be one "
              "character.");
        }
        out.column_delimiter = (*column)[0];
      }
      auto row = StringMember(*csv, "RecordRowDelimiter",
                              "CSVMappingParameters", false);
      if (!row.ok()) return row.status();
      if (!row->empty()) out.row_delimiter = *row;
    }
  }
  if (auto encoding = StringMember(*schema, "RecordEncoding",
                                   "Inputs[0].InputSchema", false);
      !encoding.ok()) {
    return encoding.status();
  } else if (!encoding->empty() && *encoding != "UTF-8") {
    return Invalid("Inputs[0].InputSchema.RecordEncoding must be UTF-8.");
  }
  const json::Value* columns = json::Member(*schema, "RecordColumns");
  if (columns == nullptr || !columns->IsArray() || columns->Empty()) {
    return Invalid(
        "Inputs[0].InputSchema.RecordColumns must list at least one column: "
        "{\"Name\", \"SqlType\", \"Mapping\"}.");
  }
  if (columns->Size() > kMaxRecordColumns) {
    return Invalid("Inputs[0].InputSchema.RecordColumns has more than " +
                   std::to_string(kMaxRecordColumns) + " columns.");
  }
  for (const json::Value& column : columns->GetArray()) {
    std::string where =
        "RecordColumns[" + std::to_string(out.columns.size()) + "]";
    if (!column.IsObject()) return WrongType(where, "an object");
    InputColumn parsed;
    auto column_name = StringMember(column, "Name", where, true);
    if (!column_name.ok()) return column_name.status();
    parsed.name = *column_name;
    if (parsed.name.empty() || Upper(parsed.name) == "ROWTIME") {
      return Invalid(where + ".Name '" + parsed.name +
                     "' is empty or reserved.");
    }
    for (const InputColumn& other : out.columns) {
      if (Upper(other.name) == Upper(parsed.name)) {
        return Invalid(where + ".Name '" + parsed.name +
                       "' names a column twice.");
      }
    }
    auto sql_type = StringMember(column, "SqlType", where, true);
    if (!sql_type.ok()) return sql_type.status();
    parsed.sql_type = *sql_type;
    std::string base = sql_type->substr(0, sql_type->find('('));
    while (!base.empty() && base.back() == ' ') base.pop_back();
    if (base == "DOUBLE PRECISION") base = "DOUBLE";
    if (!ParseSqlType(base, parsed.type)) {
      return Invalid(where + ".SqlType '" + *sql_type +
                     "' is not a supported type (VARCHAR(n), CHAR(n), "
                     "INTEGER, BIGINT, SMALLINT, TINYINT, DOUBLE, REAL, "
                     "DECIMAL, BOOLEAN, TIMESTAMP).");
    }
    auto mapping = StringMember(column, "Mapping", where,
                                out.input_format == RecordFormat::kJson);
    if (!mapping.ok()) return mapping.status();
    parsed.mapping = *mapping;
    if (out.input_format == RecordFormat::kJson) {
      auto path = ParseMapping(parsed.mapping, where + ".Mapping");
      if (!path.ok()) return path.status();
      parsed.path = std::move(path).value();
    }
    out.columns.push_back(std::move(parsed));
  }
  return Status::Ok();
}

Status ParseOutput(const json::Value& output, size_t index,
                   ApplicationDefinition& out) {
  std::string where = "Outputs[" + std::to_string(index) + "]";
  if (!output.IsObject()) return WrongType(where, "an object");
  ApplicationOutput parsed;
  auto name = StringMember(output, "Name", where, true);
  if (!name.ok()) return name.status();
  parsed.name = *name;
  const json::Value* kinesis = json::Member(output, "KinesisStreamsOutput");
  const json::Value* firehose = json::Member(output, "KinesisFirehoseOutput");
  if (json::Member(output, "LambdaOutput") != nullptr) {
    return Invalid(where +
                   ".LambdaOutput is not supported; use a Kinesis stream and "
                   "a consumer with an exec handler.");
  }
  if ((kinesis == nullptr) == (firehose == nullptr)) {
    return Invalid(where +
                   " needs exactly one of KinesisStreamsOutput and "
                   "KinesisFirehoseOutput.");
  }
  auto target = ParseResource(
      kinesis != nullptr ? *kinesis : *firehose, kinesis != nullptr,
      where + (kinesis != nullptr ? ".KinesisStreamsOutput"
                                  : ".KinesisFirehoseOutput"));
  if (!target.ok()) return target.status();
  parsed.kind = kinesis != nullptr ? ApplicationOutput::Kind::kStream
                                   : ApplicationOutput::Kind::kDeliveryStream;
  parsed.resource = target->name;
  parsed.resource_arn = target->arn;
  const json::Value* schema = json::Member(output, "DestinationSchema");
  if (schema == nullptr || !schema->IsObject()) {
    return Invalid(where +
                   ".DestinationSchema is required: {\"RecordFormatType\": "
                   "\"JSON\"} or \"CSV\".");
  }
  auto type = StringMember(*schema, "RecordFormatType",
                           where + ".DestinationSchema", true);
  if (!type.ok()) return type.status();
  auto format = FormatOf(*type, where + ".DestinationSchema.RecordFormatType");
  if (!format.ok()) return format.status();
  parsed.format = *format;
  out.outputs.push_back(std::move(parsed));
  return Status::Ok();
}

}  // namespace

std::string_view ToString(RecordFormat format) {
  return format == RecordFormat::kJson ? "JSON" : "CSV";
}

Result<ApplicationDefinition> ParseApplicationDefinition(
    const json::Value& request) {
  if (!request.IsObject()) {
    return Status(ErrorCode::kSerialization,
                  "The application must be a JSON object.");
  }
  static constexpr std::string_view kKnown[] = {"ApplicationName",
                                                "ApplicationDescription",
                                                "ApplicationCode",
                                                "Inputs",
                                                "Outputs",
                                                "Tags",
                                                "CloudWatchLoggingOptions"};
  for (auto& member : request.GetObject()) {
    std::string_view key = json::AsView(member.name);
    bool known = false;
    for (std::string_view name : kKnown) known = known || name == key;
    if (!known) {
      return Invalid("Unknown member '" + std::string(key) +
                     "' in the application.");
    }
  }
  ApplicationDefinition definition;
  auto name = StringMember(request, "ApplicationName", "", true);
  if (!name.ok()) return name.status();
  if (!ValidName(*name)) {
    return Invalid("ApplicationName '" + *name +
                   "' must be 1 to 64 letters, digits, _, - or .");
  }
  definition.name = *name;
  auto description = StringMember(request, "ApplicationDescription", "", false);
  if (!description.ok()) return description.status();
  definition.description = *description;
  auto code = StringMember(request, "ApplicationCode", "", true);
  if (!code.ok()) return code.status();
  if (code->size() > kMaxCodeBytes) {
    return Invalid("ApplicationCode is longer than " +
                   std::to_string(kMaxCodeBytes) + " bytes.");
  }
  definition.code = *code;
  const json::Value* inputs = json::Member(request, "Inputs");
  if (inputs == nullptr || !inputs->IsArray() || inputs->Size() != 1) {
    return Invalid("Inputs must hold exactly one input.");
  }
  if (Status s = ParseInput((*inputs)[0], definition); !s.ok()) return s;
  const json::Value* outputs = json::Member(request, "Outputs");
  if (outputs != nullptr) {
    if (!outputs->IsArray()) return WrongType("Outputs", "an array");
    if (outputs->Size() > kMaxOutputs) {
      return Invalid("An application has at most " +
                     std::to_string(kMaxOutputs) + " outputs.");
    }
    for (rapidjson::SizeType i = 0; i < outputs->Size(); ++i) {
      if (Status s = ParseOutput((*outputs)[i], i, definition); !s.ok()) {
        return s;
      }
    }
  }
  auto program = ParseSqlProgram(definition.code, definition.SourceStream());
  if (!program.ok()) return program.status();
  for (size_t i = 0; i < definition.outputs.size(); ++i) {
    const ApplicationOutput& output = definition.outputs[i];
    if (Upper(output.name) == Upper(kErrorStream)) continue;
    if (program->FindStream(output.name) == nullptr) {
      return Invalid("Outputs[" + std::to_string(i) + "].Name '" + output.name +
                     "' is not a stream the code creates (CREATE OR REPLACE "
                     "STREAM).");
    }
  }
  return definition;
}

Result<ApplicationDefinition> ParseApplicationDefinition(
    std::string_view text) {
  json::Document document;
  document.Parse<json::kParseFlags>(text.data(), text.size());
  if (document.HasParseError()) {
    return Status(ErrorCode::kSerialization,
                  "The application is not valid JSON.");
  }
  return ParseApplicationDefinition(document);
}

}  // namespace sluice::analytics
