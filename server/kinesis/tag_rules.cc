#include "server/kinesis/tag_rules.h"

#include <cctype>

namespace sluice::kinesis {
namespace {

Status InvalidCharacters() {
  return Status(ErrorCode::kInvalidArgument,
                "Some tags contain invalid characters. Valid characters: "
                "Unicode letters, digits, white space, _ . / = + - % @ :.");
}

}  // namespace

bool IsValidTagText(std::string_view text) {
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x80 || std::isalnum(byte) != 0) continue;
    switch (c) {
      case ' ':
      case '\t':
      case '\n':
      case '\r':
      case '_':
      case '.':
      case '/':
      case '=':
      case '+':
      case '-':
      case '%':
      case '@':
      case ':':
        continue;
      default:
        return false;
    }
  }
  return true;
}

bool HasReservedTagPrefix(std::string_view key) {
  if (key.size() < 4) return false;
  return std::tolower(static_cast<unsigned char>(key[0])) == 'a' &&
         std::tolower(static_cast<unsigned char>(key[1])) == 'w' &&
         std::tolower(static_cast<unsigned char>(key[2])) == 's' &&
         key[3] == ':';
}

Status CheckTagCharacters(const catalog::Tags& tags) {
  for (const auto& [key, value] : tags) {
    if (!IsValidTagText(key) || !IsValidTagText(value))
      return InvalidCharacters();
  }
  return Status::Ok();
}

Status CheckTagKeyCharacters(std::string_view key) {
  if (!IsValidTagText(key)) return InvalidCharacters();
  return Status::Ok();
}

}  // namespace sluice::kinesis
