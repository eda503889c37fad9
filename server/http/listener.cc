#include "server/http/listener.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <chrono>

#include "common/log.h"
#include "server/http/protocol_detector.h"

namespace sluice::http {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

Listener::Listener(net::io_context& ioc, SessionEnvironment& env)
    : ioc_(ioc),
      env_(env),
      acceptor_(net::make_strand(ioc)),
      retry_timer_(acceptor_.get_executor()) {}

Result<std::shared_ptr<Listener>> Listener::Bind(net::io_context& ioc,
                                                 const tcp::endpoint& at,
                                                 SessionEnvironment& env) {
  auto listener = std::make_shared<Listener>(ioc, env);
  tcp::acceptor& acceptor = listener->acceptor_;
  beast::error_code ec;
  auto fail = [&](const char* what) {
    return Status(ErrorCode::kInternalFailure,
                  std::string("cannot ") + what + " " +
                      at.address().to_string() + ":" +
                      std::to_string(at.port()) + ": " + ec.message());
  };
  if (acceptor.open(at.protocol(), ec); ec) return fail("open a socket for");
  if (acceptor.set_option(net::socket_base::reuse_address(true), ec); ec) {
    return fail("set SO_REUSEADDR on");
  }
  if (acceptor.bind(at, ec); ec) return fail("bind");
  if (acceptor.listen(net::socket_base::max_listen_connections, ec); ec) {
    return fail("listen on");
  }
  return listener;
}

tcp::endpoint Listener::local_endpoint() const {
  beast::error_code ignored;
  return acceptor_.local_endpoint(ignored);
}

void Listener::Start() {
  net::dispatch(
      acceptor_.get_executor(),
      beast::bind_front_handler(&Listener::DoAccept, shared_from_this()));
}

void Listener::Stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    beast::error_code ignored;
    self->retry_timer_.cancel();
    self->acceptor_.close(ignored);
  });
}

void Listener::DoAccept() {
  if (!acceptor_.is_open()) return;
  acceptor_.async_accept(
      net::make_strand(ioc_),
      beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
}

void Listener::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    // Usually EMFILE: out of file descriptors. Retrying at once would spin;
    // a short pause lets connections close.
    SLUICE_LOG(kWarn) << "accept failed: " << ec.message();
    retry_timer_.expires_after(std::chrono::milliseconds(50));
    retry_timer_.async_wait(
        [self = shared_from_this()](beast::error_code wait_ec) {
          if (!wait_ec) self->DoAccept();
        });
    return;
  }
  socket.set_option(tcp::no_delay(true), ec);
  std::make_shared<ProtocolDetector>(std::move(socket), env_)->Start();
  DoAccept();
}

}  // namespace sluice::http
