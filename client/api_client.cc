#include "client/api_client.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cstdlib>
#include <limits>
#include <random>
#include <thread>

namespace sluice::client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::string_view TargetPrefix(Api api) {
  switch (api) {
    case Api::kKinesis:
      return "Kinesis_20131202";
    case Api::kFirehose:
      return "Firehose_20150804";
    case Api::kSluiceAdmin:
      return "SluiceAdmin";
  }
  return "";
}

// The SigV4 service name (Sluice's admin operations sign as Kinesis).
std::string_view SigningService(Api api) {
  return api == Api::kFirehose ? "firehose" : "kinesis";
}

const char* Env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

EpochMillis NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

bool IsTransient(ErrorCode code) {
  return code == ErrorCode::kProvisionedThroughputExceeded ||
         code == ErrorCode::kLimitExceeded ||
         code == ErrorCode::kServiceUnavailable ||
         code == ErrorCode::kInternalFailure;
}

ClientOptions ClientOptions::FromEnvironment() {
  ClientOptions options;
  if (const char* url = Env("AWS_ENDPOINT_URL_KINESIS")) {
    options.endpoint = url;
  } else if (const char* any = Env("AWS_ENDPOINT_URL")) {
    options.endpoint = any;
  }
  if (const char* region = Env("AWS_REGION")) {
    options.region = region;
  } else if (const char* fallback = Env("AWS_DEFAULT_REGION")) {
    options.region = fallback;
  }
  if (const char* key = Env("AWS_ACCESS_KEY_ID")) {
    options.credentials.access_key_id = key;
  }
  if (const char* secret = Env("AWS_SECRET_ACCESS_KEY")) {
    options.credentials.secret_access_key = secret;
  }
  if (const char* token = Env("AWS_SESSION_TOKEN")) {
    options.credentials.session_token = token;
  }
  return options;
}

struct ApiClient::Connection {
  asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
};

Result<std::unique_ptr<ApiClient>> ApiClient::Create(ClientOptions options) {
  std::string_view url = options.endpoint;
  auto bad = [&](std::string why) {
    return Status(ErrorCode::kInvalidArgument,
                  "endpoint '" + options.endpoint + "' " + why);
  };
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return bad("must start with http:// (Sluice serves plain HTTP)");
  }
  url.remove_prefix(kScheme.size());
  if (!url.empty() && url.back() == '/') url.remove_suffix(1);
  if (url.empty() || url.find('/') != std::string_view::npos) {
    return bad("must be http://host[:port]");
  }
  std::string host(url);
  std::string port = "80";
  if (size_t colon = url.rfind(':'); colon != std::string_view::npos) {
    host = std::string(url.substr(0, colon));
    port = std::string(url.substr(colon + 1));
    if (port.empty() ||
        port.find_first_not_of("0123456789") != std::string::npos) {
      return bad("has no valid port");
    }
  }
  return std::unique_ptr<ApiClient>(
      new ApiClient(std::move(options), std::move(host), std::move(port)));
}

ApiClient::ApiClient(ClientOptions options, std::string host, std::string port)
    : options_(std::move(options)),
      host_(std::move(host)),
      port_(std::move(port)) {}

ApiClient::~ApiClient() = default;

std::chrono::milliseconds JitteredBackoff(const ClientOptions& options,
                                          int attempt) {
  thread_local std::mt19937_64 random(std::random_device{}());
  const auto cap = std::min(
      options.max_backoff,
      options.base_backoff * (int64_t{1} << std::clamp(attempt, 0, 20)));
  std::uniform_int_distribution<int64_t> wait(0, cap.count());
  return std::chrono::milliseconds(wait(random));
}

Result<json::Document> ApiClient::Call(Api api, std::string_view operation,
                                       std::string_view body) {
  for (int attempt = 1;; ++attempt) {
    bool retryable = false;
    Result<json::Document> answer = Attempt(api, operation, body, retryable);
    if (answer.ok() || !retryable || attempt >= options_.max_attempts) {
      return answer;
    }
    std::this_thread::sleep_for(JitteredBackoff(options_, attempt));
  }
}

Result<json::Document> ApiClient::Attempt(Api api, std::string_view operation,
                                          std::string_view body,
                                          bool& retryable) {
  retryable = true;  // a broken connection is worth another try
  beast::error_code error;
  if (!connection_) {
    auto fresh = std::make_unique<Connection>();
    asio::ip::tcp::resolver resolver(fresh->io);
    auto addresses = resolver.resolve(host_, port_, error);
    if (error) {
      return Status(ErrorCode::kServiceUnavailable,
                    "cannot resolve " + host_ + ": " + error.message());
    }
    fresh->stream.expires_after(options_.timeout);
    fresh->stream.connect(addresses, error);
    if (error) {
      return Status(
          ErrorCode::kServiceUnavailable,
          "cannot connect to " + options_.endpoint + ": " + error.message());
    }
    connection_ = std::move(fresh);
  }

  const std::string target =
      std::string(TargetPrefix(api)) + "." + std::string(operation);
  const std::string host_header = host_ + ":" + port_;
  constexpr std::string_view kContentType = "application/x-amz-json-1.1";
  SignedHeaders signature =
      SignPost("/",
               {{"content-type", std::string(kContentType)},
                {"host", host_header},
                {"x-amz-target", target}},
               body, options_.region, SigningService(api), options_.credentials,
               NowMillis());

  http::request<http::string_body> request(http::verb::post, "/", 11);
  request.set(http::field::host, host_header);
  request.set(http::field::content_type, kContentType);
  request.set("X-Amz-Target", target);
  request.set("X-Amz-Date", signature.amz_date);
  request.set(http::field::authorization, signature.authorization);
  if (!options_.credentials.session_token.empty()) {
    request.set("X-Amz-Security-Token", options_.credentials.session_token);
  }
  request.keep_alive(true);
  request.body() = std::string(body);
  request.prepare_payload();

  Connection& connection = *connection_;
  http::response<http::string_body> response;
  connection.stream.expires_after(options_.timeout);
  http::write(connection.stream, request, error);
  if (!error) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    http::read(connection.stream, connection.buffer, parser, error);
    if (!error) response = parser.release();
  }
  if (error) {
    connection_.reset();
    return Status(
        ErrorCode::kServiceUnavailable,
        "request to " + options_.endpoint + " failed: " + error.message());
  }
  if (!response.keep_alive()) connection_.reset();

  json::Document document;
  if (response.body().empty()) {
    document.SetObject();  // CreateStream and others answer with nothing
  } else {
    document.Parse(response.body().data(), response.body().size());
  }
  const unsigned status = response.result_int();
  if (status == 200) {
    retryable = false;
    if (document.HasParseError()) {
      return Status(ErrorCode::kInternalFailure,
                    std::string(operation) + ": the answer is not JSON");
    }
    return document;
  }
  std::string type;
  std::string message = response.body();
  if (!document.HasParseError() && document.IsObject()) {
    if (auto it = document.FindMember("__type");
        it != document.MemberEnd() && it->value.IsString()) {
      type = json::AsView(it->value);
    }
    for (const char* name : {"message", "Message"}) {
      if (auto it = document.FindMember(name);
          it != document.MemberEnd() && it->value.IsString()) {
        message = json::AsView(it->value);
      }
    }
  }
  const ErrorCode code =
      ErrorCodeNamed(type, status == 503 ? ErrorCode::kServiceUnavailable
                                         : ErrorCode::kInternalFailure);
  retryable = IsTransient(code) || status >= 500;
  return Status(code, message);
}

}  // namespace sluice::client
