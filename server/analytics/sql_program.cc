#include "server/analytics/sql_program.h"

#include <cctype>
#include <charconv>
#include <limits>
#include <optional>

namespace sluice::analytics {
namespace {

enum class TokenKind { kIdentifier, kQuoted, kString, kNumber, kSymbol, kEnd };

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string_view raw;  // as written
  std::string value;     // identifiers unquoted, strings unescaped
  size_t offset = 0;
};

bool IsIdentifierStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_';
}
bool IsIdentifierPart(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' ||
         c == '$';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// "unexpected character 'é'": the whole UTF-8 sequence at `i` (one byte of
// it would make the error answer invalid UTF-8), or the byte in hex when
// it is a control character or not UTF-8.
std::string UnexpectedCharacter(std::string_view code, size_t i) {
  const auto lead = static_cast<unsigned char>(code[i]);
  size_t length = 0;
  if (lead >= 0x20 && lead < 0x7f) {
    length = 1;
  } else if ((lead & 0xe0) == 0xc0) {
    length = 2;
  } else if ((lead & 0xf0) == 0xe0) {
    length = 3;
  } else if ((lead & 0xf8) == 0xf0) {
    length = 4;
  }
  for (size_t k = 1; k < length; ++k) {
    if (i + k >= code.size() ||
        (static_cast<unsigned char>(code[i + k]) & 0xc0) != 0x80) {
      length = 0;
    }
  }
  std::string text = "unexpected character ";
  if (length == 0) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    text += "(byte 0x";
    text += kHex[lead >> 4];
    text += kHex[lead & 0xf];
    text += ')';
    return text;
  }
  text += '\'';
  text += code.substr(i, length);
  text += '\'';
  return text;
}

Result<std::vector<Token>> Tokenize(std::string_view code) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < code.size()) {
    const char c = code[i];
    if (std::isspace(static_cast<unsigned char>(c)) != 0) {
      ++i;
      continue;
    }
    if (code.substr(i, 2) == "--") {
      while (i < code.size() && code[i] != '\n') ++i;
      continue;
    }
    if (code.substr(i, 2) == "/*") {
      size_t close = code.find("*/", i + 2);
      if (close == std::string_view::npos) {
        return SqlError(code, i, "the comment is not closed");
      }
      i = close + 2;
      continue;
    }
    Token token;
    token.offset = i;
    if (c == '"' || c == '\'') {
      token.kind = c == '"' ? TokenKind::kQuoted : TokenKind::kString;
      size_t j = i + 1;
      while (true) {
        if (j >= code.size()) {
          return SqlError(code, i,
                          c == '"' ? "the quoted identifier is not closed"
                                   : "the string is not closed");
        }
        if (code[j] == c) {
          if (j + 1 < code.size() && code[j + 1] == c) {
            token.value += c;
            j += 2;
            continue;
          }
          break;
        }
        token.value += code[j++];
      }
      token.raw = code.substr(i, j + 1 - i);
      if (token.kind == TokenKind::kQuoted && token.value.empty()) {
        return SqlError(code, i, "an empty quoted identifier");
      }
      i = j + 1;
    } else if (IsIdentifierStart(c)) {
      size_t j = i;
      while (j < code.size() && IsIdentifierPart(code[j])) ++j;
      token.kind = TokenKind::kIdentifier;
      token.raw = code.substr(i, j - i);
      token.value = std::string(token.raw);
      i = j;
    } else if (IsDigit(c) ||
               (c == '.' && i + 1 < code.size() && IsDigit(code[i + 1]))) {
      size_t j = i;
      while (j < code.size() && (IsDigit(code[j]) || code[j] == '.')) ++j;
      if (j < code.size() && (code[j] == 'e' || code[j] == 'E')) {
        size_t k = j + 1;
        if (k < code.size() && (code[k] == '+' || code[k] == '-')) ++k;
        if (k < code.size() && IsDigit(code[k])) {
          j = k;
          while (j < code.size() && IsDigit(code[j])) ++j;
        }
      }
      token.kind = TokenKind::kNumber;
      token.raw = code.substr(i, j - i);
      token.value = std::string(token.raw);
      i = j;
    } else {
      static constexpr std::string_view kTwo[] = {"<=", ">=", "<>", "!=", "||"};
      size_t length = 0;
      for (std::string_view two : kTwo) {
        if (code.substr(i, 2) == two) length = 2;
      }
      if (length == 0) {
        if (std::string_view("(),;.*+-/%=<>").find(c) ==
            std::string_view::npos) {
          return SqlError(code, i, UnexpectedCharacter(code, i));
        }
        length = 1;
      }
      token.kind = TokenKind::kSymbol;
      token.raw = code.substr(i, length);
      token.value = std::string(token.raw);
      i += length;
    }
    tokens.push_back(std::move(token));
  }
  Token end;
  end.offset = code.size();
  tokens.push_back(std::move(end));
  return tokens;
}

std::optional<int64_t> UnitMillis(std::string_view unit) {
  std::string upper = Upper(unit);
  if (upper == "SECOND") return 1000;
  if (upper == "MINUTE") return 60'000;
  if (upper == "HOUR") return 3'600'000;
  if (upper == "DAY") return 86'400'000;
  return std::nullopt;
}

// Collects translated SQL with, for every byte, where it came from.
struct Emitter {
  std::string sql;
  std::vector<size_t> offsets;

  void Add(std::string_view text, size_t offset, bool from_source) {
    if (!sql.empty()) {
      sql += ' ';
      offsets.push_back(offset);
    }
    for (size_t i = 0; i < text.size(); ++i) {
      sql += text[i];
      offsets.push_back(from_source ? offset + i : offset);
    }
  }
};

class Parser {
 public:
  Parser(std::string_view code, std::string_view source,
         std::vector<Token> tokens)
      : code_(code), source_(source), tokens_(std::move(tokens)) {
    // Matching parentheses, for the translation's look-ahead.
    match_.assign(tokens_.size(), 0);
    std::vector<size_t> open;
    for (size_t i = 0; i < tokens_.size(); ++i) {
      if (IsSymbol(i, "(")) open.push_back(i);
      if (IsSymbol(i, ")") && !open.empty()) {
        match_[open.back()] = i;
        open.pop_back();
      }
    }
  }

  Result<SqlProgram> Parse() {
    SqlProgram program;
    while (tokens_[at_].kind != TokenKind::kEnd) {
      if (IsSymbol(at_, ";")) {
        ++at_;
        continue;
      }
      if (Status s = Statement(program); !s.ok()) return s;
    }
    if (program.pumps.empty()) {
      return SqlError(code_, code_.size(),
                      "the code has no CREATE PUMP: nothing would reach an "
                      "output");
    }
    return program;
  }

 private:
  const Token& Peek(size_t i) const {
    return tokens_[std::min(i, tokens_.size() - 1)];
  }
  bool IsKeyword(size_t i, std::string_view word) const {
    const Token& token = Peek(i);
    return token.kind == TokenKind::kIdentifier && Upper(token.value) == word;
  }
  bool IsSymbol(size_t i, std::string_view symbol) const {
    const Token& token = Peek(i);
    return token.kind == TokenKind::kSymbol && token.raw == symbol;
  }
  bool IsName(size_t i) const {
    TokenKind kind = Peek(i).kind;
    return kind == TokenKind::kIdentifier || kind == TokenKind::kQuoted;
  }
  std::string Describe(size_t i) const {
    const Token& token = Peek(i);
    if (token.kind == TokenKind::kEnd) return "the end of the code";
    std::string text = "'";
    text += token.raw;
    text += '\'';
    return text;
  }
  Status Expected(std::string_view what) const {
    return SqlError(
        code_, Peek(at_).offset,
        "expected " + std::string(what) + " but found " + Describe(at_));
  }
  Status Keyword(std::string_view word) {
    if (!IsKeyword(at_, word)) return Expected(word);
    ++at_;
    return Status::Ok();
  }
  Status Symbol(std::string_view symbol) {
    if (!IsSymbol(at_, symbol)) {
      std::string quoted = "'";
      quoted += symbol;
      quoted += '\'';
      return Expected(quoted);
    }
    ++at_;
    return Status::Ok();
  }
  Result<std::string> Name(std::string_view what) {
    if (!IsName(at_)) return Expected(what);
    return tokens_[at_++].value;
  }
  Status EndOfStatement() {
    if (IsSymbol(at_, ";")) {
      ++at_;
      return Status::Ok();
    }
    if (Peek(at_).kind == TokenKind::kEnd) return Status::Ok();
    return Expected("';'");
  }

  Status Statement(SqlProgram& program) {
    const size_t start = Peek(at_).offset;
    if (Status s = Keyword("CREATE"); !s.ok()) return s;
    if (IsKeyword(at_, "OR")) {
      ++at_;
      if (Status s = Keyword("REPLACE"); !s.ok()) return s;
    }
    if (IsKeyword(at_, "STREAM")) {
      ++at_;
      return Stream(program);
    }
    if (IsKeyword(at_, "PUMP")) {
      ++at_;
      return PumpStatement(program, start);
    }
    return Expected("STREAM or PUMP");
  }

  Status Stream(SqlProgram& program) {
    const size_t name_at = Peek(at_).offset;
    auto name = Name("a stream name");
    if (!name.ok()) return name.status();
    if (program.FindStream(*name) != nullptr ||
        Upper(*name) == Upper(source_)) {
      return SqlError(code_, name_at,
                      "stream \"" + *name + "\" is already defined");
    }
    InApplicationStream stream;
    stream.name =
        Peek(at_ - 1).kind == TokenKind::kIdentifier ? Upper(*name) : *name;
    if (Status s = Symbol("("); !s.ok()) return s;
    while (true) {
      const size_t column_at = Peek(at_).offset;
      auto column = Name("a column name");
      if (!column.ok()) return column.status();
      // Unquoted names are upper case, as in KDA (and in its JSON output).
      if (Peek(at_ - 1).kind == TokenKind::kIdentifier) {
        *column = Upper(*column);
      }
      for (const SqlColumn& existing : stream.columns) {
        if (Upper(existing.name) == Upper(*column)) {
          return SqlError(code_, column_at,
                          "column \"" + *column + "\" is defined twice");
        }
      }
      const size_t type_at = Peek(at_).offset;
      if (Peek(at_).kind != TokenKind::kIdentifier) return Expected("a type");
      std::string type_text = tokens_[at_++].value;
      if (IsKeyword(at_ - 1, "DOUBLE") && IsKeyword(at_, "PRECISION")) ++at_;
      if (IsSymbol(at_, "(")) {  // VARCHAR(8), DECIMAL(10, 2)
        if (match_[at_] == 0) return Expected("')'");
        at_ = match_[at_] + 1;
      }
      SqlColumn parsed{*column, SqlType::kVarchar};
      if (!ParseSqlType(type_text, parsed.type)) {
        return SqlError(code_, type_at,
                        "unknown type " + type_text +
                            " (VARCHAR, CHAR, INTEGER, BIGINT, SMALLINT, "
                            "TINYINT, DOUBLE, REAL, DECIMAL, BOOLEAN, "
                            "TIMESTAMP)");
      }
      if (IsKeyword(at_, "NOT") && IsKeyword(at_ + 1, "NULL")) at_ += 2;
      stream.columns.push_back(std::move(parsed));
      if (IsSymbol(at_, ",")) {
        ++at_;
        continue;
      }
      if (Status s = Symbol(")"); !s.ok()) return s;
      break;
    }
    if (IsKeyword(at_, "DESCRIPTION") &&
        Peek(at_ + 1).kind == TokenKind::kString) {
      at_ += 2;
    }
    program.streams.push_back(std::move(stream));
    return EndOfStatement();
  }

  Status PumpStatement(SqlProgram& program, size_t start) {
    Pump pump;
    pump.position = start;
    auto name = Name("a pump name");
    if (!name.ok()) return name.status();
    pump.name = *name;
    for (const Pump& other : program.pumps) {
      if (Upper(other.name) == Upper(pump.name)) {
        return SqlError(code_, Peek(at_ - 1).offset,
                        "pump \"" + pump.name + "\" is already defined");
      }
    }
    for (std::string_view word : {"AS", "INSERT", "INTO"}) {
      if (Status s = Keyword(word); !s.ok()) return s;
    }
    const size_t target_at = Peek(at_).offset;
    auto target = Name("the name of a stream");
    if (!target.ok()) return target.status();
    const InApplicationStream* stream = program.FindStream(*target);
    if (stream == nullptr) {
      return SqlError(code_, target_at,
                      "stream \"" + *target +
                          "\" is not defined: CREATE STREAM it before the "
                          "pump");
    }
    pump.target = stream->name;
    if (IsSymbol(at_, "(")) {
      ++at_;
      while (true) {
        const size_t column_at = Peek(at_).offset;
        auto column = Name("a column name");
        if (!column.ok()) return column.status();
        size_t index = 0;
        while (index < stream->columns.size() &&
               Upper(stream->columns[index].name) != Upper(*column)) {
          ++index;
        }
        if (index == stream->columns.size()) {
          return SqlError(code_, column_at,
                          "stream \"" + stream->name + "\" has no column \"" +
                              *column + "\"");
        }
        pump.target_columns.push_back(index);
        if (IsSymbol(at_, ",")) {
          ++at_;
          continue;
        }
        if (Status s = Symbol(")"); !s.ok()) return s;
        break;
      }
    } else {
      for (size_t i = 0; i < stream->columns.size(); ++i) {
        pump.target_columns.push_back(i);
      }
    }
    if (Status s = Keyword("SELECT"); !s.ok()) return s;
    const size_t select_at = Peek(at_ - 1).offset;
    if (IsKeyword(at_, "STREAM")) ++at_;
    size_t end = at_;
    while (Peek(end).kind != TokenKind::kEnd && !IsSymbol(end, ";")) {
      if (IsSymbol(end, "(") && match_[end] != 0) {
        end = match_[end] + 1;
        continue;
      }
      if (IsSymbol(end, ")")) {
        return SqlError(code_, Peek(end).offset, "')' without '('");
      }
      if (IsSymbol(end, "(")) {
        return SqlError(code_, Peek(end).offset, "'(' is not closed");
      }
      ++end;
    }
    if (Status s = Select(pump, select_at, at_, end); !s.ok()) return s;
    at_ = end;
    if (Status s = EndOfStatement(); !s.ok()) return s;
    program.pumps.push_back(std::move(pump));
    return Status::Ok();
  }

  // Translates the SELECT body [begin, end) of `pump`.
  Status Select(Pump& pump, size_t select_at, size_t begin, size_t end) {
    Emitter out;
    out.Add("SELECT", select_at, true);
    enum class Clause { kList, kFrom, kWhere, kGroupBy, kHaving };
    Clause clause = Clause::kList;
    bool has_from = false;
    bool has_group_by = false;
    std::optional<size_t> aggregate_at;
    int depth = 0;  // of parentheses
    size_t i = begin;
    if (i == end) return SqlError(code_, Peek(i).offset, "an empty SELECT");
    // With GROUP BY, a ROWTIME of the select list outside any call is the
    // end of the row's window, as in KDA (SQLite would give the ROWTIME of
    // one row of the group). ?3 is the width, bound when windows close.
    bool grouped = false;
    for (size_t j = begin; j < end; ++j) {
      if (IsSymbol(j, "(") && match_[j] != 0) j = match_[j];
      if (IsKeyword(j, "GROUP") && IsKeyword(j + 1, "BY")) grouped = true;
    }
    while (i < end) {
      const Token& token = tokens_[i];
      if (clause == Clause::kList && !aggregate_at && IsAggregate(i)) {
        aggregate_at = token.offset;
      }
      if (grouped && clause == Clause::kList && depth == 0) {
        const bool qualified = IsName(i) && IsSymbol(i + 1, ".") &&
                               IsKeyword(i + 2, "ROWTIME") &&
                               !IsSymbol(i + 3, "(");
        const bool bare = IsKeyword(i, "ROWTIME") && !IsSymbol(i + 1, "(") &&
                          !(i > begin && IsSymbol(i - 1, "."));
        if (qualified || bare) {
          std::string end_of_window = "(sluice_step(MAX(";
          if (qualified) {
            end_of_window += token.raw;
            end_of_window += '.';
          }
          end_of_window += "ROWTIME), ?3) + ?3)";
          out.Add(end_of_window, token.offset, false);
          i += qualified ? 3 : 1;
          continue;
        }
      }
      if (depth > 0) {
        auto next = Term(pump, i, out, false);
        if (!next.ok()) return next.status();
        if (*next == i + 1 && IsSymbol(i, "(")) ++depth;
        if (*next == i + 1 && IsSymbol(i, ")")) --depth;
        i = *next;
        continue;
      }
      if (IsKeyword(i, "FROM") && clause == Clause::kList) {
        clause = Clause::kFrom;
        has_from = true;
        out.Add(token.raw, token.offset, true);
        if (Status s = From(pump, i, end, out); !s.ok()) return s;
        continue;
      }
      if (IsKeyword(i, "WHERE") && clause == Clause::kFrom) {
        clause = Clause::kWhere;
      } else if (IsKeyword(i, "GROUP") && IsKeyword(i + 1, "BY") &&
                 (clause == Clause::kFrom || clause == Clause::kWhere)) {
        clause = Clause::kGroupBy;
        has_group_by = true;
        out.Add("GROUP BY", token.offset, false);
        i += 2;
        continue;
      } else if (IsKeyword(i, "HAVING") && clause == Clause::kGroupBy) {
        clause = Clause::kHaving;
      } else {
        for (std::string_view word : {"ORDER", "LIMIT", "UNION", "JOIN",
                                      "WINDOW", "OVER", "WINDOWED"}) {
          if (IsKeyword(i, word)) {
            return SqlError(code_, token.offset,
                            Upper(word) +
                                " is not supported in a pump (docs/"
                                "analytics.md lists the subset)");
          }
        }
      }
      auto next = Term(pump, i, out, clause == Clause::kGroupBy);
      if (!next.ok()) return next.status();
      if (*next == i + 1 && IsSymbol(i, "(")) ++depth;
      i = *next;
    }
    if (!has_from) {
      return SqlError(
          code_, Peek(end).offset,
          "the SELECT has no FROM \"" + std::string(source_) + "\"");
    }
    if (has_group_by && pump.window_millis == 0) {
      return SqlError(
          code_, pump.position,
          "a GROUP BY needs a tumbling window term on ROWTIME, such as "
          "STEP(\"" +
              std::string(source_) +
              "\".ROWTIME BY INTERVAL '60' SECOND) or FLOOR(\"" +
              std::string(source_) +
              "\".ROWTIME TO MINUTE): without one nothing is ever emitted");
    }
    if (!has_group_by && aggregate_at) {
      return SqlError(code_, *aggregate_at,
                      "an aggregate needs GROUP BY with a tumbling window "
                      "term on ROWTIME (STEP or FLOOR)");
    }
    pump.sql = std::move(out.sql);
    pump.offsets = std::move(out.offsets);
    return Status::Ok();
  }

  // Whether the call at `i` is an aggregate: COUNT, SUM, AVG, ... or MIN /
  // MAX of one argument (of two or more they are SQLite's scalar ones).
  bool IsAggregate(size_t i) const {
    if (!IsSymbol(i + 1, "(") || match_[i + 1] == 0) return false;
    for (std::string_view word :
         {"COUNT", "SUM", "AVG", "TOTAL", "GROUP_CONCAT"}) {
      if (IsKeyword(i, word)) return true;
    }
    if (!IsKeyword(i, "MIN") && !IsKeyword(i, "MAX")) return false;
    for (size_t j = i + 2; j < match_[i + 1]; ++j) {
      if (IsSymbol(j, "(") && match_[j] != 0) j = match_[j];
      if (IsSymbol(j, ",")) return false;
    }
    return true;
  }

  // After FROM (at `i`): the source, an optional alias; moves `i` past
  // them.
  Status From(Pump& pump, size_t& i, size_t end, Emitter& out) {
    ++i;
    if (i >= end || !IsName(i)) {
      return SqlError(code_, Peek(i).offset,
                      "expected \"" + std::string(source_) + "\" after FROM");
    }
    if (Upper(tokens_[i].value) != Upper(source_)) {
      return SqlError(code_, tokens_[i].offset,
                      "a pump reads from the input stream \"" +
                          std::string(source_) + "\", not \"" +
                          tokens_[i].value + "\"");
    }
    pump.source_token = std::string(tokens_[i].raw);
    out.Add(tokens_[i].raw, tokens_[i].offset, true);
    ++i;
    if (i < end && IsKeyword(i, "AS")) {
      out.Add("AS", tokens_[i].offset, true);
      ++i;
      if (i >= end || !IsName(i)) {
        return SqlError(code_, Peek(i).offset, "expected an alias after AS");
      }
      out.Add(tokens_[i].raw, tokens_[i].offset, true);
      ++i;
    } else if (i < end && IsName(i) && !IsKeyword(i, "WHERE") &&
               !IsKeyword(i, "GROUP")) {
      out.Add(tokens_[i].raw, tokens_[i].offset, true);
      ++i;
    }
    if (i < end && !IsKeyword(i, "WHERE") && !IsKeyword(i, "GROUP")) {
      return SqlError(code_, tokens_[i].offset,
                      "expected WHERE, GROUP BY or the end of the pump but "
                      "found " +
                          Describe(i) + " (joins are not supported)");
    }
    return Status::Ok();
  }

  // Emits the term at `i` (a token, or a STEP/FLOOR/INTERVAL construct);
  // returns the index after it.
  Result<size_t> Term(Pump& pump, size_t i, Emitter& out, bool in_group_by) {
    const Token& token = tokens_[i];
    if (IsKeyword(i, "INTERVAL")) {
      auto millis = Interval(i);
      if (!millis.ok()) return millis.status();
      out.Add(std::to_string(*millis), token.offset, false);
      return i + 3;
    }
    const bool step = IsKeyword(i, "STEP") && IsSymbol(i + 1, "(");
    const bool floor = IsKeyword(i, "FLOOR") && IsSymbol(i + 1, "(");
    if (step || floor) {
      const size_t open = i + 1;
      const size_t close = match_[open];
      // The BY or TO at depth 1.
      size_t split = 0;
      for (size_t j = open + 1; j < close; ++j) {
        if (IsSymbol(j, "(")) {
          j = match_[j];
          continue;
        }
        if ((step && IsKeyword(j, "BY")) || (floor && IsKeyword(j, "TO"))) {
          split = j;
          break;
        }
      }
      if (split == 0 && step) {
        return SqlError(code_, token.offset,
                        "STEP needs BY: STEP(<expression> BY INTERVAL 'N' "
                        "SECOND|MINUTE|HOUR)");
      }
      if (split != 0) {
        if (split == open + 1) {
          return SqlError(code_, tokens_[split].offset,
                          "expected an expression before " + Describe(split));
        }
        bool on_rowtime = false;
        for (size_t j = open + 1; j < split; ++j) {
          if (IsKeyword(j, "ROWTIME")) on_rowtime = true;
        }
        std::optional<int64_t> width;  // literal width, in ms (or units)
        Emitter width_text;
        if (floor) {
          width = UnitMillis(Peek(split + 1).value);
          if (Peek(split + 1).kind != TokenKind::kIdentifier || !width ||
              split + 2 != close) {
            return SqlError(code_, Peek(split + 1).offset,
                            "FLOOR(... TO unit) takes SECOND, MINUTE, HOUR "
                            "or DAY");
          }
        } else if (IsKeyword(split + 1, "INTERVAL")) {
          auto millis = Interval(split + 1);
          if (!millis.ok()) return millis.status();
          if (split + 4 != close) {
            return SqlError(code_, Peek(split + 4).offset,
                            "expected ')' after the interval");
          }
          width = *millis;
        } else if (split + 2 == close &&
                   Peek(split + 1).kind == TokenKind::kNumber) {
          int64_t value = 0;
          std::string_view text = Peek(split + 1).raw;
          auto [ptr, ec] =
              std::from_chars(text.data(), text.data() + text.size(), value);
          if (ec != std::errc() || ptr != text.data() + text.size() ||
              value <= 0) {
            return SqlError(code_, Peek(split + 1).offset,
                            "STEP's width must be a positive whole number");
          }
          width = value;
        } else {
          return SqlError(code_, Peek(split + 1).offset,
                          "STEP(... BY x) takes INTERVAL 'N' unit or a "
                          "positive whole number");
        }
        if (on_rowtime && in_group_by) {
          if (pump.window_millis != 0 && pump.window_millis != *width) {
            return SqlError(code_, token.offset,
                            "a pump has one tumbling window; this term "
                            "names another width");
          }
          pump.window_millis = *width;
        }
        out.Add("sluice_step(", token.offset, false);
        for (size_t j = open + 1; j < split;) {
          auto next = Term(pump, j, out, false);
          if (!next.ok()) return next.status();
          j = *next;
        }
        out.Add(", " + std::to_string(*width) + ")", tokens_[split].offset,
                false);
        return close + 1;
      }
    }
    if ((IsKeyword(i, "CHAR_LENGTH") || IsKeyword(i, "CHARACTER_LENGTH")) &&
        IsSymbol(i + 1, "(")) {
      // SQLite's length() counts the characters of a text.
      out.Add("length", token.offset, false);
      return i + 1;
    }
    out.Add(token.raw, token.offset, true);
    return i + 1;
  }

  // INTERVAL 'N' unit at `i`, in ms.
  Result<int64_t> Interval(size_t i) {
    const Token& amount = Peek(i + 1);
    int64_t value = 0;
    if (amount.kind == TokenKind::kString) {
      auto [ptr, ec] =
          std::from_chars(amount.value.data(),
                          amount.value.data() + amount.value.size(), value);
      if (ec != std::errc() ||
          ptr != amount.value.data() + amount.value.size() || value <= 0) {
        value = 0;
      }
    }
    if (value == 0) {
      return SqlError(code_, amount.offset,
                      "INTERVAL takes a positive whole number in quotes, "
                      "e.g. INTERVAL '60' SECOND");
    }
    std::optional<int64_t> unit = UnitMillis(Peek(i + 2).value);
    if (Peek(i + 2).kind != TokenKind::kIdentifier || !unit) {
      return SqlError(code_, Peek(i + 2).offset,
                      "expected SECOND, MINUTE, HOUR or DAY after INTERVAL "
                      "'N'");
    }
    if (value > std::numeric_limits<int64_t>::max() / *unit) {
      // value * unit would overflow (to 0 or a negative width).
      return SqlError(code_, amount.offset, "the INTERVAL is too long");
    }
    return value * *unit;
  }

  std::string_view code_;
  std::string_view source_;
  std::vector<Token> tokens_;
  std::vector<size_t> match_;
  size_t at_ = 0;
};

}  // namespace

bool ParseSqlType(std::string_view text, SqlType& type) {
  const std::string upper = Upper(text);
  if (upper == "VARCHAR" || upper == "CHAR" || upper == "CHARACTER" ||
      upper == "STRING") {
    type = SqlType::kVarchar;
  } else if (upper == "INTEGER" || upper == "INT" || upper == "BIGINT" ||
             upper == "SMALLINT" || upper == "TINYINT") {
    type = SqlType::kInteger;
  } else if (upper == "DOUBLE" || upper == "REAL" || upper == "FLOAT" ||
             upper == "DECIMAL" || upper == "NUMERIC") {
    type = SqlType::kDouble;
  } else if (upper == "BOOLEAN") {
    type = SqlType::kBoolean;
  } else if (upper == "TIMESTAMP") {
    type = SqlType::kTimestamp;
  } else {
    return false;
  }
  return true;
}

std::string_view SqliteType(SqlType type) {
  switch (type) {
    case SqlType::kVarchar:
      return "TEXT";
    case SqlType::kDouble:
      return "REAL";
    case SqlType::kInteger:
    case SqlType::kBoolean:
    case SqlType::kTimestamp:
      return "INTEGER";
  }
  return "TEXT";
}

const InApplicationStream* SqlProgram::FindStream(std::string_view name) const {
  for (const InApplicationStream& stream : streams) {
    if (Upper(stream.name) == Upper(name)) return &stream;
  }
  return nullptr;
}

Result<SqlProgram> ParseSqlProgram(std::string_view code,
                                   std::string_view source) {
  auto tokens = Tokenize(code);
  if (!tokens.ok()) return tokens.status();
  Parser parser(code, source, std::move(tokens).value());
  return parser.Parse();
}

std::string PositionText(std::string_view code, size_t offset) {
  size_t line = 1;
  size_t column = 1;
  for (size_t i = 0; i < offset && i < code.size(); ++i) {
    if (code[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  std::string text = "line ";
  text += std::to_string(line);
  text += ", column ";
  text += std::to_string(column);
  return text;
}

Status SqlError(std::string_view code, size_t offset, std::string_view reason) {
  std::string message = "SQL error at ";
  message += PositionText(code, offset);
  message += ": ";
  message += reason;
  return Status(ErrorCode::kInvalidArgument, std::move(message));
}

std::string Upper(std::string_view text) {
  std::string upper(text);
  for (char& c : upper) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return upper;
}

std::string QuoteIdentifier(std::string_view name) {
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

}  // namespace sluice::analytics
