#include "server/consumers/webhook.h"

#include <charconv>

namespace sluice::consumers {
namespace {

// An answer is read only to see its status; more than this is a failure.
constexpr size_t kMaxWebhookAnswerBytes = 64 * 1024;

Status Unavailable(std::string message) {
  return Status(ErrorCode::kServiceUnavailable, std::move(message));
}

}  // namespace

Result<WebhookUrl> ParseWebhookUrl(std::string_view url,
                                   std::string_view what) {
  constexpr std::string_view kScheme = "http://";
  auto invalid = [&] {
    return Status(
        ErrorCode::kInvalidArgument,
        std::string(what) + ": must be an http://host[:port][/path] URL");
  };
  if (url.substr(0, kScheme.size()) != kScheme) return invalid();
  url.remove_prefix(kScheme.size());
  const size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  WebhookUrl parsed;
  parsed.target =
      slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  const size_t colon = authority.rfind(':');
  parsed.port = "80";
  if (colon != std::string_view::npos &&
      authority.find(']') == std::string_view::npos) {
    std::string_view port = authority.substr(colon + 1);
    unsigned number = 0;
    auto [end, ec] =
        std::from_chars(port.data(), port.data() + port.size(), number);
    if (ec != std::errc() || end != port.data() + port.size() || number == 0 ||
        number > 65535) {
      return invalid();
    }
    parsed.port = std::string(port);
    authority = authority.substr(0, colon);
  }
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return invalid();
  }
  for (char c : parsed.target) {
    if (static_cast<unsigned char>(c) <= ' ') return invalid();
  }
  parsed.host = std::string(authority);
  return parsed;
}

Status PostJson(const WebhookUrl& url, const HttpHeaders& headers,
                std::string_view body, std::chrono::milliseconds timeout) {
  HttpHeaders with_type = headers;
  with_type.emplace_back("Content-Type", "application/json");
  http::OutboundExchange exchange =
      http::Post(url, with_type, body, timeout, kMaxWebhookAnswerBytes);
  const std::string where = "webhook " + url.host + ":" + url.port + url.target;
  if (exchange.failure) {
    return Unavailable(where + ": " + exchange.failure->message);
  }
  if (exchange.status < 200 || exchange.status > 299) {
    return Unavailable(where + " answered " + std::to_string(exchange.status));
  }
  return Status::Ok();
}

}  // namespace sluice::consumers
