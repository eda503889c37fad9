// Checks one event against its route's ValidationRules and names every
// field that fails, so a client fixes all of them in one round trip.
#pragma once

#include <string>
#include <vector>

#include "common/json.h"
#include "server/gateway/gateway_config.h"

namespace sluice::gateway {

struct FieldError {
  std::string field;    // dotted path, as the rule names it
  std::string message;  // "is required", "must be a number", ...
  friend bool operator==(const FieldError&, const FieldError&) = default;
};

// The member at dotted `path` ("data.amount") of `event`, or nullptr.
const json::Value* FindField(const json::Value& event, std::string_view path);

// Every failure, in rule order: required fields, then types, then the
// event type's required fields. Empty: the event passes. An event that is
// not a JSON object fails as a whole (field "").
std::vector<FieldError> Validate(const ValidationRules& rules,
                                 const json::Value& event);

}  // namespace sluice::gateway
