#include "server/catalog/catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "server/catalog/schema.h"
#include "server/catalog/sqlite.h"
#include "tests/unit/catalog/test_util.h"

namespace sluice::catalog {
namespace {

using test::HasError;
using test::IsOk;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

constexpr char kAccount[] = "123456789012";
constexpr char kRegion[] = "us-east-1";
constexpr EpochMillis kNow = 1'700'000'000'000;

StreamRecord MakeStream(std::string name, uint32_t shard_count,
                        std::string account = kAccount,
                        std::string region = kRegion) {
  StreamRecord stream;
  stream.account_id = std::move(account);
  stream.region = std::move(region);
  stream.name = std::move(name);
  stream.created_at = kNow;
  stream.next_shard_index = shard_count;
  return stream;
}

// `count` open shards tiling a small made-up key space; the catalog does not
// interpret hash keys, so these need not span 0..2^128-1.
std::vector<ShardRecord> MakeShards(uint32_t count) {
  std::vector<ShardRecord> shards;
  for (uint32_t i = 0; i < count; ++i) {
    ShardRecord shard;
    shard.shard_index = i;
    shard.hash_key_start = std::to_string(i * 100);
    shard.hash_key_end = std::to_string(i * 100 + 99);
    shard.starting_sequence_number = "4959" + std::to_string(i);
    shard.created_at = kNow;
    shards.push_back(shard);
  }
  return shards;
}

std::vector<std::string> Names(const std::vector<StreamRecord>& streams) {
  std::vector<std::string> names;
  for (const StreamRecord& stream : streams) names.push_back(stream.name);
  return names;
}

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<Catalog>> opened = Catalog::Open(":memory:");
    ASSERT_THAT(opened, IsOk());
    catalog_ = std::move(opened).value();
  }

  // Creates a stream and returns it with its id.
  StreamRecord Create(std::string name, uint32_t shard_count = 1,
                      std::string account = kAccount,
                      std::string region = kRegion) {
    StreamRecord stream = MakeStream(std::move(name), shard_count,
                                     std::move(account), std::move(region));
    EXPECT_THAT(catalog_->CreateStream(stream, MakeShards(shard_count)),
                IsOk());
    return stream;
  }

  std::optional<StreamRecord> FindById(int64_t stream_id) {
    Result<std::optional<StreamRecord>> found =
        catalog_->FindStreamById(stream_id);
    EXPECT_THAT(found, IsOk());
    return found.ok() ? *found : std::nullopt;
  }

  std::unique_ptr<Catalog> catalog_;
};

// --- Records ----------------------------------------------------------------

TEST(RecordTest, ShardIdHasTwelveDigits) {
  ShardRecord shard;
  shard.shard_index = 3;
  EXPECT_EQ(shard.ShardId(), "shardId-000000000003");
  EXPECT_EQ(ShardIdFor(4294967295u), "shardId-004294967295");
}

TEST(RecordTest, ShardIdsParseBackInTheFormsAwsTakes) {
  EXPECT_EQ(ParseShardIndex("shardId-000000000003"), 3u);
  EXPECT_EQ(ParseShardIndex("shardId-3"), 3u);
  EXPECT_EQ(ParseShardIndex("3"), 3u);
  EXPECT_EQ(ParseShardIndex("shardId-002147483647"), 2147483647u);
  EXPECT_EQ(ParseShardIndex("shardId-002147483648"), std::nullopt);
  EXPECT_EQ(ParseShardIndex("shardId-"), std::nullopt);
  EXPECT_EQ(ParseShardIndex("shardId-3x"), std::nullopt);
  EXPECT_EQ(ParseShardIndex(""), std::nullopt);
}

TEST(RecordTest, ArnNamesRegionAccountAndStream) {
  EXPECT_EQ(MakeStream("orders", 1).Arn(),
            "arn:aws:kinesis:us-east-1:123456789012:stream/orders");
}

TEST(RecordTest, EnumsPrintAsOnTheWireAndParseBack) {
  EXPECT_EQ(ToString(StreamStatus::kCreating), "CREATING");
  EXPECT_EQ(ToString(StreamStatus::kActive), "ACTIVE");
  EXPECT_EQ(ToString(StreamStatus::kUpdating), "UPDATING");
  EXPECT_EQ(ToString(StreamStatus::kDeleting), "DELETING");
  EXPECT_EQ(ToString(StreamMode::kProvisioned), "PROVISIONED");
  EXPECT_EQ(ToString(StreamMode::kOnDemand), "ON_DEMAND");
  EXPECT_EQ(ParseStreamStatus("UPDATING"), StreamStatus::kUpdating);
  EXPECT_EQ(ParseStreamMode("ON_DEMAND"), StreamMode::kOnDemand);
  EXPECT_EQ(ParseStreamStatus("active"), std::nullopt);
  EXPECT_EQ(ParseStreamMode(""), std::nullopt);
}

// --- Streams ----------------------------------------------------------------

TEST_F(CatalogTest, OpensAtTheCurrentSchemaVersion) {
  EXPECT_EQ(catalog_->SchemaVersion(), CurrentSchemaVersion());
}

TEST_F(CatalogTest, CreatedStreamIsFoundWithEveryField) {
  StreamRecord stream = MakeStream("orders", 2);
  stream.status = StreamStatus::kActive;
  stream.mode = StreamMode::kOnDemand;
  stream.retention_hours = 48;
  stream.max_record_size_kib = 2048;
  stream.encryption_type = "KMS";
  stream.kms_key_id = "alias/aws/kinesis";
  stream.enhanced_metrics = {"OutgoingBytes", "IncomingBytes"};
  ASSERT_THAT(catalog_->CreateStream(stream, MakeShards(2)), IsOk());
  EXPECT_GT(stream.stream_id, 0);

  Result<std::optional<StreamRecord>> found =
      catalog_->FindStream(kAccount, kRegion, "orders");
  ASSERT_THAT(found, IsOk());
  ASSERT_TRUE(found->has_value());
  StreamRecord expected = stream;
  expected.enhanced_metrics = {"IncomingBytes", "OutgoingBytes"};  // sorted
  EXPECT_EQ(**found, expected);
  EXPECT_EQ(FindById(stream.stream_id), expected);
}

TEST_F(CatalogTest, MissingStreamIsNotAnError) {
  Result<std::optional<StreamRecord>> found =
      catalog_->FindStream(kAccount, kRegion, "nope");
  ASSERT_THAT(found, IsOk());
  EXPECT_FALSE(found->has_value());
  EXPECT_EQ(FindById(42), std::nullopt);
}

TEST_F(CatalogTest, DuplicateNameIsResourceInUseWithAwsMessage) {
  Create("orders", 1);
  StreamRecord again = MakeStream("orders", 3);
  EXPECT_THAT(catalog_->CreateStream(again, MakeShards(3)),
              HasError(ErrorCode::kResourceInUse,
                       "Stream orders under account 123456789012 already "
                       "exists."));
  EXPECT_EQ(again.stream_id, 0);
  // The refused create left nothing behind.
  Result<std::vector<StreamRecord>> all = catalog_->ListAllStreams();
  ASSERT_THAT(all, IsOk());
  ASSERT_EQ(all->size(), 1u);
  Result<std::vector<ShardRecord>> shards =
      catalog_->ListShards(all->front().stream_id);
  ASSERT_THAT(shards, IsOk());
  EXPECT_EQ(shards->size(), 1u);
}

TEST_F(CatalogTest, DeletingStreamsStillHoldTheirName) {
  StreamRecord stream = Create("orders");
  stream.status = StreamStatus::kDeleting;
  ASSERT_THAT(catalog_->UpdateStream(stream), IsOk());
  StreamRecord again = MakeStream("orders", 1);
  EXPECT_THAT(catalog_->CreateStream(again, MakeShards(1)),
              HasError(ErrorCode::kResourceInUse));
}

TEST_F(CatalogTest, SameNameInAnotherAccountOrRegionIsAnotherStream) {
  const StreamRecord a = Create("orders", 1, "111111111111", "us-east-1");
  const StreamRecord b = Create("orders", 1, "222222222222", "us-east-1");
  const StreamRecord c = Create("orders", 1, "111111111111", "eu-west-1");
  EXPECT_NE(a.stream_id, b.stream_id);
  EXPECT_NE(a.stream_id, c.stream_id);
  Result<std::optional<StreamRecord>> found =
      catalog_->FindStream("222222222222", "us-east-1", "orders");
  ASSERT_THAT(found, IsOk());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->stream_id, b.stream_id);
}

TEST_F(CatalogTest, RecreatedStreamIsANewIncarnation) {
  const StreamRecord first = Create("orders");
  ASSERT_THAT(catalog_->DeleteStream(first.stream_id), IsOk());
  const StreamRecord second = Create("orders");
  EXPECT_GT(second.stream_id, first.stream_id);
  EXPECT_EQ(FindById(first.stream_id), std::nullopt);
}

TEST_F(CatalogTest, IdsAreNotReusedAfterDeletingTheNewest) {
  Create("a");
  const StreamRecord newest = Create("b");
  ASSERT_THAT(catalog_->DeleteStream(newest.stream_id), IsOk());
  EXPECT_GT(Create("c").stream_id, newest.stream_id);
}

TEST_F(CatalogTest, ListStreamsPagesInByteOrder) {
  for (const char* name : {"b", "a_1", "B", "a", "a-1"}) Create(name);

  Result<std::vector<StreamRecord>> page =
      catalog_->ListStreams(kAccount, kRegion, "", 2);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(Names(*page), ElementsAre("B", "a"));

  page = catalog_->ListStreams(kAccount, kRegion, "a", 2);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(Names(*page), ElementsAre("a-1", "a_1"));

  page = catalog_->ListStreams(kAccount, kRegion, "a_1", 2);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(Names(*page), ElementsAre("b"));

  // The start name need not exist.
  page = catalog_->ListStreams(kAccount, kRegion, "a0", 100);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(Names(*page), ElementsAre("a_1", "b"));

  page = catalog_->ListStreams(kAccount, kRegion, "b", 100);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(*page, IsEmpty());

  page = catalog_->ListStreams(kAccount, kRegion, "", 0);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(*page, IsEmpty());
}

TEST_F(CatalogTest, ListStreamsSeesOnlyTheAccountAndRegionAsked) {
  Create("mine");
  Create("other-account", 1, "999999999999", kRegion);
  Create("other-region", 1, kAccount, "eu-west-1");

  Result<std::vector<StreamRecord>> page =
      catalog_->ListStreams(kAccount, kRegion, "", 100);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(Names(*page), ElementsAre("mine"));

  page = catalog_->ListStreams(kAccount, "eu-west-1", "", 100);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(Names(*page), ElementsAre("other-region"));
}

TEST_F(CatalogTest, ListStreamsCarriesEnhancedMetrics) {
  StreamRecord stream = MakeStream("orders", 1);
  stream.enhanced_metrics = {"IncomingRecords"};
  ASSERT_THAT(catalog_->CreateStream(stream, MakeShards(1)), IsOk());
  Create("plain");
  Result<std::vector<StreamRecord>> page =
      catalog_->ListStreams(kAccount, kRegion, "", 100);
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_THAT((*page)[0].enhanced_metrics, ElementsAre("IncomingRecords"));
  EXPECT_THAT((*page)[1].enhanced_metrics, IsEmpty());
}

TEST_F(CatalogTest, ListAllStreamsReturnsEveryAccountAndRegionById) {
  const StreamRecord a = Create("z", 1, "111111111111", "us-east-1");
  const StreamRecord b = Create("y", 1, "222222222222", "eu-west-1");
  const StreamRecord c = Create("x", 1, "111111111111", "ap-south-1");
  Result<std::vector<StreamRecord>> all = catalog_->ListAllStreams();
  ASSERT_THAT(all, IsOk());
  EXPECT_THAT(*all, ElementsAre(a, b, c));
}

TEST_F(CatalogTest, UpdateStreamOverwritesMutableFields) {
  StreamRecord stream = MakeStream("orders", 1);
  stream.enhanced_metrics = {"IncomingBytes"};
  ASSERT_THAT(catalog_->CreateStream(stream, MakeShards(1)), IsOk());

  stream.status = StreamStatus::kUpdating;
  stream.mode = StreamMode::kOnDemand;
  stream.retention_hours = 168;
  stream.max_record_size_kib = 10240;
  stream.encryption_type = "KMS";
  stream.kms_key_id = "arn:aws:kms:us-east-1:123456789012:key/k";
  stream.next_shard_index = 5;
  stream.enhanced_metrics = {"WriteProvisionedThroughputExceeded",
                             "IteratorAgeMilliseconds"};
  ASSERT_THAT(catalog_->UpdateStream(stream), IsOk());

  StreamRecord expected = stream;
  expected.enhanced_metrics = {"IteratorAgeMilliseconds",
                               "WriteProvisionedThroughputExceeded"};
  EXPECT_EQ(FindById(stream.stream_id), expected);
}

TEST_F(CatalogTest, UpdateStreamKeepsIdentityFields) {
  const StreamRecord stream = Create("orders");
  StreamRecord renamed = stream;
  renamed.name = "other";
  renamed.account_id = "999999999999";
  renamed.created_at = 1;
  ASSERT_THAT(catalog_->UpdateStream(renamed), IsOk());
  EXPECT_EQ(FindById(stream.stream_id), stream);
}

TEST_F(CatalogTest, UpdateMissingStreamIsNotFound) {
  StreamRecord stream = MakeStream("ghost", 1);
  stream.stream_id = 77;
  EXPECT_THAT(catalog_->UpdateStream(stream),
              HasError(ErrorCode::kResourceNotFound,
                       "Stream ghost under account 123456789012 not found."));
}

TEST_F(CatalogTest, DeleteMissingStreamIsNotFound) {
  EXPECT_THAT(
      catalog_->DeleteStream(77),
      HasError(ErrorCode::kResourceNotFound, "Stream with id 77 not found."));
}

// --- Shards -----------------------------------------------------------------

TEST_F(CatalogTest, ShardsRoundTripWithOptionalFields) {
  std::vector<ShardRecord> shards(2);
  shards[0].shard_index = 0;
  shards[0].hash_key_start = "0";
  shards[0].hash_key_end = "340282366920938463463374607431768211455";
  shards[0].starting_sequence_number =
      "49590338271490256608559692538361571095921575989136588802";
  shards[0].ending_sequence_number =
      "49590338271490256608559692540925702759324208523137515618";
  shards[0].created_at = kNow;
  shards[0].closed_at = kNow + 5000;
  shards[1].shard_index = 2;
  shards[1].hash_key_start = "170141183460469231731687303715884105728";
  shards[1].hash_key_end = "340282366920938463463374607431768211455";
  shards[1].parent_index = 0;
  shards[1].adjacent_parent_index = 1;
  shards[1].starting_sequence_number =
      "49590338271490256608559692540925702759324208523137515619";
  shards[1].created_at = kNow + 5000;

  StreamRecord stream = MakeStream("orders", 3);
  ASSERT_THAT(catalog_->CreateStream(stream, shards), IsOk());
  for (ShardRecord& shard : shards) shard.stream_id = stream.stream_id;

  Result<std::vector<ShardRecord>> listed =
      catalog_->ListShards(stream.stream_id);
  ASSERT_THAT(listed, IsOk());
  EXPECT_THAT(*listed, ElementsAre(shards[0], shards[1]));
  EXPECT_FALSE((*listed)[0].IsOpen());
  EXPECT_TRUE((*listed)[1].IsOpen());
}

TEST_F(CatalogTest, ListShardsSortsByIndex) {
  std::vector<ShardRecord> shards = MakeShards(12);
  std::reverse(shards.begin(), shards.end());
  StreamRecord stream = MakeStream("orders", 12);
  ASSERT_THAT(catalog_->CreateStream(stream, shards), IsOk());
  Result<std::vector<ShardRecord>> listed =
      catalog_->ListShards(stream.stream_id);
  ASSERT_THAT(listed, IsOk());
  ASSERT_EQ(listed->size(), 12u);
  for (uint32_t i = 0; i < 12; ++i) EXPECT_EQ((*listed)[i].shard_index, i);
}

TEST_F(CatalogTest, ListShardsOfMissingStreamIsNotFound) {
  EXPECT_THAT(catalog_->ListShards(9), HasError(ErrorCode::kResourceNotFound,
                                                "Stream with id 9 not found."));
}

TEST_F(CatalogTest, CreateStreamRefusesShardIndexAtOrAboveNextIndex) {
  StreamRecord stream = MakeStream("orders", 1);
  EXPECT_THAT(catalog_->CreateStream(stream, MakeShards(2)),
              HasError(ErrorCode::kInternalFailure,
                       "CreateStream failed: shard index 1 is not below "
                       "next_shard_index 1"));
  Result<std::optional<StreamRecord>> found =
      catalog_->FindStream(kAccount, kRegion, "orders");
  ASSERT_THAT(found, IsOk());
  EXPECT_FALSE(found->has_value());
}

TEST_F(CatalogTest, CreateStreamWithRepeatedShardIndexLeavesNothing) {
  std::vector<ShardRecord> shards = MakeShards(2);
  shards[1].shard_index = 0;
  StreamRecord stream = MakeStream("orders", 2);
  EXPECT_THAT(catalog_->CreateStream(stream, shards),
              HasError(ErrorCode::kInternalFailure,
                       "Catalog insert shard failed: UNIQUE constraint "
                       "failed: shards.stream_id, shards.shard_index"));
  EXPECT_EQ(stream.stream_id, 0);
  Result<std::vector<StreamRecord>> all = catalog_->ListAllStreams();
  ASSERT_THAT(all, IsOk());
  EXPECT_THAT(*all, IsEmpty());
}

TEST_F(CatalogTest, ReplaceShardsClosesParentAndAddsChildren) {
  StreamRecord stream = Create("orders", 2);

  // Split shard 1 into shards 2 and 3.
  ShardRecord parent = MakeShards(2)[1];
  parent.ending_sequence_number = "49599";
  parent.closed_at = kNow + 1000;
  ShardRecord low;
  low.shard_index = 2;
  low.hash_key_start = "100";
  low.hash_key_end = "149";
  low.parent_index = 1;
  low.starting_sequence_number = "49600";
  low.created_at = kNow + 1000;
  ShardRecord high = low;
  high.shard_index = 3;
  high.hash_key_start = "150";
  high.hash_key_end = "199";
  ASSERT_THAT(catalog_->ReplaceShards(stream.stream_id, {parent, low, high}, 4),
              IsOk());

  Result<std::vector<ShardRecord>> listed =
      catalog_->ListShards(stream.stream_id);
  ASSERT_THAT(listed, IsOk());
  ShardRecord untouched = MakeShards(1)[0];
  for (ShardRecord* shard : {&untouched, &parent, &low, &high}) {
    shard->stream_id = stream.stream_id;
  }
  EXPECT_THAT(*listed, ElementsAre(untouched, parent, low, high));
  std::optional<StreamRecord> updated = FindById(stream.stream_id);
  ASSERT_TRUE(updated.has_value());
  EXPECT_EQ(updated->next_shard_index, 4u);
}

TEST_F(CatalogTest, ReplaceShardsRefusesIndexAtOrAboveNextIndex) {
  const StreamRecord stream = Create("orders", 1);
  ShardRecord shard = MakeShards(1)[0];
  shard.shard_index = 5;
  EXPECT_THAT(catalog_->ReplaceShards(stream.stream_id, {shard}, 5),
              HasError(ErrorCode::kInternalFailure,
                       "ReplaceShards failed: shard index 5 is not below "
                       "next_shard_index 5"));
}

TEST_F(CatalogTest, ReplaceShardsRefusesToLowerNextIndexAndChangesNothing) {
  const StreamRecord stream = Create("orders", 3);
  ShardRecord closed = MakeShards(1)[0];
  closed.ending_sequence_number = "1";
  EXPECT_THAT(catalog_->ReplaceShards(stream.stream_id, {closed}, 2),
              HasError(ErrorCode::kInternalFailure,
                       "ReplaceShards failed: next_shard_index 2 is below "
                       "the stream's current 3; shard indexes are never "
                       "reused"));
  Result<std::vector<ShardRecord>> listed =
      catalog_->ListShards(stream.stream_id);
  ASSERT_THAT(listed, IsOk());
  EXPECT_TRUE((*listed)[0].IsOpen());
}

TEST_F(CatalogTest, ReplaceShardsOfMissingStreamIsNotFound) {
  EXPECT_THAT(
      catalog_->ReplaceShards(9, MakeShards(1), 1),
      HasError(ErrorCode::kResourceNotFound, "Stream with id 9 not found."));
}

// --- Tags -------------------------------------------------------------------

TEST_F(CatalogTest, TagsListSortedByKey) {
  const std::string arn = MakeStream("orders", 1).Arn();
  ASSERT_THAT(catalog_->TagResource(
                  arn, {{"team", "data"}, {"Env", "prod"}, {"a", ""}}),
              IsOk());
  Result<Tags> tags = catalog_->ListTags(arn);
  ASSERT_THAT(tags, IsOk());
  EXPECT_THAT(*tags, ElementsAre(Pair("Env", "prod"), Pair("a", ""),
                                 Pair("team", "data")));
}

TEST_F(CatalogTest, TaggingAnExistingKeyOverwritesItsValue) {
  const std::string arn = MakeStream("orders", 1).Arn();
  ASSERT_THAT(catalog_->TagResource(arn, {{"env", "dev"}, {"team", "data"}}),
              IsOk());
  ASSERT_THAT(catalog_->TagResource(arn, {{"env", "prod"}}), IsOk());
  Result<Tags> tags = catalog_->ListTags(arn);
  ASSERT_THAT(tags, IsOk());
  EXPECT_THAT(*tags, ElementsAre(Pair("env", "prod"), Pair("team", "data")));
}

TEST_F(CatalogTest, UntagRemovesKeysAndIgnoresUnknownOnes) {
  const std::string arn = MakeStream("orders", 1).Arn();
  ASSERT_THAT(catalog_->TagResource(arn, {{"a", "1"}, {"b", "2"}, {"c", "3"}}),
              IsOk());
  ASSERT_THAT(catalog_->UntagResource(arn, {"a", "c", "nope"}), IsOk());
  Result<Tags> tags = catalog_->ListTags(arn);
  ASSERT_THAT(tags, IsOk());
  EXPECT_THAT(*tags, ElementsAre(Pair("b", "2")));
}

TEST_F(CatalogTest, TagsBelongToOneArn) {
  const std::string orders = MakeStream("orders", 1).Arn();
  const std::string consumer = orders + "/consumer/app:1700000000";
  ASSERT_THAT(catalog_->TagResource(orders, {{"k", "stream"}}), IsOk());
  ASSERT_THAT(catalog_->TagResource(consumer, {{"k", "consumer"}}), IsOk());
  Result<Tags> tags = catalog_->ListTags(consumer);
  ASSERT_THAT(tags, IsOk());
  EXPECT_THAT(*tags, ElementsAre(Pair("k", "consumer")));
  tags = catalog_->ListTags("arn:aws:kinesis:us-east-1:123456789012:stream/x");
  ASSERT_THAT(tags, IsOk());
  EXPECT_THAT(*tags, IsEmpty());
}

// --- Gateway API keys -----------------------------------------------------

TEST_F(CatalogTest, GatewayKeysAreKeptByNameAndListedInOrder) {
  GatewayKeyRecord web{"web", std::string(64, 'a'), R"({"routes":["*"]})", 5};
  GatewayKeyRecord app{"app", std::string(64, 'b'), "{}", 7};
  ASSERT_THAT(catalog_->InsertGatewayKey(web), IsOk());
  ASSERT_THAT(catalog_->InsertGatewayKey(app), IsOk());
  Result<std::vector<GatewayKeyRecord>> keys = catalog_->ListGatewayKeys();
  ASSERT_THAT(keys, IsOk());
  EXPECT_THAT(*keys, ElementsAre(app, web));
}

TEST_F(CatalogTest, GatewayKeyNameTakenIsResourceInUse) {
  GatewayKeyRecord web{"web", std::string(64, 'a'), "{}", 5};
  ASSERT_THAT(catalog_->InsertGatewayKey(web), IsOk());
  web.sha256_hex = std::string(64, 'c');
  EXPECT_THAT(catalog_->InsertGatewayKey(web),
              HasError(ErrorCode::kResourceInUse,
                       "An API key named web already exists."));
}

TEST_F(CatalogTest, DeleteGatewayKeySaysWhetherThereWasOne) {
  ASSERT_THAT(
      catalog_->InsertGatewayKey({"web", std::string(64, 'a'), "{}", 5}),
      IsOk());
  Result<bool> deleted = catalog_->DeleteGatewayKey("web");
  ASSERT_THAT(deleted, IsOk());
  EXPECT_TRUE(*deleted);
  deleted = catalog_->DeleteGatewayKey("web");
  ASSERT_THAT(deleted, IsOk());
  EXPECT_FALSE(*deleted);
  Result<std::vector<GatewayKeyRecord>> keys = catalog_->ListGatewayKeys();
  ASSERT_THAT(keys, IsOk());
  EXPECT_THAT(*keys, IsEmpty());
}

// --- Resource policies ----------------------------------------------------

TEST_F(CatalogTest, ResourcePolicyIsStoredVerbatimAndReplaced) {
  const std::string arn = MakeStream("orders", 1).Arn();
  Result<std::optional<std::string>> policy = catalog_->GetResourcePolicy(arn);
  ASSERT_THAT(policy, IsOk());
  EXPECT_EQ(*policy, std::nullopt);
  ASSERT_THAT(catalog_->PutResourcePolicy(arn, R"({ "Version" : "1" })"),
              IsOk());
  policy = catalog_->GetResourcePolicy(arn);
  ASSERT_THAT(policy, IsOk());
  EXPECT_EQ(*policy, R"({ "Version" : "1" })");
  ASSERT_THAT(catalog_->PutResourcePolicy(arn, "{}"), IsOk());
  policy = catalog_->GetResourcePolicy(arn);
  ASSERT_THAT(policy, IsOk());
  EXPECT_EQ(*policy, "{}");
}

TEST_F(CatalogTest, DeleteResourcePolicySaysWhetherThereWasOne) {
  const std::string arn = MakeStream("orders", 1).Arn();
  ASSERT_THAT(catalog_->PutResourcePolicy(arn, "{}"), IsOk());
  Result<bool> deleted = catalog_->DeleteResourcePolicy(arn);
  ASSERT_THAT(deleted, IsOk());
  EXPECT_TRUE(*deleted);
  deleted = catalog_->DeleteResourcePolicy(arn);
  ASSERT_THAT(deleted, IsOk());
  EXPECT_FALSE(*deleted);
}

TEST_F(CatalogTest, DeleteStreamDropsItsResourcePolicies) {
  const StreamRecord stream = Create("orders", 1);
  const std::string consumer = stream.Arn() + "/consumer/app:1700000000";
  ASSERT_THAT(catalog_->PutResourcePolicy(stream.Arn(), "{}"), IsOk());
  ASSERT_THAT(catalog_->PutResourcePolicy(consumer, "{}"), IsOk());
  ASSERT_THAT(catalog_->DeleteStream(stream.stream_id), IsOk());
  for (const std::string& arn : {stream.Arn(), consumer}) {
    Result<std::optional<std::string>> policy =
        catalog_->GetResourcePolicy(arn);
    ASSERT_THAT(policy, IsOk());
    EXPECT_EQ(*policy, std::nullopt) << arn;
  }
}

// --- Checkpoints ------------------------------------------------------------

// --- Consumers --------------------------------------------------------------

ConsumerRecord MakeConsumer(int64_t stream_id, std::string name,
                            ConsumerStatus status = ConsumerStatus::kActive) {
  ConsumerRecord consumer;
  consumer.stream_id = stream_id;
  consumer.name = std::move(name);
  consumer.status = status;
  consumer.created_at = kNow + 123;
  return consumer;
}

TEST(RecordTest, ConsumerArnEndsWithCreationSeconds) {
  ConsumerRecord consumer = MakeConsumer(1, "reader");
  EXPECT_EQ(consumer.Arn(MakeStream("orders", 1).Arn()),
            "arn:aws:kinesis:us-east-1:123456789012:stream/orders/consumer/"
            "reader:1700000000");
  EXPECT_EQ(ToString(ConsumerStatus::kCreating), "CREATING");
  EXPECT_EQ(ToString(ConsumerStatus::kDeleting), "DELETING");
  EXPECT_EQ(ParseConsumerStatus("ACTIVE"), ConsumerStatus::kActive);
  EXPECT_EQ(ParseConsumerStatus("UPDATING"), std::nullopt);
}

TEST_F(CatalogTest, ConsumersRoundTripSortedByName) {
  StreamRecord stream = Create("orders");
  ConsumerRecord b = MakeConsumer(stream.stream_id, "b");
  ConsumerRecord a =
      MakeConsumer(stream.stream_id, "a", ConsumerStatus::kCreating);
  ASSERT_THAT(catalog_->CreateConsumer(b, {}), IsOk());
  ASSERT_THAT(catalog_->CreateConsumer(a, {}), IsOk());
  auto listed = catalog_->ListConsumers(stream.stream_id);
  ASSERT_THAT(listed, IsOk());
  EXPECT_THAT(*listed, ElementsAre(a, b));
}

TEST_F(CatalogTest, ConsumerNamesAreUniquePerStreamOnly) {
  StreamRecord orders = Create("orders");
  StreamRecord audit = Create("audit");
  ASSERT_THAT(catalog_->CreateConsumer(MakeConsumer(orders.stream_id, "r"), {}),
              IsOk());
  EXPECT_THAT(
      catalog_->CreateConsumer(MakeConsumer(orders.stream_id, "r"), {}),
      HasError(ErrorCode::kResourceInUse,
               "Consumer r under stream orders under account 123456789012 "
               "already exists."));
  EXPECT_THAT(catalog_->CreateConsumer(MakeConsumer(audit.stream_id, "r"), {}),
              IsOk());
}

TEST_F(CatalogTest, ConsumerOfMissingStreamIsRefusedAndLeavesNoTags) {
  ConsumerRecord consumer = MakeConsumer(42, "r");
  EXPECT_THAT(catalog_->CreateConsumer(consumer, {{"k", "v"}}),
              HasError(ErrorCode::kResourceNotFound));
  auto listed = catalog_->ListConsumers(42);
  ASSERT_THAT(listed, IsOk());
  EXPECT_THAT(*listed, IsEmpty());
}

TEST_F(CatalogTest, CreateConsumerTagsItsArn) {
  StreamRecord stream = Create("orders");
  ConsumerRecord consumer = MakeConsumer(stream.stream_id, "r");
  ASSERT_THAT(catalog_->CreateConsumer(consumer, {{"team", "data"}}), IsOk());
  auto tags = catalog_->ListTags(consumer.Arn(stream.Arn()));
  ASSERT_THAT(tags, IsOk());
  EXPECT_THAT(*tags, ElementsAre(Pair("team", "data")));
}

TEST_F(CatalogTest, ConsumerStatusChanges) {
  StreamRecord stream = Create("orders");
  ConsumerRecord consumer =
      MakeConsumer(stream.stream_id, "r", ConsumerStatus::kCreating);
  ASSERT_THAT(catalog_->CreateConsumer(consumer, {}), IsOk());
  ASSERT_THAT(catalog_->UpdateConsumerStatus(stream.stream_id, "r",
                                             ConsumerStatus::kActive),
              IsOk());
  auto listed = catalog_->ListConsumers(stream.stream_id);
  ASSERT_THAT(listed, IsOk());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().status, ConsumerStatus::kActive);
  EXPECT_THAT(catalog_->UpdateConsumerStatus(stream.stream_id, "other",
                                             ConsumerStatus::kDeleting),
              HasError(ErrorCode::kResourceNotFound));
}

TEST_F(CatalogTest, DeleteConsumerDropsItsTagsAndPolicyOnly) {
  StreamRecord stream = Create("orders");
  ConsumerRecord gone = MakeConsumer(stream.stream_id, "gone");
  ConsumerRecord kept = MakeConsumer(stream.stream_id, "kept");
  ASSERT_THAT(catalog_->CreateConsumer(gone, {{"k", "1"}}), IsOk());
  ASSERT_THAT(catalog_->CreateConsumer(kept, {{"k", "2"}}), IsOk());
  ASSERT_THAT(catalog_->TagResource(stream.Arn(), {{"k", "s"}}), IsOk());
  ASSERT_THAT(catalog_->PutResourcePolicy(gone.Arn(stream.Arn()), "{}"),
              IsOk());

  ASSERT_THAT(catalog_->DeleteConsumer(stream.stream_id, "gone"), IsOk());
  auto listed = catalog_->ListConsumers(stream.stream_id);
  ASSERT_THAT(listed, IsOk());
  EXPECT_THAT(*listed, ElementsAre(kept));
  auto gone_tags = catalog_->ListTags(gone.Arn(stream.Arn()));
  ASSERT_THAT(gone_tags, IsOk());
  EXPECT_THAT(*gone_tags, IsEmpty());
  auto policy = catalog_->GetResourcePolicy(gone.Arn(stream.Arn()));
  ASSERT_THAT(policy, IsOk());
  EXPECT_EQ(*policy, std::nullopt);
  auto kept_tags = catalog_->ListTags(kept.Arn(stream.Arn()));
  ASSERT_THAT(kept_tags, IsOk());
  EXPECT_THAT(*kept_tags, ElementsAre(Pair("k", "2")));
  auto stream_tags = catalog_->ListTags(stream.Arn());
  ASSERT_THAT(stream_tags, IsOk());
  EXPECT_THAT(*stream_tags, ElementsAre(Pair("k", "s")));

  EXPECT_THAT(catalog_->DeleteConsumer(stream.stream_id, "gone"),
              HasError(ErrorCode::kResourceNotFound));
}

TEST_F(CatalogTest, DeleteStreamRemovesItsConsumersAndTheirTags) {
  StreamRecord stream = Create("orders");
  ConsumerRecord consumer = MakeConsumer(stream.stream_id, "r");
  ASSERT_THAT(catalog_->CreateConsumer(consumer, {{"k", "v"}}), IsOk());
  ASSERT_THAT(catalog_->DeleteStream(stream.stream_id), IsOk());
  auto listed = catalog_->ListConsumers(stream.stream_id);
  ASSERT_THAT(listed, IsOk());
  EXPECT_THAT(*listed, IsEmpty());
  auto tags = catalog_->ListTags(consumer.Arn(stream.Arn()));
  ASSERT_THAT(tags, IsOk());
  EXPECT_THAT(*tags, IsEmpty());
}

TEST_F(CatalogTest, CheckpointsSaveLoadAndOverwrite) {
  const StreamRecord stream = Create("orders", 2);
  Result<std::optional<std::string>> loaded =
      catalog_->LoadCheckpoint("archiver", stream.stream_id, 0);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(*loaded, std::nullopt);

  ASSERT_THAT(catalog_->SaveCheckpoint("archiver", stream.stream_id, 0, "100"),
              IsOk());
  ASSERT_THAT(catalog_->SaveCheckpoint("archiver", stream.stream_id, 1, "200"),
              IsOk());
  ASSERT_THAT(catalog_->SaveCheckpoint("metrics", stream.stream_id, 0, "50"),
              IsOk());
  ASSERT_THAT(catalog_->SaveCheckpoint("archiver", stream.stream_id, 0, "150"),
              IsOk());

  loaded = catalog_->LoadCheckpoint("archiver", stream.stream_id, 0);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(*loaded, "150");
  loaded = catalog_->LoadCheckpoint("archiver", stream.stream_id, 1);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(*loaded, "200");
  loaded = catalog_->LoadCheckpoint("metrics", stream.stream_id, 0);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(*loaded, "50");
  loaded = catalog_->LoadCheckpoint("metrics", stream.stream_id, 1);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(*loaded, std::nullopt);
}

TEST_F(CatalogTest, DeleteCheckpointsForgetsOneReaderOnly) {
  const StreamRecord stream = Create("orders", 2);
  ASSERT_THAT(catalog_->SaveCheckpoint("firehose/1", stream.stream_id, 0, "7"),
              IsOk());
  ASSERT_THAT(catalog_->SaveCheckpoint("firehose/1", stream.stream_id, 1, "8"),
              IsOk());
  ASSERT_THAT(catalog_->SaveCheckpoint("other", stream.stream_id, 0, "9"),
              IsOk());
  ASSERT_THAT(catalog_->DeleteCheckpoints("firehose/1"), IsOk());
  EXPECT_EQ(*catalog_->LoadCheckpoint("firehose/1", stream.stream_id, 0),
            std::nullopt);
  EXPECT_EQ(*catalog_->LoadCheckpoint("firehose/1", stream.stream_id, 1),
            std::nullopt);
  EXPECT_EQ(*catalog_->LoadCheckpoint("other", stream.stream_id, 0), "9");
}

TEST_F(CatalogTest, CheckpointOnMissingShardIsNotFound) {
  const StreamRecord stream = Create("orders", 1);
  EXPECT_THAT(catalog_->SaveCheckpoint("archiver", stream.stream_id, 3, "1"),
              HasError(ErrorCode::kResourceNotFound,
                       "Shard shardId-000000000003 in stream orders under "
                       "account 123456789012 does not exist"));
  EXPECT_THAT(
      catalog_->SaveCheckpoint("archiver", 99, 0, "1"),
      HasError(ErrorCode::kResourceNotFound, "Stream with id 99 not found."));
}

TEST_F(CatalogTest, EventConsumersRoundTripPauseAndDeleteWithCheckpoints) {
  const StreamRecord stream = Create("orders", 1);
  EventConsumerRecord consumer;
  consumer.name = "counter";
  consumer.account_id = "123456789012";
  consumer.region = "us-east-1";
  consumer.definition = R"({"ConsumerName":"counter"})";
  consumer.created_at = 1700000000000;
  ASSERT_THAT(catalog_->CreateEventConsumer(consumer), IsOk());
  EXPECT_THAT(
      catalog_->CreateEventConsumer(consumer),
      HasError(ErrorCode::kResourceInUse, "Consumer counter already exists."));
  ASSERT_THAT(catalog_->SetEventConsumerPaused("counter", true), IsOk());
  consumer.paused = true;
  auto listed = catalog_->ListEventConsumers();
  ASSERT_THAT(listed, IsOk());
  EXPECT_EQ(*listed, std::vector<EventConsumerRecord>{consumer});

  ASSERT_THAT(
      catalog_->SaveCheckpoint("consumer/counter", stream.stream_id, 0, "5"),
      IsOk());
  ASSERT_THAT(catalog_->SaveCheckpoint("other", stream.stream_id, 0, "6"),
              IsOk());
  ASSERT_THAT(catalog_->DeleteEventConsumer("counter", "consumer/counter"),
              IsOk());
  EXPECT_TRUE(catalog_->ListEventConsumers()->empty());
  EXPECT_EQ(*catalog_->LoadCheckpoint("consumer/counter", stream.stream_id, 0),
            std::nullopt);
  EXPECT_EQ(*catalog_->LoadCheckpoint("other", stream.stream_id, 0), "6");
  EXPECT_THAT(
      catalog_->DeleteEventConsumer("counter", "consumer/counter"),
      HasError(ErrorCode::kResourceNotFound, "Consumer counter not found."));
  EXPECT_THAT(catalog_->SetEventConsumerPaused("counter", false),
              HasError(ErrorCode::kResourceNotFound));
}

// --- Delete -----------------------------------------------------------------

TEST_F(CatalogTest, DeleteStreamRemovesShardsTagsMetricsAndCheckpoints) {
  StreamRecord doomed = MakeStream("s1", 2);
  doomed.enhanced_metrics = {"IncomingBytes"};
  ASSERT_THAT(catalog_->CreateStream(doomed, MakeShards(2)), IsOk());
  // Neighbours whose ARNs share a prefix with the doomed stream's.
  const StreamRecord s10 = Create("s10");
  const StreamRecord s1x = Create("s1.x");

  const std::string consumer = doomed.Arn() + "/consumer/app:1700000000";
  for (const std::string& arn :
       {doomed.Arn(), consumer, s10.Arn(), s1x.Arn()}) {
    ASSERT_THAT(catalog_->TagResource(arn, {{"k", "v"}}), IsOk());
  }
  ASSERT_THAT(catalog_->SaveCheckpoint("archiver", doomed.stream_id, 1, "9"),
              IsOk());
  ASSERT_THAT(catalog_->SaveCheckpoint("archiver", s10.stream_id, 0, "7"),
              IsOk());

  ASSERT_THAT(catalog_->DeleteStream(doomed.stream_id), IsOk());

  EXPECT_EQ(FindById(doomed.stream_id), std::nullopt);
  EXPECT_THAT(catalog_->ListShards(doomed.stream_id),
              HasError(ErrorCode::kResourceNotFound));
  for (const std::string& arn : {doomed.Arn(), consumer}) {
    Result<Tags> tags = catalog_->ListTags(arn);
    ASSERT_THAT(tags, IsOk());
    EXPECT_THAT(*tags, IsEmpty()) << arn;
  }
  for (const std::string& arn : {s10.Arn(), s1x.Arn()}) {
    Result<Tags> tags = catalog_->ListTags(arn);
    ASSERT_THAT(tags, IsOk());
    EXPECT_THAT(*tags, ElementsAre(Pair("k", "v"))) << arn;
  }
  Result<std::optional<std::string>> gone =
      catalog_->LoadCheckpoint("archiver", doomed.stream_id, 1);
  ASSERT_THAT(gone, IsOk());
  EXPECT_EQ(*gone, std::nullopt);
  Result<std::optional<std::string>> kept =
      catalog_->LoadCheckpoint("archiver", s10.stream_id, 0);
  ASSERT_THAT(kept, IsOk());
  EXPECT_EQ(*kept, "7");

  // The name is free again, and the new incarnation starts with no metrics.
  const StreamRecord reborn = Create("s1");
  std::optional<StreamRecord> found = FindById(reborn.stream_id);
  ASSERT_TRUE(found.has_value());
  EXPECT_THAT(found->enhanced_metrics, IsEmpty());
}

// --- Threads ----------------------------------------------------------------

TEST_F(CatalogTest, ConcurrentCallersAllSucceed) {
  constexpr int kThreads = 4;
  constexpr int kStreamsEach = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < kStreamsEach; ++i) {
        // Appended piecewise: GCC 12 raises a false -Wrestrict on
        // "literal" + std::to_string(...) (GCC bug 105329).
        std::string name = std::to_string(t);
        name += '-';
        name += std::to_string(i);
        StreamRecord stream = MakeStream(name, 1);
        EXPECT_THAT(catalog_->CreateStream(stream, MakeShards(1)), IsOk());
        EXPECT_THAT(catalog_->SaveCheckpoint("r", stream.stream_id, 0, "1"),
                    IsOk());
        EXPECT_THAT(catalog_->ListStreams(kAccount, kRegion, "", 10), IsOk());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  Result<std::vector<StreamRecord>> all = catalog_->ListAllStreams();
  ASSERT_THAT(all, IsOk());
  EXPECT_EQ(all->size(), static_cast<size_t>(kThreads * kStreamsEach));
}

// --- File-backed ------------------------------------------------------------

TEST(CatalogFileTest, SurvivesCloseAndReopenWithTheSameData) {
  test::TempDir dir;
  const std::string path = dir.File("catalog.db");
  StreamRecord stream = MakeStream("orders", 2);
  stream.status = StreamStatus::kActive;
  stream.enhanced_metrics = {"IncomingBytes"};
  std::vector<ShardRecord> shards = MakeShards(2);
  shards[1].ending_sequence_number = "99";
  shards[1].closed_at = kNow + 1;
  {
    Result<std::unique_ptr<Catalog>> catalog = Catalog::Open(path);
    ASSERT_THAT(catalog, IsOk());
    ASSERT_THAT((*catalog)->CreateStream(stream, shards), IsOk());
    ASSERT_THAT((*catalog)->TagResource(stream.Arn(), {{"env", "prod"}}),
                IsOk());
    ASSERT_THAT(
        (*catalog)->SaveCheckpoint("archiver", stream.stream_id, 0, "42"),
        IsOk());
  }
  for (ShardRecord& shard : shards) shard.stream_id = stream.stream_id;

  Result<std::unique_ptr<Catalog>> reopened = Catalog::Open(path);
  ASSERT_THAT(reopened, IsOk());
  Catalog& catalog = **reopened;
  EXPECT_EQ(catalog.SchemaVersion(), CurrentSchemaVersion());
  Result<std::vector<StreamRecord>> all = catalog.ListAllStreams();
  ASSERT_THAT(all, IsOk());
  EXPECT_THAT(*all, ElementsAre(stream));
  Result<std::vector<ShardRecord>> listed =
      catalog.ListShards(stream.stream_id);
  ASSERT_THAT(listed, IsOk());
  EXPECT_EQ(*listed, shards);
  Result<Tags> tags = catalog.ListTags(stream.Arn());
  ASSERT_THAT(tags, IsOk());
  EXPECT_THAT(*tags, ElementsAre(Pair("env", "prod")));
  Result<std::optional<std::string>> checkpoint =
      catalog.LoadCheckpoint("archiver", stream.stream_id, 0);
  ASSERT_THAT(checkpoint, IsOk());
  EXPECT_EQ(*checkpoint, "42");
  // Ids keep counting up across restarts.
  StreamRecord next = MakeStream("next", 1);
  ASSERT_THAT(catalog.CreateStream(next, MakeShards(1)), IsOk());
  EXPECT_GT(next.stream_id, stream.stream_id);
}

TEST(CatalogFileTest, FileIsInWalMode) {
  test::TempDir dir;
  const std::string path = dir.File("catalog.db");
  ASSERT_THAT(Catalog::Open(path), IsOk());
  Result<Database> db = Database::Open(path);
  ASSERT_THAT(db, IsOk());
  Result<std::string> mode = db->PragmaText("journal_mode");
  ASSERT_THAT(mode, IsOk());
  EXPECT_EQ(*mode, "wal");
}

TEST(CatalogFileTest, EmptyFileIsMigratedToTheCurrentSchema) {
  test::TempDir dir;
  const std::string path = dir.File("catalog.db");
  std::ofstream(path).close();  // zero bytes, as a touched file would be
  Result<std::unique_ptr<Catalog>> catalog = Catalog::Open(path);
  ASSERT_THAT(catalog, IsOk());
  EXPECT_EQ((*catalog)->SchemaVersion(), CurrentSchemaVersion());
  StreamRecord stream = MakeStream("orders", 1);
  EXPECT_THAT((*catalog)->CreateStream(stream, MakeShards(1)), IsOk());
}

TEST(CatalogFileTest, DatabaseFromANewerSluiceIsRefused) {
  test::TempDir dir;
  const std::string path = dir.File("catalog.db");
  const int future = CurrentSchemaVersion() + 1;
  {
    Result<Database> db = Database::Open(path);
    ASSERT_THAT(db, IsOk());
    ASSERT_THAT(db->Exec("set version",
                         "PRAGMA user_version = " + std::to_string(future)),
                IsOk());
  }
  EXPECT_THAT(Catalog::Open(path),
              HasError(ErrorCode::kInternalFailure,
                       "Catalog " + path + " has schema version " +
                           std::to_string(future) + ", newer than version " +
                           std::to_string(CurrentSchemaVersion()) +
                           ", the newest this build of Sluice knows. Upgrade "
                           "Sluice or use another data directory."));
}

TEST(CatalogFileTest, FileThatIsNotADatabaseIsRefusedByName) {
  test::TempDir dir;
  const std::string path = dir.File("catalog.db");
  std::ofstream(path) << std::string(4096, 'x');
  EXPECT_THAT(Catalog::Open(path),
              HasError(ErrorCode::kInternalFailure,
                       "Catalog " + path +
                           ": prepare journal_mode = WAL failed: file is not "
                           "a database"));
}

TEST(CatalogFileTest, OpenInMissingDirectoryFails) {
  test::TempDir dir;
  const std::string path = dir.File("missing/catalog.db");
  EXPECT_THAT(Catalog::Open(path),
              HasError(ErrorCode::kInternalFailure,
                       "open catalog " + path +
                           " failed: unable to open database file"));
}

}  // namespace
}  // namespace sluice::catalog

// --- Delivery streams -------------------------------------------------------

namespace sluice::catalog {
namespace {

DeliveryStreamRecord MakeDeliveryStream(std::string name) {
  DeliveryStreamRecord stream;
  stream.account_id = "123456789012";
  stream.region = "us-east-1";
  stream.name = std::move(name);
  stream.status = "ACTIVE";
  stream.created_at = 1'700'000'000'000;
  stream.updated_at = stream.created_at;
  stream.destination = R"({"Extended":true,"Configuration":{}})";
  stream.encryption = R"({"Status":"DISABLED"})";
  return stream;
}

TEST_F(CatalogTest, DeliveryStreamsRoundTripAndKeepTheirCheckpoint) {
  DeliveryStreamRecord stream = MakeDeliveryStream("archive");
  ASSERT_THAT(catalog_->CreateDeliveryStream(stream), IsOk());
  EXPECT_GT(stream.delivery_stream_id, 0);
  EXPECT_EQ(stream.Arn(),
            "arn:aws:firehose:us-east-1:123456789012:deliverystream/archive");
  auto found =
      catalog_->FindDeliveryStream("123456789012", "us-east-1", "archive");
  ASSERT_THAT(found, IsOk());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, stream);

  ASSERT_THAT(catalog_->SaveDeliveryCheckpoint(stream.delivery_stream_id, 42,
                                               std::string("{\"plan\":1}")),
              IsOk());
  stream.delivered_offset = 42;
  stream.planned_object = "{\"plan\":1}";
  EXPECT_EQ(catalog_->ListAllDeliveryStreams().value(),
            std::vector<DeliveryStreamRecord>{stream});

  // A control-plane update never touches the delivery checkpoint.
  DeliveryStreamRecord stale = stream;
  stale.delivered_offset = 0;
  stale.planned_object.reset();
  stale.version_id = 2;
  ASSERT_THAT(catalog_->UpdateDeliveryStream(stale), IsOk());
  stream.version_id = 2;
  EXPECT_EQ(catalog_->ListAllDeliveryStreams().value(),
            std::vector<DeliveryStreamRecord>{stream});

  DeliveryStreamRecord twin = MakeDeliveryStream("archive");
  EXPECT_THAT(catalog_->CreateDeliveryStream(twin),
              HasError(ErrorCode::kResourceInUse,
                       "Firehose archive under accountId 123456789012 already "
                       "exists"));
}

TEST_F(CatalogTest, DeletingADeliveryStreamDropsItsTags) {
  DeliveryStreamRecord stream = MakeDeliveryStream("tagged");
  ASSERT_THAT(catalog_->CreateDeliveryStream(stream), IsOk());
  ASSERT_THAT(catalog_->TagResource(stream.Arn(), {{"k", "v"}}), IsOk());
  ASSERT_THAT(catalog_->DeleteDeliveryStream(stream.delivery_stream_id),
              IsOk());
  EXPECT_TRUE(catalog_->ListTags(stream.Arn())->empty());
  EXPECT_FALSE(
      catalog_->FindDeliveryStream("123456789012", "us-east-1", "tagged")
          ->has_value());
  EXPECT_THAT(catalog_->DeleteDeliveryStream(stream.delivery_stream_id),
              HasError(ErrorCode::kResourceNotFound));
  EXPECT_THAT(catalog_->SaveDeliveryCheckpoint(stream.delivery_stream_id, 1,
                                               std::nullopt),
              HasError(ErrorCode::kResourceNotFound));
}

TEST_F(CatalogTest, DeliveryReaderPositionsGoWithTheConsumerOrTheStream) {
  DeliveryStreamRecord stream = MakeDeliveryStream("raw");
  ASSERT_THAT(catalog_->CreateDeliveryStream(stream), IsOk());
  const int64_t id = stream.delivery_stream_id;
  EXPECT_EQ(*catalog_->LowestDeliveryReaderPosition(id), std::nullopt);
  EXPECT_EQ(*catalog_->LoadDeliveryReaderPosition("consumer/app", id),
            std::nullopt);
  ASSERT_THAT(catalog_->SaveDeliveryReaderPosition("consumer/app", id, 7),
              IsOk());
  ASSERT_THAT(catalog_->SaveDeliveryReaderPosition("consumer/app", id, 9),
              IsOk());
  ASSERT_THAT(catalog_->SaveDeliveryReaderPosition("consumer/slow", id, 4),
              IsOk());
  EXPECT_EQ(*catalog_->LoadDeliveryReaderPosition("consumer/app", id), 9u);
  EXPECT_EQ(*catalog_->LowestDeliveryReaderPosition(id), 4u);
  EXPECT_THAT(catalog_->SaveDeliveryReaderPosition("consumer/app", id + 1, 1),
              HasError(ErrorCode::kResourceNotFound));

  // Deleting a consumer forgets its positions with its checkpoints.
  EventConsumerRecord consumer;
  consumer.name = "slow";
  consumer.account_id = "123456789012";
  consumer.region = "us-east-1";
  consumer.definition = R"({"ConsumerName":"slow"})";
  ASSERT_THAT(catalog_->CreateEventConsumer(consumer), IsOk());
  ASSERT_THAT(catalog_->DeleteEventConsumer("slow", "consumer/slow"), IsOk());
  EXPECT_EQ(*catalog_->LowestDeliveryReaderPosition(id), 9u);

  // Deleting the delivery stream forgets its readers.
  ASSERT_THAT(catalog_->DeleteDeliveryStream(id), IsOk());
  EXPECT_EQ(*catalog_->LoadDeliveryReaderPosition("consumer/app", id),
            std::nullopt);
  EXPECT_EQ(*catalog_->LowestDeliveryReaderPosition(id), std::nullopt);
}

}  // namespace
}  // namespace sluice::catalog
