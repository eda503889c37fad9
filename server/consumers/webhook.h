// A minimal HTTP/1.1 client for the alerts handler's webhook output: one
// POST of a JSON body to an http:// URL, with a deadline for the whole
// exchange. Plain HTTP only (a local receiver, or a proxy in front of a
// TLS endpoint). Blocking: called only from the alerts handler's delivery
// thread, never from an I/O thread.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace sluice::consumers {

struct WebhookUrl {
  std::string host;
  std::string port;    // "80" unless given
  std::string target;  // path and query, "/" at least
};

// kInvalidArgument naming `what` for anything but http://host[:port][/path].
Result<WebhookUrl> ParseWebhookUrl(std::string_view url, std::string_view what);

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// POSTs `body` as application/json and reads the answer. OK for a 2xx
// status; kServiceUnavailable naming the status, the connection error or the
// timeout otherwise.
Status PostJson(const WebhookUrl& url, const HttpHeaders& headers,
                std::string_view body, std::chrono::milliseconds timeout);

}  // namespace sluice::consumers
