// The one HTTP client the server uses to call out: Firehose HttpEndpoint
// deliveries and the alerts handler's webhooks. One connection per request,
// HTTP/1.1 (over TLS for https://, verifying the certificate and the host
// name), every step under a deadline. Blocking: call it from a worker or
// engine thread, never from the server's I/O threads. Keeps Beast out of
// headers.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::http {

// Where to POST: a parsed http[s]:// URL (each caller parses and checks URLs
// with its own rules and messages).
struct OutboundUrl {
  bool tls = false;  // https://
  std::string host;
  std::string port;    // 80 or 443 when the URL names none
  std::string target;  // path and query, "/" when empty
};

using OutboundHeaders = std::vector<std::pair<std::string, std::string>>;

struct OutboundFailure {
  enum class Kind {
    kConnectionFailed,  // resolve or connect
    kTimeout,
    kTlsHandshake,
    kResponseTooLarge,
    kConnectionReset,  // any other transport error
  };
  Kind kind;
  std::string message;  // what failed, with which host:port, and why
};

// The answer, or why none came.
struct OutboundExchange {
  std::optional<OutboundFailure> failure;
  int status = 0;
  std::string body;
};

// POSTs `body` with `headers` (Host and User-Agent are set here) to `url`
// and reads the answer, of at most `max_response_bytes`. `timeout` bounds
// the resolve, and then the connect, write and read together.
OutboundExchange Post(const OutboundUrl& url, const OutboundHeaders& headers,
                      std::string_view body, std::chrono::milliseconds timeout,
                      size_t max_response_bytes);

}  // namespace sluice::http
