// The HTTP client that POSTs delivery requests to an HTTP endpoint
// destination: one connection per request, HTTP/1.1 (over TLS for https://,
// verifying the certificate and host name), every step under a deadline.
// Blocking: called on the delivery engine's thread (or a flush's worker
// thread), never on the server's I/O threads. Keeps Beast out of headers.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "server/firehose/http_endpoint.h"

namespace sluice::firehose {

// The largest answer read from an endpoint; a longer one is a failure.
inline constexpr size_t kMaxHttpEndpointResponseBytes = 1 << 20;

struct HttpExchange {
  // Set when no answer came: HttpEndpoint.ConnectionFailed (resolve or
  // connect), HttpEndpoint.RequestTimeout, HttpEndpoint.SSLHandshakeFailure,
  // HttpEndpoint.ResponseTooLarge, HttpEndpoint.ConnectionReset (any other
  // transport error).
  std::optional<HttpEndpointFailure> failure;
  int status = 0;
  std::string body;
};

// Sends `request` to `url` and reads the answer. `timeout` bounds the
// resolve, and then the connect, write and read together.
HttpExchange PostToHttpEndpoint(const HttpEndpointUrl& url,
                                const HttpEndpointRequest& request,
                                std::chrono::milliseconds timeout);

}  // namespace sluice::firehose
