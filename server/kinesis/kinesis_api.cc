#include "server/kinesis/kinesis_api.h"

#include "server/kinesis/validation.h"

namespace sluice::kinesis {

inline constexpr int64_t kDefaultListStreamsLimit = 100;
inline constexpr int64_t kMaxListStreamsLimit = 10000;
inline constexpr size_t kMaxStreamNameLength = 128;

void KinesisApi::RegisterWith(http::ApiRouter& router) {
  router.Register(
      kApiName, "ListStreams",
      [this](const http::RequestContext& context, const json::Value& input,
             Encoder& output) { return ListStreams(context, input, output); });
}

Status KinesisApi::ListStreams(const http::RequestContext& context,
                               const json::Value& input, Encoder& output) {
  int64_t limit = kDefaultListStreamsLimit;
  bool has_limit = false;
  std::string start_name;
  bool has_start = false;
  if (Status s = ReadOptionalInt(input, "Limit", limit, has_limit); !s.ok()) {
    return s;
  }
  if (Status s = ReadOptionalString(input, "ExclusiveStartStreamName",
                                    start_name, has_start);
      !s.ok()) {
    return s;
  }
  Violations violations;
  if (has_limit)
    CheckRange(violations, limit, "limit", 1, kMaxListStreamsLimit);
  if (has_start) {
    CheckName(violations, start_name, "exclusiveStartStreamName",
              kMaxStreamNameLength);
  }
  if (Status s = violations.ToStatus(); !s.ok()) return s;

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
