// The `sluice` binary: flags, config, Server, wait for a signal, Shutdown().
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "common/log.h"
#include "server/server.h"
#include "server/server_config.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;  // could not start, or failed while running
constexpr int kExitUsage = 2;    // bad command line or config

const char kUsage[] =
    "Usage: sluice <command> [flags]\n"
    "\n"
    "Commands:\n"
    "  serve     run the server (sluice serve --help for its flags)\n"
    "  version   print the version\n"
    "  help      this text\n";

int Serve(const std::vector<std::string>& args) {
  using sluice::Result;
  Result<sluice::ServeCommandLine> command_line =
      sluice::ParseServeCommandLine(args);
  if (!command_line.ok()) {
    std::cerr << "sluice: " << command_line.status().message() << "\n";
    return kExitUsage;
  }
  if (command_line->help) {
    std::cout << sluice::ServeHelpText();
    return kExitOk;
  }
  sluice::ServerConfig config;
  if (command_line->config_path) {
    Result<sluice::ServerConfig> loaded =
        sluice::LoadConfigFile(*command_line->config_path, config);
    if (!loaded.ok()) {
      std::cerr << "sluice: " << loaded.status().message() << "\n";
      return kExitUsage;
    }
    config = std::move(*loaded);
  }
  if (sluice::Status s = sluice::ApplyFlags(*command_line, config); !s.ok()) {
    std::cerr << "sluice: " << s.message() << "\n";
    return kExitUsage;
  }
  sluice::log::SetLevel(config.log_level);

  // Block the stop signals before any thread starts, so every thread inherits
  // the mask and only sigwait() below ever sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client hanging up is an error code, not death

  Result<std::unique_ptr<sluice::Server>> server =
      sluice::Server::Start(config);
  if (!server.ok()) {
    std::cerr << "sluice: " << server.status().message() << "\n";
    return kExitFailure;
  }
  std::printf(
      "sluice %s listening on http://%s:%u (%s)\n", SLUICE_VERSION,
      config.http.host.c_str(), static_cast<unsigned>((*server)->port()),
      config.in_memory ? "in memory" : ("data in " + config.data_dir).c_str());
  std::fflush(stdout);

  int received = 0;
  sigwait(&stop_signals, &received);
  SLUICE_LOG(kInfo) << "received "
                    << (received == SIGINT ? "SIGINT" : "SIGTERM")
                    << "; shutting down (again to stop at once)";
  // A second signal ends the process without waiting for the graceful path.
  pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr);
  (*server)->Shutdown();
  SLUICE_LOG(kInfo) << "stopped cleanly";
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return kExitUsage;
  }
  std::string command = args.front();
  args.erase(args.begin());
  if (command == "serve") return Serve(args);
  if (command == "version" || command == "--version") {
    std::cout << "sluice " << SLUICE_VERSION << "\n";
    return kExitOk;
  }
  if (command == "help" || command == "--help" || command == "-h") {
    std::cout << kUsage;
    return kExitOk;
  }
  std::cerr << "sluice: unknown command '" << command << "'\n" << kUsage;
  return kExitUsage;
}
