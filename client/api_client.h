// A client for the JSON 1.1 APIs Sluice serves: Kinesis, Firehose and
// Sluice's own admin operations. One keep-alive connection, requests signed
// with SigV4, and AWS-style retries: throttling, 5xx answers and broken
// connections are retried with jittered exponential backoff, everything else
// is returned at once.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "client/sigv4_signer.h"
#include "common/json.h"
#include "common/status.h"

namespace sluice::client {

inline constexpr std::string_view kDefaultEndpoint = "http://127.0.0.1:4567";

struct ClientOptions {
  // "http://host:port" (https is not supported: Sluice listens in plain HTTP).
  std::string endpoint = std::string(kDefaultEndpoint);
  std::string region = "us-east-1";
  Credentials credentials{"sluice", "sluice", ""};
  // Attempts per call, the first included.
  int max_attempts = 5;
  std::chrono::milliseconds base_backoff{25};
  std::chrono::milliseconds max_backoff{2000};
  // For connecting, and for each whole request and answer.
  std::chrono::milliseconds timeout{30000};

  // The defaults, then what the usual AWS environment variables say:
  // AWS_ENDPOINT_URL_KINESIS, AWS_ENDPOINT_URL, AWS_REGION,
  // AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
  // AWS_SESSION_TOKEN.
  static ClientOptions FromEnvironment();
};

// How long to wait before attempt `attempt` + 1 (attempt >= 1): a random
// time below base_backoff * 2^attempt, capped at max_backoff ("full
// jitter", so clients that failed together do not retry together).
std::chrono::milliseconds JitteredBackoff(const ClientOptions& options,
                                          int attempt);

// Whether a failed call, or a refused entry of a batch, is worth another
// try: throttling and server-side failures, not a bad request.
bool IsTransient(ErrorCode code);

enum class Api { kKinesis, kFirehose, kSluiceAdmin };

// Not thread-safe: one ApiClient per thread.
class ApiClient {
 public:
  // kInvalidArgument for an endpoint that is not http://host[:port][/].
  static Result<std::unique_ptr<ApiClient>> Create(ClientOptions options);
  ~ApiClient();

  // Calls `operation` with the JSON `body`. An AWS error answer becomes a
  // Status whose code is the ErrorCode of its __type (kInternalFailure for a
  // type Sluice does not know) and whose message is the answer's message.
  Result<json::Document> Call(Api api, std::string_view operation,
                              std::string_view body);

  const ClientOptions& options() const { return options_; }

 private:
  struct Connection;
  ApiClient(ClientOptions options, std::string host, std::string port);

  // One attempt. `retryable` says whether a failure may be tried again.
  Result<json::Document> Attempt(Api api, std::string_view operation,
                                 std::string_view body, bool& retryable);

  ClientOptions options_;
  std::string host_;
  std::string port_;
  std::unique_ptr<Connection> connection_;  // null until the first call
};

}  // namespace sluice::client
