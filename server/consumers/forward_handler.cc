#include "server/consumers/forward_handler.h"

namespace sluice::consumers {

Result<std::unique_ptr<ForwardHandler>> ForwardHandler::Create(
    const HandlerSpec& spec) {
  const json::Value& settings = *spec.settings;
  const std::string what = "consumer " + spec.consumer + " handler";
  if (!settings.IsObject()) return InvalidSetting(what, "must be an object");
  Status known = CheckKnownMembers(
      settings, {"type", "stream", "delivery_stream", "match", "partition_key"},
      what);
  if (!known.ok()) return known;

  std::unique_ptr<ForwardHandler> handler(new ForwardHandler());
  handler->writer_ = spec.environment->writer;
  if (handler->writer_ == nullptr) {
    return Status(ErrorCode::kInternalFailure,
                  what + ": no stream writer to forward through");
  }
  auto name_setting = [&](std::string_view name, std::string& out) -> Status {
    const json::Value* value = Member(settings, name);
    if (value == nullptr) return Status::Ok();
    if (!value->IsString() || value->GetStringLength() == 0 ||
        value->GetStringLength() > 128) {
      return InvalidSetting(what + "." + std::string(name),
                            "must be a stream name of 1 to 128 characters");
    }
    out = std::string(json::AsView(*value));
    return Status::Ok();
  };
  if (Status s = name_setting("stream", handler->stream_); !s.ok()) return s;
  if (Status s = name_setting("delivery_stream", handler->delivery_stream_);
      !s.ok()) {
    return s;
  }
  if (handler->stream_.empty() == handler->delivery_stream_.empty()) {
    return InvalidSetting(what,
                          "needs exactly one of \"stream\" (a Kinesis "
                          "stream) and \"delivery_stream\" (a Firehose "
                          "delivery stream)");
  }
  if (const json::Value* match = Member(settings, "match")) {
    Result<Condition> parsed = Condition::Parse(match, what + ".match");
    if (!parsed.ok()) return parsed.status();
    handler->match_ = std::move(parsed).value();
  }
  if (const json::Value* key = Member(settings, "partition_key")) {
    if (!handler->delivery_stream_.empty()) {
      return InvalidSetting(what + ".partition_key",
                            "applies to a Kinesis stream only (a delivery "
                            "stream takes no partition key)");
    }
    if (!key->IsString() || key->GetStringLength() == 0) {
      return InvalidSetting(what + ".partition_key",
                            "must be a template string");
    }
    Result<Template> parsed =
        Template::Parse(json::AsView(*key), what + ".partition_key");
    if (!parsed.ok()) return parsed.status();
    handler->partition_key_ = std::move(parsed).value();
  }
  return handler;
}

HandlerResult ForwardHandler::Handle(const Batch& batch) {
  RecordParser parser;
  const json::Value kNotJson;  // what a template sees of a non-JSON record
  std::string key;
  for (const ConsumerRecord& record : batch.records) {
    const json::Value* parsed = nullptr;
    if (match_.has_value() || partition_key_.has_value()) {
      parsed = parser.Parse(record.data);
    }
    // A record that is not JSON matches no condition: it is not forwarded.
    if (match_.has_value() &&
        (parsed == nullptr || !match_->Matches(*parsed))) {
      continue;
    }
    Result<std::string> put = std::string();
    if (!delivery_stream_.empty()) {
      put = writer_->PutToDeliveryStream(delivery_stream_, record.data);
    } else {
      std::string_view partition_key = record.partition_key;
      if (partition_key_.has_value()) {
        key.clear();
        const RecordContext context{parsed != nullptr ? *parsed : kNotJson,
                                    record, batch.shard_id};
        // A template with no value for this record (a field missing, no
        // '|' alternative) keeps the record's own key rather than failing
        // the shard on it forever.
        if (partition_key_->Expand(context, key, nullptr) && !key.empty()) {
          partition_key = TruncateUtf8(key, 256);
        }
      }
      put = writer_->PutToStream(stream_, partition_key, record.data);
    }
    if (!put.ok()) {
      // Throttling and a missing target alike: the runtime retries the
      // batch with backoff, then sends it to the on-failure destination.
      return HandlerResult::FunctionError(
          "forwarding record " + record.sequence_number + " to " +
          (delivery_stream_.empty() ? "stream " + stream_
                                    : "delivery stream " + delivery_stream_) +
          " failed: " + put.status().ToString());
    }
  }
  return HandlerResult::Success();
}

}  // namespace sluice::consumers
