// The Kinesis Data Streams operations (X-Amz-Target Kinesis_20131202.*).
// RegisterWith() checks every request against the service model first, so a
// handler starts from well-typed, in-range input; it then applies the
// service's own rules (stream state, limits), calls the StreamManager and
// writes AWS's output shape. Operations not built yet are not registered, so
// they answer UnknownOperationException.
//
// Handlers are split by subject: stream_ops.cc (create, delete, describe,
// list), settings_ops.cc (retention, mode, record size, warm throughput,
// limits, account settings), record_ops.cc (put, iterators, get),
// shard_ops.cc (ListShards), tag_ops.cc (tags, resource policies),
// encryption_ops.cc (encryption, enhanced monitoring), consumer_ops.cc
// (enhanced fan-out consumers), subscribe_ops.cc (SubscribeToShard, pushed by
// subscriptions.cc).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/codec.h"
#include "common/json.h"
#include "common/status.h"
#include "server/catalog/catalog.h"
#include "server/http/api_router.h"
#include "server/kinesis/account_settings.h"
#include "server/kinesis/consumer_registry.h"
#include "server/kinesis/shard_iterator.h"
#include "server/kinesis/stream_manager.h"
#include "server/kinesis/subscriptions.h"

namespace sluice::kinesis {

inline constexpr std::string_view kApiName = "Kinesis_20131202";

// Service rules beyond the model, fixed by AWS.
struct KinesisLimits {
  // Σ(data + partition key) of one PutRecords request. AWS documents 10 MiB
  // today; older accounts saw 5 MiB.
  size_t put_records_max_bytes = 10 * 1024 * 1024;
  // SubscribeToShard's lifetime, idle events and live limit.
  SubscriptionOptions subscriptions;
};

// Owned by Server; handlers run on worker threads, concurrently.
class KinesisApi {
 public:
  KinesisApi(StreamManager& streams, ConsumerRegistry& consumers,
             catalog::Catalog& catalog, const ShardIteratorCodec& iterators,
             KinesisLimits limits = {})
      : streams_(streams),
        consumers_(consumers),
        catalog_(catalog),
        iterators_(iterators),
        limits_(limits) {}

  void RegisterWith(http::ApiRouter& router);

  using Context = http::RequestContext;

  // stream_ops.cc
  Status CreateStream(const Context& context, const json::Value& input,
                      Encoder& output);
  Status DeleteStream(const Context& context, const json::Value& input,
                      Encoder& output);
  Status DescribeStream(const Context& context, const json::Value& input,
                        Encoder& output);
  Status DescribeStreamSummary(const Context& context, const json::Value& input,
                               Encoder& output);
  Status ListStreams(const Context& context, const json::Value& input,
                     Encoder& output);

  // record_ops.cc
  Status PutRecord(const Context& context, const json::Value& input,
                   Encoder& output);
  Status PutRecords(const Context& context, const json::Value& input,
                    Encoder& output);
  // Appends records that come from inside the server (the ingestion
  // gateway) under PutRecord's rules: the stream must exist and take
  // writes, and each record must fit the stream's record size, else that
  // record alone fails. Outcomes in order.
  // REQUIRES: each partition key is 1..256 characters.
  Result<std::vector<PutOutcome>> AppendRecords(
      const StreamKey& key, std::span<const storage::RecordToAppend> records);
  Status GetShardIterator(const Context& context, const json::Value& input,
                          Encoder& output);
  Status GetRecords(const Context& context, const json::Value& input,
                    Encoder& output);

  // shard_ops.cc
  Status ListShards(const Context& context, const json::Value& input,
                    Encoder& output);

  // reshard_ops.cc
  Status SplitShard(const Context& context, const json::Value& input,
                    Encoder& output);
  Status MergeShards(const Context& context, const json::Value& input,
                     Encoder& output);
  Status UpdateShardCount(const Context& context, const json::Value& input,
                          Encoder& output);

  // settings_ops.cc
  Status IncreaseStreamRetentionPeriod(const Context& context,
                                       const json::Value& input,
                                       Encoder& output);
  Status DecreaseStreamRetentionPeriod(const Context& context,
                                       const json::Value& input,
                                       Encoder& output);
  Status UpdateStreamMode(const Context& context, const json::Value& input,
                          Encoder& output);
  Status UpdateMaxRecordSize(const Context& context, const json::Value& input,
                             Encoder& output);
  Status UpdateStreamWarmThroughput(const Context& context,
                                    const json::Value& input, Encoder& output);
  Status DescribeLimits(const Context& context, const json::Value& input,
                        Encoder& output);
  Status DescribeAccountSettings(const Context& context,
                                 const json::Value& input, Encoder& output);
  Status UpdateAccountSettings(const Context& context, const json::Value& input,
                               Encoder& output);

  // tag_ops.cc
  Status AddTagsToStream(const Context& context, const json::Value& input,
                         Encoder& output);
  Status RemoveTagsFromStream(const Context& context, const json::Value& input,
                              Encoder& output);
  Status ListTagsForStream(const Context& context, const json::Value& input,
                           Encoder& output);
  Status TagResource(const Context& context, const json::Value& input,
                     Encoder& output);
  Status UntagResource(const Context& context, const json::Value& input,
                       Encoder& output);
  Status ListTagsForResource(const Context& context, const json::Value& input,
                             Encoder& output);
  Status PutResourcePolicy(const Context& context, const json::Value& input,
                           Encoder& output);
  Status GetResourcePolicy(const Context& context, const json::Value& input,
                           Encoder& output);
  Status DeleteResourcePolicy(const Context& context, const json::Value& input,
                              Encoder& output);

  // consumer_ops.cc
  Status RegisterStreamConsumer(const Context& context,
                                const json::Value& input, Encoder& output);
  Status DeregisterStreamConsumer(const Context& context,
                                  const json::Value& input, Encoder& output);
  Status DescribeStreamConsumer(const Context& context,
                                const json::Value& input, Encoder& output);
  Status ListStreamConsumers(const Context& context, const json::Value& input,
                             Encoder& output);

  // subscribe_ops.cc: answers with an event stream (subscriptions.h).
  Result<http::StreamedAnswer> SubscribeToShard(const Context& context,
                                                const json::Value& input);

  // encryption_ops.cc
  Status StartStreamEncryption(const Context& context, const json::Value& input,
                               Encoder& output);
  Status StopStreamEncryption(const Context& context, const json::Value& input,
                              Encoder& output);
  Status EnableEnhancedMonitoring(const Context& context,
                                  const json::Value& input, Encoder& output);
  Status DisableEnhancedMonitoring(const Context& context,
                                   const json::Value& input, Encoder& output);

 private:
  // The stream a request names by StreamName and/or StreamARN, in the
  // caller's account and region.
  Result<StreamKey> ResolveStream(const Context& context,
                                  const json::Value& input) const;
  // Resolves and finds it: kResourceNotFound when absent.
  Result<std::shared_ptr<LiveStream>> FindStream(const Context& context,
                                                 const json::Value& input);
  // Increase/DecreaseStreamRetentionPeriod, which mirror each other.
  Status ChangeRetention(const Context& context, const json::Value& input,
                         bool increase);
  // The consumer a request names (consumer_ops.cc) by ConsumerARN, or by
  // StreamARN and ConsumerName, or by all three when they agree; a foreign
  // account or region is kAccessDenied.
  Result<ConsumerInfo> ResolveConsumer(const Context& context,
                                       const json::Value& input);
  // What a ResourceARN names (tag_ops.cc): a stream, or a consumer of one.
  struct Resource {
    StreamKey stream;
    std::string consumer_arn;  // empty when the resource is the stream
  };
  Result<Resource> ResolveResource(const Context& context,
                                   const json::Value& input) const;
  // The ARN under which the named resource's tags and policy are kept, once
  // the resource is found (kResourceNotFound otherwise).
  Result<std::string> ResourceArnOf(const Context& context,
                                    const json::Value& input);
  Status AddTags(const Resource& resource, const json::Value& input);
  Status RemoveTags(const Resource& resource, const json::Value& input);
  Status ChangeEncryption(const Context& context, const json::Value& input,
                          bool start);
  Status ChangeMonitoring(const Context& context, const json::Value& input,
                          bool enable, Encoder& output);

  StreamManager& streams_;
  ConsumerRegistry& consumers_;
  catalog::Catalog& catalog_;
  const ShardIteratorCodec& iterators_;
  const KinesisLimits limits_;
  AccountSettings account_settings_;
  // Last: its destructor ends and joins the subscriptions' threads, which
  // read the members above.
  SubscriptionHub subscriptions_{streams_, limits_.subscriptions};
};

// "arn:aws:kinesis:<region>:<account>:stream/<name>"
std::string StreamArn(const StreamKey& key);

// Where a reader starts in a shard: GetShardIterator's ShardIteratorType,
// StartingSequenceNumber and Timestamp, or SubscribeToShard's
// StartingPosition {Type, SequenceNumber, Timestamp}.
struct StartingPoint {
  std::string_view type;  // TRIM_HORIZON, LATEST, AT_/AFTER_SEQUENCE_NUMBER,
                          // AT_TIMESTAMP (the model has checked the enum)
  std::optional<std::string_view> sequence_number;
  std::optional<double> timestamp_seconds;
};

// The log offset `start` names in `shard`, or kInvalidArgument with AWS's
// message (a sequence number missing, superfluous, malformed or of another
// shard; no timestamp for AT_TIMESTAMP). `operation` goes into messages.
// REQUIRES: the stream's mu held (shared is enough).
Result<uint64_t> StartingOffset(const LiveShard& shard, const StreamKey& key,
                                std::string_view operation,
                                const StartingPoint& start);

// The numeric member `member` of `object` as epoch seconds, if present.
std::optional<double> TimestampSeconds(const json::Value& object,
                                       std::string_view member);

// A sequence number of the shard that sorts below the record at `offset`
// and above every earlier one: AFTER_SEQUENCE_NUMBER with it starts at
// `offset`. SubscribeToShard's ContinuationSequenceNumber before it has
// delivered a record. Its arrival time is 0, which no real record has.
std::string SequenceNumberBefore(const storage::ShardIdentity& identity,
                                 uint64_t offset);

// Writes one record as GetRecords and SubscribeToShard events show it.
void WriteRecord(Encoder& out, const storage::StoredRecord& record,
                 const catalog::StreamRecord& stream);

// Writes "ChildShards": the shards whose parent or adjacent parent is
// `parent_index`, for the end of a closed shard.
// REQUIRES: stream.mu held.
void WriteChildShards(Encoder& out, const LiveStream& stream,
                      uint32_t parent_index);

// AccessDeniedException for an ARN of another account or region than the
// caller's, worded as IAM words a refusal.
Status ForeignArnDenied(const http::RequestContext& context,
                        std::string_view arn);

// ResourceInUseException "Consumer <name> with creation timestamp <s> under
// stream: <stream> , account <a> is not in ACTIVE status." (AWS's words).
Status ConsumerNotActive(const ConsumerInfo& consumer);

// Writes one shard as DescribeStream and ListShards show it.
void WriteShard(Encoder& out, const catalog::ShardRecord& shard);

// Writes "WarmThroughput" for an on-demand stream that has one set, as
// DescribeStreamSummary shows it; nothing otherwise.
// REQUIRES: stream.mu held.
void WriteWarmThroughputIfAny(Encoder& out, const LiveStream& stream);

}  // namespace sluice::kinesis
