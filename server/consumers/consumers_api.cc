#include "server/consumers/consumers_api.h"

#include "common/json.h"
#include "server/consumers/metrics_handler.h"

namespace sluice::consumers {
namespace {

constexpr std::string_view kAdminApiName = "SluiceAdmin";

void WriteConsumer(Encoder& out, const ConsumerView& view, bool with_shards) {
  out.StartObject();
  out.Key("ConsumerName");
  out.String(view.definition.name);
  if (view.definition.delivery_stream_name.empty()) {
    out.Key("StreamName");
    out.String(view.definition.stream_name);
  } else {
    out.Key("DeliveryStreamName");
    out.String(view.definition.delivery_stream_name);
  }
  out.Key("HandlerType");
  out.String(view.definition.handler_type);
  out.Key("State");
  out.String(view.state);
  if (!view.last_error.empty()) {
    out.Key("LastError");
    out.String(view.last_error);
  }
  out.Key("CreatedAt");
  out.Timestamp(view.created_at);
  out.Key("Counts");
  out.StartObject();
  out.Key("Batches");
  out.Int(static_cast<int64_t>(view.batches));
  out.Key("Records");
  out.Int(static_cast<int64_t>(view.records));
  out.Key("FunctionErrors");
  out.Int(static_cast<int64_t>(view.function_errors));
  out.Key("FailedItems");
  out.Int(static_cast<int64_t>(view.failed_items));
  out.Key("DiscardedBatches");
  out.Int(static_cast<int64_t>(view.discarded_batches));
  out.Key("DiscardedRecords");
  out.Int(static_cast<int64_t>(view.discarded_records));
  out.EndObject();
  if (with_shards) {
    json::Document definition;
    std::string text = view.definition.ToJson();
    definition.Parse(text.data(), text.size());
    out.Key("Definition");
    EmitValue(out, definition);
    out.Key("IteratorAgeMillis");
    out.Int(view.max_iterator_age_millis);
    out.Key("MillisBehindLatest");
    out.Int(view.max_millis_behind_latest);
    out.Key("Shards");
    out.StartArray();
    for (const ShardView& shard : view.shards) {
      out.StartObject();
      out.Key("ShardId");
      out.String(shard.shard_id);
      out.Key("State");
      out.String(shard.state);
      out.Key("Position");
      out.Int(static_cast<int64_t>(shard.position));
      if (shard.checkpoint_sequence_number) {
        out.Key("CheckpointSequenceNumber");
        out.String(*shard.checkpoint_sequence_number);
      }
      if (shard.iterator_age_millis) {
        out.Key("IteratorAgeMillis");
        out.Int(*shard.iterator_age_millis);
      }
      out.Key("MillisBehindLatest");
      out.Int(shard.millis_behind_latest);
      out.Key("RecordsBehind");
      out.Int(static_cast<int64_t>(shard.records_behind));
      out.EndObject();
    }
    out.EndArray();
  }
  out.EndObject();
}

// The ConsumerName of a request that names one consumer.
Result<std::string> NameOf(const json::Value& input) {
  auto name = input.FindMember("ConsumerName");
  if (name == input.MemberEnd() || !name->value.IsString()) {
    return Status(ErrorCode::kValidation,
                  "ConsumerName must be a string naming a consumer.");
  }
  return std::string(json::AsView(name->value));
}

}  // namespace

void EmitValue(Encoder& out, const json::Value& value) {
  if (value.IsObject()) {
    out.StartObject();
    for (auto& member : value.GetObject()) {
      out.Key(json::AsView(member.name));
      EmitValue(out, member.value);
    }
    out.EndObject();
  } else if (value.IsArray()) {
    out.StartArray();
    for (const json::Value& item : value.GetArray()) EmitValue(out, item);
    out.EndArray();
  } else if (value.IsString()) {
    out.String(json::AsView(value));
  } else if (value.IsBool()) {
    out.Bool(value.GetBool());
  } else if (value.IsInt64()) {
    out.Int(value.GetInt64());
  } else if (value.IsNumber()) {
    out.Double(value.GetDouble());
  } else {
    out.Null();
  }
}

void ConsumersApi::RegisterWith(http::ApiRouter& router) {
  router.Register(kAdminApiName, "CreateConsumer",
                  [this](const http::RequestContext& context,
                         const json::Value& input, Encoder& output) -> Status {
                    auto definition = ParseConsumerDefinition(input);
                    if (!definition.ok()) return definition.status();
                    if (Status s = runtime_.Create(
                            *definition, context.account_id, context.region);
                        !s.ok()) {
                      return s;
                    }
                    auto view = runtime_.Describe(definition->name);
                    if (!view.ok()) return view.status();
                    output.StartObject();
                    output.Key("Consumer");
                    WriteConsumer(output, *view, /*with_shards=*/true);
                    output.EndObject();
                    return Status::Ok();
                  });
  router.Register(kAdminApiName, "ListConsumers",
                  [this](const http::RequestContext&, const json::Value&,
                         Encoder& output) -> Status {
                    output.StartObject();
                    output.Key("Consumers");
                    output.StartArray();
                    for (const ConsumerView& view : runtime_.List()) {
                      WriteConsumer(output, view, /*with_shards=*/false);
                    }
                    output.EndArray();
                    output.EndObject();
                    return Status::Ok();
                  });
  router.Register(kAdminApiName, "DescribeConsumer",
                  [this](const http::RequestContext&, const json::Value& input,
                         Encoder& output) -> Status {
                    auto name = NameOf(input);
                    if (!name.ok()) return name.status();
                    auto view = runtime_.Describe(*name);
                    if (!view.ok()) return view.status();
                    output.StartObject();
                    output.Key("Consumer");
                    WriteConsumer(output, *view, /*with_shards=*/true);
                    output.EndObject();
                    return Status::Ok();
                  });
  router.Register(kAdminApiName, "QueryMetrics",
                  [this](const http::RequestContext&, const json::Value& input,
                         Encoder& output) -> Status {
                    return QueryMetrics(input, output);
                  });
  using Change = Status (ConsumerRuntime::*)(std::string_view);
  for (auto [operation, change] :
       {std::pair<std::string_view, Change>{"PauseConsumer",
                                            &ConsumerRuntime::Pause},
        {"ResumeConsumer", &ConsumerRuntime::Resume},
        {"DeleteConsumer", &ConsumerRuntime::Delete}}) {
    router.Register(
        kAdminApiName, operation,
        [this, change](const http::RequestContext&, const json::Value& input,
                       Encoder& output) -> Status {
          auto name = NameOf(input);
          if (!name.ok()) return name.status();
          if (Status s = (runtime_.*change)(*name); !s.ok()) return s;
          output.StartObject();
          output.EndObject();
          return Status::Ok();
        });
  }
}

// {ConsumerName, Table?, Key?, SortKey?, Limit?}: the rows of a metrics
// consumer's table, or without Table a summary of its database
// (MetricsHandler::Query); reads SQLite, so it runs on a worker thread.
Status ConsumersApi::QueryMetrics(const json::Value& input, Encoder& output) {
  auto name = NameOf(input);
  if (!name.ok()) return name.status();
  MetricsQuery query;
  auto optional_string = [&input](const char* member,
                                  std::optional<std::string>& out) -> Status {
    auto it = input.FindMember(member);
    if (it == input.MemberEnd()) return Status::Ok();
    if (!it->value.IsString()) {
      return Status(ErrorCode::kValidation,
                    std::string(member) + " must be a string.");
    }
    out = std::string(json::AsView(it->value));
    return Status::Ok();
  };
  std::optional<std::string> table;
  for (auto [member, out] :
       {std::pair<const char*, std::optional<std::string>*>{"Table", &table},
        {"Key", &query.key},
        {"SortKey", &query.sort_key}}) {
    if (Status s = optional_string(member, *out); !s.ok()) return s;
  }
  query.table = table.value_or("");
  if (auto limit = input.FindMember("Limit"); limit != input.MemberEnd()) {
    if (!limit->value.IsUint64() || limit->value.GetUint64() < 1 ||
        limit->value.GetUint64() > kMaxMetricsQueryLimit) {
      return Status(ErrorCode::kValidation,
                    "Limit must be an integer from 1 to " +
                        std::to_string(kMaxMetricsQueryLimit) + ".");
    }
    query.limit = static_cast<size_t>(limit->value.GetUint64());
  }
  auto handler = runtime_.HandlerOf(*name);
  if (!handler.ok()) return handler.status();
  auto* metrics = dynamic_cast<MetricsHandler*>(handler->get());
  if (metrics == nullptr) {
    return Status(ErrorCode::kInvalidArgument,
                  "Consumer " + *name + " does not have a metrics handler.");
  }
  Result<std::string> answer = metrics->Query(query);
  if (!answer.ok()) return answer.status();
  json::Document document;
  document.Parse(answer->data(), answer->size());
  if (document.HasParseError()) {
    return Status(ErrorCode::kInternalFailure, "metrics answer is not JSON");
  }
  EmitValue(output, document);
  return Status::Ok();
}

}  // namespace sluice::consumers
