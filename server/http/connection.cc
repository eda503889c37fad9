#include "server/http/connection.h"

#include <utility>

namespace sluice::http {

bool SessionRegistry::Add(const std::shared_ptr<Connection>& connection) {
  std::lock_guard lock(mu_);
  if (shutting_down_) return false;
  connections_.emplace(connection.get(), connection);
  return true;
}

void SessionRegistry::Remove(const Connection* connection) {
  std::lock_guard lock(mu_);
  connections_.erase(connection);
  if (connections_.empty()) emptied_.notify_all();
}

std::vector<std::shared_ptr<Connection>> SessionRegistry::BeginShutdown() {
  std::lock_guard lock(mu_);
  shutting_down_ = true;
  std::vector<std::shared_ptr<Connection>> alive;
  for (auto& [key, weak] : connections_) {
    if (auto connection = weak.lock()) alive.push_back(std::move(connection));
  }
  return alive;
}

bool SessionRegistry::WaitUntilEmpty(
    std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  return emptied_.wait_until(lock, deadline,
                             [&] { return connections_.empty(); });
}

std::string HealthBody(const SessionEnvironment& env) {
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::steady_clock::now() - env.started_at);
  return std::string("{\"status\":\"ok\",\"version\":\"") + SLUICE_VERSION +
         "\",\"uptime_seconds\":" + std::to_string(uptime.count()) + "}";
}

}  // namespace sluice::http
