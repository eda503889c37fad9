#include "server/firehose/http_endpoint_client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace sluice::firehose {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
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

// Sends `request` over a connected (and, for TLS, handshaken) `stream` and
// reads the answer; the stream's deadline is already running.
template <class Stream>
HttpExchange Exchange(net::io_context& context, Stream& stream,
                      const HttpEndpointUrl& url,
                      const HttpEndpointRequest& request) {
  http::request<http::string_body> post{http::verb::post, url.target, 11};
  const bool ipv6 = url.host.find(':') != std::string::npos;
  std::string host = ipv6 ? "[" + url.host + "]" : url.host;
  if (url.port != (url.tls ? "443" : "80")) host += ":" + url.port;
  post.set(http::field::host, host);
  post.set(http::field::user_agent, "Sluice");
  for (const auto& [name, value] : request.headers) post.set(name, value);
  post.body() = request.body;
  post.prepare_payload();
  beast::error_code ec;
  http::async_write(stream, post, [&](const beast::error_code& error, size_t) {
    ec = error;
  });
  RunAll(context);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxHttpEndpointResponseBytes);
  parser.header_limit(64 * 1024);
  if (!ec) {
    http::async_read(
        stream, buffer, parser,
        [&](const beast::error_code& error, size_t) { ec = error; });
    RunAll(context);
  }
  if (ec == beast::error::timeout) {
    return Failed("HttpEndpoint.RequestTimeout", "no answer in time from", url,
                  ec);
  }
  if (ec == http::error::body_limit || ec == http::error::header_limit) {
    return Failed("HttpEndpoint.ResponseTooLarge", "answer too large from", url,
                  ec);
  }
  if (ec) {
    return Failed("HttpEndpoint.ConnectionReset", "exchange failed with", url,
                  ec);
  }
  HttpExchange exchange;
  exchange.status = static_cast<int>(parser.get().result_int());
  exchange.body = std::move(parser.get().body());
  return exchange;
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
  if (ec) {
    return Failed("HttpEndpoint.ConnectionFailed", "cannot resolve", url, ec);
  }

  auto connect = [&](beast::tcp_stream& tcp_stream) {
    tcp_stream.expires_after(timeout);
    tcp_stream.async_connect(
        endpoints, [&](const beast::error_code& error, const tcp::endpoint&) {
          ec = error;
        });
    RunAll(context);
    if (ec == beast::error::timeout) {
      return Failed("HttpEndpoint.RequestTimeout", "timed out connecting to",
                    url, ec);
    }
    return Failed("HttpEndpoint.ConnectionFailed", "cannot connect to", url,
                  ec);
  };

  if (!url.tls) {
    beast::tcp_stream stream(context);
    if (HttpExchange failed = connect(stream); ec) return failed;
    HttpExchange exchange = Exchange(context, stream, url, request);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return exchange;
  }

  // TLS: the peer's certificate must chain to a trusted CA (OpenSSL's
  // default paths; SSL_CERT_FILE / SSL_CERT_DIR change them) and name the
  // URL's host.
  ssl::context tls(ssl::context::tls_client);
  tls.set_default_verify_paths(ec);
  if (ec) {
    return Failed("HttpEndpoint.SSLHandshakeFailure",
                  "cannot load trusted certificates for", url, ec);
  }
  tls.set_verify_mode(ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(context, tls);
  stream.set_verify_callback(ssl::host_name_verification(url.host));
  // SNI, so that name-based virtual hosts pick the right certificate (not
  // for an IP address, which SNI may not carry). SSL_ctrl, because the
  // SSL_set_tlsext_host_name macro casts old-style.
  beast::error_code not_ip;
  net::ip::make_address(url.host, not_ip);
  if (not_ip && SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME,
                         TLSEXT_NAMETYPE_host_name,
                         const_cast<char*>(url.host.c_str())) != 1) {
    return Failed("HttpEndpoint.SSLHandshakeFailure", "cannot set SNI for", url,
                  beast::error_code(static_cast<int>(::ERR_get_error()),
                                    net::error::get_ssl_category()));
  }
  if (HttpExchange failed = connect(beast::get_lowest_layer(stream)); ec) {
    return failed;
  }
  stream.async_handshake(ssl::stream_base::client,
                         [&](const beast::error_code& error) { ec = error; });
  RunAll(context);
  if (ec == beast::error::timeout) {
    return Failed("HttpEndpoint.RequestTimeout",
                  "timed out in the TLS handshake with", url, ec);
  }
  if (ec) {
    return Failed("HttpEndpoint.SSLHandshakeFailure",
                  "TLS handshake failed with", url, ec);
  }
  HttpExchange exchange = Exchange(context, stream, url, request);
  // A polite close_notify, bounded by what is left of the deadline; its
  // outcome changes nothing.
  stream.async_shutdown([](const beast::error_code&) {});
  RunAll(context);
  return exchange;
}

}  // namespace sluice::firehose
