// Tests generated from the service models themselves: for every operation,
// every member reachable from its input, both sides of each length and value
// limit and the message for leaving out each required member. A model update
// adds its new members here without anyone writing a test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "common/base64.h"
#include "server/model/service_model.h"
#include "tests/unit/server/model/status_printer.h"

namespace sluice::model {
namespace {

// A value matching each pattern the models use, built as prefix + n × filler
// + suffix so its length can be chosen; a filler of '\0' marks a pattern
// whose values have one length. Every model pattern must be here:
// EveryPatternHasASample fails otherwise, so no member is silently skipped.
struct PatternSample {
  std::string_view pattern;
  std::string_view prefix;
  char filler;
  std::string_view suffix;
};
const PatternSample kSamples[] = {
    // Kinesis
    {"^(arn):aws.*:kinesis:.*:\\d{12}:.*stream\\/[a-zA-Z0-9_.-]+\\/consumer\\/"
     "[a-zA-Z0-9_.-]+:[0-9]+",
     "arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c:1", '0', ""},
    {"[a-zA-Z0-9_.-]+", "", 'a', ""},
    {"0|([1-9]\\d{0,38})", "1", '0', ""},
    {"arn:aws.*:kinesis:.*:\\d{12}:.*stream/\\S+",
     "arn:aws:kinesis:us-east-1:123456789012:stream/", 's', ""},
    {"0|([1-9]\\d{0,128})", "1", '0', ""},
    {"arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+",
     "arn:aws:kinesis:us-east-1:123456789012:stream/", 's', ""},
    {"[a-z0-9]{20}-[a-z0-9]{3}", "abcdefghij0123456789-abc", '\0', ""},
    // Firehose
    {"arn:.*:kms:[a-zA-Z0-9\\-]+:\\d{12}:(key|alias)/[a-zA-Z_0-9+=,.@\\-_/]+",
     "arn:aws:kms:us-east-1:123456789012:key/", 'k', ""},
    {"https:.*", "https:", 'h', ""},
    {".*", "", 'a', ""},
    {"arn:.*:es:[a-zA-Z0-9\\-]+:\\d{12}:domain/[a-z][-0-9a-z]{2,27}",
     "arn:aws:es:us-east-1:123456789012:domain/abc", 'd', ""},
    {"arn:.*:s3:::[\\w\\.\\-]{1,255}", "arn:aws:s3:::", 'b', ""},
    {"jdbc:(redshift|postgresql)://((?!-)[A-Za-z0-9-]{1,63}(?<!-)\\.)+"
     "(redshift(-serverless)?)\\.([a-zA-Z0-9\\.\\-]+):\\d{1,5}/"
     "[a-zA-Z0-9_$-]+",
     "jdbc:redshift://c.redshift.us-east-1.amazonaws.com:5439/", 'd', ""},
    {"^$|[a-zA-Z/_]+", "", 'a', ""},
    {"[\\u0001-\\uFFFF]*", "", 'a', ""},
    {"^(?!\\s*$).+", "", 'a', ""},
    {"arn:.*:firehose:[a-zA-Z0-9\\-]+:\\d{12}:deliverystream/"
     "[a-zA-Z0-9._-]+",
     "arn:aws:firehose:us-east-1:123456789012:deliverystream/", 'd', ""},
    {"[0-9]+", "", '1', ""},
    {"[a-zA-Z0-9-]+", "", 'a', ""},
    {"^$|\\.[0-9a-z!\\-_.*'()]+", ".", 'a', ""},
    {"arn:.*:glue:.*:\\d{12}:catalog(?:(/[a-z0-9_-]+){1,2})?",
     "arn:aws:glue:us-east-1:123456789012:catalog/", 'g', ""},
    // Sluice accepts http:// too (PATTERN_OVERRIDES in gen_service_model.py).
    {"https?://.*", "https://", 'h', ""},
    {"arn:.*:kinesis:[a-zA-Z0-9\\-]+:\\d{12}:stream/[a-zA-Z0-9_.-]+",
     "arn:aws:kinesis:us-east-1:123456789012:stream/", 's', ""},
    {"[\\.\\-_/#A-Za-z0-9]*", "", 'a', ""},
    {"[^:*]*", "", 'a', ""},
    {"arn:.*", "arn:", 'a', ""},
    {"^\\S+$", "", 'a', ""},
    {"arn:.*:iam::\\d{12}:role/[a-zA-Z_0-9+=,.@\\-_/]+",
     "arn:aws:iam::123456789012:role/", 'r', ""},
    {"arn:.*:secretsmanager:[a-zA-Z0-9\\-]+:\\d{12}:secret:"
     "[a-zA-Z0-9\\-/_+=.@!]+",
     "arn:aws:secretsmanager:us-east-1:123456789012:secret:", 's', ""},
    {".+?\\.snowflakecomputing\\.com", "a", 'a', ".snowflakecomputing.com"},
    {"^(?:[A-Za-z0-9+\\/]{4})*(?:[A-Za-z0-9+\\/]{2}==|[A-Za-z0-9+\\/]{3}=)?$",
     "", 'A', ""},
    {"([a-zA-Z0-9\\-\\_]+\\.){2,3}vpce\\.[a-zA-Z0-9\\-]*\\.vpce-svc\\-"
     "[a-zA-Z0-9\\-]{17}$",
     "a.b.vpce.", 'x', ".vpce-svc-0123456789abcdefg"},
    {"[a-zA-Z0-9\\.\\_]+", "", 'a', ""},
    {"^(?!aws:)[\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@%]*$", "", 'a', ""},
    {"^[\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@%]*$", "", 'a', ""},
    {"[a-zA-Z0-9\\\\._\\\\-]+", "", 'a', ""},
    {"s3:\\/\\/.*", "s3://", 'b', ""},
};

const PatternSample* SampleFor(std::string_view pattern) {
  for (const PatternSample& s : kSamples) {
    if (s.pattern == pattern) return &s;
  }
  return nullptr;
}

std::string Lowered(std::string_view name) {
  std::string out(name);
  if (!out.empty() && out[0] >= 'A' && out[0] <= 'Z') {
    out[0] = static_cast<char>(out[0] - 'A' + 'a');
  }
  return out;
}

// Builds JSON values that satisfy a model's constraints.
class ValueMaker {
 public:
  ValueMaker(const ServiceModel& model, json::Document::AllocatorType& alloc)
      : model_(model), alloc_(alloc) {}

  // A string of `length` UTF-16 units that satisfies the shape's pattern and
  // enum where it can; checked by the caller through the validator.
  std::string String(const Shape& shape, size_t length) const {
    // An enum value when one has the length; otherwise the length wins and
    // the enum rule breaks too.
    for (std::string_view v : model_.EnumOf(shape)) {
      if (Utf16Length(v) == length) return std::string(v);
    }
    std::string_view prefix, suffix;
    char filler = 'a';
    if (shape.pattern >= 0) {
      const PatternSample* sample = SampleFor(
          model_.tables().patterns[static_cast<size_t>(shape.pattern)]);
      if (sample != nullptr) {
        prefix = sample->prefix;
        suffix = sample->suffix;
        filler = sample->filler;
      }
    }
    size_t fixed = prefix.size() + suffix.size();
    if (filler == '\0') return std::string(prefix) + std::string(suffix);
    if (length < fixed) return std::string(length, filler);
    return std::string(prefix) + std::string(length - fixed, filler) +
           std::string(suffix);
  }

  size_t DefaultLength(const Shape& shape) const {
    if (shape.count > 0) return model_.EnumOf(shape)[0].size();
    size_t length = 1;
    if (shape.pattern >= 0) {
      const PatternSample* sample = SampleFor(
          model_.tables().patterns[static_cast<size_t>(shape.pattern)]);
      if (sample != nullptr) {
        length = sample->prefix.size() + sample->suffix.size() + 1;
      }
    }
    if (shape.has_min)
      length = std::max(length, static_cast<size_t>(shape.min));
    if (shape.has_max)
      length = std::min(length, static_cast<size_t>(shape.max));
    return length;
  }

  int64_t DefaultNumber(const Shape& shape) const {
    int64_t n = 1;
    if (shape.has_min) n = std::max(n, shape.min);
    if (shape.has_max) n = std::min(n, shape.max);
    return n;
  }

  // A valid value of `shape` with only its required members, and `count`
  // items or bytes for lists, maps and blobs.
  json::Value Minimal(const Shape& shape, int depth = 0) {
    json::Value v;
    switch (shape.type) {
      case ShapeType::kStructure:
        v.SetObject();
        if (depth > 20) return v;
        for (const Member& member : model_.MembersOf(shape)) {
          if (!member.required) continue;
          v.AddMember(Name(member.name),
                      Minimal(model_.shape(member.shape), depth + 1), alloc_);
        }
        return v;
      case ShapeType::kList:
        return List(shape, shape.has_min ? static_cast<size_t>(shape.min) : 0,
                    depth);
      case ShapeType::kMap:
        return Map(shape, shape.has_min ? static_cast<size_t>(shape.min) : 0);
      case ShapeType::kString:
        v.SetString(String(shape, DefaultLength(shape)), alloc_);
        return v;
      case ShapeType::kBlob:
        return Blob(shape.has_min ? static_cast<size_t>(shape.min) : 0);
      case ShapeType::kInteger:
      case ShapeType::kLong:
      case ShapeType::kDouble:
        v.SetInt64(DefaultNumber(shape));
        return v;
      case ShapeType::kBoolean:
        v.SetBool(true);
        return v;
      case ShapeType::kTimestamp:
        v.SetInt64(1700000000);
        return v;
    }
    return v;
  }

  json::Value List(const Shape& shape, size_t count, int depth = 0) {
    json::Value v(rapidjson::kArrayType);
    for (size_t i = 0; i < count; ++i) {
      v.PushBack(Minimal(model_.shape(shape.element), depth + 1), alloc_);
    }
    return v;
  }

  json::Value Map(const Shape& shape, size_t count) {
    json::Value v(rapidjson::kObjectType);
    const Shape& key = model_.shape(shape.element);
    for (size_t i = 0; i < count; ++i) {
      // Distinct keys: the index in front of a valid key of the same length.
      std::string base = String(key, DefaultLength(key) + 4);
      std::string index = std::to_string(i);
      base.replace(base.size() - index.size(), index.size(), index);
      v.AddMember(json::Value(base, alloc_), Minimal(model_.shape(shape.value)),
                  alloc_);
    }
    return v;
  }

  json::Value Blob(size_t bytes) {
    return json::Value(Base64Encode(std::string(bytes, '\0')), alloc_);
  }

  json::Value Name(std::string_view name) {
    return json::Value(std::string(name), alloc_);
  }

 private:
  const ServiceModel& model_;
  json::Document::AllocatorType& alloc_;
};

struct Tally {
  size_t exact = 0;     // messages compared in full
  size_t fixed = 0;     // a pattern of one length: only the limit is tried
  size_t required = 0;  // "must not be null" cases
};

// Walks every member reachable from one operation's input. `slot` is where
// the member's value lives inside `doc`; the walk creates containers on the
// way so each member can be reached.
class Walker {
 public:
  Walker(const ServiceModel& model, std::string_view operation, Tally& tally)
      : model_(model), operation_(operation), tally_(tally) {}

  void Run() {
    const Shape* input = model_.InputShape(operation_);
    if (input == nullptr) return;
    ValueMaker maker(model_, doc_.GetAllocator());
    doc_.CopyFrom(maker.Minimal(*input), doc_.GetAllocator());
    ASSERT_EQ(ValidateInput(model_, operation_, doc_), Status::Ok())
        << operation_ << " minimal input is not valid";
    std::vector<uint16_t> stack;
    WalkStructure(*input, doc_, "", stack);
  }

 private:
  Status Check() { return ValidateInput(model_, operation_, doc_); }

  static std::string Item(std::string_view shown, std::string_view path,
                          std::string_view rule, bool quoted = true) {
    std::string q = quoted ? "'" : "";
    return "Value " + q + std::string(shown) + q + " at '" + std::string(path) +
           "' failed to satisfy constraint: " + std::string(rule);
  }

  static Status One(const std::string& item) {
    return Status(ErrorCode::kValidation,
                  "1 validation error detected: " + item);
  }

  void WalkStructure(const Shape& shape, json::Value& object,
                     const std::string& path, std::vector<uint16_t>& stack) {
    ValueMaker maker(model_, doc_.GetAllocator());
    for (const Member& member : model_.MembersOf(shape)) {
      if (std::find(stack.begin(), stack.end(), member.shape) != stack.end()) {
        continue;  // a recursive shape: its members were walked above
      }
      std::string child = path.empty() ? Lowered(member.name)
                                       : path + "." + Lowered(member.name);
      const Shape& type = model_.shape(member.shape);
      json::Value key = maker.Name(member.name);
      bool added = false;
      if (!object.HasMember(key)) {
        object.AddMember(maker.Name(member.name), maker.Minimal(type),
                         doc_.GetAllocator());
        added = true;
      }
      SCOPED_TRACE(std::string(operation_) + " " + child);
      ASSERT_EQ(Check(), Status::Ok()) << "adding a minimal member broke it";
      json::Value& slot = object[key];
      stack.push_back(member.shape);
      WalkMember(type, slot, child, stack);
      stack.pop_back();
      if (member.required) {
        json::Value saved;
        saved.Swap(slot);
        object.RemoveMember(key);
        EXPECT_EQ(Check(),
                  One(Item("null", child, "Member must not be null", false)));
        object.AddMember(maker.Name(member.name), saved, doc_.GetAllocator());
        ++tally_.required;
      } else if (added) {
        object.RemoveMember(key);
      }
    }
  }

  void WalkMember(const Shape& shape, json::Value& slot,
                  const std::string& path, std::vector<uint16_t>& stack) {
    ValueMaker maker(model_, doc_.GetAllocator());
    TestLimits(shape, slot, path);
    if (shape.type == ShapeType::kStructure) {
      WalkStructure(shape, slot, path, stack);
    } else if (shape.type == ShapeType::kList) {
      const Shape& element = model_.shape(shape.element);
      if (slot.Empty())
        slot.PushBack(maker.Minimal(element), doc_.GetAllocator());
      if (element.type == ShapeType::kStructure ||
          element.type == ShapeType::kList || element.type == ShapeType::kMap) {
        stack.push_back(shape.element);
        WalkMember(element, slot[0], path + ".1.member", stack);
        stack.pop_back();
      } else {
        TestScalarItems(shape, slot, path);
      }
      json::Value fresh = maker.Minimal(shape);
      slot.Swap(fresh);
    }
  }

  // Both sides of each limit on the member at `slot`.
  void TestLimits(const Shape& shape, json::Value& slot,
                  const std::string& path) {
    if (!shape.has_min && !shape.has_max) return;
    json::Value saved;
    saved.CopyFrom(slot, doc_.GetAllocator());
    bool numeric = shape.type == ShapeType::kInteger ||
                   shape.type == ShapeType::kLong ||
                   shape.type == ShapeType::kDouble;
    if (shape.has_min) {
      if (numeric) {
        TestValue(shape, slot, path, shape.min, shape.min - 1,
                  "Member must have value greater than or equal to ");
      } else if (shape.min > 0) {
        TestLength(shape, slot, path, static_cast<size_t>(shape.min),
                   static_cast<size_t>(shape.min - 1),
                   "Member must have length greater than or equal to ");
      }
    }
    if (shape.has_max) {
      if (numeric) {
        TestValue(shape, slot, path, shape.max, shape.max + 1,
                  "Member must have value less than or equal to ");
      } else {
        TestLength(shape, slot, path, static_cast<size_t>(shape.max),
                   static_cast<size_t>(shape.max + 1),
                   "Member must have length less than or equal to ");
      }
    }
    slot.CopyFrom(saved, doc_.GetAllocator());
  }

  void TestValue(const Shape& shape, json::Value& slot, const std::string& path,
                 int64_t ok, int64_t bad, std::string_view rule_head) {
    std::string rule =
        std::string(rule_head) +
        std::to_string(rule_head.find("greater") != std::string_view::npos
                           ? shape.min
                           : shape.max);
    slot.SetInt64(ok);
    EXPECT_EQ(Check(), Status::Ok()) << "at the limit " << ok;
    int64_t lo = shape.type == ShapeType::kInteger ? INT32_MIN : INT64_MIN;
    int64_t hi = shape.type == ShapeType::kInteger ? INT32_MAX : INT64_MAX;
    if (bad < lo || bad > hi || ok == INT64_MIN || ok == INT64_MAX) return;
    slot.SetInt64(bad);
    std::string shown = std::to_string(bad);
    if (shape.type == ShapeType::kDouble) {
      slot.SetDouble(static_cast<double>(bad));
      shown += ".0";
    }
    EXPECT_EQ(Check(), One(Item(shown, path, rule)));
    ++tally_.exact;
  }

  json::Value Sized(const Shape& shape, size_t n) {
    ValueMaker maker(model_, doc_.GetAllocator());
    switch (shape.type) {
      case ShapeType::kString:
        return json::Value(maker.String(shape, n), doc_.GetAllocator());
      case ShapeType::kBlob:
        return maker.Blob(n);
      case ShapeType::kList:
        return maker.List(shape, n);
      default:
        return maker.Map(shape, n);
    }
  }

  std::string Shown(const Shape& shape, const json::Value& v) const {
    if (shape.type == ShapeType::kString) return std::string(json::AsView(v));
    size_t n = shape.type == ShapeType::kBlob
                   ? Base64Decode(json::AsView(v))->size()
                   : 0;
    return "java.nio.HeapByteBuffer[pos=0 lim=" + std::to_string(n) +
           " cap=" + std::to_string(n) + "]";
  }

  // What AWS answers for a string or blob member holding `value`: the enum
  // and pattern rules it breaks (AWS lists them first), then `length_rule`
  // when given.
  Status Expected(const Shape& shape, const json::Value& value,
                  const std::string& path,
                  const std::string& length_rule) const {
    std::vector<std::string> items;
    std::string shown = Shown(shape, value);
    if (shape.type == ShapeType::kString) {
      std::string_view text = json::AsView(value);
      auto values = model_.EnumOf(shape);
      if (!values.empty() &&
          std::find(values.begin(), values.end(), text) == values.end()) {
        std::string rule = "Member must satisfy enum value set: [";
        for (size_t i = 0; i < values.size(); ++i) {
          rule += (i > 0 ? ", " : "") + std::string(values[i]);
        }
        items.push_back(Item(shown, path, rule + "]"));
      }
      if (shape.pattern >= 0 && !model_.Matches(shape.pattern, text)) {
        items.push_back(
            Item(shown, path,
                 "Member must satisfy regular expression pattern: " +
                     std::string(model_.tables().patterns[static_cast<size_t>(
                         shape.pattern)])));
      }
    }
    if (!length_rule.empty()) items.push_back(Item(shown, path, length_rule));
    if (items.empty()) return Status::Ok();
    std::string message = std::to_string(items.size()) +
                          (items.size() == 1 ? " validation error detected: "
                                             : " validation errors detected: ");
    for (size_t i = 0; i < items.size(); ++i) {
      message += (i > 0 ? "; " : "") + items[i];
    }
    return Status(ErrorCode::kValidation, message);
  }

  void TestLength(const Shape& shape, json::Value& slot,
                  const std::string& path, size_t ok, size_t bad,
                  std::string_view rule_head) {
    std::string rule =
        std::string(rule_head) +
        std::to_string(rule_head.find("greater") != std::string_view::npos
                           ? shape.min
                           : shape.max);
    json::Value at_limit = Sized(shape, ok);
    slot.CopyFrom(at_limit, doc_.GetAllocator());
    Status at = Check();
    json::Value past = Sized(shape, bad);
    slot.CopyFrom(past, doc_.GetAllocator());
    Status s = Check();
    if (shape.type == ShapeType::kString || shape.type == ShapeType::kBlob) {
      if (shape.type == ShapeType::kString &&
          Utf16Length(json::AsView(past)) != bad) {
        // The pattern fixes the length: only the limit itself can be tried.
        EXPECT_EQ(at, Expected(shape, at_limit, path, ""));
        ++tally_.fixed;
        return;
      }
      EXPECT_EQ(at, Expected(shape, at_limit, path, "")) << "at the limit";
      EXPECT_EQ(s, Expected(shape, past, path, rule));
      ++tally_.exact;
      return;
    }
    // Lists and maps print their items; compare around them.
    EXPECT_TRUE(at.ok()) << "at the limit " << ok << ": "
                         << at.message().substr(0, 300);
    EXPECT_TRUE(s.message().starts_with("1 validation error detected: "))
        << s.message().substr(0, 300);
    EXPECT_TRUE(s.message().ends_with(
        "' at '" + path + "' failed to satisfy constraint: " + rule))
        << s.message().substr(0, 300);
    ++tally_.exact;
  }

  // A list of scalars: one bad item is reported once, at the list.
  void TestScalarItems(const Shape& list, json::Value& slot,
                       const std::string& path) {
    const Shape& element = model_.shape(list.element);
    if (element.type != ShapeType::kString || !element.has_max ||
        element.count > 0) {
      return;
    }
    ValueMaker maker(model_, doc_.GetAllocator());
    std::string text =
        maker.String(element, static_cast<size_t>(element.max) + 1);
    slot[0].SetString(text, doc_.GetAllocator());
    Status s = Check();
    std::string head = "1 validation error detected: Value '[" + text +
                       "]' at '" + path +
                       "' failed to satisfy constraint: Member must satisfy "
                       "constraint: [Member must have length less than or "
                       "equal to " +
                       std::to_string(element.max);
    EXPECT_TRUE(s.message().starts_with(head)) << s.message().substr(0, 300);
    ++tally_.exact;
  }

  const ServiceModel& model_;
  std::string_view operation_;
  Tally& tally_;
  json::Document doc_;
};

void WalkModel(const ServiceModel& model) {
  Tally tally;
  for (const Operation& op : model.tables().operations) {
    Walker(model, op.name, tally).Run();
  }
  std::cout << model.tables().service << ": " << tally.exact
            << " limits checked to the exact message, " << tally.fixed
            << " where the pattern fixes the length, " << tally.required
            << " required members\n";
  EXPECT_GT(tally.exact, 0u);
  EXPECT_GT(tally.required, 0u);
}

TEST(ModelConstraintsTest, EveryPatternHasASample) {
  for (const ServiceModel* model : {&KinesisModel(), &FirehoseModel()}) {
    auto patterns = model->tables().patterns;
    for (size_t i = 0; i < patterns.size(); ++i) {
      std::string_view pattern = patterns[i];
      const PatternSample* sample = SampleFor(pattern);
      ASSERT_NE(sample, nullptr) << "add a sample for " << pattern;
      std::string text = std::string(sample->prefix);
      // Four fillers: base64 needs its groups whole.
      if (sample->filler != '\0') text += std::string(4, sample->filler);
      text += sample->suffix;
      EXPECT_TRUE(model->Matches(static_cast<int>(i), text))
          << pattern << " vs " << text;
    }
  }
}

TEST(ModelConstraintsTest, KinesisLimitsAndRequiredMembers) {
  WalkModel(KinesisModel());
}

TEST(ModelConstraintsTest, FirehoseLimitsAndRequiredMembers) {
  WalkModel(FirehoseModel());
}

}  // namespace
}  // namespace sluice::model
