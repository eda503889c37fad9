#include "server/analytics/applications_api.h"

#include <filesystem>

#include "common/json.h"
#include "server/analytics/application_definition.h"
#include "server/analytics/application_handler.h"
#include "server/analytics/engine.h"
#include "server/consumers/consumers_api.h"

namespace sluice::analytics {
namespace {

constexpr std::string_view kAdminApiName = "SluiceAdmin";
constexpr std::string_view kHandlerType = "analytics";
constexpr int64_t kBatchSize = 1000;

Status NotFound(std::string_view name) {
  return Status(ErrorCode::kResourceNotFound,
                "Application " + std::string(name) + " not found.");
}

Result<std::string> NameOf(const json::Value& input) {
  const json::Value* name = json::Member(input, "ApplicationName");
  if (name == nullptr || !name->IsString()) {
    return Status(ErrorCode::kValidation,
                  "ApplicationName must be a string naming an application.");
  }
  return std::string(json::AsView(*name));
}

std::string StatusOf(const consumers::ConsumerView& view) {
  if (view.state == "ACTIVE") return "RUNNING";
  if (view.state == "PAUSED") return "READY";
  return view.state;  // FAILED, STREAM_NOT_FOUND
}

std::string ArnOf(const consumers::ConsumerView& view) {
  return "arn:aws:kinesisanalytics:" + view.region + ":" + view.account_id +
         ":application/" + view.definition.name;
}

void WriteSummary(Encoder& out, const consumers::ConsumerView& view) {
  out.Key("ApplicationName");
  out.String(view.definition.name);
  out.Key("ApplicationARN");
  out.String(ArnOf(view));
  out.Key("ApplicationStatus");
  out.String(StatusOf(view));
}

}  // namespace

Result<consumers::ConsumerDefinition> ApplicationConsumer(
    const json::Value& request) {
  auto definition = ParseApplicationDefinition(request);
  if (!definition.ok()) return definition.status();
  if (Status checked = Engine::Check(*definition); !checked.ok()) {
    return checked;
  }
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  request.Accept(writer);
  consumers::ConsumerDefinition consumer;
  consumer.name = definition->name;
  if (definition->source_kind == ApplicationDefinition::Source::kStream) {
    consumer.stream_name = definition->stream_name;
  } else {
    consumer.delivery_stream_name = definition->stream_name;
  }
  consumer.handler_type = std::string(kHandlerType);
  consumer.handler_json = "{\"type\":\"analytics\",\"application\":";
  consumer.handler_json.append(buffer.GetString(), buffer.GetSize());
  consumer.handler_json += '}';
  consumer.starting_position = consumers::StartingPosition::kTrimHorizon;
  consumer.batch_size = kBatchSize;
  consumer.parallelization_factor = 1;
  return consumer;
}

Status ApplicationsApi::Describe(const std::string& name, Encoder& output,
                                 bool full) {
  auto view = runtime_.Describe(name);
  if (!view.ok() || view->definition.handler_type != kHandlerType) {
    return NotFound(name);
  }
  output.StartObject();
  output.Key("ApplicationDetail");
  output.StartObject();
  WriteSummary(output, *view);
  output.Key("CreateTimestamp");
  output.Timestamp(view->created_at);
  if (!view->last_error.empty()) {
    output.Key("LastError");
    output.String(view->last_error);
  }
  output.Key("MillisBehindLatest");
  output.Int(view->max_millis_behind_latest);
  if (full) {
    json::Document settings;
    settings.Parse(view->definition.handler_json.data(),
                   view->definition.handler_json.size());
    if (const json::Value* application =
            json::Member(settings, "application")) {
      output.Key("Definition");
      consumers::EmitValue(output, *application);
    }
  }
  auto handler = runtime_.HandlerOf(name);
  auto* application = handler.ok()
                          ? dynamic_cast<ApplicationHandler*>(handler->get())
                          : nullptr;
  if (application != nullptr) {
    auto status = application->Describe();
    if (!status.ok()) return status.status();
    const EngineCounts& counts = status->counts;
    output.Key("Counts");
    output.StartObject();
    for (auto [key, value] :
         {std::pair<const char*, int64_t>{"Records", counts.records},
          {"Rows", counts.rows},
          {"ErrorRows", counts.error_rows},
          {"LateRows", counts.late_rows},
          {"Emitted", counts.emitted},
          {"Pending", counts.pending},
          {"OpenRows", counts.open_rows},
          {"DeliveredSinceStart", status->delivered}}) {
      output.Key(key);
      output.Int(value);
    }
    output.EndObject();
    if (!counts.last_error.empty()) {
      output.Key("LastRowError");
      output.String(counts.last_error);
    }
    if (!status->delivery_error.empty()) {
      output.Key("DeliveryError");
      output.String(status->delivery_error);
    }
    output.Key("Windows");
    output.StartArray();
    for (const WindowState& window : status->windows) {
      output.StartObject();
      output.Key("PumpName");
      output.String(window.pump);
      output.Key("WindowSeconds");
      output.Double(static_cast<double>(window.window_millis) / 1000.0);
      output.Key("ClosedUntil");
      output.Timestamp(window.closed_until);
      output.EndObject();
    }
    output.EndArray();
    output.Key("Database");
    output.String(status->database);
  }
  output.EndObject();
  output.EndObject();
  return Status::Ok();
}

void ApplicationsApi::RegisterWith(http::ApiRouter& router) {
  router.Register(kAdminApiName, "CreateApplication",
                  [this](const http::RequestContext& context,
                         const json::Value& input, Encoder& output) -> Status {
                    auto consumer = ApplicationConsumer(input);
                    if (!consumer.ok()) return consumer.status();
                    if (Status s = runtime_.Create(
                            *consumer, context.account_id, context.region);
                        !s.ok()) {
                      return s;
                    }
                    return Describe(consumer->name, output, /*full=*/true);
                  });
  router.Register(
      kAdminApiName, "ListApplications",
      [this](const http::RequestContext&, const json::Value&,
             Encoder& output) -> Status {
        output.StartObject();
        output.Key("ApplicationSummaries");
        output.StartArray();
        for (const consumers::ConsumerView& view : runtime_.List()) {
          if (view.definition.handler_type != kHandlerType) {
            continue;
          }
          output.StartObject();
          WriteSummary(output, view);
          output.EndObject();
        }
        output.EndArray();
        output.Key("HasMoreApplications");
        output.Bool(false);
        output.EndObject();
        return Status::Ok();
      });
  router.Register(kAdminApiName, "DescribeApplication",
                  [this](const http::RequestContext&, const json::Value& input,
                         Encoder& output) -> Status {
                    auto name = NameOf(input);
                    if (!name.ok()) return name.status();
                    return Describe(*name, output, /*full=*/true);
                  });
  router.Register(
      kAdminApiName, "DeleteApplication",
      [this](const http::RequestContext&, const json::Value& input,
             Encoder& output) -> Status {
        auto name = NameOf(input);
        if (!name.ok()) return name.status();
        auto view = runtime_.Describe(*name);
        if (!view.ok() || view->definition.handler_type != kHandlerType) {
          return NotFound(*name);
        }
        // The database goes with the application: one created later under
        // the same name starts from nothing.
        std::string database;
        if (auto handler = runtime_.HandlerOf(*name); handler.ok()) {
          if (auto* application =
                  dynamic_cast<ApplicationHandler*>(handler->get())) {
            if (auto status = application->Describe(); status.ok()) {
              database = status->database;
            }
          }
        }
        if (Status s = runtime_.Delete(*name); !s.ok()) return s;
        if (!database.empty()) {
          for (const char* suffix : {"", "-wal", "-shm"}) {
            std::error_code ec;
            std::filesystem::remove(database + suffix, ec);
          }
        }
        output.StartObject();
        output.EndObject();
        return Status::Ok();
      });
}

}  // namespace sluice::analytics
