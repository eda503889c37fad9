// Registers an API class's operations with the router, each behind the
// service model's check of its input, so every handler starts from
// well-typed, in-range input. Kinesis and Firehose both use it.
#pragma once

#include <span>
#include <string_view>

#include "server/http/api_router.h"
#include "server/model/service_model.h"

namespace sluice::model {

// One operation of `Api`: its name in the model and the member serving it.
template <typename Api>
struct ApiOperation {
  std::string_view name;
  Status (Api::*handler)(const http::RequestContext&, const json::Value&,
                         Encoder&);
};

template <typename Api>
void RegisterValidated(http::ApiRouter& router, std::string_view api_name,
                       const ServiceModel& model,
                       std::span<const ApiOperation<Api>> operations,
                       Api& api) {
  for (const ApiOperation<Api>& op : operations) {
    router.Register(
        api_name, op.name,
        [&model, &api, op](const http::RequestContext& context,
                           const json::Value& input, Encoder& output) {
          if (Status s = ValidateInput(model, op.name, input); !s.ok()) {
            return s;
          }
          return (api.*op.handler)(context, input, output);
        });
  }
}

}  // namespace sluice::model
