#include "server/gateway/validation.h"

#include <set>

namespace sluice::gateway {
namespace {

bool HasType(const json::Value& value, FieldType type) {
  switch (type) {
    case FieldType::kString:
      return value.IsString();
    case FieldType::kNumber:
      return value.IsNumber();
    case FieldType::kInteger:
      return value.IsInt64() || value.IsUint64();
    case FieldType::kBoolean:
      return value.IsBool();
    case FieldType::kObject:
      return value.IsObject();
    case FieldType::kArray:
      return value.IsArray();
  }
  return false;
}

const char* TypeName(FieldType type) {
  switch (type) {
    case FieldType::kString:
      return "a string";
    case FieldType::kNumber:
      return "a number";
    case FieldType::kInteger:
      return "an integer";
    case FieldType::kBoolean:
      return "a boolean";
    case FieldType::kObject:
      return "an object";
    case FieldType::kArray:
      return "an array";
  }
  return "?";
}

// A present field holding null counts as missing: `"amount": null` carries
// no amount.
bool Present(const json::Value* value) {
  return value != nullptr && !value->IsNull();
}

}  // namespace

const json::Value* FindField(const json::Value& event, std::string_view path) {
  const json::Value* at = &event;
  while (true) {
    if (!at->IsObject()) return nullptr;
    size_t dot = path.find('.');
    std::string_view name = path.substr(0, dot);
    // As a Value: a bare StringRef converts to const char* and would be
    // read up to the terminator, past the dot.
    const json::Value key(rapidjson::StringRef(
        name.data(), static_cast<rapidjson::SizeType>(name.size())));
    auto it = at->FindMember(key);
    if (it == at->MemberEnd()) return nullptr;
    at = &it->value;
    if (dot == std::string_view::npos) return at;
    path.remove_prefix(dot + 1);
  }
}

std::vector<FieldError> Validate(const ValidationRules& rules,
                                 const json::Value& event) {
  std::vector<FieldError> errors;
  if (!event.IsObject()) {
    errors.push_back({"", "the event must be a JSON object"});
    return errors;
  }
  // A field missing is reported once, not again by its type rule.
  std::set<std::string> missing;
  for (const std::string& field : rules.required) {
    if (!Present(FindField(event, field))) {
      errors.push_back({field, "is required"});
      missing.insert(field);
    }
  }
  for (const auto& [field, type] : rules.types) {
    const json::Value* value = FindField(event, field);
    if (!Present(value) || missing.count(field)) continue;
    if (!HasType(*value, type)) {
      errors.push_back({field, std::string("must be ") + TypeName(type)});
    }
  }
  if (rules.type_field.empty()) return errors;
  const json::Value* type_value = FindField(event, rules.type_field);
  if (type_value == nullptr || !type_value->IsString()) {
    if (rules.closed_types && !missing.count(rules.type_field)) {
      errors.push_back({rules.type_field, "must be a string"});
    }
    return errors;
  }
  std::string type(json::AsView(*type_value));
  auto per_type = rules.required_by_type.find(type);
  if (per_type == rules.required_by_type.end()) {
    if (rules.closed_types) {
      std::string known;
      for (const auto& [name, fields] : rules.required_by_type) {
        known += known.empty() ? name : ", " + name;
      }
      errors.push_back(
          {rules.type_field,
           "'" + type + "' is not a known event type (" + known + ")"});
    }
    return errors;
  }
  for (const std::string& field : per_type->second) {
    if (!Present(FindField(event, field)) && !missing.count(field)) {
      errors.push_back(
          {field, "is required when " + rules.type_field + " is " + type});
    }
  }
  return errors;
}

}  // namespace sluice::gateway
