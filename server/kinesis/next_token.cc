#include "server/kinesis/next_token.h"

#include <charconv>

#include "common/base64.h"

namespace sluice::kinesis {

// Layout before base64: "1:<issued epoch ms>:<resume after>". The version
// lets the layout change without misreading old tokens.
std::string EncodeNextToken(std::string_view resume_after, EpochMillis now) {
  std::string plain = "1:" + std::to_string(now) + ":";
  plain += resume_after;
  return Base64Encode(plain);
}

Result<std::string> DecodeNextToken(std::string_view token, EpochMillis now) {
  Status invalid(ErrorCode::kInvalidArgument, "Invalid NextToken.");
  std::optional<std::string> plain = Base64Decode(token);
  if (!plain || plain->rfind("1:", 0) != 0) return invalid;
  size_t colon = plain->find(':', 2);
  if (colon == std::string::npos) return invalid;
  EpochMillis issued = 0;
  const char* begin = plain->data() + 2;
  const char* end = plain->data() + colon;
  auto [ptr, ec] = std::from_chars(begin, end, issued);
  if (ec != std::errc() || ptr != end) return invalid;
  if (now - issued > kNextTokenLifetimeMillis) {
    return Status(ErrorCode::kExpiredNextToken,
                  "The timestamp of the NextToken has expired.");
  }
  return plain->substr(colon + 1);
}

}  // namespace sluice::kinesis
