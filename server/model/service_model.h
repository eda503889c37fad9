// The AWS service models (input shapes of every Kinesis and Firehose
// operation) and the one request validator driven by them. The tables are
// generated from botocore by tools/gen_service_model.py into
// kinesis_model.cc / firehose_model.cc; every length, range, pattern and enum
// check an operation needs comes from there, not from handler code.
//
// A handler calls ValidateInput() first and reads its members afterwards:
//   if (Status s = model::ValidateInput(model::KinesisModel(), "PutRecords",
//                                       input); !s.ok()) return s;
// Limits the service enforces beyond the model (record size, batch bytes)
// stay in the handlers.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/status.h"

namespace sluice::model {

enum class ShapeType : uint8_t {
  kStructure,
  kList,
  kMap,
  kString,
  kBlob,
  kInteger,
  kLong,
  kBoolean,
  kDouble,
  kTimestamp,
};

inline constexpr uint16_t kNoShape = 0xFFFF;

struct Operation {
  std::string_view name;
  uint16_t input;  // shape index, kNoShape when the operation takes none
};

// One row per shape. Which fields mean something depends on `type`:
// min/max bound the length of strings (UTF-16 units), blobs (bytes), lists
// and maps (entries), and the value of numbers.
struct Shape {
  std::string_view name;
  ShapeType type;
  bool has_min;
  bool has_max;
  int64_t min;
  int64_t max;
  int pattern;           // index into patterns, -1 for none
  uint16_t first;        // structure: first member; string: first enum value
  uint16_t count;        // structure: members; string: enum values (0: no enum)
  uint16_t check_first;  // structure: first entry in check_order
  uint16_t element;      // list: member shape; map: key shape
  uint16_t value;        // map: value shape
};

struct Member {
  std::string_view name;  // as on the wire, e.g. "StreamName"
  uint16_t shape;
  bool required;
};

class CompiledPatterns;

// One service's tables plus its patterns, compiled once. Immutable after
// construction and shared by all threads; obtain it from KinesisModel() or
// FirehoseModel().
class ServiceModel {
 public:
  struct Tables {
    std::string_view service;               // "kinesis"
    std::string_view java_package;          // prefix AWS prints list items with
    std::span<const Operation> operations;  // sorted by name
    std::span<const Shape> shapes;
    std::span<const Member> members;  // structure members, declaration order
    // For each structure, its member indices in the order AWS reports
    // violations (declaration order unless AWS was seen to differ).
    std::span<const uint16_t> check_order;
    std::span<const std::string_view> enum_values;
    std::span<const std::string_view> patterns;  // Java regex syntax
  };

  explicit ServiceModel(Tables tables);
  ~ServiceModel();
  ServiceModel(const ServiceModel&) = delete;
  ServiceModel& operator=(const ServiceModel&) = delete;

  const Tables& tables() const { return tables_; }
  const Shape& shape(uint16_t index) const { return tables_.shapes[index]; }

  // The operation's input shape, or nullptr when the model has no such
  // operation or the operation takes no input.
  const Shape* InputShape(std::string_view operation) const;
  bool HasOperation(std::string_view operation) const;

  std::span<const Member> MembersOf(const Shape& structure) const {
    return tables_.members.subspan(structure.first, structure.count);
  }
  std::span<const std::string_view> EnumOf(const Shape& string) const {
    return tables_.enum_values.subspan(string.first, string.count);
  }

  // Whether `text` (UTF-8) matches pattern `index` as Java's
  // Pattern.matches() would.
  bool Matches(int index, std::string_view text) const;
  // Patterns that could not be compiled (each then matches everything);
  // empty unless a model update brought a construct we do not handle.
  std::vector<std::string_view> UnsupportedPatterns() const;

 private:
  Tables tables_;
  std::unique_ptr<const CompiledPatterns> compiled_;
};

const ServiceModel& KinesisModel();
const ServiceModel& FirehoseModel();

// Checks `input` against the operation's input shape exactly as AWS does:
// first JSON types, as AWS's Java decoder (SerializationException with its
// message); then every model constraint (ValidationException listing up to
// ten violations). Unknown members are ignored; null counts as absent.
// An operation the model does not have, or one without input, accepts any
// object.
Status ValidateInput(const ServiceModel& model, std::string_view operation,
                     const json::Value& input);

// Readers for members of an input that passed ValidateInput(); they convert
// as AWS's decoder does (a fractional number for an integer is truncated) and
// return nullopt when the member is absent or null.
std::optional<int64_t> GetInteger(const json::Value& input,
                                  std::string_view member);
std::optional<std::string_view> GetString(const json::Value& input,
                                          std::string_view member);
// AWS also takes "true"/"false" in any case as strings for booleans.
std::optional<bool> GetBool(const json::Value& input, std::string_view member);

// How many UTF-16 code units `utf8` takes: the length Java, and so AWS,
// compares with a model's length limits.
size_t Utf16Length(std::string_view utf8);

}  // namespace sluice::model
