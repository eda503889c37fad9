#include "server/gateway/gateway_config.h"

#include <gtest/gtest.h>

namespace sluice::gateway {
namespace {

Result<GatewayConfig> ParseText(const char* text) {
  json::Document doc;
  doc.Parse(text);
  EXPECT_FALSE(doc.HasParseError()) << text;
  return ParseGatewayConfig(doc);
}

std::string Error(const char* text) {
  auto parsed = ParseText(text);
  EXPECT_FALSE(parsed.ok()) << text;
  return parsed.ok() ? "" : parsed.status().message();
}

TEST(GatewayConfigTest, ReadsRoutesKeysAndCors) {
  auto config = ParseText(R"({
    "routes": [
      {"method": "POST", "path": "/api/events", "stream": "events",
       "partition_key": "user_id",
       "enrich": {"received_at": "at", "source_ip": "ip"},
       "validation": {"required": ["user_id"], "types": {"n": "integer"},
                      "required_by_event_type": {"purchase": ["amount"]}},
       "max_body_bytes": 100},
      {"method": "POST", "path": "/api/batch", "delivery_stream": "d",
       "batch": true, "api_key": false},
      {"method": "GET", "path": "/api/streams", "list": "streams"}],
    "api_keys": [{"name": "web", "env": "WEB_KEY", "routes": ["*"],
                  "rate_limit": {"requests_per_second": 5, "burst": 10}}],
    "cors": {"allowed_origins": ["http://a.test"], "max_age_seconds": 60},
    "rejected_events_file": "/tmp/r.jsonl"})");
  ASSERT_TRUE(config.ok()) << config.status().message();
  ASSERT_EQ(config->routes.size(), 3u);
  const Route& events = config->routes[0];
  EXPECT_EQ(events.Name(), "POST /api/events");
  EXPECT_EQ(events.action, RouteAction::kPutEvent);
  EXPECT_EQ(events.partition_key_field, "user_id");
  EXPECT_EQ(events.enrich_received_at, "at");
  EXPECT_EQ(events.enrich_source_ip, "ip");
  EXPECT_EQ(events.enrich_request_id, "");
  EXPECT_EQ(events.validation.type_field, "event_type");
  EXPECT_EQ(events.validation.types.at("n"), FieldType::kInteger);
  EXPECT_EQ(events.max_body_bytes, 100u);
  EXPECT_EQ(config->routes[1].action, RouteAction::kPutBatch);
  EXPECT_FALSE(config->routes[1].require_key);
  EXPECT_EQ(config->routes[2].action, RouteAction::kListStreams);
  EXPECT_EQ(config->keys[0].env, "WEB_KEY");
  EXPECT_EQ(config->keys[0].rate_limit.burst, 10);
  EXPECT_EQ(config->cors_origins[0], "http://a.test");
  EXPECT_EQ(config->cors_max_age_seconds, 60);
}

TEST(GatewayConfigTest, RefusesMistakesNamingWhere) {
  EXPECT_EQ(Error(R"({"routes": [{"method": "PUT", "path": "/a",
                                  "stream": "s"}]})"),
            "'gateway.routes[0]' 'method' must be \"POST\" or \"GET\"");
  EXPECT_EQ(Error(R"({"routes": [{"method": "POST", "path": "/a"}]})"),
            "'gateway.routes[0]' a POST route needs exactly one of 'stream' "
            "and 'delivery_stream'");
  EXPECT_EQ(Error(R"({"routes": [{"method": "POST", "path": "/health",
                                  "stream": "s"}]})"),
            "'gateway.routes[0]' 'path' /health is Sluice's own");
  EXPECT_EQ(Error(R"({"routes": [
                       {"method": "POST", "path": "/a", "stream": "s"},
                       {"method": "POST", "path": "/a", "stream": "t"}]})"),
            "'gateway.routes[1]' POST /a is declared twice");
  EXPECT_EQ(Error(R"({"routes": [{"method": "POST", "path": "/a",
                                  "stream": "s", "validation":
                                  {"types": {"x": "date"}}}]})"),
            "'gateway.routes[0]' validation: 'types.x' must be one of string, "
            "number, integer, boolean, object, array");
  EXPECT_EQ(Error(R"({"cors": {"origins": []}})"),
            "'gateway.cors' unknown key 'origins'");
}

TEST(GatewayConfigTest, KeysAreHashedOrFromTheEnvironmentNeverPlaintext) {
  EXPECT_EQ(Error(R"({"api_keys": [{"name": "k", "key": "secret",
                                    "routes": ["*"]}]})"),
            "'gateway.api_keys[0]' unknown key 'key'");
  EXPECT_NE(Error(R"({"api_keys": [{"name": "k", "routes": ["*"]}]})")
                .find("needs exactly one of 'sha256'"),
            std::string::npos);
  EXPECT_EQ(Error(R"({"api_keys": [{"name": "k", "sha256": "ABC",
                                    "routes": ["*"]}]})"),
            "'gateway.api_keys[0]' 'sha256' must be 64 lowercase hex digits");
}

}  // namespace
}  // namespace sluice::gateway
