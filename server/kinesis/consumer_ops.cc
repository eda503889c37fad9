// Enhanced fan-out consumers: RegisterStreamConsumer,
// DeregisterStreamConsumer, DescribeStreamConsumer, ListStreamConsumers. The
// ConsumerRegistry holds the rules and state; this file reads requests and
// writes AWS's output shapes.
#include <algorithm>
#include <charconv>

#include "server/kinesis/kinesis_api.h"
#include "server/kinesis/next_token.h"
#include "server/kinesis/tag_rules.h"
#include "server/model/service_model.h"

namespace sluice::kinesis {
namespace {

inline constexpr int64_t kListConsumersDefaultMax = 100;

// The members Consumer (RegisterStreamConsumer, ListStreamConsumers) and
// ConsumerDescription (which adds StreamARN) share.
void WriteConsumerMembers(Encoder& out, const ConsumerInfo& consumer) {
  out.Key("ConsumerName");
  out.String(consumer.name);
  out.Key("ConsumerARN");
  out.String(consumer.arn);
  out.Key("ConsumerStatus");
  out.String(catalog::ToString(consumer.status));
  out.Key("ConsumerCreationTimestamp");
  out.Timestamp(consumer.created_at);
}

void WriteConsumer(Encoder& out, const ConsumerInfo& consumer) {
  out.StartObject();
  WriteConsumerMembers(out, consumer);
  out.EndObject();
}

// A ListStreamConsumers page token: "<stream id>:<last consumer name>", so a
// token never reaches another incarnation of the stream.
std::string EncodeConsumerPage(int64_t stream_id, std::string_view last_name) {
  return std::to_string(stream_id) + ":" + std::string(last_name);
}

std::optional<std::pair<int64_t, std::string>> DecodeConsumerPage(
    std::string_view page) {
  size_t colon = page.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  int64_t stream_id = 0;
  const char* end = page.data() + colon;
  auto [ptr, ec] = std::from_chars(page.data(), end, stream_id);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return std::make_pair(stream_id, std::string(page.substr(colon + 1)));
}

}  // namespace

Result<ConsumerInfo> KinesisApi::ResolveConsumer(const Context& context,
                                                 const json::Value& input) {
  std::optional<std::string_view> arn = model::GetString(input, "ConsumerARN");
  std::optional<std::string_view> name =
      model::GetString(input, "ConsumerName");
  std::optional<std::string_view> stream_arn =
      model::GetString(input, "StreamARN");
  if (!arn && !(name && stream_arn)) {
    // (verify) AWS's wording.
    return Status(ErrorCode::kInvalidArgument,
                  "Either ConsumerARN or both ConsumerName and StreamARN must "
                  "be provided.");
  }
  if (!arn) {
    auto key = ResolveStream(context, input);
    if (!key.ok()) return key.status();
    return consumers_.Find(*key, *name);
  }
  // arn:<partition>:kinesis:<region>:<account>:...; the model's pattern has
  // checked the overall form.
  std::string_view rest = *arn;
  std::string_view parts[5];
  for (std::string_view& part : parts) {
    size_t colon = rest.find(':');
    part = rest.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view()
                                           : rest.substr(colon + 1);
  }
  if (parts[4] != context.account_id || parts[3] != context.region) {
    return ForeignArnDenied(context, *arn);
  }
  auto consumer = consumers_.FindConsumerByArn(*arn);
  if (!consumer.ok()) return consumer.status();
  // All three may be given, as long as they name the same consumer.
  if ((name && *name != consumer->name) ||
      (stream_arn && *stream_arn != StreamArn(consumer->stream))) {
    return Status(ErrorCode::kInvalidArgument,
                  "ConsumerARN " + std::string(*arn) +
                      " does not name the consumer that ConsumerName and "
                      "StreamARN name.");  // (verify)
  }
  return consumer;
}

Status KinesisApi::RegisterStreamConsumer(const Context& context,
                                          const json::Value& input,
                                          Encoder& output) {
  auto key = ResolveStream(context, input);  // the model requires StreamARN
  if (!key.ok()) return key.status();
  std::string_view name = model::GetString(input, "ConsumerName").value_or("");

  catalog::Tags tags;
  if (auto it = input.FindMember("Tags");
      it != input.MemberEnd() && it->value.IsObject()) {
    for (auto& tag : it->value.GetObject()) {
      if (!tag.value.IsString()) continue;  // the model has checked
      tags.emplace_back(json::AsView(tag.name), json::AsView(tag.value));
    }
    // The model allows 1..50 entries; AWS's own rules on top. (verify)
    if (Status s = CheckTagCharacters(tags); !s.ok()) return s;
    for (const auto& tag : tags) {
      if (HasReservedTagPrefix(tag.first)) {
        return Status(ErrorCode::kInvalidArgument,
                      "Failed to register consumer " + std::string(name) +
                          " because the tag key " + tag.first +
                          " uses the reserved prefix aws:.");
      }
    }
  }

  auto consumer = consumers_.Register(*key, name, tags);
  if (!consumer.ok()) return consumer.status();
  output.StartObject();
  output.Key("Consumer");
  WriteConsumer(output, *consumer);
  output.EndObject();
  return Status::Ok();
}

Status KinesisApi::DeregisterStreamConsumer(const Context& context,
                                            const json::Value& input,
                                            Encoder& /*output*/) {
  auto consumer = ResolveConsumer(context, input);
  if (!consumer.ok()) return consumer.status();
  auto deregistered = consumers_.Deregister(consumer->stream, consumer->name);
  if (!deregistered.ok()) return deregistered.status();
  // Its live subscriptions end, with the answer a new one would get.
  ConsumerInfo leaving = *deregistered;
  leaving.status = ConsumerStatus::kDeleting;
  subscriptions_.EndConsumer(leaving.arn, ConsumerNotActive(leaving));
  return Status::Ok();
}

Status KinesisApi::DescribeStreamConsumer(const Context& context,
                                          const json::Value& input,
                                          Encoder& output) {
  auto consumer = ResolveConsumer(context, input);
  if (!consumer.ok()) return consumer.status();
  output.StartObject();
  output.Key("ConsumerDescription");
  output.StartObject();
  WriteConsumerMembers(output, *consumer);
  output.Key("StreamARN");
  output.String(StreamArn(consumer->stream));
  output.EndObject();
  output.EndObject();
  return Status::Ok();
}

Status KinesisApi::ListStreamConsumers(const Context& context,
                                       const json::Value& input,
                                       Encoder& output) {
  auto key = ResolveStream(context, input);  // the model requires StreamARN
  if (!key.ok()) return key.status();
  // The model has checked 1..10000.
  auto limit = static_cast<size_t>(model::GetInteger(input, "MaxResults")
                                       .value_or(kListConsumersDefaultMax));
  EpochMillis now = streams_.clock().NowMillis();

  auto stream = streams_.Find(*key);
  if (!stream.ok()) return stream.status();
  catalog::StreamRecord record;
  {
    std::shared_lock lock((*stream)->mu);
    record = (*stream)->record;
  }
  if (auto it = input.FindMember("StreamCreationTimestamp");
      it != input.MemberEnd() && it->value.IsNumber()) {
    // Clients may send whole seconds; only this incarnation is live, so a
    // timestamp naming another one finds nothing.
    auto created = EpochMillisFromSeconds(it->value.GetDouble());
    if (created / 1000 != record.created_at / 1000) return StreamNotFound(*key);
  }
  if (record.status == catalog::StreamStatus::kCreating) {
    return StreamNotActive(record);
  }

  std::string after;
  if (std::optional<std::string_view> token =
          model::GetString(input, "NextToken")) {
    auto plain = DecodeNextToken(*token, now);
    if (!plain.ok()) return plain.status();
    auto page = DecodeConsumerPage(*plain);
    if (!page || page->first != record.stream_id) {
      return Status(ErrorCode::kInvalidArgument, "Invalid NextToken.");
    }
    after = std::move(page->second);
  }

  auto consumers = consumers_.List(*key);
  if (!consumers.ok()) return consumers.status();
  // Sorted by name, so a page resumes after the last name it showed.
  std::erase_if(*consumers,
                [&](const ConsumerInfo& c) { return c.name <= after; });
  bool has_more = consumers->size() > limit;
  if (has_more) consumers->resize(limit);

  output.StartObject();
  output.Key("Consumers");
  output.StartArray();
  for (const ConsumerInfo& consumer : *consumers)
    WriteConsumer(output, consumer);
  output.EndArray();
  if (has_more) {
    output.Key("NextToken");
    output.String(EncodeNextToken(
        EncodeConsumerPage(record.stream_id, consumers->back().name), now));
  }
  output.EndObject();
  return Status::Ok();
}

}  // namespace sluice::kinesis
