// SubscribeToShard: checks the request, finds the consumer, the shard and
// the starting position, then hands the push to the SubscriptionHub. Errors
// found here are ordinary AWS JSON errors; once the stream has started,
// errors travel in it as exception events (subscriptions.cc).
#include "common/event_stream.h"
#include "server/kinesis/kinesis_api.h"
#include "server/model/service_model.h"

namespace sluice::kinesis {

// AWS's words, as clients report them.
Status ConsumerNotActive(const ConsumerInfo& consumer) {
  return Status(ErrorCode::kResourceInUse,
                "Consumer " + consumer.name + " with creation timestamp " +
                    std::to_string(consumer.created_at / 1000) +
                    " under stream: " + consumer.stream.name + " , account " +
                    consumer.stream.account_id + " is not in ACTIVE status.");
}

Result<http::StreamedAnswer> KinesisApi::SubscribeToShard(
    const Context& context, const json::Value& input) {
  auto consumer = ResolveConsumer(context, input);
  if (!consumer.ok()) return consumer.status();
  if (consumer->status != ConsumerStatus::kActive) {
    return ConsumerNotActive(*consumer);
  }
  std::shared_ptr<LiveStream> stream = streams_.FindById(consumer->stream_id);
  if (!stream) return StreamNotFound(consumer->stream);

  std::string_view shard_id = model::GetString(input, "ShardId").value_or("");
  const json::Value& position = input["StartingPosition"];
  StartingPoint start{
      model::GetString(position, "Type").value_or(""),
      model::GetString(position, "SequenceNumber"),
      TimestampSeconds(position, "Timestamp"),
  };

  SubscriptionRequest request;
  {
    std::shared_lock lock(stream->mu);
    if (stream->record.status == catalog::StreamStatus::kCreating) {
      return StreamNotFound(consumer->stream);
    }
    std::optional<uint32_t> index = catalog::ParseShardIndex(shard_id);
    if (!index || *index >= stream->shards.size()) {
      return Status(
          ErrorCode::kResourceNotFound,
          "Shard " +
              (index ? catalog::ShardIdFor(*index) : std::string(shard_id)) +
              " in stream " + consumer->stream.name + " under account " +
              consumer->stream.account_id + " does not exist");
    }
    auto offset = StartingOffset(stream->shards[*index], consumer->stream,
                                 "SubscribeToShard", start);
    if (!offset.ok()) return offset.status();
    request.shard_index = *index;
    request.start_offset = *offset;
  }
  request.consumer_arn = consumer->arn;
  request.stream = std::move(stream);
  request.content_type = std::string(context.content_type);
  request.new_encoder = context.new_encoder;
  auto body = subscriptions_.Subscribe(std::move(request));
  if (!body.ok()) return body.status();
  return http::StreamedAnswer{std::string(kEventStreamContentType),
                              std::move(*body)};
}

}  // namespace sluice::kinesis
