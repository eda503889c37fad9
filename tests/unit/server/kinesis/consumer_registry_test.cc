#include "server/kinesis/consumer_registry.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sluice::kinesis {
namespace {

constexpr EpochMillis kStart = 1'700'000'000'250;
const StreamKey kOrders{"000000000000", "us-east-1", "orders"};
constexpr char kOrdersArn[] =
    "arn:aws:kinesis:us-east-1:000000000000:stream/orders";

// A StreamManager and ConsumerRegistry on a ManualClock, over an in-memory
// catalog that outlives them, so a test can "restart" by building new ones.
class ConsumerRegistryTest : public ::testing::Test {
 protected:
  ConsumerRegistryTest() : clock_(kStart) {
    auto catalog = catalog::Catalog::Open(":memory:");
    EXPECT_TRUE(catalog.ok());
    catalog_ = std::move(*catalog);
  }

  void StartWith(StreamManagerOptions options) {
    registry_.reset();
    streams_.reset();
    options.maintenance_interval = std::chrono::hours(1);  // tests drive it
    streams_ = std::make_unique<StreamManager>(*catalog_, NewMemoryLogFactory(),
                                               clock_, options);
    ASSERT_TRUE(streams_->Start().ok());
    registry_ = std::make_unique<ConsumerRegistry>(*streams_, *catalog_);
    ASSERT_TRUE(registry_->Load().ok());
  }

  void CreateOrders() {
    StreamManager::NewStream request;
    request.key = kOrders;
    ASSERT_TRUE(streams_->CreateStream(request).ok());
  }

  std::vector<std::string> Names() {
    auto listed = registry_->List(kOrders);
    EXPECT_TRUE(listed.ok()) << listed.status().ToString();
    std::vector<std::string> names;
    if (!listed.ok()) return names;
    for (const ConsumerInfo& consumer : *listed) names.push_back(consumer.name);
    return names;
  }

  static StreamManagerOptions Delays(int create_ms, int delete_ms) {
    StreamManagerOptions options;
    options.create_delay = std::chrono::milliseconds(create_ms);
    options.delete_delay = std::chrono::milliseconds(delete_ms);
    return options;
  }

  ManualClock clock_;
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<StreamManager> streams_;
  std::unique_ptr<ConsumerRegistry> registry_;
};

TEST_F(ConsumerRegistryTest, WithoutDelaysAConsumerIsActiveAtOnce) {
  StartWith({});
  CreateOrders();
  auto consumer = registry_->Register(kOrders, "reader", {});
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  EXPECT_EQ(consumer->status, ConsumerStatus::kActive);
  EXPECT_EQ(consumer->name, "reader");
  EXPECT_EQ(consumer->created_at, kStart);
  EXPECT_EQ(consumer->arn,
            std::string(kOrdersArn) + "/consumer/reader:1700000000");
  EXPECT_EQ(consumer->stream, kOrders);
  EXPECT_GT(consumer->stream_id, 0);
}

TEST_F(ConsumerRegistryTest, CreatingBecomesActiveAfterTheCreateDelay) {
  StartWith(Delays(500, 0));
  CreateOrders();
  clock_.Advance(500);  // the stream itself is CREATING until now
  auto consumer = registry_->Register(kOrders, "reader", {});
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  EXPECT_EQ(consumer->status, ConsumerStatus::kCreating);
  clock_.Advance(499);
  EXPECT_EQ(registry_->Find(kOrders, "reader")->status,
            ConsumerStatus::kCreating);
  clock_.Advance(1);
  EXPECT_EQ(registry_->Find(kOrders, "reader")->status,
            ConsumerStatus::kActive);
  auto stored = catalog_->ListConsumers(consumer->stream_id);
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ(stored->front().status, ConsumerStatus::kActive);
}

TEST_F(ConsumerRegistryTest, ACreatingStreamRefusesConsumers) {
  StartWith(Delays(500, 0));
  CreateOrders();
  EXPECT_EQ(registry_->Register(kOrders, "reader", {}).status(),
            Status(ErrorCode::kResourceInUse,
                   "Stream orders under account 000000000000 not ACTIVE, "
                   "instead in state CREATING"));
}

TEST_F(ConsumerRegistryTest, DeletingLastsTheDeleteDelayThenTheConsumerIsGone) {
  StartWith(Delays(0, 300));
  CreateOrders();
  ASSERT_TRUE(registry_->Register(kOrders, "reader", {}).ok());
  auto before = registry_->Deregister(kOrders, "reader");
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->status, ConsumerStatus::kActive);
  EXPECT_EQ(registry_->Find(kOrders, "reader")->status,
            ConsumerStatus::kDeleting);
  // The name stays taken while the consumer is DELETING.
  EXPECT_EQ(registry_->Register(kOrders, "reader", {}).status().code(),
            ErrorCode::kResourceInUse);
  clock_.Advance(300);
  EXPECT_EQ(registry_->Find(kOrders, "reader").status(),
            Status(ErrorCode::kResourceNotFound,
                   "Consumer reader under stream orders under account "
                   "000000000000 not found."));
  EXPECT_TRUE(registry_->Register(kOrders, "reader", {}).ok());
}

TEST_F(ConsumerRegistryTest, NamesAreUniquePerStream) {
  StartWith({});
  CreateOrders();
  ASSERT_TRUE(registry_->Register(kOrders, "reader", {}).ok());
  EXPECT_EQ(registry_->Register(kOrders, "reader", {}).status(),
            Status(ErrorCode::kResourceInUse,
                   "Consumer reader under stream orders under account "
                   "000000000000 already exists."));
}

TEST_F(ConsumerRegistryTest, AStreamHoldsAtMostTwentyConsumers) {
  StartWith({});
  CreateOrders();
  for (size_t i = 0; i < kMaxConsumersPerStream; ++i) {
    ASSERT_TRUE(registry_->Register(kOrders, std::to_string(i), {}).ok());
  }
  EXPECT_EQ(registry_->Register(kOrders, "one-too-many", {}).status().code(),
            ErrorCode::kLimitExceeded);
  ASSERT_TRUE(registry_->Deregister(kOrders, "0").ok());
  EXPECT_TRUE(registry_->Register(kOrders, "now-fits", {}).ok());
}

TEST_F(ConsumerRegistryTest, AtMostFiveConsumersAreCreatingAtOnce) {
  StartWith(Delays(100, 0));
  CreateOrders();
  clock_.Advance(100);
  for (size_t i = 0; i < kMaxCreatingConsumersPerStream; ++i) {
    ASSERT_TRUE(registry_->Register(kOrders, std::to_string(i), {}).ok());
  }
  EXPECT_EQ(registry_->Register(kOrders, "sixth", {}).status().code(),
            ErrorCode::kLimitExceeded);
  clock_.Advance(100);  // the first five are ACTIVE now
  EXPECT_TRUE(registry_->Register(kOrders, "sixth", {}).ok());
}

TEST_F(ConsumerRegistryTest, ListIsSortedByName) {
  StartWith({});
  CreateOrders();
  for (const char* name : {"b", "c", "a"}) {
    ASSERT_TRUE(registry_->Register(kOrders, name, {}).ok());
  }
  EXPECT_EQ(Names(), (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(ConsumerRegistryTest, FindByArnNeedsEveryPartToMatch) {
  StartWith({});
  CreateOrders();
  auto consumer = registry_->Register(kOrders, "reader", {});
  ASSERT_TRUE(consumer.ok());
  auto found = registry_->FindConsumerByArn(consumer->arn);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->name, "reader");
  EXPECT_EQ(found->stream_id, consumer->stream_id);

  const std::string base = "arn:aws:kinesis:us-east-1:000000000000:stream/";
  for (const std::string& arn : std::vector<std::string>{
           base + "orders/consumer/reader:1700000001",  // another second
           base + "orders/consumer/other:1700000000",   // another name
           base + "audit/consumer/reader:1700000000",   // another stream
           "arn:aws:kinesis:eu-west-1:000000000000:stream/orders/consumer/"
           "reader:1700000000",  // another region
           "arn:aws:kinesis:us-east-1:111111111111:stream/orders/consumer/"
           "reader:1700000000",              // another account
           base + "orders/consumer/reader",  // no creation time
       }) {
    EXPECT_EQ(registry_->FindConsumerByArn(arn).status().code(),
              ErrorCode::kResourceNotFound)
        << arn;
  }
  EXPECT_EQ(registry_->FindConsumerByArn(base + "audit/consumer/r:1").status(),
            Status(ErrorCode::kResourceNotFound,
                   "Consumer " + base +
                       "audit/consumer/r:1 under account 000000000000 not "
                       "found."));
}

TEST_F(ConsumerRegistryTest, AConsumerRegisteredAgainHasANewArn) {
  StartWith({});
  CreateOrders();
  auto first = registry_->Register(kOrders, "reader", {});
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(registry_->Deregister(kOrders, "reader").ok());
  clock_.Advance(1000);
  auto second = registry_->Register(kOrders, "reader", {});
  ASSERT_TRUE(second.ok());
  EXPECT_NE(first->arn, second->arn);
  EXPECT_EQ(registry_->FindConsumerByArn(first->arn).status().code(),
            ErrorCode::kResourceNotFound);
  EXPECT_TRUE(registry_->FindConsumerByArn(second->arn).ok());
}

TEST_F(ConsumerRegistryTest, DeleteStreamNeedsEnforceConsumerDeletion) {
  StartWith({});
  CreateOrders();
  auto consumer = registry_->Register(kOrders, "reader", {});
  ASSERT_TRUE(consumer.ok());
  auto refuse = [](LiveStream& stream) {
    return ConsumerRegistry::PrepareStreamDeletion(stream, false);
  };
  EXPECT_EQ(streams_->DeleteStream(kOrders, refuse),
            Status(ErrorCode::kResourceInUse,
                   "DeleteStream can't delete 000000000000:orders because "
                   "there are consumers associated with this data stream. To "
                   "delete orders anyway, set the EnforceConsumerDeletion "
                   "parameter to true to force the deletion of all the "
                   "consumers that are associated with it."));
  EXPECT_TRUE(registry_->FindConsumerByArn(consumer->arn).ok());

  ASSERT_TRUE(
      streams_
          ->DeleteStream(kOrders,
                         [](LiveStream& stream) {
                           return ConsumerRegistry::PrepareStreamDeletion(
                               stream, true);
                         })
          .ok());
  EXPECT_EQ(registry_->FindConsumerByArn(consumer->arn).status().code(),
            ErrorCode::kResourceNotFound);
  auto stored = catalog_->ListConsumers(consumer->stream_id);
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(stored->empty());
  // A new incarnation of the stream starts without consumers.
  CreateOrders();
  EXPECT_TRUE(Names().empty());
}

TEST_F(ConsumerRegistryTest, ConsumersOfADeletingStreamAreDeletingToo) {
  StartWith(Delays(0, 400));
  CreateOrders();
  auto consumer = registry_->Register(kOrders, "reader", {});
  ASSERT_TRUE(consumer.ok());
  ASSERT_TRUE(
      streams_
          ->DeleteStream(kOrders,
                         [](LiveStream& stream) {
                           return ConsumerRegistry::PrepareStreamDeletion(
                               stream, true);
                         })
          .ok());
  auto found = registry_->FindConsumerByArn(consumer->arn);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->status, ConsumerStatus::kDeleting);
  EXPECT_EQ(registry_->Register(kOrders, "late", {}).status().code(),
            ErrorCode::kResourceInUse);
  clock_.Advance(400);
  EXPECT_EQ(registry_->FindConsumerByArn(consumer->arn).status().code(),
            ErrorCode::kResourceNotFound);
}

TEST_F(ConsumerRegistryTest, CountLeavesOutConsumersWhoseDeletionIsDue) {
  StartWith(Delays(0, 200));
  CreateOrders();
  ASSERT_TRUE(registry_->Register(kOrders, "a", {}).ok());
  ASSERT_TRUE(registry_->Register(kOrders, "b", {}).ok());
  ASSERT_TRUE(registry_->Deregister(kOrders, "a").ok());
  auto stream = streams_->Find(kOrders);
  ASSERT_TRUE(stream.ok());
  std::shared_lock lock((*stream)->mu);
  EXPECT_EQ(ConsumerRegistry::CountLocked(**stream, clock_.NowMillis()), 2u);
  EXPECT_EQ(ConsumerRegistry::CountLocked(**stream, clock_.NowMillis() + 200),
            1u);
}

TEST_F(ConsumerRegistryTest, ARestartFinishesTransitionsUnderWay) {
  StartWith(Delays(1000, 1000));
  CreateOrders();
  clock_.Advance(1000);
  ASSERT_TRUE(registry_->Register(kOrders, "settled", {}).ok());
  ASSERT_TRUE(registry_->Register(kOrders, "leaving", {}).ok());
  clock_.Advance(1000);
  ASSERT_TRUE(registry_->Deregister(kOrders, "leaving").ok());
  ASSERT_TRUE(registry_->Register(kOrders, "creating", {{"k", "v"}}).ok());
  ASSERT_TRUE(registry_->Register(kOrders, "creating2", {}).ok());
  EXPECT_EQ(registry_->Find(kOrders, "creating")->status,
            ConsumerStatus::kCreating);
  EXPECT_EQ(registry_->Find(kOrders, "leaving")->status,
            ConsumerStatus::kDeleting);

  StartWith(Delays(1000, 1000));
  auto listed = registry_->List(kOrders);
  ASSERT_TRUE(listed.ok());
  std::vector<std::string> names;
  for (const ConsumerInfo& consumer : *listed) {
    names.push_back(consumer.name);
    EXPECT_EQ(consumer.status, ConsumerStatus::kActive) << consumer.name;
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{"creating", "creating2", "settled"}));
  // Tags stay with the consumer's ARN.
  auto creating = registry_->Find(kOrders, "creating");
  ASSERT_TRUE(creating.ok());
  auto tags = catalog_->ListTags(creating->arn);
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(*tags, (catalog::Tags{{"k", "v"}}));
}

}  // namespace
}  // namespace sluice::kinesis
