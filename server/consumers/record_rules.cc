#include "server/consumers/record_rules.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>

#include "server/firehose/s3_key.h"

namespace sluice::consumers {
namespace {

// Cents beyond this would overflow int64 once summed a few times over; no
// real amount comes near it.
constexpr double kMaxCentsMagnitude = 9e16;

void AppendJson(const json::Value& value, std::string& out) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  out.append(buffer.GetString(), buffer.GetSize());
}

void AppendDouble(double value, std::string& out) {
  char text[64];
  auto [end, ec] = std::to_chars(text, text + sizeof text, value);
  if (ec == std::errc()) out.append(text, end);
}

// A field's value as template text: strings as they are, everything else as
// JSON.
void AppendFieldText(const json::Value& value, std::string& out) {
  if (value.IsString()) {
    out.append(value.GetString(), value.GetStringLength());
  } else if (value.IsInt64()) {
    out += std::to_string(value.GetInt64());
  } else if (value.IsUint64()) {
    out += std::to_string(value.GetUint64());
  } else if (value.IsDouble()) {
    AppendDouble(value.GetDouble(), out);
  } else if (value.IsBool()) {
    out += value.GetBool() ? "true" : "false";
  } else {
    AppendJson(value, out);
  }
}

void AppendPadded(unsigned value, int width, std::string& out) {
  char text[16];
  int n = 0;
  do {
    text[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0 && n < 10);
  while (n < width) text[n++] = '0';
  while (n > 0) out += text[--n];
}

struct Civil {
  int year;
  unsigned month, day, hour, minute, second, millis;
};

Civil ToCivil(EpochMillis millis) {
  using namespace std::chrono;
  const sys_time<milliseconds> time{milliseconds(millis)};
  const sys_days day = floor<days>(time);
  const year_month_day date{day};
  const hh_mm_ss<milliseconds> clock_time{time - day};
  return Civil{static_cast<int>(date.year()),
               static_cast<unsigned>(date.month()),
               static_cast<unsigned>(date.day()),
               static_cast<unsigned>(clock_time.hours().count()),
               static_cast<unsigned>(clock_time.minutes().count()),
               static_cast<unsigned>(clock_time.seconds().count()),
               static_cast<unsigned>(clock_time.subseconds().count())};
}

void AppendDate(const Civil& civil, std::string& out) {
  AppendPadded(static_cast<unsigned>(civil.year), 4, out);
  out += '-';
  AppendPadded(civil.month, 2, out);
  out += '-';
  AppendPadded(civil.day, 2, out);
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A decimal number as written: [-+]digits[.digits], nothing else.
bool IsDecimal(std::string_view text) {
  size_t i = 0;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
  size_t digits = 0;
  while (i < text.size() && IsDigit(text[i])) ++i, ++digits;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && IsDigit(text[i])) ++i, ++digits;
  }
  return digits > 0 && i == text.size();
}

// REQUIRES: IsDecimal(text). Cents rounded half away from zero.
std::optional<int64_t> DecimalToCents(std::string_view text) {
  bool negative = false;
  if (text.front() == '-' || text.front() == '+') {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  const size_t point = text.find('.');
  std::string_view whole = text.substr(0, point);
  std::string_view fraction =
      point == std::string_view::npos ? "" : text.substr(point + 1);
  while (!whole.empty() && whole.front() == '0') whole.remove_prefix(1);
  if (whole.size() > 15) return std::nullopt;  // beyond kMaxCentsMagnitude
  int64_t cents = 0;
  for (char c : whole) cents = cents * 10 + (c - '0');
  for (size_t i = 0; i < 2; ++i) {
    cents = cents * 10 + (i < fraction.size() ? fraction[i] - '0' : 0);
  }
  // Half away from zero: only the third decimal decides, as anything after
  // it can only push a 5 further from the midpoint, never below it.
  if (fraction.size() > 2 && fraction[2] >= '5') ++cents;
  return negative ? -cents : cents;
}

}  // namespace

Status InvalidSetting(std::string_view what, std::string_view problem) {
  std::string message(what);
  message += ": ";
  message += problem;
  return Status(ErrorCode::kInvalidArgument, std::move(message));
}

Status CheckKnownMembers(const json::Value& object,
                         std::initializer_list<std::string_view> known,
                         std::string_view what) {
  for (const auto& member : object.GetObject()) {
    const std::string_view name = json::AsView(member.name);
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return InvalidSetting(what,
                            "unknown setting '" + std::string(name) + "'");
    }
  }
  return Status::Ok();
}

bool IsIdentifier(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!(letter || c == '_' || (i > 0 && IsDigit(c)))) return false;
  }
  return true;
}

bool IsContainedRelativePath(std::string_view path) {
  if (path.empty() || path.front() == '/') return false;
  if (path.find('\0') != std::string_view::npos) return false;
  for (const auto& step : std::filesystem::path(path)) {
    if (step == "..") return false;
  }
  return true;
}

namespace {

// True when every byte of `text` is below 0x80: such text is valid UTF-8, so
// the parser need not check it byte by byte (that check was a third of the
// parse).
bool IsAscii(std::string_view text) {
  const char* p = text.data();
  const char* const end = p + text.size();
  for (; end - p >= 8; p += 8) {
    uint64_t word;
    std::memcpy(&word, p, sizeof word);
    if ((word & 0x8080808080808080u) != 0) return false;
  }
  for (; p < end; ++p) {
    if ((static_cast<unsigned char>(*p) & 0x80u) != 0) return false;
  }
  return true;
}

}  // namespace

const json::Value* RecordParser::Parse(std::string_view data) {
  doc_.reset();
  value_allocator_.emplace(value_buffer_, sizeof value_buffer_);
  stack_allocator_.emplace(stack_buffer_, sizeof stack_buffer_);
  doc_.emplace(&*value_allocator_, sizeof stack_buffer_, &*stack_allocator_);
  // In situ: strings are decoded inside a copy of the record instead of
  // being copied again into the allocator.
  char* text = text_buffer_;
  if (data.size() >= sizeof text_buffer_) {
    large_text_.assign(data);
    text = large_text_.data();
  } else {
    std::memcpy(text, data.data(), data.size());
    text[data.size()] = '\0';
  }
  // The same checks as json::kParseFlags (strict UTF-8, full precision);
  // ASCII needs no encoding check.
  if (IsAscii(data)) {
    doc_->ParseInsitu<rapidjson::kParseFullPrecisionFlag>(text);
  } else {
    doc_->ParseInsitu<json::kParseFlags>(text);
  }
  if (doc_->HasParseError()) return nullptr;
  return &*doc_;
}

// --- FieldPath -------------------------------------------------------------

Result<FieldPath> FieldPath::Parse(std::string_view text) {
  FieldPath path;
  path.text_ = std::string(text);
  size_t start = 0;
  while (true) {
    const size_t dot = text.find('.', start);
    std::string_view step = text.substr(start, dot - start);
    if (step.empty()) {
      return Status(ErrorCode::kInvalidArgument,
                    "field path '" + std::string(text) + "' has an empty step");
    }
    path.steps_.emplace_back(step);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return path;
}

const json::Value* FieldPath::Find(const json::Value& root) const {
  const json::Value* at = &root;
  for (const std::string& step : steps_) {
    if (at->IsObject()) {
      auto member = at->FindMember(
          json::Value(rapidjson::StringRef(step.data(), step.size())));
      if (member == at->MemberEnd()) return nullptr;
      at = &member->value;
    } else if (at->IsArray()) {
      size_t index = 0;
      auto [end, ec] =
          std::from_chars(step.data(), step.data() + step.size(), index);
      if (ec != std::errc() || end != step.data() + step.size() ||
          index >= at->Size()) {
        return nullptr;
      }
      at = &(*at)[static_cast<rapidjson::SizeType>(index)];
    } else {
      return nullptr;
    }
  }
  return at->IsNull() ? nullptr : at;
}

// --- Template --------------------------------------------------------------

Result<Template::Alternative> Template::ParseAlternative(
    std::string_view text, std::string_view what) {
  Alternative alternative;
  if (text.size() >= 2 && text.front() == '\'' && text.back() == '\'') {
    alternative.text = std::string(text.substr(1, text.size() - 2));
    return alternative;
  }
  if (!text.empty() && text.front() == '@') {
    static constexpr std::pair<std::string_view, Special> kSpecials[] = {
        {"@date", Special::kDate},
        {"@hour", Special::kHour},
        {"@time", Special::kTime},
        {"@millis", Special::kMillis},
        {"@partition_key", Special::kPartitionKey},
        {"@sequence_number", Special::kSequenceNumber},
        {"@shard_id", Special::kShardId}};
    for (const auto& [name, special] : kSpecials) {
      if (text == name) {
        alternative.special = special;
        return alternative;
      }
    }
    constexpr std::string_view kArrival = "@arrival:";
    if (text.substr(0, kArrival.size()) == kArrival) {
      alternative.special = Special::kArrivalPattern;
      alternative.text = std::string(text.substr(kArrival.size()));
      Result<std::string> check =
          firehose::FormatTimestamp(alternative.text, 0);
      if (!check.ok()) return InvalidSetting(what, check.status().message());
      return alternative;
    }
    return InvalidSetting(what, "unknown placeholder '" + std::string(text) +
                                    "' (known: @date, @hour, @time, "
                                    "@millis, @arrival:PATTERN, "
                                    "@partition_key, @sequence_number, "
                                    "@shard_id)");
  }
  Result<FieldPath> path = FieldPath::Parse(text);
  if (!path.ok()) return InvalidSetting(what, path.status().message());
  alternative.path = std::move(path).value();
  return alternative;
}

Result<Template> Template::Parse(std::string_view text, std::string_view what) {
  Template parsed;
  parsed.source_ = std::string(text);
  std::string literal;
  auto flush_literal = [&] {
    if (literal.empty()) return;
    parsed.parts_.push_back(Part{std::move(literal), "", {}});
    literal.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '}') {
      if (i + 1 < text.size() && text[i + 1] == '}') {
        literal += '}';
        ++i;
        continue;
      }
      return InvalidSetting(what, "'}' without '{' in '" + parsed.source_ +
                                      "' (write '}}' for a brace)");
    }
    if (c != '{') {
      literal += c;
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '{') {
      literal += '{';
      ++i;
      continue;
    }
    const size_t close = text.find('}', i + 1);
    if (close == std::string_view::npos) {
      return InvalidSetting(what, "unclosed '{' in '" + parsed.source_ + "'");
    }
    flush_literal();
    Part part;
    part.source = std::string(text.substr(i, close - i + 1));
    std::string_view body = text.substr(i + 1, close - i - 1);
    size_t start = 0;
    while (true) {
      const size_t bar = body.find('|', start);
      Result<Alternative> alternative =
          ParseAlternative(body.substr(start, bar - start), what);
      if (!alternative.ok()) return alternative.status();
      part.alternatives.push_back(std::move(alternative).value());
      if (bar == std::string_view::npos) break;
      start = bar + 1;
    }
    parsed.parts_.push_back(std::move(part));
    i = close;
  }
  flush_literal();
  return parsed;
}

bool Template::ExpandPart(const Part& part, const RecordContext& record,
                          std::string& out) {
  if (part.alternatives.empty()) {
    out += part.literal;
    return true;
  }
  for (const Alternative& alternative : part.alternatives) {
    switch (alternative.special) {
      case Special::kNone:
        if (alternative.path.has_value()) {
          const json::Value* value = alternative.path->Find(record.json);
          if (value == nullptr) continue;
          AppendFieldText(*value, out);
        } else {
          out += alternative.text;
        }
        return true;
      case Special::kDate:
        AppendDate(ToCivil(record.record.arrival_millis), out);
        return true;
      case Special::kHour:
        AppendPadded(ToCivil(record.record.arrival_millis).hour, 2, out);
        return true;
      case Special::kTime:
        out += FormatIsoMillis(record.record.arrival_millis);
        return true;
      case Special::kMillis:
        out += std::to_string(record.record.arrival_millis);
        return true;
      case Special::kArrivalPattern: {
        Result<std::string> text = firehose::FormatTimestamp(
            alternative.text, record.record.arrival_millis);
        if (!text.ok()) continue;  // checked at Parse(); cannot happen
        out += *text;
        return true;
      }
      case Special::kPartitionKey:
        out += record.record.partition_key;
        return true;
      case Special::kSequenceNumber:
        out += record.record.sequence_number;
        return true;
      case Special::kShardId:
        out += record.shard_id;
        return true;
    }
  }
  return false;
}

bool Template::Expand(const RecordContext& record, std::string& out,
                      std::string_view* missing) const {
  for (const Part& part : parts_) {
    if (!ExpandPart(part, record, out)) {
      if (missing != nullptr) *missing = part.source;
      return false;
    }
  }
  return true;
}

std::optional<TemplateValue> Template::Evaluate(
    const RecordContext& record, std::string_view* missing) const {
  TemplateValue value;
  if (!EvaluateInto(record, value, missing)) return std::nullopt;
  return value;
}

bool Template::EvaluateInto(const RecordContext& record, TemplateValue& value,
                            std::string_view* missing) const {
  value.kind = TemplateValue::Kind::kText;
  value.text.clear();
  // One placeholder: a field keeps its JSON type, @millis is an integer.
  if (parts_.size() == 1 && !parts_[0].alternatives.empty()) {
    for (const Alternative& alternative : parts_[0].alternatives) {
      if (alternative.special == Special::kMillis) {
        value.kind = TemplateValue::Kind::kInt;
        value.int_value = record.record.arrival_millis;
        return true;
      }
      if (alternative.special != Special::kNone || !alternative.path) break;
      const json::Value* field = alternative.path->Find(record.json);
      if (field == nullptr) continue;
      if (field->IsString()) break;
      if (field->IsInt64()) {
        value.kind = TemplateValue::Kind::kInt;
        value.int_value = field->GetInt64();
      } else if (field->IsNumber()) {
        value.kind = TemplateValue::Kind::kReal;
        value.real_value = field->GetDouble();
      } else if (field->IsBool()) {
        value.kind = TemplateValue::Kind::kBool;
        value.bool_value = field->GetBool();
      } else {
        value.kind = TemplateValue::Kind::kJson;
        AppendJson(*field, value.text);
      }
      return true;
    }
  }
  return Expand(record, value.text, missing);
}

// --- Condition -------------------------------------------------------------

Result<Condition::Operand> Condition::ParseOperand(const json::Value& value,
                                                   std::string_view what) {
  Operand operand;
  if (value.IsString()) {
    operand.kind = Operand::Kind::kString;
    operand.string_value = std::string(json::AsView(value));
  } else if (value.IsNumber()) {
    operand.kind = Operand::Kind::kNumber;
    operand.number_value = value.GetDouble();
  } else if (value.IsBool()) {
    operand.kind = Operand::Kind::kBool;
    operand.bool_value = value.GetBool();
  } else if (value.IsNull()) {
    operand.kind = Operand::Kind::kNull;
  } else {
    return InvalidSetting(what,
                          "a value to compare with must be a string, "
                          "number, boolean or null");
  }
  return operand;
}

Result<Condition> Condition::Parse(const json::Value* match,
                                   std::string_view what) {
  Condition condition;
  if (match == nullptr) return condition;
  if (!match->IsObject()) {
    return InvalidSetting(what, "must be an object of field path to test");
  }
  static constexpr std::pair<std::string_view, Op> kOps[] = {
      {"=", Op::kEq},  {"!=", Op::kNe},        {">", Op::kGt},
      {">=", Op::kGe}, {"<", Op::kLt},         {"<=", Op::kLe},
      {"in", Op::kIn}, {"exists", Op::kExists}};
  for (const auto& member : match->GetObject()) {
    const std::string field(json::AsView(member.name));
    const std::string field_what = std::string(what) + "." + field;
    Result<FieldPath> path = FieldPath::Parse(field);
    if (!path.ok()) return InvalidSetting(what, path.status().message());
    if (!member.value.IsObject()) {
      Result<Operand> operand = ParseOperand(member.value, field_what);
      if (!operand.ok()) return operand.status();
      condition.tests_.push_back(
          Test{*path, Op::kEq, {std::move(operand).value()}, true});
      continue;
    }
    if (member.value.MemberCount() == 0) {
      return InvalidSetting(field_what, "names no test");
    }
    for (const auto& test : member.value.GetObject()) {
      const std::string_view name = json::AsView(test.name);
      const std::string test_what = field_what + "." + std::string(name);
      const auto* known =
          std::find_if(std::begin(kOps), std::end(kOps),
                       [&](const auto& op) { return op.first == name; });
      if (known == std::end(kOps)) {
        return InvalidSetting(field_what,
                              "unknown test '" + std::string(name) +
                                  "' (known: =, !=, >, >=, <, <=, in, "
                                  "exists)");
      }
      Test parsed{*path, known->second, {}, true};
      if (parsed.op == Op::kExists) {
        if (!test.value.IsBool()) {
          return InvalidSetting(test_what, "must be true or false");
        }
        parsed.exists = test.value.GetBool();
      } else if (parsed.op == Op::kIn) {
        if (!test.value.IsArray() || test.value.Empty()) {
          return InvalidSetting(test_what, "must be a non-empty array");
        }
        for (const auto& item : test.value.GetArray()) {
          Result<Operand> operand = ParseOperand(item, test_what);
          if (!operand.ok()) return operand.status();
          parsed.operands.push_back(std::move(operand).value());
        }
      } else {
        Result<Operand> operand = ParseOperand(test.value, test_what);
        if (!operand.ok()) return operand.status();
        const bool ordered = parsed.op == Op::kGt || parsed.op == Op::kGe ||
                             parsed.op == Op::kLt || parsed.op == Op::kLe;
        if (ordered && operand->kind != Operand::Kind::kNumber &&
            operand->kind != Operand::Kind::kString) {
          return InvalidSetting(test_what,
                                "compares with a number or a string");
        }
        parsed.operands.push_back(std::move(operand).value());
      }
      condition.tests_.push_back(std::move(parsed));
    }
  }
  return condition;
}

bool Condition::Equals(const json::Value& field, const Operand& operand) {
  switch (operand.kind) {
    case Operand::Kind::kString:
      return field.IsString() && json::AsView(field) == operand.string_value;
    case Operand::Kind::kNumber:
      return field.IsNumber() && field.GetDouble() == operand.number_value;
    case Operand::Kind::kBool:
      return field.IsBool() && field.GetBool() == operand.bool_value;
    case Operand::Kind::kNull:
      return false;  // a present field is never null (Find drops nulls)
  }
  return false;
}

std::optional<int> Condition::Compare(const json::Value& field,
                                      const Operand& operand) {
  if (operand.kind == Operand::Kind::kNumber) {
    std::optional<double> number = ToNumber(field);
    if (!number.has_value()) return std::nullopt;
    if (*number < operand.number_value) return -1;
    if (*number > operand.number_value) return 1;
    return 0;
  }
  if (operand.kind == Operand::Kind::kString && field.IsString()) {
    const int c = json::AsView(field).compare(operand.string_value);
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  return std::nullopt;
}

bool Condition::Holds(const Test& test, const json::Value* field) {
  switch (test.op) {
    case Op::kExists:
      return (field != nullptr) == test.exists;
    case Op::kEq:
      if (test.operands[0].kind == Operand::Kind::kNull) {
        return field == nullptr;
      }
      return field != nullptr && Equals(*field, test.operands[0]);
    case Op::kNe:
      if (test.operands[0].kind == Operand::Kind::kNull) {
        return field != nullptr;
      }
      return field == nullptr || !Equals(*field, test.operands[0]);
    case Op::kIn:
      if (field == nullptr) return false;
      for (const Operand& operand : test.operands) {
        if (Equals(*field, operand)) return true;
      }
      return false;
    case Op::kGt:
    case Op::kGe:
    case Op::kLt:
    case Op::kLe: {
      if (field == nullptr) return false;
      std::optional<int> c = Compare(*field, test.operands[0]);
      if (!c.has_value()) return false;
      if (test.op == Op::kGt) return *c > 0;
      if (test.op == Op::kGe) return *c >= 0;
      if (test.op == Op::kLt) return *c < 0;
      return *c <= 0;
    }
  }
  return false;
}

bool Condition::Matches(const json::Value& root) const {
  for (const Test& test : tests_) {
    if (!Holds(test, test.path.Find(root))) return false;
  }
  return true;
}

// --- Numbers, text, time ---------------------------------------------------

std::optional<double> ToNumber(const json::Value& value) {
  if (value.IsNumber()) return value.GetDouble();
  if (!value.IsString()) return std::nullopt;
  const std::string_view text = json::AsView(value);
  if (!IsDecimal(text)) return std::nullopt;
  // from_chars takes no '+'.
  const std::string_view digits = text.front() == '+' ? text.substr(1) : text;
  double number = 0;
  auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), number);
  if (ec != std::errc()) return std::nullopt;
  return number;
}

std::optional<int64_t> ToCents(const json::Value& value) {
  if (value.IsInt64()) {
    const int64_t whole = value.GetInt64();
    if (std::abs(static_cast<double>(whole)) * 100 >= kMaxCentsMagnitude) {
      return std::nullopt;
    }
    return whole * 100;
  }
  if (value.IsNumber()) {
    const double number = value.GetDouble();
    if (!std::isfinite(number) ||
        std::abs(number) * 100 >= kMaxCentsMagnitude) {
      return std::nullopt;
    }
    // The shortest text that reads back as this double is the decimal the
    // producer wrote (for up to 15 significant digits), so rounding that
    // text is exact where number * 100 would not be (1.005 * 100 is
    // 100.49999999999999).
    char text[512];
    auto [end, ec] = std::to_chars(text, text + sizeof text, number,
                                   std::chars_format::fixed);
    if (ec != std::errc()) return std::nullopt;
    return DecimalToCents(
        std::string_view(text, static_cast<size_t>(end - text)));
  }
  if (value.IsString() && IsDecimal(json::AsView(value))) {
    return DecimalToCents(json::AsView(value));
  }
  return std::nullopt;
}

std::string_view TruncateUtf8(std::string_view text, size_t max_chars) {
  if (text.size() <= max_chars) return text;  // no more characters than bytes
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    // Each character starts at a byte that is not a continuation byte.
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      if (chars == max_chars) return text.substr(0, i);
      ++chars;
    }
  }
  return text;
}

std::string FormatIsoMillis(EpochMillis millis) {
  const Civil civil = ToCivil(millis);
  std::string out;
  out.reserve(24);
  AppendDate(civil, out);
  out += 'T';
  AppendPadded(civil.hour, 2, out);
  out += ':';
  AppendPadded(civil.minute, 2, out);
  out += ':';
  AppendPadded(civil.second, 2, out);
  out += '.';
  AppendPadded(civil.millis, 3, out);
  out += 'Z';
  return out;
}

}  // namespace sluice::consumers
