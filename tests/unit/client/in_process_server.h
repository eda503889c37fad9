// The client library's tests run against a real server in the same process
// (in memory, port 0): this fixture starts it, holds a client of it, and
// makes streams.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "client/api_client.h"
#include "server/server.h"

namespace sluice::client {

// "prefix" + number, appended piecewise: GCC 12 raises a false -Wrestrict
// on `"literal" + std::to_string(n)`.
inline std::string Named(std::string prefix, int number) {
  prefix += std::to_string(number);
  return prefix;
}

class InProcessServerTest : public ::testing::Test {
 protected:
  // With `enforce_limits`, the server refuses what goes over AWS's shard
  // limits (PutRecords entries, GetRecords calls), as `--enforce-limits`;
  // with `test_clock` its clock moves only by SluiceAdmin.SetClock, as
  // `--test-clock`.
  void StartServer(bool enforce_limits, bool test_clock = false) {
    ServerConfig config;
    config.in_memory = true;
    config.http.port = 0;
    config.http.io_threads = 1;
    config.kinesis.enforce_limits = enforce_limits;
    config.test_clock = test_clock;
    auto server = Server::Start(config);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    options_.endpoint = "http://127.0.0.1:" + std::to_string(server_->port());
    auto client = ApiClient::Create(options_);
    ASSERT_TRUE(client.ok());
    client_ = std::move(*client);
  }

  // Calls a Kinesis operation that must succeed.
  json::Document Kinesis(std::string_view operation, const std::string& body) {
    auto answer = client_->Call(Api::kKinesis, operation, body);
    EXPECT_TRUE(answer.ok()) << operation << ": " << answer.status().ToString();
    if (!answer.ok()) return json::Document();
    return std::move(*answer);
  }

  void CreateStream(const std::string& name, int shards) {
    Kinesis("CreateStream", R"({"StreamName":")" + name + R"(","ShardCount":)" +
                                std::to_string(shards) + "}");
    WaitActive(name);
  }

  // A stream is CREATING or UPDATING for a moment; waits (with a deadline)
  // for ACTIVE.
  void WaitActive(const std::string& name) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (true) {
      auto summary = client_->Call(Api::kKinesis, "DescribeStreamSummary",
                                   R"({"StreamName":")" + name + R"("})");
      ASSERT_TRUE(summary.ok()) << summary.status().ToString();
      if (json::AsView(
              (*summary)["StreamDescriptionSummary"]["StreamStatus"]) ==
          "ACTIVE") {
        return;
      }
      ASSERT_LT(std::chrono::steady_clock::now(), deadline);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  std::unique_ptr<Server> server_;
  ClientOptions options_;
  std::unique_ptr<ApiClient> client_;
};

}  // namespace sluice::client
