// The Firehose operations (X-Amz-Target Firehose_20150804.*) and Sluice's own
// admin operations for Firehose (X-Amz-Target SluiceAdmin.*, same JSON 1.1
// envelope, outside the AWS namespace). RegisterWith() checks every AWS
// request against the Firehose service model first, so a handler starts from
// well-typed, in-range input; it then applies the service's own rules, calls
// the DeliveryStreamManager (or the DeliveryEngine) and writes AWS's output.
//
// Handlers are split by subject: delivery_stream_ops.cc (create, delete,
// describe, list, update destination, encryption, tags) and
// firehose_record_ops.cc (PutRecord, PutRecordBatch, the admin flush and
// read).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/codec.h"
#include "common/json.h"
#include "common/status.h"
#include "server/catalog/catalog.h"
#include "server/firehose/delivery_engine.h"
#include "server/firehose/delivery_stream_manager.h"
#include "server/http/api_router.h"
#include "server/kinesis/stream_manager.h"

namespace sluice::firehose {

inline constexpr std::string_view kApiName = "Firehose_20150804";
inline constexpr std::string_view kAdminApiName = "SluiceAdmin";

// Firehose's limits beyond the model.
inline constexpr size_t kMaxBatchBytes = 4u << 20;  // PutRecordBatch request
inline constexpr size_t kMaxTagsPerDeliveryStream = 50;
// SluiceAdmin.ReadDeliveryStream's page: records (as GetRecords) and the
// data bytes past which it stops (the first record is always returned).
inline constexpr uint64_t kDefaultReadRecords = 1000;
inline constexpr uint64_t kMaxReadRecords = 10000;
inline constexpr size_t kMaxReadBytes = 10u << 20;

// The RecordId PutRecord answers for the record at `offset` of the delivery
// stream's log (also used by consumers' StreamWriter).
std::string RecordIdFor(const catalog::DeliveryStreamRecord& record,
                        uint64_t offset);

// Owned by Server; handlers run on worker threads, concurrently.
class FirehoseApi {
 public:
  FirehoseApi(DeliveryStreamManager& streams, DeliveryEngine& engine,
              kinesis::StreamManager& kinesis, catalog::Catalog& catalog)
      : streams_(streams),
        engine_(engine),
        kinesis_(kinesis),
        catalog_(catalog) {}

  void RegisterWith(http::ApiRouter& router);

  using Context = http::RequestContext;

  // delivery_stream_ops.cc
  Status CreateDeliveryStream(const Context& context, const json::Value& input,
                              Encoder& output);
  Status DeleteDeliveryStream(const Context& context, const json::Value& input,
                              Encoder& output);
  Status DescribeDeliveryStream(const Context& context,
                                const json::Value& input, Encoder& output);
  Status ListDeliveryStreams(const Context& context, const json::Value& input,
                             Encoder& output);
  Status UpdateDestination(const Context& context, const json::Value& input,
                           Encoder& output);
  Status StartDeliveryStreamEncryption(const Context& context,
                                       const json::Value& input,
                                       Encoder& output);
  Status StopDeliveryStreamEncryption(const Context& context,
                                      const json::Value& input,
                                      Encoder& output);
  Status TagDeliveryStream(const Context& context, const json::Value& input,
                           Encoder& output);
  Status UntagDeliveryStream(const Context& context, const json::Value& input,
                             Encoder& output);
  Status ListTagsForDeliveryStream(const Context& context,
                                   const json::Value& input, Encoder& output);

  // firehose_record_ops.cc
  Status PutRecord(const Context& context, const json::Value& input,
                   Encoder& output);
  Status PutRecordBatch(const Context& context, const json::Value& input,
                        Encoder& output);
  // What PutRecordBatch did with each record: its RecordId, or why it was
  // not stored (over the Direct PUT quota: "Slow down.").
  struct AppendOutcome {
    Status status;
    std::string record_id;
  };
  // PutRecordBatch's core, also used by the ingestion gateway: the stream
  // must be an ACTIVE DirectPut one, the quota admits records one by one,
  // and the admitted ones are appended in one write. A whole-request refusal
  // (not found, quota on requests) is the returned Status.
  Result<std::vector<AppendOutcome>> AppendRecords(
      const DeliveryStreamKey& key, std::vector<std::string> data,
      bool* encrypted = nullptr);
  // SluiceAdmin.FlushDeliveryStream {"DeliveryStreamName"}: delivers every
  // buffered record now and answers {"Objects": [{"Bucket", "Key",
  // "Records"}]} once they are durable in the archive.
  Status FlushDeliveryStream(const Context& context, const json::Value& input,
                             Encoder& output);
  // SluiceAdmin.ReadDeliveryStream {"DeliveryStreamName", "Position"?,
  // "Limit"?}: up to Limit (default 1000, 0 to 10000) records of the
  // delivery stream's own log from Position (absent: the oldest record the
  // log still holds), read as an in-process consumer reads it. Answers
  // {"Records": [{"RecordId", "Position", "ApproximateArrivalTimestamp",
  // "Data"}], "NextPosition", "Tip", "TrimHorizon"}. Nothing is held back
  // for this reader: delivered records are trimmed as usual, and a Position
  // below TrimHorizon reads from TrimHorizon.
  Status ReadDeliveryStream(const Context& context, const json::Value& input,
                            Encoder& output);

  // CreateDeliveryStream for a stream the config file declares: `input` is a
  // CreateDeliveryStream request, checked against the model like one.
  Status CreateDeclared(const Context& context, const json::Value& input);

 private:
  DeliveryStreamKey KeyFor(const Context& context,
                           const json::Value& input) const;
  Result<std::shared_ptr<LiveDeliveryStream>> Find(const Context& context,
                                                   const json::Value& input);
  // The ARN of the delivery stream the request names (its tags' key).
  Result<std::string> FindArn(const Context& context, const json::Value& input);
  // The Kinesis stream a KinesisStreamSourceConfiguration names.
  Result<KinesisSource> ResolveSource(const Context& context,
                                      const json::Value& config);

  DeliveryStreamManager& streams_;
  DeliveryEngine& engine_;
  kinesis::StreamManager& kinesis_;
  catalog::Catalog& catalog_;
};

}  // namespace sluice::firehose
