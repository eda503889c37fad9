// The handler types a consumer can name, one line each.
#include <map>

#include "server/analytics/application_handler.h"
#include "server/consumers/alerts_handler.h"
#include "server/consumers/archive_handler.h"
#include "server/consumers/exec_handler.h"
#include "server/consumers/forward_handler.h"
#include "server/consumers/handler.h"
#include "server/consumers/metrics_handler.h"

namespace sluice::consumers {
namespace {

const std::map<std::string, HandlerFactory, std::less<>>& Types() {
  static const auto* types =
      new std::map<std::string, HandlerFactory, std::less<>>{
          {"alerts", CreateHandler<AlertsHandler>},
          {"analytics", CreateHandler<analytics::ApplicationHandler>},
          {"archive", CreateHandler<ArchiveHandler>},
          {"exec", MakeExecHandler},
          {"forward", CreateHandler<ForwardHandler>},
          {"metrics", CreateHandler<MetricsHandler>},
      };
  return *types;
}

}  // namespace

const HandlerFactory* FindHandlerType(std::string_view type) {
  auto it = Types().find(type);
  return it == Types().end() ? nullptr : &it->second;
}

std::vector<std::string> HandlerTypeNames() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : Types()) names.push_back(name);
  return names;
}

}  // namespace sluice::consumers
