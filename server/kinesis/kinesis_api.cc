#include "server/kinesis/kinesis_api.h"

#include "server/model/service_model.h"

namespace sluice::kinesis {

inline constexpr int64_t kDefaultListStreamsLimit = 100;

void KinesisApi::RegisterWith(http::ApiRouter& router) {
  router.Register(
      kApiName, "ListStreams",
      [this](const http::RequestContext& context, const json::Value& input,
             Encoder& output) { return ListStreams(context, input, output); });
}

Status KinesisApi::ListStreams(const http::RequestContext& context,
                               const json::Value& input, Encoder& output) {
  if (Status s =
          model::ValidateInput(model::KinesisModel(), "ListStreams", input);
      !s.ok()) {
    return s;
  }
  // The model bounds Limit to 1..10000, so it fits a size_t.
  int64_t limit =
      model::GetInteger(input, "Limit").value_or(kDefaultListStreamsLimit);
  std::string start_name(
      model::GetString(input, "ExclusiveStartStreamName").value_or(""));

  // One more than the page tells whether there are more.
  auto streams =
      catalog_.ListStreams(context.account_id, context.region, start_name,
                           static_cast<size_t>(limit) + 1);
  if (!streams.ok()) return streams.status();
  bool has_more = streams->size() > static_cast<size_t>(limit);
  if (has_more) streams->pop_back();

  output.StartObject();
  output.Key("StreamNames");
  output.StartArray();
  for (const catalog::StreamRecord& stream : *streams)
    output.String(stream.name);
  output.EndArray();
  output.Key("HasMoreStreams");
  output.Bool(has_more);
  output.Key("StreamSummaries");
  output.StartArray();
  for (const catalog::StreamRecord& stream : *streams) {
    output.StartObject();
    output.Key("StreamName");
    output.String(stream.name);
    output.Key("StreamARN");
    output.String(stream.Arn());
    output.Key("StreamStatus");
    output.String(catalog::ToString(stream.status));
    output.Key("StreamModeDetails");
    output.StartObject();
    output.Key("StreamMode");
    output.String(catalog::ToString(stream.mode));
    output.EndObject();
    output.Key("StreamCreationTimestamp");
    output.Timestamp(stream.created_at);
    output.EndObject();
  }
  output.EndArray();
  output.EndObject();
  return Status::Ok();
}

}  // namespace sluice::kinesis
