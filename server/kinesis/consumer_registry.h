// Enhanced fan-out consumers (RegisterStreamConsumer and friends): their
// limits, their state machine CREATING -> ACTIVE, DELETING -> gone, and the
// lookup SubscribeToShard uses. A consumer belongs to one incarnation of a
// stream: it is kept in that LiveStream's `consumers` map under the stream's
// lock, with the catalog's `consumers` table as the durable copy, so deleting
// the stream takes its consumers with it.
//
// State changes use the StreamManager's clock and delays: a consumer stays
// CREATING for the create delay and DELETING for the delete delay (with 0 it
// is ACTIVE, or gone, at once). They are carried out whenever the stream's
// consumers are next looked at; a restart finishes any under way (Load()).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "server/catalog/catalog.h"
#include "server/kinesis/stream_manager.h"

namespace sluice::kinesis {

// AWS's limits: consumers registered to one stream at once, and of those,
// consumers in CREATING at once.
inline constexpr size_t kMaxConsumersPerStream = 20;
inline constexpr size_t kMaxCreatingConsumersPerStream = 5;

using catalog::ConsumerStatus;

// A consumer as the API shows it, copied out of the stream's lock.
struct ConsumerInfo {
  std::string name;
  // "<stream ARN>/consumer/<name>:<created_at in epoch seconds>"
  std::string arn;
  ConsumerStatus status = ConsumerStatus::kCreating;
  EpochMillis created_at = 0;
  StreamKey stream;       // the stream it is registered with
  int64_t stream_id = 0;  // that stream's incarnation (catalog id)
};

// Owned by the Server, next to the StreamManager it uses (which must outlive
// it). Thread-safe: every call takes the stream's lock, and may block on
// SQLite, so callers run on worker threads.
class ConsumerRegistry {
 public:
  ConsumerRegistry(StreamManager& streams, catalog::Catalog& catalog)
      : streams_(streams), catalog_(catalog) {}

  // Loads every live stream's consumers from the catalog, after
  // StreamManager::Start(). A restart finishes transitions under way:
  // CREATING consumers become ACTIVE, DELETING ones are removed.
  Status Load();

  // Registers `name` with the stream, tagged with `tags` (already validated).
  // Checks, in order: the stream is found (kResourceNotFound) and neither
  // CREATING nor DELETING (kResourceInUse "Stream <s> under account <a> not
  // ACTIVE, instead in state <S>"); the name is free (kResourceInUse); fewer
  // than 20 consumers (kLimitExceeded) of which fewer than 5 CREATING
  // (kLimitExceeded).
  Result<ConsumerInfo> Register(const StreamKey& stream, std::string_view name,
                                const catalog::Tags& tags);

  // The stream's consumer of that name: kResourceNotFound for an unknown
  // stream or consumer.
  Result<ConsumerInfo> Find(const StreamKey& stream, std::string_view name);

  // The consumer an ARN names, for SubscribeToShard and every operation that
  // takes a ConsumerARN. The ARN's region, account, stream name, consumer name
  // and creation second must all match a consumer of a live stream; anything
  // else (a malformed ARN, a deregistered consumer, one of a deleted stream, a
  // consumer re-registered under the same name later) is kResourceNotFound
  // "Consumer <arn> under account <account> not found.". The caller checks
  // that the ARN's account and region are the caller's own.
  Result<ConsumerInfo> FindConsumerByArn(std::string_view consumer_arn);

  // Runs `action` on the consumer the ARN names (found as FindConsumerByArn
  // finds it) under its stream's exclusive lock, so that what it writes (tags,
  // a policy) cannot outlive a concurrent deregistration.
  Status WithConsumer(std::string_view consumer_arn,
                      const std::function<Status(const ConsumerInfo&)>& action);

  // Moves the consumer to DELETING; it is gone once the delete delay passes
  // (at once with delay 0). Deregistering a DELETING consumer changes
  // nothing. Returns the consumer as it was found.
  Result<ConsumerInfo> Deregister(const StreamKey& stream,
                                  std::string_view name);

  // Every consumer of the stream, sorted by name.
  Result<std::vector<ConsumerInfo>> List(const StreamKey& stream);

  // For DeleteStream, as StreamManager::DeleteStream's `before` hook, under
  // the stream's exclusive lock: kResourceInUse when consumers are
  // registered and `enforce_consumer_deletion` is false; otherwise marks them
  // DELETING (their catalog rows go with the stream's).
  static Status PrepareStreamDeletion(LiveStream& stream,
                                      bool enforce_consumer_deletion);

  // Consumers of the stream not yet gone at `now`, for DescribeStreamSummary.
  // REQUIRES: stream.mu held (shared is enough).
  static size_t CountLocked(const LiveStream& stream, EpochMillis now);

 private:
  // REQUIRES: stream.mu held exclusively. Carries out the consumers' due
  // transitions; one the catalog refuses stays as it is until the next look.
  void AdvanceLocked(LiveStream& stream, EpochMillis now);
  // REQUIRES: stream.mu held.
  static ConsumerInfo InfoLocked(const LiveStream& stream,
                                 const LiveConsumer& consumer);

  StreamManager& streams_;
  catalog::Catalog& catalog_;
};

// "Consumer <arn> under account <account> not found."
Status ConsumerArnNotFound(std::string_view consumer_arn,
                           std::string_view account_id);

}  // namespace sluice::kinesis
