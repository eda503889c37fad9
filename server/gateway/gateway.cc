#include "server/gateway/gateway.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <set>

#include "common/json_codec.h"
#include "common/log.h"
#include "common/uuid.h"

namespace sluice::gateway {
namespace {

constexpr std::string_view kJson = "application/json";
// Key names: what CreateGatewayKey accepts.
constexpr size_t kMaxKeyNameLength = 64;

std::string WriteJson(const json::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// "2026-12-02T08:15:22.123Z"
std::string IsoTime(EpochMillis millis) {
  time_t seconds = static_cast<time_t>(millis / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  char out[40];
  std::snprintf(out, sizeof out, "%s.%03dZ", stamp,
                static_cast<int>(millis % 1000));
  return out;
}

// The secret a request presents: x-api-key, else "Authorization: Bearer".
std::string_view PresentedKey(const http::PathRequest& request) {
  if (std::string_view key = request.Header("x-api-key"); !key.empty()) {
    return key;
  }
  std::string_view auth = request.Header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() > kBearer.size()) {
    bool bearer = true;
    for (size_t i = 0; i < kBearer.size(); ++i) {
      char c = auth[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      char k = kBearer[i];
      if (k >= 'A' && k <= 'Z') k = static_cast<char>(k - 'A' + 'a');
      bearer = bearer && c == k;
    }
    if (bearer) return auth.substr(kBearer.size());
  }
  return {};
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view Trim(std::string_view text) {
  while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
  return text;
}

void WriteFieldErrors(Encoder& out, const std::vector<FieldError>& errors) {
  out.Key("errors");
  out.StartArray();
  for (const FieldError& error : errors) {
    out.StartObject();
    out.Key("field");
    out.String(error.field);
    out.Key("message");
    out.String(error.message);
    out.EndObject();
  }
  out.EndArray();
}

// "timestamp is required; amount must be a number"
std::string DescribeErrors(const std::vector<FieldError>& errors) {
  std::string text;
  for (const FieldError& error : errors) {
    if (!text.empty()) text += "; ";
    text +=
        error.field.empty() ? error.message : error.field + " " + error.message;
  }
  return text;
}

}  // namespace

struct Gateway::Event {
  size_t index = 0;
  std::string raw;  // as received (one NDJSON line, one array element)
  json::Document document;
  bool parsed = false;
  std::vector<FieldError> errors;  // validation; empty when it passed
  std::string reason;              // why it was refused, if it was
  std::string data;                // what is stored
  std::string partition_key;
  // The outcome: stored (sequence number and shard, or record id) or not.
  Status status;
  std::string sequence_number;
  std::string shard_id;
  std::string record_id;
  bool stored = false;
};

// Per-request facts the answer and the rejected-events file share.
struct Gateway::Call {
  std::string request_id = NewUuid();
  std::string key_name;
  std::string source_ip;
  EpochMillis received_at = 0;
  std::vector<std::pair<std::string, std::string>> cors_headers;

  http::PathResponse Answer(unsigned status, std::string body) const {
    http::PathResponse response;
    response.status = status;
    response.headers.emplace_back("Content-Type", std::string(kJson));
    response.headers.emplace_back("X-Request-Id", request_id);
    for (const auto& header : cors_headers) response.headers.push_back(header);
    response.body = std::move(body);
    return response;
  }
  http::PathResponse Error(unsigned status, std::string_view message) const {
    return Answer(status, "{\"message\":" + json::Quote(message) +
                              ",\"request_id\":" + json::Quote(request_id) +
                              "}");
  }
};

Gateway::Gateway(GatewayConfig config, GatewayTargets targets,
                 const Clock& clock, std::string account_id, std::string region)
    : config_(std::move(config)),
      targets_(targets),
      clock_(clock),
      account_id_(std::move(account_id)),
      region_(std::move(region)),
      keys_(clock) {
  for (const Route& route : config_.routes) {
    auto state = std::make_unique<RouteState>();
    state->route = route;
    routes_.push_back(std::move(state));
  }
}

Gateway::~Gateway() {
  if (rejected_file_ != nullptr) std::fclose(rejected_file_);
}

Status Gateway::Start() {
  for (const DeclaredKey& declared : config_.keys) {
    ApiKey key;
    key.name = declared.name;
    key.routes = declared.routes;
    key.rate_limit = declared.rate_limit;
    key.from_config = true;
    key.sha256_hex = declared.sha256_hex;
    if (!declared.env.empty()) {
      const char* secret = std::getenv(declared.env.c_str());
      if (secret == nullptr || *secret == '\0') {
        return Status(ErrorCode::kInvalidArgument,
                      "gateway API key '" + declared.name +
                          "' is read from environment variable " +
                          declared.env + ", which is not set");
      }
      key.sha256_hex = HashApiKey(secret);
    }
    if (Status s = keys_.Add(std::move(key)); !s.ok()) return s;
  }
  auto stored = targets_.catalog.ListGatewayKeys();
  if (!stored.ok()) return stored.status();
  for (const catalog::GatewayKeyRecord& record : *stored) {
    json::Document settings;
    settings.Parse(record.settings.data(), record.settings.size());
    Result<DeclaredKey> declared =
        settings.HasParseError()
            ? Status(ErrorCode::kInternalFailure, "settings are not JSON")
            : ParseDeclaredKey(settings);
    if (!declared.ok()) {
      return Status(
          ErrorCode::kInternalFailure,
          "gateway API key '" + record.name +
              "' in the catalog is damaged: " + declared.status().message());
    }
    ApiKey key;
    key.name = record.name;
    key.sha256_hex = record.sha256_hex;
    key.routes = declared->routes;
    key.rate_limit = declared->rate_limit;
    key.created_at = record.created_at;
    if (Status s = keys_.Add(std::move(key)); !s.ok()) return s;
  }
  if (!config_.rejected_events_file.empty()) {
    rejected_file_ = std::fopen(config_.rejected_events_file.c_str(), "ae");
    if (rejected_file_ == nullptr) {
      return Status(ErrorCode::kInvalidArgument,
                    "cannot open the gateway's rejected_events_file " +
                        config_.rejected_events_file + ": " +
                        std::strerror(errno));
    }
  }
  return Status::Ok();
}

void Gateway::RegisterWith(http::ApiRouter& router) {
  std::set<std::string> paths;
  for (const auto& state : routes_) paths.insert(state->route.path);
  for (const std::string& path : paths) {
    router.RegisterPath(
        path, [this](http::PathRequest request) { return Handle(request); });
  }
  auto add = [&](std::string_view operation, auto method) {
    router.Register(firehose::kAdminApiName, operation,
                    [this, method](const Context& context,
                                   const json::Value& input, Encoder& output) {
                      return (this->*method)(context, input, output);
                    });
  };
  add("CreateGatewayKey", &Gateway::CreateKey);
  add("ListGatewayKeys", &Gateway::ListKeys);
  add("DeleteGatewayKey", &Gateway::DeleteKey);
  add("DescribeGateway", &Gateway::Describe);
}

bool Gateway::OriginAllowed(std::string_view origin) const {
  if (origin.empty()) return false;
  for (const std::string& allowed : config_.cors_origins) {
    if (allowed == "*" || allowed == origin) return true;
  }
  return false;
}

http::PathResponse Gateway::Handle(const http::PathRequest& request) {
  Call call;
  call.received_at = clock_.NowMillis();
  call.source_ip = request.remote_address;
  std::string_view origin = request.Header("origin");
  if (request.method == "OPTIONS") return Preflight(request, origin);
  if (OriginAllowed(origin)) {
    call.cors_headers = {
        {"Access-Control-Allow-Origin", std::string(origin)},
        {"Vary", "Origin"},
        {"Access-Control-Expose-Headers", "Retry-After, X-Request-Id"}};
  }
  std::string allow;
  for (auto& state : routes_) {
    if (state->route.path != request.path) continue;
    if (state->route.method == request.method) {
      return Serve(*state, request, call);
    }
    allow += allow.empty() ? state->route.method : ", " + state->route.method;
  }
  http::PathResponse response = call.Error(
      405, "Method " + request.method + " is not allowed on " + request.path);
  response.headers.emplace_back("Allow", allow + ", OPTIONS");
  return response;
}

http::PathResponse Gateway::Preflight(const http::PathRequest& request,
                                      std::string_view origin) {
  Call call;
  std::string_view wanted = request.Header("access-control-request-method");
  std::string methods;
  bool method_served = false;
  for (auto& state : routes_) {
    if (state->route.path != request.path) continue;
    methods +=
        methods.empty() ? state->route.method : ", " + state->route.method;
    method_served = method_served || state->route.method == wanted;
  }
  if (!OriginAllowed(origin)) {
    return call.Error(403, "Origin '" + std::string(origin) +
                               "' is not allowed to call " + request.path);
  }
  if (!method_served) {
    return call.Error(403, "Method '" + std::string(wanted) +
                               "' is not served on " + request.path);
  }
  http::PathResponse response;
  response.status = 204;
  response.headers = {
      {"Access-Control-Allow-Origin", std::string(origin)},
      {"Vary", "Origin"},
      {"Access-Control-Allow-Methods", methods + ", OPTIONS"},
      {"Access-Control-Allow-Headers",
       "Content-Type, Authorization, X-Api-Key"},
      {"Access-Control-Max-Age", std::to_string(config_.cors_max_age_seconds)},
  };
  return response;
}

http::PathResponse Gateway::Serve(RouteState& state,
                                  const http::PathRequest& request,
                                  Call& call) {
  const Route& route = state.route;
  if (route.require_key) {
    KeyStore::Decision decision =
        keys_.Authorize(PresentedKey(request), route.Name());
    call.key_name = decision.key_name;
    switch (decision.verdict) {
      case KeyStore::Verdict::kOk:
        break;
      case KeyStore::Verdict::kMissing: {
        http::PathResponse response =
            call.Error(401,
                       "Missing API key: send it as 'x-api-key: KEY' or "
                       "'Authorization: Bearer KEY'");
        response.headers.emplace_back("WWW-Authenticate", "Bearer");
        return response;
      }
      case KeyStore::Verdict::kUnknown:
        return call.Error(403, "Invalid API key");
      case KeyStore::Verdict::kNotAllowed:
        return call.Error(403, "API key '" + decision.key_name +
                                   "' may not use " + route.Name());
      case KeyStore::Verdict::kRateLimited: {
        http::PathResponse response = call.Error(
            429, "Too many requests for API key '" + decision.key_name + "'");
        EpochMillis seconds = (decision.retry_after_ms + 999) / 1000;
        response.headers.emplace_back(
            "Retry-After", std::to_string(seconds < 1 ? 1 : seconds));
        return response;
      }
    }
  }
  if (route.action == RouteAction::kListStreams ||
      route.action == RouteAction::kListDeliveryStreams) {
    return List(route, call);
  }
  if (request.body.size() > route.max_body_bytes) {
    return call.Error(413, "Request body of " +
                               std::to_string(request.body.size()) +
                               " bytes exceeds the limit of " +
                               std::to_string(route.max_body_bytes) +
                               " bytes of " + route.Name());
  }
  return Put(state, request, call);
}

http::PathResponse Gateway::List(const Route& route, Call& call) {
  // The same answer as ListStreams / ListDeliveryStreams, as the tutorials'
  // gateway passes those through.
  json::Document out(rapidjson::kObjectType);
  auto& allocator = out.GetAllocator();
  json::Value names(rapidjson::kArrayType);
  constexpr size_t kLimit = 10000;
  std::vector<std::string> found;
  if (route.action == RouteAction::kListStreams) {
    for (const auto& record :
         targets_.streams.List(account_id_, region_, "", kLimit)) {
      found.push_back(record.name);
    }
  } else {
    found =
        targets_.delivery_streams.List(account_id_, region_, "", "", kLimit);
  }
  for (const std::string& name : found) {
    names.PushBack(json::Value(name.c_str(), allocator), allocator);
  }
  bool streams = route.action == RouteAction::kListStreams;
  out.AddMember(
      rapidjson::StringRef(streams ? "StreamNames" : "DeliveryStreamNames"),
      names, allocator);
  out.AddMember(rapidjson::StringRef(streams ? "HasMoreStreams"
                                             : "HasMoreDeliveryStreams"),
                false, allocator);
  return call.Answer(200, WriteJson(out));
}

http::PathResponse Gateway::Put(RouteState& state,
                                const http::PathRequest& request, Call& call) {
  const Route& route = state.route;
  const bool batch = route.action == RouteAction::kPutBatch;
  std::vector<Event> events;
  std::string_view body = Trim(request.body);
  if (body.empty()) return call.Error(400, "The request body is empty");

  // A batch is a JSON array, or NDJSON: one event per non-blank line.
  if (batch && body.front() == '[') {
    json::Document array;
    array.Parse<json::kParseFlags>(body.data(), body.size());
    if (array.HasParseError() || !array.IsArray()) {
      return call.Error(400, "The body is not a valid JSON array");
    }
    for (rapidjson::SizeType i = 0; i < array.Size(); ++i) {
      Event& event = events.emplace_back();
      event.index = i;
      event.raw = WriteJson(array[i]);
      event.document.CopyFrom(array[i], event.document.GetAllocator());
      event.parsed = true;
    }
  } else {
    size_t start = 0;
    while (start <= body.size()) {
      size_t end = batch ? body.find('\n', start) : std::string_view::npos;
      if (end == std::string_view::npos) end = body.size();
      std::string_view line = Trim(body.substr(start, end - start));
      start = end + 1;
      if (line.empty()) continue;
      Event& event = events.emplace_back();
      event.index = events.size() - 1;
      event.raw = std::string(line);
      event.document.Parse<json::kParseFlags>(line.data(), line.size());
      event.parsed = !event.document.HasParseError();
    }
  }
  if (events.empty()) return call.Error(400, "The batch holds no events");
  if (events.size() > kMaxBatchEvents) {
    return call.Error(
        400, "A batch holds at most " + std::to_string(kMaxBatchEvents) +
                 " events; this one holds " + std::to_string(events.size()));
  }

  size_t passed = 0;
  for (Event& event : events) {
    if (!event.parsed) {
      event.reason = "The event is not valid JSON";
    } else {
      event.errors = Validate(route.validation, event.document);
      if (!event.errors.empty()) {
        event.reason = "Validation failed: " + DescribeErrors(event.errors);
      }
    }
    if (!event.reason.empty()) {
      state.rejected.fetch_add(1);
      KeepRejected(route, call, event);
      continue;
    }
    ++passed;
    json::Document& doc = event.document;
    auto& allocator = doc.GetAllocator();
    if (!route.partition_key_field.empty()) {
      const json::Value* value = FindField(doc, route.partition_key_field);
      if (value != nullptr && value->IsString()) {
        event.partition_key = std::string(json::AsView(*value));
      } else if (value != nullptr && value->IsNumber()) {
        event.partition_key = WriteJson(*value);
      }
    }
    // Kinesis takes keys of 1 to 256 characters; anything else gets the
    // fallback, a random UUID, which spreads events over the shards.
    if (event.partition_key.empty() || event.partition_key.size() > 256) {
      event.partition_key = NewUuid();
    }
    auto enrich = [&](const std::string& field, const std::string& value) {
      if (field.empty()) return;
      doc.RemoveMember(field.c_str());
      doc.AddMember(json::Value(field.c_str(), allocator),
                    json::Value(value.c_str(), allocator), allocator);
    };
    enrich(route.enrich_received_at, IsoTime(call.received_at));
    enrich(route.enrich_source_ip, call.source_ip);
    enrich(route.enrich_request_id, call.request_id);
    event.data = WriteJson(doc);
  }

  if (passed > 0) {
    if (Status s = Store(route, events); !s.ok()) {
      state.failed.fetch_add(passed);
      bool missing = s.code() == ErrorCode::kResourceNotFound;
      bool throttled = s.code() == ErrorCode::kServiceUnavailable ||
                       s.code() == ErrorCode::kProvisionedThroughputExceeded;
      http::PathResponse response =
          call.Error(missing     ? 502u
                     : throttled ? 503u
                                 : 500u,
                     "The events were not stored: " + s.message());
      if (throttled) response.headers.emplace_back("Retry-After", "1");
      return response;
    }
  }
  size_t stored = 0;
  for (const Event& event : events) stored += event.stored;
  state.accepted.fetch_add(stored);
  state.failed.fetch_add(passed - stored);

  auto out = NewJsonEncoder();
  out->StartObject();
  out->Key("request_id");
  out->String(call.request_id);
  auto write_outcome = [&](const Event& event) {
    if (event.stored) {
      if (!event.record_id.empty()) {
        out->Key("record_id");
        out->String(event.record_id);
      } else {
        out->Key("sequence_number");
        out->String(event.sequence_number);
        out->Key("shard_id");
        out->String(event.shard_id);
      }
      return;
    }
    out->Key("error");
    out->String(event.reason.empty() ? event.status.message() : event.reason);
    if (!event.errors.empty()) WriteFieldErrors(*out, event.errors);
  };
  if (!batch) {
    const Event& event = events.front();
    if (!event.stored) {
      out->Key("message");
      out->String(event.reason.empty() ? event.status.message() : event.reason);
      if (!event.errors.empty()) WriteFieldErrors(*out, event.errors);
      out->EndObject();
      if (!event.reason.empty()) return call.Answer(400, out->Take());
      // Not stored by the target: too big for the stream once enriched
      // (kValidation, as PutRecord says it), throttled, or a failed log.
      switch (event.status.code()) {
        case ErrorCode::kValidation:
          return call.Answer(413, out->Take());
        case ErrorCode::kProvisionedThroughputExceeded:
        case ErrorCode::kServiceUnavailable: {
          http::PathResponse response = call.Answer(503, out->Take());
          response.headers.emplace_back("Retry-After", "1");
          return response;
        }
        default:
          return call.Answer(500, out->Take());
      }
    }
    write_outcome(event);
    out->EndObject();
    return call.Answer(200, out->Take());
  }
  out->Key("accepted");
  out->Int(static_cast<int64_t>(stored));
  out->Key("failed");
  out->Int(static_cast<int64_t>(events.size() - stored));
  out->Key("results");
  out->StartArray();
  for (const Event& event : events) {
    out->StartObject();
    out->Key("index");
    out->Int(static_cast<int64_t>(event.index));
    write_outcome(event);
    out->EndObject();
  }
  out->EndArray();
  out->EndObject();
  // 200: all stored; 207: some were, each one's fate is in "results"; 400:
  // none was.
  unsigned status = stored == events.size() ? 200 : stored > 0 ? 207 : 400;
  return call.Answer(status, out->Take());
}

Status Gateway::Store(const Route& route, std::vector<Event>& events) {
  std::vector<Event*> passing;
  for (Event& event : events) {
    if (event.reason.empty()) passing.push_back(&event);
  }
  if (!route.stream.empty()) {
    std::vector<storage::RecordToAppend> records;
    for (Event* event : passing) {
      storage::RecordToAppend record;
      record.partition_key = event->partition_key;
      record.data = event->data;
      records.push_back(record);
    }
    auto outcomes = targets_.kinesis.AppendRecords(
        {account_id_, region_, route.stream}, records);
    if (!outcomes.ok()) return outcomes.status();
    for (size_t i = 0; i < passing.size(); ++i) {
      const kinesis::PutOutcome& outcome = (*outcomes)[i];
      passing[i]->status = outcome.status;
      passing[i]->stored = outcome.status.ok();
      passing[i]->sequence_number = outcome.sequence_number;
      passing[i]->shard_id = catalog::ShardIdFor(outcome.shard_index);
    }
    return Status::Ok();
  }
  std::vector<std::string> data;
  for (Event* event : passing) data.push_back(event->data);
  auto outcomes = targets_.firehose.AppendRecords(
      {account_id_, region_, route.delivery_stream}, std::move(data));
  if (!outcomes.ok()) return outcomes.status();
  for (size_t i = 0; i < passing.size(); ++i) {
    auto& outcome = (*outcomes)[i];
    passing[i]->status = outcome.status;
    passing[i]->stored = outcome.status.ok();
    passing[i]->record_id = std::move(outcome.record_id);
  }
  return Status::Ok();
}

void Gateway::KeepRejected(const Route& route, const Call& call,
                           const Event& event) {
  std::lock_guard lock(rejected_mu_);
  if (rejected_file_ == nullptr) return;
  auto out = NewJsonEncoder();
  out->StartObject();
  out->Key("received_at");
  out->String(IsoTime(call.received_at));
  out->Key("route");
  out->String(route.Name());
  out->Key("request_id");
  out->String(call.request_id);
  out->Key("index");
  out->Int(static_cast<int64_t>(event.index));
  out->Key("api_key");
  out->String(call.key_name);
  out->Key("source_ip");
  out->String(call.source_ip);
  out->Key("reason");
  out->String(event.reason);
  if (!event.errors.empty()) WriteFieldErrors(*out, event.errors);
  out->Key("event");
  out->String(event.raw);
  out->EndObject();
  std::string line = out->Take();
  line += '\n';
  // One write per line and a flush: a reader tailing the file sees whole
  // lines. Losing the file is not worth failing the request over.
  if (std::fwrite(line.data(), 1, line.size(), rejected_file_) != line.size() ||
      std::fflush(rejected_file_) != 0) {
    SLUICE_LOG(kWarn) << "cannot write to " << config_.rejected_events_file
                      << ": " << std::strerror(errno);
  }
}

// --- Admin operations -------------------------------------------------------

Status Gateway::CreateKey(const Context& /*context*/, const json::Value& input,
                          Encoder& output) {
  auto invalid = [](const std::string& message) {
    return Status(ErrorCode::kInvalidArgument, message);
  };
  auto name_it = input.FindMember("Name");
  if (name_it == input.MemberEnd() || !name_it->value.IsString()) {
    return invalid("Name must be a string");
  }
  std::string name(json::AsView(name_it->value));
  if (name.empty() || name.size() > kMaxKeyNameLength ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
                             "WXYZ0123456789_.-") != std::string::npos) {
    return invalid("Name must be 1 to 64 characters of [A-Za-z0-9_.-]");
  }
  std::set<std::string> known;
  for (const auto& state : routes_) known.insert(state->route.Name());
  auto routes_it = input.FindMember("Routes");
  if (routes_it == input.MemberEnd() || !routes_it->value.IsArray() ||
      routes_it->value.Empty()) {
    return invalid(
        "Routes must be a non-empty list of routes such as "
        "\"POST /api/events\", or [\"*\"]");
  }
  DeclaredKey settings;
  settings.name = name;
  for (const json::Value& route : routes_it->value.GetArray()) {
    if (!route.IsString()) return invalid("Routes must hold strings");
    std::string text(json::AsView(route));
    if (text != "*" && !known.count(text)) {
      return invalid("Route '" + text + "' is not a gateway route");
    }
    settings.routes.push_back(text);
  }
  if (auto it = input.FindMember("RateLimit"); it != input.MemberEnd()) {
    const json::Value& limit = it->value;
    if (!limit.IsObject()) return invalid("RateLimit must be an object");
    auto rate = limit.FindMember("RequestsPerSecond");
    if (rate == limit.MemberEnd() || !rate->value.IsNumber() ||
        rate->value.GetDouble() <= 0) {
      return invalid("RateLimit.RequestsPerSecond must be a number > 0");
    }
    settings.rate_limit.requests_per_second = rate->value.GetDouble();
    if (auto burst = limit.FindMember("Burst"); burst != limit.MemberEnd()) {
      if (!burst->value.IsNumber() || burst->value.GetDouble() < 1) {
        return invalid("RateLimit.Burst must be a number >= 1");
      }
      settings.rate_limit.burst = burst->value.GetDouble();
    }
  }
  std::string secret = NewApiKeySecret();
  ApiKey key;
  key.name = name;
  key.sha256_hex = HashApiKey(secret);
  key.routes = settings.routes;
  key.rate_limit = settings.rate_limit;
  key.created_at = clock_.NowMillis();

  // Stored in the shape "api_keys" declares keys in, hash included.
  json::Document doc(rapidjson::kObjectType);
  auto& allocator = doc.GetAllocator();
  doc.AddMember("name", json::Value(name.c_str(), allocator), allocator);
  doc.AddMember("sha256", json::Value(key.sha256_hex.c_str(), allocator),
                allocator);
  json::Value routes(rapidjson::kArrayType);
  for (const std::string& route : key.routes) {
    routes.PushBack(json::Value(route.c_str(), allocator), allocator);
  }
  doc.AddMember("routes", routes, allocator);
  if (key.rate_limit.requests_per_second > 0) {
    json::Value limit(rapidjson::kObjectType);
    limit.AddMember("requests_per_second", key.rate_limit.requests_per_second,
                    allocator);
    limit.AddMember("burst", key.rate_limit.burst, allocator);
    doc.AddMember("rate_limit", limit, allocator);
  }
  // The store takes the name first, so two creates of one name cannot both
  // reach the catalog; a catalog failure gives it back.
  if (Status s = keys_.Add(key); !s.ok()) return s;
  catalog::GatewayKeyRecord record{name, key.sha256_hex, WriteJson(doc),
                                   key.created_at};
  if (Status s = targets_.catalog.InsertGatewayKey(record); !s.ok()) {
    keys_.Remove(name);
    return s;
  }
  output.StartObject();
  output.Key("Name");
  output.String(name);
  output.Key("Key");
  output.String(secret);
  output.EndObject();
  return Status::Ok();
}

Status Gateway::ListKeys(const Context& /*context*/,
                         const json::Value& /*input*/, Encoder& output) {
  output.StartObject();
  output.Key("Keys");
  output.StartArray();
  for (const ApiKey& key : keys_.List()) {
    output.StartObject();
    output.Key("Name");
    output.String(key.name);
    output.Key("Routes");
    output.StartArray();
    for (const std::string& route : key.routes) output.String(route);
    output.EndArray();
    if (key.rate_limit.requests_per_second > 0) {
      output.Key("RateLimit");
      output.StartObject();
      output.Key("RequestsPerSecond");
      output.Double(key.rate_limit.requests_per_second);
      output.Key("Burst");
      output.Double(key.rate_limit.burst > 0
                        ? key.rate_limit.burst
                        : key.rate_limit.requests_per_second);
      output.EndObject();
    }
    output.Key("Source");
    output.String(key.from_config ? "config" : "catalog");
    if (!key.from_config) {
      output.Key("CreatedAt");
      output.Timestamp(key.created_at);
    }
    output.EndObject();
  }
  output.EndArray();
  output.EndObject();
  return Status::Ok();
}

Status Gateway::DeleteKey(const Context& /*context*/, const json::Value& input,
                          Encoder& output) {
  auto name_it = input.FindMember("Name");
  if (name_it == input.MemberEnd() || !name_it->value.IsString()) {
    return Status(ErrorCode::kInvalidArgument, "Name must be a string");
  }
  std::string name(json::AsView(name_it->value));
  for (const ApiKey& key : keys_.List()) {
    if (key.name == name && key.from_config) {
      return Status(ErrorCode::kInvalidArgument,
                    "API key " + name +
                        " is declared in the config file; remove it there");
    }
  }
  auto deleted = targets_.catalog.DeleteGatewayKey(name);
  if (!deleted.ok()) return deleted.status();
  if (!keys_.Remove(name) && !*deleted) {
    return Status(ErrorCode::kResourceNotFound,
                  "API key " + name + " not found.");
  }
  output.StartObject();
  output.EndObject();
  return Status::Ok();
}

Status Gateway::Describe(const Context& /*context*/,
                         const json::Value& /*input*/, Encoder& output) {
  output.StartObject();
  output.Key("Routes");
  output.StartArray();
  for (const auto& state : routes_) {
    const Route& route = state->route;
    output.StartObject();
    output.Key("Method");
    output.String(route.method);
    output.Key("Path");
    output.String(route.path);
    if (!route.stream.empty()) {
      output.Key("StreamName");
      output.String(route.stream);
    }
    if (!route.delivery_stream.empty()) {
      output.Key("DeliveryStreamName");
      output.String(route.delivery_stream);
    }
    output.Key("AcceptedEvents");
    output.Int(static_cast<int64_t>(state->accepted.load()));
    output.Key("RejectedEvents");
    output.Int(static_cast<int64_t>(state->rejected.load()));
    output.Key("FailedEvents");
    output.Int(static_cast<int64_t>(state->failed.load()));
    output.EndObject();
  }
  output.EndArray();
  output.EndObject();
  return Status::Ok();
}

}  // namespace sluice::gateway
