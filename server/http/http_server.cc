#include "server/http/http_server.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/thread_pool.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "common/log.h"
#include "server/http/connection.h"
#include "server/http/listener.h"

namespace sluice::http {

namespace net = boost::asio;
using tcp = net::ip::tcp;

struct HttpServer::Impl {
  Impl(const HttpOptions& opts, const ApiRouter& router)
      : options(opts),
        ioc(static_cast<int>(IoThreadCount(opts))),
        workers(opts.worker_threads == 0 ? 1 : opts.worker_threads),
        env{router, workers, options, registry,
            std::chrono::steady_clock::now()} {}

  static unsigned IoThreadCount(const HttpOptions& opts) {
    if (opts.io_threads != 0) return opts.io_threads;
    return std::max(1u, std::thread::hardware_concurrency());
  }

  // Declaration order is teardown order reversed: sessions left in the
  // io_context's queue unregister themselves when it is destroyed, so the
  // registry must outlive it, and the acceptor must die before its context.
  HttpOptions options;
  SessionRegistry registry;
  net::io_context ioc;
  net::thread_pool workers;
  SessionEnvironment env;
  // Keeps the I/O threads running while a request is on the worker pool and
  // nothing else is pending (after shutdown has closed the acceptor, say), so
  // that its answer still has a thread to be written on.
  std::optional<net::executor_work_guard<net::io_context::executor_type>>
      keep_running;
  std::shared_ptr<Listener> listener;
  std::vector<std::thread> io_threads;
  uint16_t port = 0;
  bool stopped = false;
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Shutdown(); }

Result<std::unique_ptr<HttpServer>> HttpServer::Start(
    const HttpOptions& options, const ApiRouter& router) {
  auto impl = std::make_unique<Impl>(options, router);
  boost::system::error_code ec;
  net::ip::address address = net::ip::make_address(options.host, ec);
  if (ec) {
    return Status(ErrorCode::kInvalidArgument,
                  "'" + options.host + "' is not an IP address");
  }
  Result<std::shared_ptr<Listener>> listener = Listener::Bind(
      impl->ioc, tcp::endpoint(address, options.port), impl->env);
  if (!listener.ok()) return listener.status();
  impl->listener = std::move(*listener);
  impl->port = impl->listener->local_endpoint().port();
  impl->listener->Start();

  impl->keep_running.emplace(impl->ioc.get_executor());
  unsigned threads = Impl::IoThreadCount(options);
  for (unsigned i = 0; i < threads; ++i) {
    impl->io_threads.emplace_back([ioc = &impl->ioc] { ioc->run(); });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

uint16_t HttpServer::port() const { return impl_->port; }
const std::string& HttpServer::host() const { return impl_->options.host; }

void HttpServer::Shutdown() {
  if (impl_->stopped) return;
  impl_->stopped = true;

  impl_->listener->Stop();
  for (auto& connection : impl_->registry.BeginShutdown()) {
    connection->Drain();
  }
  auto deadline =
      std::chrono::steady_clock::now() + impl_->options.shutdown_grace;
  if (!impl_->registry.WaitUntilEmpty(deadline)) {
    SLUICE_LOG(kWarn) << "shutdown grace period over; closing the connections "
                         "still open";
  }
  // Handlers still running finish before the pool joins; their answers go
  // nowhere once the I/O threads have stopped.
  impl_->keep_running.reset();
  impl_->ioc.stop();
  for (auto& thread : impl_->io_threads) thread.join();
  impl_->workers.join();
}

}  // namespace sluice::http
