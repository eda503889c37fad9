// Minimal leveled logging to stderr. One line per call, written whole, so lines
// from different threads never interleave. stdout is kept for what users and
// tests read (the "listening on" line).
#pragma once

#include <optional>
#include <sstream>
#include <string_view>

namespace sluice::log {

enum class Level { kDebug, kInfo, kWarn, kError, kOff };

void SetLevel(Level level);
Level GetLevel();
std::optional<Level> ParseLevel(std::string_view name);  // "debug", "info", ...

// Writes "<utc time> <LEVEL> <message>\n" to stderr.
void Write(Level level, std::string_view message);

inline bool Enabled(Level level) { return level >= GetLevel(); }

// Collects one line and writes it when the statement ends.
class Line {
 public:
  explicit Line(Level level) : level_(level) {}
  Line(const Line&) = delete;
  Line& operator=(const Line&) = delete;
  ~Line() { Write(level_, out_.str()); }

  template <class T>
  Line& operator<<(const T& value) {
    out_ << value;
    return *this;
  }

 private:
  Level level_;
  std::ostringstream out_;
};

}  // namespace sluice::log

// SLUICE_LOG(kInfo) << "listening on " << port;  -- formats nothing unless the
// level is enabled.
#define SLUICE_LOG(level)                                     \
  if (!::sluice::log::Enabled(::sluice::log::Level::level)) { \
  } else                                                      \
    ::sluice::log::Line(::sluice::log::Level::level)
