#include "server/firehose/http_endpoint_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace sluice::firehose {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

HttpExchange Failed(std::string code, const std::string& what,
                    const HttpEndpointUrl& url, const beast::error_code& ec) {
  HttpExchange exchange;
  exchange.failure =
      HttpEndpointFailure{std::move(code), what + " " + url.host + ":" +
                                               url.port + ": " + ec.message()};
  return exchange;
}

// Runs the handlers queued on `context` to completion.
void RunAll(net::io_context& context) {
  context.restart();
  context.run();
}

}  // namespace

HttpExchange PostToHttpEndpoint(const HttpEndpointUrl& url,
                                const HttpEndpointRequest& request,
                                std::chrono::milliseconds timeout) {
  // Asynchronous operations on a private io_context, run on this thread:
  // Beast's timeouts apply only to asynchronous operations.
  net::io_context context;
  beast::error_code ec;

  tcp::resolver resolver(context);
  tcp::resolver::results_type endpoints;
  bool resolved = false;
  resolver.async_resolve(
      url.host, url.port,
      [&](const beast::error_code& error, tcp::resolver::results_type results) {
        ec = error;
        endpoints = std::move(results);
        resolved = true;
      });
  context.run_for(timeout);
  if (!resolved) {
    resolver.cancel();
    RunAll(context);
    return Failed("HttpEndpoint.ConnectionFailed", "cannot resolve", url,
                  beast::error::timeout);
  }
  if (ec)
    return Failed("HttpEndpoint.ConnectionFailed", "cannot resolve", url, ec);

  beast::tcp_stream stream(context);
  stream.expires_after(timeout);
  stream.async_connect(endpoints, [&](const beast::error_code& error,
                                      const tcp::endpoint&) { ec = error; });
  RunAll(context);
  if (ec == beast::error::timeout) {
    return Failed("HttpEndpoint.RequestTimeout", "timed out connecting to", url,
                  ec);
  }
  if (ec) {
    return Failed("HttpEndpoint.ConnectionFailed", "cannot connect to", url,
                  ec);
  }

  http::request<http::string_body> post{http::verb::post, url.target, 11};
  const bool ipv6 = url.host.find(':') != std::string::npos;
  std::string host = ipv6 ? "[" + url.host + "]" : url.host;
  if (url.port != "80") host += ":" + url.port;
  post.set(http::field::host, host);
  post.set(http::field::user_agent, "Sluice");
  for (const auto& [name, value] : request.headers) post.set(name, value);
  post.body() = request.body;
  post.prepare_payload();
  http::async_write(stream, post, [&](const beast::error_code& error, size_t) {
    ec = error;
  });
  RunAll(context);
  if (!ec) {
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxHttpEndpointResponseBytes);
    parser.header_limit(64 * 1024);
    http::async_read(
        stream, buffer, parser,
        [&](const beast::error_code& error, size_t) { ec = error; });
    RunAll(context);
    if (!ec) {
      beast::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      HttpExchange exchange;
      exchange.status = static_cast<int>(parser.get().result_int());
      exchange.body = std::move(parser.get().body());
      return exchange;
    }
  }
  if (ec == beast::error::timeout) {
    return Failed("HttpEndpoint.RequestTimeout", "no answer in time from", url,
                  ec);
  }
  if (ec == http::error::body_limit || ec == http::error::header_limit) {
    return Failed("HttpEndpoint.ResponseTooLarge", "answer too large from", url,
                  ec);
  }
  return Failed("HttpEndpoint.ConnectionReset", "exchange failed with", url,
                ec);
}

}  // namespace sluice::firehose
