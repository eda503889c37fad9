// The gateway's API keys: each stored only as its SHA-256, bound to the
// routes it may use, with an optional rate limit. Keys come from the config
// file (fixed) and from the catalog (created and deleted at run time with
// SluiceAdmin.CreateGatewayKey / DeleteGatewayKey).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "server/gateway/gateway_config.h"
#include "server/gateway/token_bucket.h"

namespace sluice::gateway {

struct ApiKey {
  std::string name;
  std::string sha256_hex;           // of the secret; the secret is not kept
  std::vector<std::string> routes;  // Route::Name() values, or "*"
  RateLimit rate_limit;
  EpochMillis created_at = 0;
  bool from_config = false;  // declared in the file: not deletable at run time
};

// Lowercase hex SHA-256 of a presented key.
std::string HashApiKey(std::string_view secret);
// A new secret: "sk_" and 40 hex digits from the system's random source.
std::string NewApiKeySecret();

// Whether `key` may use the route named `route_name` ("POST /api/events").
bool KeyAllows(const ApiKey& key, std::string_view route_name);

// Owned by the Gateway. Thread-safe: requests authorize concurrently while
// admin operations add and remove keys.
class KeyStore {
 public:
  explicit KeyStore(const Clock& clock) : clock_(clock) {}

  // kResourceInUse when the name or the hash is taken.
  Status Add(ApiKey key);
  // False when no such key.
  bool Remove(std::string_view name);
  std::vector<ApiKey> List() const;  // by name

  enum class Verdict {
    kOk,
    kMissing,      // no key presented: 401
    kUnknown,      // no key with that hash: 403
    kNotAllowed,   // the key is not bound to the route: 403
    kRateLimited,  // over the key's rate: 429
  };
  struct Decision {
    Verdict verdict = Verdict::kMissing;
    std::string key_name;            // when the key is known
    EpochMillis retry_after_ms = 0;  // kRateLimited
  };
  // Checks a presented key ("" when none) for a route, and takes a token
  // from its bucket when it is allowed.
  Decision Authorize(std::string_view secret, std::string_view route_name);

 private:
  const Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, ApiKey, std::less<>> by_name_;         // guarded by mu_
  std::unordered_map<std::string, std::string> name_by_hash_;  // guarded by mu_
  std::map<std::string, TokenBucket, std::less<>> buckets_;    // guarded by mu_
};

}  // namespace sluice::gateway
