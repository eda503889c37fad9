#include "server/consumers/webhook.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>

namespace sluice::consumers {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;

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
  net::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  bhttp::request<bhttp::string_body> request(bhttp::verb::post, url.target, 11);
  request.set(bhttp::field::host, url.host + ":" + url.port);
  request.set(bhttp::field::user_agent, "sluice-alerts");
  request.set(bhttp::field::content_type, "application/json");
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = std::string(body);
  request.prepare_payload();
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> response;
  beast::error_code error;
  std::string step = "resolve";

  // One deadline covers connect, write and read: tcp_stream's expiry.
  resolver.async_resolve(
      url.host, url.port,
      [&](beast::error_code ec, tcp::resolver::results_type results) {
        if (ec) {
          error = ec;
          return;
        }
        step = "connect";
        stream.expires_after(timeout);
        stream.async_connect(
            results, [&](beast::error_code ec2, const tcp::endpoint&) {
              if (ec2) {
                error = ec2;
                return;
              }
              step = "send";
              bhttp::async_write(
                  stream, request, [&](beast::error_code ec3, size_t) {
                    if (ec3) {
                      error = ec3;
                      return;
                    }
                    step = "read the answer";
                    bhttp::async_read(
                        stream, buffer, response,
                        [&](beast::error_code ec4, size_t) { error = ec4; });
                  });
            });
      });
  // The resolver has no deadline of its own; bound it with the same one.
  io.run_for(timeout + std::chrono::milliseconds(100));
  if (!io.stopped()) {
    return Unavailable("webhook " + url.host + ":" + url.port + url.target +
                       ": timed out (" + step + ")");
  }
  if (error) {
    return Unavailable("webhook " + url.host + ":" + url.port + url.target +
                       ": " + step + " failed: " + error.message());
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  const unsigned status = response.result_int();
  if (status < 200 || status > 299) {
    return Unavailable("webhook " + url.host + ":" + url.port + url.target +
                       " answered " + std::to_string(status));
  }
  return Status::Ok();
}

}  // namespace sluice::consumers
