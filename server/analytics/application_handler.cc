#include "server/analytics/application_handler.h"

#include <charconv>
#include <map>
#include <set>

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

std::set<int64_t> ApplicationHandler::AlreadySent() {
  std::set<int64_t> ids;
  Result<std::map<size_t, Engine::ShardTips>> marks = [&] {
    std::lock_guard lock(engine_mu_);
    return engine_->Sending();
  }();
  if (!marks.ok() || marks->empty() || environment_.writer == nullptr) {
    return ids;
  }
  const std::string prefix = definition_.name + "-";
  for (const auto& [output, tips] : *marks) {
    if (output >= definition_.outputs.size() ||
        definition_.outputs[output].kind != ApplicationOutput::Kind::kStream) {
      continue;
    }
    auto keys = environment_.writer->PartitionKeysSince(
        definition_.outputs[output].resource, tips);
    if (!keys.ok()) continue;
    for (const std::string& key : *keys) {
      if (key.rfind(prefix, 0) != 0) continue;
      int64_t id = 0;
      const char* begin = key.data() + prefix.size();
      const char* end = key.data() + key.size();
      auto [ptr, ec] = std::from_chars(begin, end, id);
      if (ec == std::errc() && ptr == end) ids.insert(id);
    }
  }
  if (!ids.empty()) {
    SLUICE_LOG(kInfo) << "application " << definition_.name << ": "
                      << ids.size()
                      << " rows were put before a restart; not sent again";
  }
  return ids;
}

void ApplicationHandler::MarkSending(const std::vector<OutboxRecord>& rows) {
  if (environment_.writer == nullptr) return;
  Result<std::map<size_t, Engine::ShardTips>> marks = [&] {
    std::lock_guard lock(engine_mu_);
    return engine_->Sending();
  }();
  if (!marks.ok()) return;
  std::set<size_t> outputs;
  for (const OutboxRecord& row : rows) outputs.insert(row.output);
  for (size_t output : outputs) {
    // A mark left by a crash stays: the rows put then are after it.
    if (marks->count(output) != 0 ||
        definition_.outputs[output].kind != ApplicationOutput::Kind::kStream) {
      continue;
    }
    auto tips =
        environment_.writer->StreamTips(definition_.outputs[output].resource);
    if (!tips.ok()) continue;
    std::lock_guard lock(engine_mu_);
    if (Status marked = engine_->MarkSending(output, *tips); !marked.ok()) {
      SLUICE_LOG(kWarn) << "application " << definition_.name << ": "
                        << marked.message();
    }
  }
}

void ApplicationHandler::Deliver() {
  std::lock_guard deliver_lock(deliver_mu_);
  while (true) {
    Result<std::vector<OutboxRecord>> pending = [&] {
      std::lock_guard lock(engine_mu_);
      return engine_->Pending(kDeliverChunk);
    }();
    if (!pending.ok() || pending->empty()) return;
    const std::set<int64_t> already = AlreadySent();
    MarkSending(*pending);
    int64_t sent_through = 0;
    int64_t sent = 0;
    Status failed = Status::Ok();
    std::string target;
    for (const OutboxRecord& record : *pending) {
      const ApplicationOutput& output = definition_.outputs[record.output];
      target = output.resource;
      if (already.count(record.id) != 0) {
        // Put before a crash: its key is in the output already.
      } else if (environment_.writer == nullptr) {
        failed = Status(ErrorCode::kInternalFailure, "no stream writer");
      } else if (output.kind == ApplicationOutput::Kind::kStream) {
        std::string key = definition_.name;
        key += '-';
        key += std::to_string(record.id);
        failed =
            environment_.writer->PutToStream(output.resource, key, record.data)
                .status();
      } else {
        failed = environment_.writer
                     ->PutToDeliveryStream(output.resource, record.data)
                     .status();
      }
      if (!failed.ok()) break;
      sent_through = record.id;
      ++sent;
    }
    // Also when nothing went out: the sending marks are cleared with it.
    Status done = [&] {
      std::lock_guard lock(engine_mu_);
      return engine_->Delivered(sent_through);
    }();
    std::lock_guard lock(mu_);
    delivered_ += sent;
    if (!done.ok()) {
      delivery_error_ = done.message();
      return;
    }
    if (!failed.ok()) {
      if (delivery_error_ != failed.message()) {
        SLUICE_LOG(kWarn) << "application " << definition_.name
                          << " cannot deliver to " << target << ": "
                          << failed.message() << " (retrying)";
      }
      delivery_error_ = failed.message();
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
