// The small language the metrics and alerts handlers' rules are written in:
// field paths into a record's JSON ("data.amount"), templates that build text
// from fields and the record's arrival time ("errors#{@date}#{@hour}"),
// match conditions ({"event_type": "purchase", "data.amount": {">": 500}})
// and the exact conversion of an amount to integer cents. docs/consumers.md
// describes the syntax for users.
//
// Everything here is parsed once from a handler's settings and then only
// read, so one parsed rule may be used by any number of threads at once.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "server/consumers/handler.h"

namespace sluice::consumers {

// One record as a rule sees it: its JSON document and its metadata.
struct RecordContext {
  const json::Value& json;  // the record's data, parsed; any JSON value
  const ConsumerRecord& record;
  std::string_view shard_id;
};

// Parses records' data as JSON, without touching the heap for records of a
// few KiB (the parse dominated the metrics handler's cost), in situ in a copy
// of the record. Lives on the
// stack of one call; reused record after record.
class RecordParser {
 public:
  RecordParser() = default;
  RecordParser(const RecordParser&) = delete;
  RecordParser& operator=(const RecordParser&) = delete;

  // The record's JSON, valid until the next Parse(); nullptr for bytes that
  // are not one JSON value (a malformed record).
  const json::Value* Parse(std::string_view data);

 private:
  using Allocator = rapidjson::MemoryPoolAllocator<>;
  using Document =
      rapidjson::GenericDocument<rapidjson::UTF8<>, Allocator, Allocator>;

  alignas(8) char value_buffer_[16384];
  alignas(8) char stack_buffer_[4096];
  // The record's text, parsed in situ: here when it fits, else in
  // large_text_.
  char text_buffer_[8192];
  std::string large_text_;
  std::optional<Allocator> value_allocator_;
  std::optional<Allocator> stack_allocator_;
  std::optional<Document> doc_;  // declared last: destroyed before those
};

// A dotted path into a record's JSON: "event_type", "data.amount",
// "data.items.0.product_id" (a number indexes an array). Keys that contain a
// dot cannot be named.
class FieldPath {
 public:
  static Result<FieldPath> Parse(std::string_view text);

  // The value at the path, or nullptr when a step is missing or the value is
  // JSON null (null counts as missing everywhere).
  const json::Value* Find(const json::Value& root) const;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::vector<std::string> steps_;
};

// A value a template produces: text, or, for a template that is one
// placeholder naming a number, boolean, object or array, that value with its
// JSON type (so "{data.amount}" stays a number in an alert's message and a
// metrics column).
struct TemplateValue {
  enum class Kind { kText, kInt, kReal, kBool, kJson };
  Kind kind = Kind::kText;
  std::string text;  // kText; kJson holds compact JSON text
  int64_t int_value = 0;
  double real_value = 0;
  bool bool_value = false;
};

// Text with placeholders in braces: "pageviews#{@date}". A placeholder lists
// alternatives separated by '|', the first present one wins:
//   {data.page}            a field path (a string as is; numbers, booleans
//                          and objects/arrays as JSON text)
//   {data.code|'unknown'}  a quoted literal, the usual last alternative
//   {@date} {@hour}        the record's arrival day (yyyy-MM-dd) and hour (HH)
//   {@time} {@millis}      arrival as ISO 8601 with milliseconds, or epoch ms
//   {@arrival:PATTERN}     arrival formatted with a Java date pattern
//   {@partition_key} {@sequence_number} {@shard_id}
// "{{" and "}}" are literal braces.
class Template {
 public:
  // kInvalidArgument naming the problem (an unclosed brace, an empty path,
  // an unknown @name); `what` names the setting in the message.
  static Result<Template> Parse(std::string_view text, std::string_view what);

  // Appends the expansion to `out`. False when a placeholder has no present
  // alternative; then `*missing` is that placeholder's text and `out` holds
  // a partial expansion.
  bool Expand(const RecordContext& record, std::string& out,
              std::string_view* missing) const;

  // The typed value (see TemplateValue); nullopt as Expand() returns false.
  std::optional<TemplateValue> Evaluate(const RecordContext& record,
                                        std::string_view* missing) const;
  // The same into `value`, reusing its buffer (the metrics handler's hot
  // path); false as Expand() returns false.
  bool EvaluateInto(const RecordContext& record, TemplateValue& value,
                    std::string_view* missing) const;

  const std::string& source() const { return source_; }

 private:
  enum class Special {
    kNone,
    kDate,
    kHour,
    kTime,
    kMillis,
    kArrivalPattern,
    kPartitionKey,
    kSequenceNumber,
    kShardId
  };
  struct Alternative {
    Special special = Special::kNone;
    std::optional<FieldPath> path;  // a field
    std::string text;  // a literal, or the kArrivalPattern's pattern
  };
  // Literal text (no alternatives), or one placeholder.
  struct Part {
    std::string literal;
    std::string source;  // the placeholder as written, for `*missing`
    std::vector<Alternative> alternatives;
  };

  static Result<Alternative> ParseAlternative(std::string_view text,
                                              std::string_view what);
  // The first present alternative of `part` appended to `out` as text.
  static bool ExpandPart(const Part& part, const RecordContext& record,
                         std::string& out);

  std::string source_;
  std::vector<Part> parts_;
};

// A match condition: every field test must hold. The settings form is an
// object of field path to test:
//   "event_type": "purchase"               equals (string, number, bool)
//   "data.amount": {">": 500}              >, >=, <, <= (numbers compare as
//                                          numbers, numeric strings included;
//                                          strings compare as text), =, !=
//   "event_type": {"in": ["a", "b"]}       equals one of
//   "data.user_id": {"exists": true}       present and not null (or absent)
// Several operators in one object must all hold. A missing field fails every
// test but {"!=": x} and {"exists": false}.
class Condition {
 public:
  // An absent (nullptr) or empty object matches every record.
  static Result<Condition> Parse(const json::Value* match,
                                 std::string_view what);
  bool Matches(const json::Value& root) const;

 private:
  struct Operand {
    enum class Kind { kString, kNumber, kBool, kNull };
    Kind kind = Kind::kNull;
    std::string string_value;
    double number_value = 0;
    bool bool_value = false;
  };
  enum class Op { kEq, kNe, kGt, kGe, kLt, kLe, kIn, kExists };
  struct Test {
    FieldPath path;
    Op op = Op::kEq;
    std::vector<Operand> operands;  // one, or kIn's list; none for kExists
    bool exists = true;             // kExists
  };

  static Result<Operand> ParseOperand(const json::Value& value,
                                      std::string_view what);
  static bool Equals(const json::Value& field, const Operand& operand);
  // <0, 0, >0, or nullopt when the two do not compare (type mismatch).
  static std::optional<int> Compare(const json::Value& field,
                                    const Operand& operand);
  static bool Holds(const Test& test, const json::Value* field);

  std::vector<Test> tests_;
};

// `value` (a number, or a string holding a decimal number such as "49.99")
// times 100 as an integer, rounded half away from zero on the decimal digits
// as written, so 0.1 + 0.2 stays 30 cents and 1.005 is 101: no binary
// floating-point drift. nullopt for anything else or a value beyond ±9e16.
std::optional<int64_t> ToCents(const json::Value& value);

// `value` as a number: a JSON number or a string holding a decimal number.
std::optional<double> ToNumber(const json::Value& value);

// The first `max_chars` UTF-8 characters of `text` (never cuts a character
// in two).
std::string_view TruncateUtf8(std::string_view text, size_t max_chars);

// ISO 8601 UTC with milliseconds: "2026-12-02T07:10:00.123Z".
std::string FormatIsoMillis(EpochMillis millis);

// Settings helpers shared by the handlers: kInvalidArgument naming `what`.
Status InvalidSetting(std::string_view what, std::string_view problem);
// Settings members are read with json::Member (common/json.h).
using json::Member;
// kInvalidArgument naming `what` for a member of `object` not in `known`
// (a misspelt setting is an error, not silently ignored).
Status CheckKnownMembers(const json::Value& object,
                         std::initializer_list<std::string_view> known,
                         std::string_view what);
// True for a SQL identifier we accept as a table or column name:
// [A-Za-z_][A-Za-z0-9_]{0,62}.
bool IsIdentifier(std::string_view name);
// A relative path that stays inside its root: not absolute, no "..", not
// empty.
bool IsContainedRelativePath(std::string_view path);

}  // namespace sluice::consumers
