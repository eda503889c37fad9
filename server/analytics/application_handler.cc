#include "server/analytics/application_handler.h"

#include <algorithm>
#include <optional>

#include "common/log.h"

namespace sluice::analytics {
namespace {

// Rows sent between two deletions from the outbox: a crash in between
// sends at most this many rows again.
constexpr size_t kDeliverChunk = 100;

}  // namespace

Result<std::unique_ptr<ApplicationHandler>> ApplicationHandler::Create(
    const consumers::HandlerSpec& spec) {
  const json::Value* application = json::Member(*spec.settings, "application");
  if (application == nullptr) {
    return Status(ErrorCode::kInvalidArgument,
                  "Handler.application must hold the application's "
                  "definition (a CreateApplication body).");
  }
  auto definition = ParseApplicationDefinition(*application);
  if (!definition.ok()) return definition.status();
  std::unique_ptr<ApplicationHandler> handler(
      new ApplicationHandler(std::move(definition).value(), *spec.environment));
  auto files = consumers::HandlerFiles::Make(*spec.environment);
  if (!files.ok()) return files.status();
  handler->files_ = std::move(files).value();
  auto path = handler->files_->Resolve(
      "analytics/" + handler->definition_.name + ".db", "the database");
  if (!path.ok()) return path.status();
  handler->path_ = path->string();
  auto engine = Engine::Open(handler->definition_, handler->path_);
  if (!engine.ok()) return engine.status();
  handler->engine_ = std::move(engine).value();
  SLUICE_LOG(kInfo) << "application " << handler->definition_.name
                    << ": state in " << handler->path_;
  handler->timer_ = std::thread([raw = handler.get()] { raw->Run(); });
  return handler;
}

ApplicationHandler::~ApplicationHandler() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_.notify_all();
  if (timer_.joinable()) timer_.join();
}

consumers::HandlerResult ApplicationHandler::Handle(
    const consumers::Batch& batch) {
  {
    std::lock_guard lock(engine_mu_);
    if (Status applied = engine_->Apply(batch); !applied.ok()) {
      SLUICE_LOG(kError) << "application " << definition_.name << ": "
                         << applied.message();
      return consumers::HandlerResult::FunctionError(applied.message());
    }
  }
  Deliver();
  return consumers::HandlerResult::Success();
}

void ApplicationHandler::Run() {
  while (true) {
    {
      std::unique_lock lock(mu_);
      if (stop_.wait_for(lock, kTick, [this] { return stopping_; })) return;
    }
    Tick();
  }
}

void ApplicationHandler::Tick() {
  if (environment_.source_tips) {
    // The time first, then the tips: a record appended after the tips were
    // read arrived after `now` (less the grace) and belongs to a later
    // window.
    const EpochMillis now = environment_.clock->NowMillis();
    std::vector<ShardTip> tips;
    for (auto& [shard_id, tip] : environment_.source_tips()) {
      tips.push_back({std::move(shard_id), tip});
    }
    std::lock_guard lock(engine_mu_);
    if (auto closed = engine_->CloseWindows(now, tips); !closed.ok()) {
      SLUICE_LOG(kError) << "application " << definition_.name
                         << ": closing windows: " << closed.status().message();
    }
  }
  Deliver();
}

void ApplicationHandler::Deliver() {
  std::lock_guard deliver_lock(deliver_mu_);
  while (true) {
    Result<std::vector<OutboxRecord>> pending = [&] {
      std::lock_guard lock(engine_mu_);
      return engine_->Pending(kDeliverChunk);
    }();
    if (!pending.ok() || pending->empty()) return;
    std::optional<int64_t> sent_through;
    Status sent = Status::Ok();
    std::string target;
    for (const OutboxRecord& record : *pending) {
      const ApplicationOutput& output = definition_.outputs[record.output];
      target = output.resource;
      if (environment_.writer == nullptr) {
        sent = Status(ErrorCode::kInternalFailure, "no stream writer");
      } else if (output.kind == ApplicationOutput::Kind::kStream) {
        std::string key = definition_.name;
        key += '-';
        key += std::to_string(record.id);
        sent =
            environment_.writer->PutToStream(output.resource, key, record.data)
                .status();
      } else {
        sent = environment_.writer
                   ->PutToDeliveryStream(output.resource, record.data)
                   .status();
      }
      if (!sent.ok()) break;
      sent_through = record.id;
    }
    Status done = Status::Ok();
    if (sent_through) {
      std::lock_guard lock(engine_mu_);
      done = engine_->Delivered(*sent_through);
    }
    std::lock_guard lock(mu_);
    if (sent_through) {
      delivered_ += static_cast<int64_t>(std::count_if(
          pending->begin(), pending->end(),
          [&](const OutboxRecord& r) { return r.id <= *sent_through; }));
    }
    if (!done.ok()) {
      delivery_error_ = done.message();
      return;
    }
    if (!sent.ok()) {
      if (delivery_error_ != sent.message()) {
        SLUICE_LOG(kWarn) << "application " << definition_.name
                          << " cannot deliver to " << target << ": "
                          << sent.message() << " (retrying)";
      }
      delivery_error_ = sent.message();
      return;
    }
    delivery_error_.clear();
  }
}

Result<ApplicationStatus> ApplicationHandler::Describe() {
  ApplicationStatus status;
  {
    std::lock_guard lock(engine_mu_);
    auto counts = engine_->Counts();
    if (!counts.ok()) return counts.status();
    status.counts = std::move(counts).value();
    auto windows = engine_->Windows();
    if (!windows.ok()) return windows.status();
    status.windows = std::move(windows).value();
  }
  std::lock_guard lock(mu_);
  status.delivered = delivered_;
  status.delivery_error = delivery_error_;
  status.database = path_;
  return status;
}

}  // namespace sluice::analytics
