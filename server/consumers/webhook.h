// The alerts handler's webhook output: one POST of a JSON body to an
// http:// URL through the server's outbound client (server/http/
// outbound_client.h), with a deadline for the whole exchange. Blocking:
// called only from the alerts handler's delivery thread, never from an I/O
// thread.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "server/http/outbound_client.h"

namespace sluice::consumers {

// A webhook's address (http:// only).
using WebhookUrl = http::OutboundUrl;

// kInvalidArgument naming `what` for anything but http://host[:port][/path].
Result<WebhookUrl> ParseWebhookUrl(std::string_view url, std::string_view what);

using HttpHeaders = http::OutboundHeaders;

// POSTs `body` as application/json and reads the answer. OK for a 2xx
// status; kServiceUnavailable naming the status, the connection error or the
// timeout otherwise.
Status PostJson(const WebhookUrl& url, const HttpHeaders& headers,
                std::string_view body, std::chrono::milliseconds timeout);

}  // namespace sluice::consumers
