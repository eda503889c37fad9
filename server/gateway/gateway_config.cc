#include "server/gateway/gateway_config.h"

#include <set>
#include <string_view>

namespace sluice::gateway {
namespace {

// Every parse step returns "" or the problem, prefixed by the caller with
// where it was found.
using Problem = std::string;

Problem CheckKeys(const json::Value& object,
                  std::initializer_list<std::string_view> allowed) {
  for (const auto& member : object.GetObject()) {
    std::string_view key = json::AsView(member.name);
    bool known = false;
    for (std::string_view a : allowed) known = known || a == key;
    if (!known) return "unknown key '" + std::string(key) + "'";
  }
  return "";
}

Problem ReadString(const json::Value& object, const char* key,
                   std::string& out) {
  auto it = object.FindMember(key);
  if (it == object.MemberEnd()) return "";
  if (!it->value.IsString())
    return std::string("'") + key + "' must be a string";
  out = std::string(json::AsView(it->value));
  return "";
}

Problem ReadStringList(const json::Value& value, const std::string& what,
                       std::vector<std::string>& out) {
  if (!value.IsArray()) return "'" + what + "' must be an array of strings";
  for (const json::Value& item : value.GetArray()) {
    if (!item.IsString()) return "'" + what + "' must be an array of strings";
    out.emplace_back(json::AsView(item));
  }
  return "";
}

Problem ReadNumber(const json::Value& object, const char* key, double& out) {
  auto it = object.FindMember(key);
  if (it == object.MemberEnd()) return "";
  if (!it->value.IsNumber() || it->value.GetDouble() < 0) {
    return std::string("'") + key + "' must be a number >= 0";
  }
  out = it->value.GetDouble();
  return "";
}

std::optional<FieldType> TypeNamed(std::string_view name) {
  if (name == "string") return FieldType::kString;
  if (name == "number") return FieldType::kNumber;
  if (name == "integer") return FieldType::kInteger;
  if (name == "boolean") return FieldType::kBoolean;
  if (name == "object") return FieldType::kObject;
  if (name == "array") return FieldType::kArray;
  return std::nullopt;
}

Problem ParseValidation(const json::Value& v, ValidationRules& rules) {
  if (!v.IsObject()) return "must be an object";
  if (Problem p =
          CheckKeys(v, {"required", "types", "event_type_field",
                        "required_by_event_type", "only_listed_event_types"});
      !p.empty()) {
    return p;
  }
  if (auto it = v.FindMember("required"); it != v.MemberEnd()) {
    if (Problem p = ReadStringList(it->value, "required", rules.required);
        !p.empty())
      return p;
  }
  if (auto it = v.FindMember("types"); it != v.MemberEnd()) {
    if (!it->value.IsObject()) return "'types' must be an object";
    for (const auto& member : it->value.GetObject()) {
      std::optional<FieldType> type;
      if (member.value.IsString()) type = TypeNamed(json::AsView(member.value));
      if (!type) {
        return "'types." + std::string(json::AsView(member.name)) +
               "' must be one of string, number, integer, boolean, object, "
               "array";
      }
      rules.types[std::string(json::AsView(member.name))] = *type;
    }
  }
  if (Problem p = ReadString(v, "event_type_field", rules.type_field);
      !p.empty())
    return p;
  if (auto it = v.FindMember("required_by_event_type"); it != v.MemberEnd()) {
    if (!it->value.IsObject()) {
      return "'required_by_event_type' must be an object";
    }
    if (rules.type_field.empty()) rules.type_field = "event_type";
    for (const auto& member : it->value.GetObject()) {
      std::string type(json::AsView(member.name));
      if (Problem p =
              ReadStringList(member.value, "required_by_event_type." + type,
                             rules.required_by_type[type]);
          !p.empty())
        return p;
    }
  }
  if (auto it = v.FindMember("only_listed_event_types"); it != v.MemberEnd()) {
    if (!it->value.IsBool())
      return "'only_listed_event_types' must be a boolean";
    rules.closed_types = it->value.GetBool();
  }
  return "";
}

Problem ParseRoute(const json::Value& v, Route& route) {
  if (!v.IsObject()) return "must be an object";
  if (Problem p = CheckKeys(v, {"method", "path", "stream", "delivery_stream",
                                "batch", "list", "partition_key", "enrich",
                                "validation", "max_body_bytes", "api_key"});
      !p.empty()) {
    return p;
  }
  if (Problem p = ReadString(v, "method", route.method); !p.empty()) return p;
  if (Problem p = ReadString(v, "path", route.path); !p.empty()) return p;
  if (route.method != "POST" && route.method != "GET") {
    return "'method' must be \"POST\" or \"GET\"";
  }
  if (route.path.empty() || route.path[0] != '/' ||
      route.path.find_first_of("?# ") != std::string::npos) {
    return "'path' must start with '/' and hold no '?', '#' or space";
  }
  if (route.path == "/" || route.path == "/health") {
    return "'path' " + route.path + " is Sluice's own";
  }
  if (Problem p = ReadString(v, "stream", route.stream); !p.empty()) return p;
  if (Problem p = ReadString(v, "delivery_stream", route.delivery_stream);
      !p.empty())
    return p;
  std::string list;
  if (Problem p = ReadString(v, "list", list); !p.empty()) return p;
  bool batch = false;
  if (auto it = v.FindMember("batch"); it != v.MemberEnd()) {
    if (!it->value.IsBool()) return "'batch' must be a boolean";
    batch = it->value.GetBool();
  }
  if (route.method == "GET") {
    if (list == "streams") {
      route.action = RouteAction::kListStreams;
    } else if (list == "delivery_streams") {
      route.action = RouteAction::kListDeliveryStreams;
    } else {
      return "a GET route needs 'list': \"streams\" or \"delivery_streams\"";
    }
  } else {
    if (!list.empty()) return "'list' is for GET routes";
    if (route.stream.empty() == route.delivery_stream.empty()) {
      return "a POST route needs exactly one of 'stream' and "
             "'delivery_stream'";
    }
    route.action = batch ? RouteAction::kPutBatch : RouteAction::kPutEvent;
  }
  if (Problem p = ReadString(v, "partition_key", route.partition_key_field);
      !p.empty())
    return p;
  if (auto it = v.FindMember("enrich"); it != v.MemberEnd()) {
    const json::Value& e = it->value;
    if (!e.IsObject()) return "'enrich' must be an object";
    if (Problem p = CheckKeys(e, {"received_at", "source_ip", "request_id"});
        !p.empty())
      return "enrich: " + p;
    for (auto [key, out] :
         {std::pair{"received_at", &route.enrich_received_at},
          std::pair{"source_ip", &route.enrich_source_ip},
          std::pair{"request_id", &route.enrich_request_id}}) {
      if (Problem p = ReadString(e, key, *out); !p.empty())
        return "enrich: " + p;
    }
  }
  if (auto it = v.FindMember("validation"); it != v.MemberEnd()) {
    if (Problem p = ParseValidation(it->value, route.validation); !p.empty())
      return "validation: " + p;
  }
  if (auto it = v.FindMember("max_body_bytes"); it != v.MemberEnd()) {
    if (!it->value.IsUint64() || it->value.GetUint64() == 0) {
      return "'max_body_bytes' must be a positive integer";
    }
    route.max_body_bytes = static_cast<size_t>(it->value.GetUint64());
  }
  if (auto it = v.FindMember("api_key"); it != v.MemberEnd()) {
    if (!it->value.IsBool()) return "'api_key' must be a boolean";
    route.require_key = it->value.GetBool();
  }
  return "";
}

bool IsLowerHex64(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Problem ParseKey(const json::Value& v, DeclaredKey& key) {
  if (!v.IsObject()) return "must be an object";
  if (Problem p =
          CheckKeys(v, {"name", "sha256", "env", "routes", "rate_limit"});
      !p.empty()) {
    return p;
  }
  if (Problem p = ReadString(v, "name", key.name); !p.empty()) return p;
  if (key.name.empty()) return "'name' is required";
  if (Problem p = ReadString(v, "sha256", key.sha256_hex); !p.empty()) return p;
  if (Problem p = ReadString(v, "env", key.env); !p.empty()) return p;
  if (key.sha256_hex.empty() == key.env.empty()) {
    return "needs exactly one of 'sha256' (the key's SHA-256, hex) and 'env' "
           "(the environment variable holding the key); plaintext keys do "
           "not belong in a config file";
  }
  if (!key.sha256_hex.empty() && !IsLowerHex64(key.sha256_hex)) {
    return "'sha256' must be 64 lowercase hex digits";
  }
  auto routes = v.FindMember("routes");
  if (routes == v.MemberEnd()) return "'routes' is required";
  if (Problem p = ReadStringList(routes->value, "routes", key.routes);
      !p.empty())
    return p;
  if (auto it = v.FindMember("rate_limit"); it != v.MemberEnd()) {
    const json::Value& r = it->value;
    if (!r.IsObject()) return "'rate_limit' must be an object";
    if (Problem p = CheckKeys(r, {"requests_per_second", "burst"}); !p.empty())
      return "rate_limit: " + p;
    if (Problem p = ReadNumber(r, "requests_per_second",
                               key.rate_limit.requests_per_second);
        !p.empty())
      return "rate_limit: " + p;
    if (Problem p = ReadNumber(r, "burst", key.rate_limit.burst); !p.empty())
      return "rate_limit: " + p;
  }
  return "";
}

}  // namespace

Result<DeclaredKey> ParseDeclaredKey(const json::Value& value) {
  DeclaredKey key;
  if (Problem p = ParseKey(value, key); !p.empty()) {
    return Status(ErrorCode::kInvalidArgument, p);
  }
  return key;
}

Result<GatewayConfig> ParseGatewayConfig(const json::Value& section) {
  auto fail = [](const std::string& where, const Problem& problem) {
    return Status(ErrorCode::kInvalidArgument,
                  "'gateway" + where + "' " + problem);
  };
  if (!section.IsObject()) return fail("", "must be an object");
  GatewayConfig config;
  if (Problem p = CheckKeys(
          section, {"routes", "api_keys", "cors", "rejected_events_file"});
      !p.empty()) {
    return fail("", p);
  }
  if (auto it = section.FindMember("routes"); it != section.MemberEnd()) {
    if (!it->value.IsArray()) return fail(".routes", "must be an array");
    std::set<std::string> names;
    for (rapidjson::SizeType i = 0; i < it->value.Size(); ++i) {
      Route route;
      std::string where = ".routes[" + std::to_string(i) + "]";
      if (Problem p = ParseRoute(it->value[i], route); !p.empty())
        return fail(where, p);
      if (!names.insert(route.Name()).second) {
        return fail(where, route.Name() + " is declared twice");
      }
      config.routes.push_back(std::move(route));
    }
  }
  if (auto it = section.FindMember("api_keys"); it != section.MemberEnd()) {
    if (!it->value.IsArray()) return fail(".api_keys", "must be an array");
    for (rapidjson::SizeType i = 0; i < it->value.Size(); ++i) {
      DeclaredKey key;
      if (Problem p = ParseKey(it->value[i], key); !p.empty())
        return fail(".api_keys[" + std::to_string(i) + "]", p);
      config.keys.push_back(std::move(key));
    }
  }
  if (auto it = section.FindMember("cors"); it != section.MemberEnd()) {
    const json::Value& c = it->value;
    if (!c.IsObject()) return fail(".cors", "must be an object");
    if (Problem p = CheckKeys(c, {"allowed_origins", "max_age_seconds"});
        !p.empty())
      return fail(".cors", p);
    if (auto o = c.FindMember("allowed_origins"); o != c.MemberEnd()) {
      if (Problem p =
              ReadStringList(o->value, "allowed_origins", config.cors_origins);
          !p.empty())
        return fail(".cors", p);
    }
    if (auto m = c.FindMember("max_age_seconds"); m != c.MemberEnd()) {
      if (!m->value.IsInt() || m->value.GetInt() < 0) {
        return fail(".cors.max_age_seconds", "must be an integer >= 0");
      }
      config.cors_max_age_seconds = m->value.GetInt();
    }
  }
  if (auto it = section.FindMember("rejected_events_file");
      it != section.MemberEnd()) {
    if (!it->value.IsString()) {
      return fail(".rejected_events_file", "must be a string");
    }
    config.rejected_events_file = std::string(json::AsView(it->value));
  }
  return config;
}

}  // namespace sluice::gateway
