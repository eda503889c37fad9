// Collects model-constraint violations of one request and words them as AWS
// does: "2 validation errors detected: Value '0' at 'limit' failed to satisfy
// constraint: Member must have value greater than or equal to 1; ...".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/status.h"

namespace sluice::kinesis {

class Violations {
 public:
  // `shown` is the value as AWS prints it, without quotes (or "null").
  void Add(std::string_view shown, std::string_view path,
           std::string_view rule);

  // OK when nothing was added; otherwise ValidationException listing up to 10.
  Status ToStatus() const;

 private:
  std::vector<std::string> items_;
};

// Reads optional members, checking their JSON type the way AWS's decoder does:
// a wrong type is a SerializationException, an out-of-range value is a
// violation. Each returns false when the member is absent.
Status ReadOptionalInt(const json::Value& input, const char* member,
                       int64_t& out, bool& present);
Status ReadOptionalString(const json::Value& input, const char* member,
                          std::string& out, bool& present);

// Model constraints on names such as StreamName: length and [a-zA-Z0-9_.-]+.
void CheckName(Violations& violations, std::string_view value,
               std::string_view path, size_t max_length);
void CheckRange(Violations& violations, int64_t value, std::string_view path,
                int64_t min, int64_t max);

}  // namespace sluice::kinesis
