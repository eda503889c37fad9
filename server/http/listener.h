// Accepts TCP connections and starts a ProtocolDetector for each, on its own
// strand; it hands the connection to an HTTP/1.1 or an HTTP/2 session.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <memory>

#include "common/status.h"
#include "server/http/connection.h"

namespace sluice::http {

// Owned by HttpServer (and by its own pending accept). Start() and Stop() may
// be called from any thread; everything else runs on the acceptor's strand.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // Opens, binds and listens; a busy port or a bad address is an error.
  static Result<std::shared_ptr<Listener>> Bind(
      boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& at,
      SessionEnvironment& env);

  Listener(boost::asio::io_context& ioc, SessionEnvironment& env);

  void Start();
  void Stop();  // stops accepting; connections already open carry on
  boost::asio::ip::tcp::endpoint local_endpoint() const;

 private:
  void DoAccept();
  void OnAccept(boost::beast::error_code ec,
                boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& ioc_;
  SessionEnvironment& env_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;  // backs off after accept errors
};

}  // namespace sluice::http
