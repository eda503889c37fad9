#include "server/gateway/api_keys.h"

#include <random>

#include "common/sha256.h"

namespace sluice::gateway {

std::string HashApiKey(std::string_view secret) {
  Sha256Digest digest = Sha256(secret);
  return HexEncode(digest);
}

std::string NewApiKeySecret() {
  // std::random_device reads the kernel's random source on Linux.
  std::random_device random;
  std::string bytes;
  for (int i = 0; i < 5; ++i) {
    uint32_t word = random();
    for (int shift = 0; shift < 32; shift += 8) {
      bytes += static_cast<char>((word >> shift) & 0xFF);
    }
  }
  return "sk_" + HexEncode(bytes);
}

bool KeyAllows(const ApiKey& key, std::string_view route_name) {
  for (const std::string& route : key.routes) {
    if (route == "*" || route == route_name) return true;
  }
  return false;
}

Status KeyStore::Add(ApiKey key) {
  std::lock_guard lock(mu_);
  if (by_name_.count(key.name)) {
    return Status(ErrorCode::kResourceInUse,
                  "An API key named " + key.name + " already exists.");
  }
  if (name_by_hash_.count(key.sha256_hex)) {
    return Status(ErrorCode::kResourceInUse,
                  "API key " + key.name + " has the same secret as key " +
                      name_by_hash_[key.sha256_hex] + ".");
  }
  name_by_hash_[key.sha256_hex] = key.name;
  std::string name = key.name;
  by_name_.emplace(std::move(name), std::move(key));
  return Status::Ok();
}

bool KeyStore::Remove(std::string_view name) {
  std::lock_guard lock(mu_);
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return false;
  name_by_hash_.erase(it->second.sha256_hex);
  if (auto bucket = buckets_.find(name); bucket != buckets_.end()) {
    buckets_.erase(bucket);
  }
  by_name_.erase(it);
  return true;
}

std::vector<ApiKey> KeyStore::List() const {
  std::lock_guard lock(mu_);
  std::vector<ApiKey> out;
  for (const auto& [name, key] : by_name_) out.push_back(key);
  return out;
}

KeyStore::Decision KeyStore::Authorize(std::string_view secret,
                                       std::string_view route_name) {
  Decision decision;
  if (secret.empty()) return decision;  // kMissing
  // Hashing first means the comparison is of digests, which reveal nothing
  // about how close a guess came.
  std::string hash = HashApiKey(secret);
  std::lock_guard lock(mu_);
  auto by_hash = name_by_hash_.find(hash);
  if (by_hash == name_by_hash_.end()) {
    decision.verdict = Verdict::kUnknown;
    return decision;
  }
  const ApiKey& key = by_name_.find(by_hash->second)->second;
  decision.key_name = key.name;
  if (!KeyAllows(key, route_name)) {
    decision.verdict = Verdict::kNotAllowed;
    return decision;
  }
  if (key.rate_limit.requests_per_second > 0) {
    EpochMillis now = clock_.NowMillis();
    auto bucket = buckets_.find(key.name);
    if (bucket == buckets_.end()) {
      double burst = key.rate_limit.burst > 0
                         ? key.rate_limit.burst
                         : key.rate_limit.requests_per_second;
      bucket =
          buckets_
              .emplace(key.name, TokenBucket(key.rate_limit.requests_per_second,
                                             burst, now))
              .first;
    }
    if (EpochMillis wait = bucket->second.Take(now); wait > 0) {
      decision.verdict = Verdict::kRateLimited;
      decision.retry_after_ms = wait;
      return decision;
    }
  }
  decision.verdict = Verdict::kOk;
  return decision;
}

}  // namespace sluice::gateway
