#include "server/consumers/alerts_handler.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/unit/catalog/test_util.h"
#include "tests/unit/server/consumers/consumer_test_util.h"

namespace sluice::consumers {
namespace {

using catalog::test::HasError;
using catalog::test::IsOk;
using catalog::test::TempDir;
using test::kArrival;
using test::MakeBatch;
using test::Rows;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr auto kWait = std::chrono::seconds(20);

std::string Purchase(std::string_view user, std::string_view amount) {
  return R"({"event_type":"purchase","timestamp":"2026-12-02T07:01:00Z",)"
         R"("data":{"user_id":")" +
         std::string(user) + R"(","product_id":"p1","amount":)" +
         std::string(amount) + "}}";
}

std::string Settings(std::string_view outputs) {
  return R"({"rules": [{"name": "high_value_order",
      "match": {"event_type": "purchase", "data.amount": {">": 500}},
      "subject": "High-Value Order Detected",
      "message": {"order_amount": "{data.amount}", "user_id": "{data.user_id}",
                  "product_id": "{data.product_id}",
                  "timestamp": "{timestamp}", "coupon": "{data.coupon}",
                  "tags": ["vip", "{data.user_id}"], "level": 2}}],
    "outputs": )" +
         std::string(outputs) + "}";
}

std::vector<std::string> ReadLines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A loopback HTTP server that answers each POST with the next status of a
// script (then 200) and keeps the bodies it got.
class WebhookServer {
 public:
  explicit WebhookServer(std::vector<int> statuses)
      : statuses_(std::move(statuses)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(
        ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    socklen_t size = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    ::listen(fd_, 16);
    thread_ = std::thread([this] { Serve(); });
  }
  ~WebhookServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/hook";
  }
  int requests() const { return requests_.load(); }
  std::vector<std::string> delivered() {
    std::lock_guard lock(mu_);
    return delivered_;
  }
  std::vector<std::string> alert_ids() {
    std::lock_guard lock(mu_);
    return alert_ids_;
  }

 private:
  void Serve() {
    while (!stop_) {
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      std::string request;
      char buffer[4096];
      size_t body_start = std::string::npos;
      size_t length = 0;
      while (true) {
        const ssize_t n = ::read(client, buffer, sizeof buffer);
        if (n <= 0) break;
        request.append(buffer, static_cast<size_t>(n));
        if (body_start == std::string::npos) {
          const size_t end = request.find("\r\n\r\n");
          if (end == std::string::npos) continue;
          body_start = end + 4;
          std::string lower = request.substr(0, end);
          for (char& c : lower) c = static_cast<char>(std::tolower(c));
          const size_t header = lower.find("content-length:");
          if (header != std::string::npos) {
            length = std::stoul(lower.substr(header + 15));
          }
        }
        if (request.size() >= body_start + length) break;
      }
      const int index = requests_++;
      const int status = index < static_cast<int>(statuses_.size())
                             ? statuses_[static_cast<size_t>(index)]
                             : 200;
      if (status == 200 && body_start != std::string::npos) {
        std::lock_guard lock(mu_);
        delivered_.push_back(request.substr(body_start, length));
        const size_t id = request.find("X-Sluice-Alert-Id: ");
        if (id != std::string::npos) {
          alert_ids_.push_back(
              request.substr(id + 19, request.find("\r\n", id) - id - 19));
        }
      }
      const std::string answer = "HTTP/1.1 " + std::to_string(status) +
                                 " X\r\nContent-Length: 0\r\n"
                                 "Connection: close\r\n\r\n";
      (void)::write(client, answer.data(), answer.size());
      ::close(client);
    }
  }

  std::vector<int> statuses_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::vector<std::string> delivered_;  // guarded by mu_
  std::vector<std::string> alert_ids_;  // guarded by mu_
  std::thread thread_;
};

class FakeWriter : public StreamWriter {
 public:
  Result<std::string> PutToStream(std::string_view stream,
                                  std::string_view partition_key,
                                  std::string_view data) override {
    std::lock_guard lock(mu_);
    if (failures_left_ > 0) {
      --failures_left_;
      return Status(ErrorCode::kResourceNotFound, "no stream yet");
    }
    puts_.push_back(std::string(stream) + " " + std::string(partition_key) +
                    " " + std::string(data));
    return std::string("49000");
  }
  Result<std::string> PutToDeliveryStream(std::string_view delivery_stream,
                                          std::string_view data) override {
    std::lock_guard lock(mu_);
    puts_.push_back("firehose " + std::string(delivery_stream) + " " +
                    std::string(data));
    return std::string("id");
  }
  std::vector<std::string> puts() {
    std::lock_guard lock(mu_);
    return puts_;
  }
  int failures_left_ = 0;

 private:
  std::mutex mu_;
  std::vector<std::string> puts_;
};

class AlertsHandlerTest : public ::testing::Test {
 protected:
  std::unique_ptr<AlertsHandler> Make(const std::string& settings) {
    spec_ = test::MakeSpec("alerts", settings, dir_.path().string(), &clock_);
    spec_->environment.writer = &writer_;
    Result<std::unique_ptr<AlertsHandler>> handler =
        AlertsHandler::Create(spec_->spec);
    EXPECT_THAT(handler, IsOk());
    return handler.ok() ? std::move(handler).value() : nullptr;
  }

  Status MakeError(const std::string& settings) {
    spec_ = test::MakeSpec("alerts", settings, dir_.path().string(), &clock_);
    Result<std::unique_ptr<AlertsHandler>> handler =
        AlertsHandler::Create(spec_->spec);
    EXPECT_FALSE(handler.ok());
    return handler.ok() ? Status::Ok() : handler.status();
  }

  std::vector<std::string> Select(const std::string& sql) {
    return Rows(dir_.File("alerts/shop.db"), sql);
  }

  static void ExpectSuccess(const HandlerResult& result) {
    EXPECT_FALSE(result.function_error.has_value())
        << result.function_error.value_or("");
    EXPECT_TRUE(result.failed_items.empty());
  }

  TempDir dir_;
  ManualClock clock_{kArrival + 5000};
  FakeWriter writer_;
  std::unique_ptr<test::SpecHolder> spec_;
};

TEST_F(AlertsHandlerTest, RecordsAnAlertForEachMatchingRecord) {
  auto handler = Make(Settings("[]"));
  ASSERT_NE(handler, nullptr);
  ExpectSuccess(
      handler->Handle(MakeBatch({Purchase("u1", "612.5"), Purchase("u2", "500"),
                                 "not json", Purchase("u3", "\"1000.00\"")})));
  const std::string seq0 = test::MakeRecord(0, "").sequence_number;
  EXPECT_THAT(
      Select("SELECT rule, subject, message, raised_at, shard_id, "
             "sequence_number, arrival_time FROM alerts ORDER BY id"),
      ElementsAre(
          "rule=high_value_order|subject=High-Value Order Detected|"
          R"(message={"order_amount":612.5,"user_id":"u1","product_id":"p1",)"
          R"("timestamp":"2026-12-02T07:01:00Z","coupon":null,)"
          R"("tags":["vip","u1"],"level":2}|)"
          "raised_at=2026-12-02T07:05:14.042Z|shard_id=shardId-000000000000|"
          "sequence_number=" +
              seq0 + "|arrival_time=2026-12-02T07:05:09.042Z",
          HasSubstr(R"("order_amount":"1000.00","user_id":"u3")")));
}

TEST_F(AlertsHandlerTest, RedeliveryRaisesNothingNew) {
  const Batch batch = MakeBatch({Purchase("u1", "612.5"), Purchase("u2", "9")});
  {
    auto handler = Make(Settings("[]"));
    ASSERT_NE(handler, nullptr);
    ExpectSuccess(handler->Handle(batch));
    ExpectSuccess(handler->Handle(batch));
  }
  auto handler = Make(Settings("[]"));  // after a restart
  ASSERT_NE(handler, nullptr);
  ExpectSuccess(handler->Handle(batch));
  EXPECT_THAT(Select("SELECT count(*) FROM alerts"), ElementsAre("count(*)=1"));
}

TEST_F(AlertsHandlerTest, JsonlGetsEachAlertOnceAcrossRedeliveryAndRestart) {
  const std::string settings =
      Settings(R"([{"type": "jsonl", "path": "alerts/high.jsonl"}])");
  const auto file = dir_.path() / "alerts/high.jsonl";
  {
    auto handler = Make(settings);
    ASSERT_NE(handler, nullptr);
    ExpectSuccess(handler->Handle(MakeBatch({Purchase("u1", "612.5")})));
    ExpectSuccess(handler->Handle(MakeBatch({Purchase("u1", "612.5")})));
    ASSERT_TRUE(handler->WaitForDeliveries(kWait));
    ASSERT_THAT(ReadLines(file), SizeIs(1));
    EXPECT_THAT(ReadLines(file)[0],
                HasSubstr(R"("alert_id":"shop/high_value_order/)"
                          R"(shardId-000000000000/)"));
    EXPECT_THAT(ReadLines(file)[0],
                HasSubstr(R"("subject":"High-Value Order Detected",)"
                          R"("message":{"order_amount":612.5,)"));
  }
  // A crash after the line was written but before its mark was saved: put
  // the mark back to before the line, as if its commit never happened.
  const std::string first_line = ReadLines(file)[0];
  {
    Result<catalog::Database> db =
        catalog::Database::Open(dir_.File("alerts/shop.db"));
    ASSERT_THAT(db, IsOk());
    ASSERT_THAT(db->Exec("rewind",
                         "UPDATE sluice_alert_outputs SET "
                         "delivered_id = 0, file_size = 0"),
                IsOk());
  }
  auto handler = Make(settings);
  ASSERT_NE(handler, nullptr);
  ExpectSuccess(handler->Handle(MakeBatch({Purchase("u2", "700")}, 1)));
  ASSERT_TRUE(handler->WaitForDeliveries(kWait));
  const std::vector<std::string> lines = ReadLines(file);
  ASSERT_THAT(lines, SizeIs(2));
  EXPECT_EQ(lines[0], first_line);
  EXPECT_THAT(lines[1], HasSubstr(R"("user_id":"u2")"));
}

TEST_F(AlertsHandlerTest, WebhookThatFailsTwiceGetsTheAlertOnTheThirdTry) {
  WebhookServer server({500, 503});
  auto handler =
      Make(Settings(R"([{"type": "webhook", "url": ")" + server.url() +
                    R"(", "initial_backoff_seconds": 0.05,
                                 "headers": {"X-Token": "t"}}])"));
  ASSERT_NE(handler, nullptr);
  ExpectSuccess(handler->Handle(MakeBatch({Purchase("u1", "612.5")})));
  ASSERT_TRUE(handler->WaitForDeliveries(kWait));
  EXPECT_EQ(server.requests(), 3);
  ASSERT_THAT(server.delivered(), SizeIs(1));
  EXPECT_THAT(server.delivered()[0], HasSubstr(R"("order_amount":612.5)"));
  EXPECT_THAT(server.alert_ids(),
              ElementsAre(HasSubstr("shop/high_value_order/shardId-")));
  EXPECT_THAT(Select("SELECT count(*) FROM sluice_alert_undelivered"),
              ElementsAre("count(*)=0"));
}

TEST_F(AlertsHandlerTest, DeadWebhookGivesUpAfterItsBoundAndSaysSo) {
  // A port nobody listens on: every attempt is refused.
  std::string url;
  {
    WebhookServer closed({});
    url = closed.url();
  }
  auto handler = Make(Settings(R"([{"type": "webhook", "url": ")" + url +
                               R"(", "initial_backoff_seconds": 0.02,
                                 "retry_for_seconds": 60}])"));
  ASSERT_NE(handler, nullptr);
  ExpectSuccess(handler->Handle(MakeBatch({Purchase("u1", "612.5")})));
  // Within its bound the alert waits for the webhook...
  EXPECT_FALSE(handler->WaitForDeliveries(std::chrono::milliseconds(200)));
  // ...and past it is recorded as undelivered; the next alert is tried.
  clock_.Advance(61000);
  ASSERT_TRUE(handler->WaitForDeliveries(kWait));
  EXPECT_THAT(Select("SELECT output, alert_id, attempts >= 1, "
                     "last_error LIKE '%connect failed%' "
                     "FROM sluice_alert_undelivered"),
              ElementsAre("output=webhook|alert_id=1|attempts >= 1=1|"
                          "last_error LIKE '%connect failed%'=1"));
  EXPECT_THAT(Select("SELECT delivered_id FROM sluice_alert_outputs"),
              ElementsAre("delivered_id=1"));
}

TEST_F(AlertsHandlerTest, StreamOutputsPutTheAlertRecord) {
  writer_.failures_left_ = 1;  // the first put fails and is retried
  auto handler = Make(Settings(
      R"([{"type": "stream", "stream": "alerts",
           "initial_backoff_seconds": 0.01},
          {"type": "delivery_stream", "stream": "alerts-archive"}])"));
  ASSERT_NE(handler, nullptr);
  Batch batch = MakeBatch({Purchase("u1", "612.5")});
  batch.records[0].partition_key = "u1";
  ExpectSuccess(handler->Handle(batch));
  ASSERT_TRUE(handler->WaitForDeliveries(kWait));
  const std::vector<std::string> puts = writer_.puts();
  ASSERT_THAT(puts, SizeIs(2));
  EXPECT_THAT(puts, ::testing::Contains(HasSubstr(
                        R"(alerts u1 {"alert_id":"shop/high_value_order/)")));
  EXPECT_THAT(puts, ::testing::Contains(
                        HasSubstr(R"(firehose alerts-archive {"alert_id")")));
}

TEST_F(AlertsHandlerTest, RefusesBadSettingsNamingThem) {
  EXPECT_THAT(MakeError(R"({"rules": []})"),
              HasError(ErrorCode::kInvalidArgument,
                       "consumer shop handler.rules: must be a non-empty "
                       "array"));
  EXPECT_THAT(MakeError(R"({"rules": [{"name": "r"}]})"),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(MakeError(R"({"rules": [{"name": "bad name", "match": {}}]})"),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(MakeError(Settings(R"([{"type": "email"}])")),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(MakeError(Settings(R"([{"type": "webhook",
                                       "url": "https://x/"}])")),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(MakeError(Settings(R"([{"type": "jsonl",
                                       "path": "../escape.jsonl"}])")),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(MakeError(Settings(R"([{"type": "jsonl", "path": "a.jsonl"},
                                      {"type": "jsonl", "path": "b.jsonl"}])")),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(MakeError(Settings(R"([{"type": "webhook", "url": "http://h/",
                                       "retry_for_seconds": 0}])")),
              HasError(ErrorCode::kInvalidArgument));
}

TEST(WebhookUrlTest, ParsesHttpUrlsOnly) {
  Result<WebhookUrl> url = ParseWebhookUrl("http://127.0.0.1:9000/a?b=c", "u");
  ASSERT_THAT(url, IsOk());
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, "9000");
  EXPECT_EQ(url->target, "/a?b=c");
  Result<WebhookUrl> bare = ParseWebhookUrl("http://example.com", "u");
  ASSERT_THAT(bare, IsOk());
  EXPECT_EQ(bare->port, "80");
  EXPECT_EQ(bare->target, "/");
  for (std::string_view bad :
       {"https://x/", "http://", "http://h:0/", "http://h:99999/",
        "http://u@h/", "ftp://h/", "http://h/a b"}) {
    EXPECT_THAT(ParseWebhookUrl(bad, "u"),
                HasError(ErrorCode::kInvalidArgument))
        << bad;
  }
}

TEST(AlertsHandlerTypeTest, IsRegisteredAsAlerts) {
  EXPECT_NE(FindHandlerType("alerts"), nullptr);
}

}  // namespace
}  // namespace sluice::consumers
