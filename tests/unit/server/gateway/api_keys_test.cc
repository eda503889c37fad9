#include "server/gateway/api_keys.h"

#include <gtest/gtest.h>

#include "server/gateway/token_bucket.h"

namespace sluice::gateway {
namespace {

using Verdict = KeyStore::Verdict;

ApiKey Key(std::string name, std::string_view secret,
           std::vector<std::string> routes, RateLimit limit = {}) {
  ApiKey key;
  key.name = std::move(name);
  key.sha256_hex = HashApiKey(secret);
  key.routes = std::move(routes);
  key.rate_limit = limit;
  return key;
}

TEST(ApiKeysTest, HashIsTheHexSha256) {
  // sha256("abc"), FIPS 180-2 appendix B.1.
  EXPECT_EQ(HashApiKey("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ApiKeysTest, NewSecretsAreLongAndDistinct) {
  std::string a = NewApiKeySecret();
  std::string b = NewApiKeySecret();
  EXPECT_EQ(a.size(), 43u);
  EXPECT_EQ(a.rfind("sk_", 0), 0u);
  EXPECT_NE(a, b);
}

TEST(ApiKeysTest, AuthorizesByHashAndRoute) {
  ManualClock clock(1000);
  KeyStore store(clock);
  ASSERT_TRUE(store.Add(Key("web", "s1", {"POST /api/events"})).ok());
  ASSERT_TRUE(store.Add(Key("all", "s2", {"*"})).ok());

  auto ok = store.Authorize("s1", "POST /api/events");
  EXPECT_EQ(ok.verdict, Verdict::kOk);
  EXPECT_EQ(ok.key_name, "web");
  EXPECT_EQ(store.Authorize("s1", "GET /api/streams").verdict,
            Verdict::kNotAllowed);
  EXPECT_EQ(store.Authorize("s2", "GET /api/streams").verdict, Verdict::kOk);
  EXPECT_EQ(store.Authorize("s3", "POST /api/events").verdict,
            Verdict::kUnknown);
  EXPECT_EQ(store.Authorize("", "POST /api/events").verdict, Verdict::kMissing);
}

TEST(ApiKeysTest, NamesAndSecretsAreUnique) {
  ManualClock clock(0);
  KeyStore store(clock);
  ASSERT_TRUE(store.Add(Key("a", "s1", {"*"})).ok());
  EXPECT_EQ(store.Add(Key("a", "s2", {"*"})).code(), ErrorCode::kResourceInUse);
  EXPECT_EQ(store.Add(Key("b", "s1", {"*"})).code(), ErrorCode::kResourceInUse);
}

TEST(ApiKeysTest, ARemovedKeyNoLongerAuthorizes) {
  ManualClock clock(0);
  KeyStore store(clock);
  ASSERT_TRUE(store.Add(Key("a", "s1", {"*"})).ok());
  EXPECT_TRUE(store.Remove("a"));
  EXPECT_FALSE(store.Remove("a"));
  EXPECT_EQ(store.Authorize("s1", "POST /x").verdict, Verdict::kUnknown);
  EXPECT_TRUE(store.List().empty());
}

TEST(ApiKeysTest, RateLimitedKeyIsRefusedUntilTheBucketRefills) {
  ManualClock clock(10'000);
  KeyStore store(clock);
  ASSERT_TRUE(store.Add(Key("k", "s", {"*"}, {2, 3})).ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(store.Authorize("s", "POST /x").verdict, Verdict::kOk) << i;
  }
  auto refused = store.Authorize("s", "POST /x");
  EXPECT_EQ(refused.verdict, Verdict::kRateLimited);
  EXPECT_EQ(refused.retry_after_ms, 500);
  clock.Advance(500);
  EXPECT_EQ(store.Authorize("s", "POST /x").verdict, Verdict::kOk);
}

TEST(TokenBucketTest, StartsFullAndRefillsAtTheRate) {
  TokenBucket bucket(/*rate=*/10, /*burst=*/2, /*now=*/0);
  EXPECT_EQ(bucket.Take(0), 0);
  EXPECT_EQ(bucket.Take(0), 0);
  EXPECT_EQ(bucket.Take(0), 100);  // one token every 100 ms
  EXPECT_EQ(bucket.Take(40), 60);
  EXPECT_EQ(bucket.Take(100), 0);
  EXPECT_EQ(bucket.Take(100), 100);
}

TEST(TokenBucketTest, NeverHoldsMoreThanTheBurst) {
  TokenBucket bucket(1, 2, 0);
  EXPECT_EQ(bucket.Take(0), 0);
  EXPECT_EQ(bucket.Take(0), 0);
  // An hour idle refills two tokens, not 3,600.
  EXPECT_EQ(bucket.Take(3'600'000), 0);
  EXPECT_EQ(bucket.Take(3'600'000), 0);
  EXPECT_EQ(bucket.Take(3'600'000), 1000);
}

TEST(TokenBucketTest, AClockSteppingBackRefillsNothing) {
  TokenBucket bucket(1, 1, 5000);
  EXPECT_EQ(bucket.Take(5000), 0);
  EXPECT_EQ(bucket.Take(1000), 1000);
}

TEST(TokenBucketTest, BurstBelowOneIsOne) {
  TokenBucket bucket(1, 0, 0);
  EXPECT_EQ(bucket.Take(0), 0);
  EXPECT_EQ(bucket.Take(0), 1000);
}

}  // namespace
}  // namespace sluice::gateway
