#include "common/csv.h"

namespace sluice::csv {

void AppendField(std::string& out, std::string_view field, char delimiter) {
  bool needs_quotes =
      field.find_first_of(std::string{delimiter, '"', '\r', '\n'}) !=
      std::string_view::npos;
  if (!needs_quotes) {
    out.append(field);
    return;
  }
  out.push_back('"');
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

std::string FormatRow(const std::vector<std::string>& fields, char delimiter) {
  std::string row;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) row.push_back(delimiter);
    AppendField(row, fields[i], delimiter);
  }
  row.push_back('\n');
  return row;
}

std::string FieldText(const json::Value& value) {
  if (value.IsNull()) return "";
  if (value.IsString()) return std::string(json::AsView(value));
  if (value.IsBool()) return value.GetBool() ? "true" : "false";
  // Numbers, objects and arrays: their JSON text (integers stay integers,
  // doubles in their shortest round-tripping form).
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::vector<std::string> SplitRow(std::string_view row, char delimiter) {
  std::vector<std::string> fields(1);
  bool in_quotes = false;
  for (size_t i = 0; i < row.size(); ++i) {
    char c = row[i];
    std::string& field = fields.back();
    if (in_quotes) {
      if (c != '"') {
        field.push_back(c);
      } else if (i + 1 < row.size() && row[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else {
        in_quotes = false;
      }
    } else if (c == delimiter) {
      fields.emplace_back();
    } else if (c == '"' && field.empty()) {
      in_quotes = true;
    } else {
      field.push_back(c);
    }
  }
  return fields;
}

}  // namespace sluice::csv
