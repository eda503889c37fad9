#include "server/http/http2_session.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "server/http/http_server.h"
#include "server/http/protocol_detector.h"

namespace sluice::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using ::testing::HasSubstr;

constexpr milliseconds kDeadline{10000};
constexpr char kAuth[] =
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/eu-west-1/kinesis/"
    "aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";

// Holds handlers until opened, and counts how many are inside at once.
class Gate {
 public:
  void Close() {
    std::lock_guard lock(mu_);
    open_ = false;
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    changed_.notify_all();
  }
  void Pass() {
    std::unique_lock lock(mu_);
    ++inside_;
    // Bounded, so that a failing test cannot hang the worker pool's join.
    changed_.wait_for(lock, kDeadline, [&] { return open_; });
    --inside_;
  }
  int inside() {
    std::lock_guard lock(mu_);
    return inside_;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  bool open_ = true;  // guarded by mu_
  int inside_ = 0;    // guarded by mu_
};

// A blocking nghttp2 client over a plain socket: enough to drive the server
// frame by frame from a test.
class H2Client {
 public:
  struct Response {
    int status = 0;
    std::map<std::string, std::string> headers;
    std::string body;
    bool closed = false;
    uint32_t error_code = 0;
    uint64_t body_bytes_sent = 0;  // of the request
  };

  // With `split_preface` the 24-byte connection preface goes out one byte
  // per send(), to show that the server waits for all of it.
  explicit H2Client(uint16_t port, bool split_preface = false)
      : split_preface_(split_preface) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address),
                         sizeof address) == 0;
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    nghttp2_session_callbacks* callbacks = nullptr;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, &OnHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks,
                                                              &OnData);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks,
                                                           &OnStreamClose);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks,
                                                         &OnFrameRecv);
    nghttp2_session_client_new(&session_, callbacks, this);
    nghttp2_session_callbacks_del(callbacks);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~H2Client() {
    nghttp2_session_del(session_);
    close(fd_);
  }

  bool connected() const { return connected_; }

  // Submits a request whose body is `body`, or, with `endless_bytes`, that
  // many zero bytes produced as flow control allows.
  int32_t Submit(const std::string& method, const std::string& path,
                 std::vector<std::pair<std::string, std::string>> headers,
                 std::string body = "", uint64_t endless_bytes = 0) {
    headers.insert(headers.begin(), {{":method", method},
                                     {":scheme", "http"},
                                     {":path", path},
                                     {":authority", "localhost"}});
    std::vector<nghttp2_nv> nva;
    for (auto& [name, value] : headers) {
      nva.push_back({reinterpret_cast<uint8_t*>(name.data()),
                     reinterpret_cast<uint8_t*>(value.data()), name.size(),
                     value.size(), NGHTTP2_NV_FLAG_NONE});
    }
    auto source = std::make_unique<Body>();
    source->data = std::move(body);
    source->endless = endless_bytes;
    bool has_body = !source->data.empty() || endless_bytes > 0;
    nghttp2_data_provider provider{};
    provider.source.ptr = source.get();
    provider.read_callback = &ReadBody;
    int32_t id =
        nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(),
                               has_body ? &provider : nullptr, this);
    bodies_.push_back(std::move(source));
    responses[id];
    return id;
  }

  int32_t Kinesis(const std::string& operation, const std::string& body) {
    return Submit("POST", "/",
                  {{"content-type", "application/x-amz-json-1.1"},
                   {"x-amz-target", "Kinesis_20131202." + operation},
                   {"authorization", kAuth},
                   {"x-amz-date", "20240101T000000Z"},
                   {"content-length", std::to_string(body.size())}},
                  body);
  }

  // Sends what nghttp2 has, reads what arrives and feeds it back, until
  // `done` holds, the server closes the connection, or the deadline passes.
  // Checks `done` at least every 10 ms, so it can also wait for server-side
  // state.
  bool RunUntil(const std::function<bool()>& done,
                milliseconds deadline = kDeadline) {
    auto until = steady_clock::now() + deadline;
    while (!done()) {
      if (eof || steady_clock::now() > until) return false;
      // A failed send means the server has closed the connection; what it
      // sent before closing may still be waiting to be read, so keep reading
      // until the read side ends too.
      if (!cannot_send_ && !SendPending()) cannot_send_ = true;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 10) <= 0) continue;
      char buffer[65536];
      ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) {
        eof = true;
        continue;
      }
      ssize_t rv = nghttp2_session_mem_recv(
          session_, reinterpret_cast<const uint8_t*>(buffer),
          static_cast<size_t>(n));
      if (rv < 0) return false;
    }
    return true;
  }

  bool Finished(int32_t id) {
    return RunUntil([&] { return responses[id].closed; });
  }

  void Reset(int32_t id) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
  }

  std::map<int32_t, Response> responses;
  bool goaway_received = false;
  int32_t goaway_last_stream_id = -1;
  bool eof = false;

 private:
  bool cannot_send_ = false;
  struct Body {
    std::string data;
    size_t offset = 0;
    uint64_t endless = 0;
  };

  bool SendPending() {
    for (;;) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) return false;
      if (n == 0) return true;
      size_t size = static_cast<size_t>(n);
      size_t sent = 0;
      while (sent < size) {
        // The preface first, a byte at a time when asked.
        size_t chunk = size - sent;
        if (split_preface_ && preface_bytes_sent_ < kHttp2Preface.size()) {
          chunk = 1;
          ++preface_bytes_sent_;
        }
        ssize_t w = send(fd_, data + sent, chunk, MSG_NOSIGNAL);
        if (w <= 0) return false;
        sent += static_cast<size_t>(w);
      }
    }
  }

  static H2Client& Self(void* user_data) {
    return *static_cast<H2Client*>(user_data);
  }
  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame,
                      const uint8_t* name, size_t name_size,
                      const uint8_t* value, size_t value_size, uint8_t,
                      void* user_data) {
    Response& response = Self(user_data).responses[frame->hd.stream_id];
    std::string key(reinterpret_cast<const char*>(name), name_size);
    std::string text(reinterpret_cast<const char*>(value), value_size);
    if (key == ":status") response.status = std::stoi(text);
    response.headers[key] = text;
    return 0;
  }
  static int OnData(nghttp2_session*, uint8_t, int32_t stream_id,
                    const uint8_t* data, size_t size, void* user_data) {
    Self(user_data).responses[stream_id].body.append(
        reinterpret_cast<const char*>(data), size);
    return 0;
  }
  static int OnStreamClose(nghttp2_session*, int32_t stream_id,
                           uint32_t error_code, void* user_data) {
    Response& response = Self(user_data).responses[stream_id];
    response.closed = true;
    response.error_code = error_code;
    return 0;
  }
  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame,
                         void* user_data) {
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      Self(user_data).goaway_received = true;
      Self(user_data).goaway_last_stream_id = frame->goaway.last_stream_id;
    }
    return 0;
  }
  static ssize_t ReadBody(nghttp2_session*, int32_t stream_id, uint8_t* buf,
                          size_t length, uint32_t* flags,
                          nghttp2_data_source* source, void* user_data) {
    Body& body = *static_cast<Body*>(source->ptr);
    size_t n = 0;
    if (body.endless > 0) {
      n = static_cast<size_t>(std::min<uint64_t>(length, body.endless));
      std::memset(buf, 0, n);
      body.endless -= n;
      if (body.endless == 0) *flags |= NGHTTP2_DATA_FLAG_EOF;
    } else {
      n = std::min(length, body.data.size() - body.offset);
      std::memcpy(buf, body.data.data() + body.offset, n);
      body.offset += n;
      if (body.offset == body.data.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    Self(user_data).responses[stream_id].body_bytes_sent += n;
    return static_cast<ssize_t>(n);
  }

  int fd_ = -1;
  bool connected_ = false;
  bool split_preface_ = false;
  size_t preface_bytes_sent_ = 0;
  nghttp2_session* session_ = nullptr;
  std::vector<std::unique_ptr<Body>> bodies_;
};

// A raw TCP connection, for HTTP/1.1 and for bytes that are not HTTP/2.
class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~RawClient() { close(fd_); }

  void Send(std::string_view bytes) {
    send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  }
  void ShutdownWrite() { shutdown(fd_, SHUT_WR); }
  // Reads until `received` contains `text` or the peer closes.
  std::string ReadUntil(std::string_view text) {
    auto until = steady_clock::now() + kDeadline;
    while (received.find(text) == std::string::npos &&
           steady_clock::now() < until && !closed) {
      ReadOnce();
    }
    return received;
  }
  // True if the server closed the connection before the deadline.
  bool WaitForClose() {
    auto until = steady_clock::now() + kDeadline;
    while (!closed && steady_clock::now() < until) ReadOnce();
    return closed;
  }

  std::string received;
  bool closed = false;

 private:
  void ReadOnce() {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 10) <= 0) return;
    char buffer[4096];
    ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) {
      closed = true;
      return;
    }
    received.append(buffer, static_cast<size_t>(n));
  }
  int fd_ = -1;
};

class Http2SessionTest : public ::testing::Test {
 protected:
  Http2SessionTest() : router_(RouterOptions{}) {
    router_.Register(
        "Kinesis_20131202", "Echo",
        [](const RequestContext&, const json::Value& input, Encoder& output) {
          output.StartObject();
          output.Key("PadBytes");
          output.Int(input.HasMember("Pad") && input["Pad"].IsString()
                         ? input["Pad"].GetStringLength()
                         : 0);
          output.EndObject();
          return Status::Ok();
        });
    router_.Register(
        "Kinesis_20131202", "Block",
        [this](const RequestContext&, const json::Value&, Encoder& output) {
          gate_.Pass();
          output.StartObject();
          output.EndObject();
          return Status::Ok();
        });
    router_.RegisterStreaming(
        "Kinesis_20131202", "Stream",
        [this](const RequestContext&,
               const json::Value&) -> Result<StreamedAnswer> {
          auto body = std::make_shared<ResponseStream>();
          std::lock_guard lock(streams_mu_);
          streams_.push_back(body);
          return StreamedAnswer{"application/vnd.amazon.eventstream", body};
        });
    router_.Register("Kinesis_20131202", "Fail",
                     [](const RequestContext&, const json::Value&, Encoder&) {
                       return Status(ErrorCode::kResourceNotFound,
                                     "Stream s not found.");
                     });
  }
  ~Http2SessionTest() override {
    gate_.Open();
    if (server_) server_->Shutdown();
  }

  void StartServer(HttpOptions options = {}) {
    options.port = 0;
    options.io_threads = 2;
    options.worker_threads = 16;
    options.shutdown_grace = std::chrono::seconds(10);
    Result<std::unique_ptr<HttpServer>> server =
        HttpServer::Start(options, router_);
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(*server);
  }

  uint16_t port() const { return server_->port(); }

  // The body the "Stream" handler handed out last, once there is one.
  std::shared_ptr<ResponseStream> LastStream() {
    std::lock_guard lock(streams_mu_);
    return streams_.empty() ? nullptr : streams_.back();
  }
  // Polls (the producer side has no event to wait on) until `done` holds.
  static bool PollUntil(const std::function<bool()>& done) {
    auto until = steady_clock::now() + kDeadline;
    while (!done()) {
      if (steady_clock::now() > until) return false;
      std::this_thread::sleep_for(milliseconds(5));
    }
    return true;
  }

  std::mutex streams_mu_;
  std::vector<std::shared_ptr<ResponseStream>> streams_;  // guarded
  ApiRouter router_;
  Gate gate_;
  std::unique_ptr<HttpServer> server_;
};

TEST(DetectProtocolTest, WaitsWhileTheBytesCouldStillBeThePreface) {
  EXPECT_EQ(DetectProtocol(""), WireProtocol::kUndecided);
  EXPECT_EQ(DetectProtocol("P"), WireProtocol::kUndecided);
  EXPECT_EQ(DetectProtocol("PRI * HTTP/2.0\r\n\r\nSM\r\n\r"),
            WireProtocol::kUndecided);
}

TEST(DetectProtocolTest, TheWholePrefaceIsHttp2WhateverFollows) {
  EXPECT_EQ(DetectProtocol(kHttp2Preface), WireProtocol::kHttp2);
  EXPECT_EQ(DetectProtocol(std::string(kHttp2Preface) + "\x00\x00\x12\x04"),
            WireProtocol::kHttp2);
}

TEST(DetectProtocolTest, AnyOtherByteMakesItHttp1) {
  EXPECT_EQ(DetectProtocol("G"), WireProtocol::kHttp1);
  EXPECT_EQ(DetectProtocol("POST / HTTP/1.1\r\n"), WireProtocol::kHttp1);
  EXPECT_EQ(DetectProtocol("PRI * HTTP/1.1\r\n"), WireProtocol::kHttp1);
  EXPECT_EQ(DetectProtocol(std::string_view("\0", 1)), WireProtocol::kHttp1);
}

TEST_F(Http2SessionTest, AnswersHealthOverHttp2) {
  StartServer();
  H2Client client(port());
  int32_t id = client.Submit("GET", "/health", {});
  ASSERT_TRUE(client.Finished(id));
  EXPECT_EQ(client.responses[id].status, 200);
  EXPECT_EQ(client.responses[id].headers["content-type"], "application/json");
  EXPECT_THAT(client.responses[id].body, HasSubstr("\"status\":\"ok\""));
}

TEST_F(Http2SessionTest, WaitsForAPrefaceSentOneByteAtATime) {
  StartServer();
  H2Client client(port(), /*split_preface=*/true);
  int32_t id = client.Submit("GET", "/health", {});
  ASSERT_TRUE(client.Finished(id));
  EXPECT_EQ(client.responses[id].status, 200);
}

TEST_F(Http2SessionTest, RoutesAKinesisRequestAndSendsTheAwsHeaders) {
  StartServer();
  H2Client client(port());
  int32_t id = client.Kinesis("Echo", R"({"Pad":"abc"})");
  ASSERT_TRUE(client.Finished(id));
  const H2Client::Response& response = client.responses[id];
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.error_code, NGHTTP2_NO_ERROR);
  EXPECT_EQ(response.body, R"({"PadBytes":3})");
  EXPECT_EQ(response.headers.at("content-type"), "application/x-amz-json-1.1");
  EXPECT_EQ(response.headers.at("content-length"), "14");
  EXPECT_FALSE(response.headers.at("x-amzn-requestid").empty());
  EXPECT_EQ(response.headers.count("x-amzn-errortype"), 0u);
}

TEST_F(Http2SessionTest, ErrorsCarryTheErrorTypeHeader) {
  StartServer();
  H2Client client(port());
  int32_t id = client.Kinesis("Fail", "{}");
  ASSERT_TRUE(client.Finished(id));
  EXPECT_EQ(client.responses[id].status, 400);
  EXPECT_EQ(client.responses[id].headers["x-amzn-errortype"],
            "ResourceNotFoundException");
  EXPECT_THAT(client.responses[id].body,
              HasSubstr("\"__type\":\"ResourceNotFoundException\""));
}

TEST_F(Http2SessionTest, ABodyOfManyFramesArrivesWhole) {
  StartServer();
  H2Client client(port());
  std::string pad(5 * 1024 * 1024, 'x');
  int32_t id = client.Kinesis("Echo", R"({"Pad":")" + pad + R"("})");
  ASSERT_TRUE(client.Finished(id));
  EXPECT_EQ(client.responses[id].status, 200);
  EXPECT_EQ(client.responses[id].body,
            "{\"PadBytes\":" + std::to_string(pad.size()) + "}");
}

TEST_F(Http2SessionTest, ServesConcurrentStreamsOnOneConnection) {
  StartServer();
  gate_.Close();
  H2Client client(port());
  constexpr int kStreams = 8;
  std::vector<int32_t> ids;
  for (int i = 0; i < kStreams; ++i)
    ids.push_back(client.Kinesis("Block", "{}"));
  // All of them are in their handlers at the same time.
  ASSERT_TRUE(client.RunUntil([&] { return gate_.inside() == kStreams; }));
  // And a request that needs no handler is answered meanwhile.
  int32_t health = client.Submit("GET", "/health", {});
  ASSERT_TRUE(client.Finished(health));
  EXPECT_EQ(client.responses[health].status, 200);
  gate_.Open();
  for (int32_t id : ids) {
    ASSERT_TRUE(client.Finished(id));
    EXPECT_EQ(client.responses[id].status, 200);
    EXPECT_EQ(client.responses[id].body, "{}");
  }
}

TEST_F(Http2SessionTest, RefusesABodyOverTheCapWithoutReadingItAll) {
  HttpOptions options;
  options.max_request_bytes = 64 * 1024;
  StartServer(options);
  H2Client client(port());
  // No Content-Length: the server finds out as the bytes arrive.
  constexpr uint64_t kHuge = 1ull << 30;
  int32_t id = client.Submit("POST", "/",
                             {{"content-type", "application/x-amz-json-1.1"},
                              {"x-amz-target", "Kinesis_20131202.Echo"},
                              {"authorization", kAuth},
                              {"x-amz-date", "20240101T000000Z"}},
                             "", kHuge);
  ASSERT_TRUE(client.Finished(id));
  EXPECT_EQ(client.responses[id].status, 413)
      << client.responses[id].error_code;
  EXPECT_EQ(client.responses[id].body, "");
  // The client was told to stop long before it sent the gigabyte.
  EXPECT_LT(client.responses[id].body_bytes_sent, kHuge / 8);

  // The connection itself is fine.
  int32_t next = client.Kinesis("Echo", R"({"Pad":"x"})");
  ASSERT_TRUE(client.Finished(next));
  EXPECT_EQ(client.responses[next].status, 200);
}

TEST_F(Http2SessionTest, RefusesADeclaredLengthOverTheCapBeforeTheBody) {
  HttpOptions options;
  options.max_request_bytes = 64 * 1024;
  StartServer(options);
  H2Client client(port());
  int32_t id = client.Submit("POST", "/",
                             {{"content-type", "application/x-amz-json-1.1"},
                              {"x-amz-target", "Kinesis_20131202.Echo"},
                              {"authorization", kAuth},
                              {"x-amz-date", "20240101T000000Z"},
                              {"content-length", std::to_string(1ull << 30)}},
                             "", 1ull << 30);
  ASSERT_TRUE(client.Finished(id));
  EXPECT_EQ(client.responses[id].status, 413)
      << client.responses[id].error_code;
  EXPECT_LT(client.responses[id].body_bytes_sent, 1ull << 27);
}

TEST_F(Http2SessionTest, ShutdownSendsGoawayAndLetsRequestsInFlightFinish) {
  StartServer();
  gate_.Close();
  H2Client client(port());
  int32_t id = client.Kinesis("Block", "{}");
  ASSERT_TRUE(client.RunUntil([&] { return gate_.inside() == 1; }));

  std::thread shutdown([&] { server_->Shutdown(); });
  ASSERT_TRUE(client.RunUntil([&] { return client.goaway_received; }));
  gate_.Open();
  ASSERT_TRUE(client.Finished(id));
  EXPECT_EQ(client.responses[id].status, 200);
  EXPECT_EQ(client.responses[id].error_code, NGHTTP2_NO_ERROR);
  // The final GOAWAY names the stream it let finish; then the server closes.
  ASSERT_TRUE(client.RunUntil([&] { return client.eof; }));
  EXPECT_EQ(client.goaway_last_stream_id, id);
  shutdown.join();
}

TEST_F(Http2SessionTest, ShutdownClosesAnIdleConnectionAtOnce) {
  StartServer();
  H2Client client(port());
  int32_t id = client.Submit("GET", "/health", {});
  ASSERT_TRUE(client.Finished(id));
  server_->Shutdown();
  client.RunUntil([&] { return client.eof; });
  EXPECT_TRUE(client.eof);
  EXPECT_TRUE(client.goaway_received);
}

TEST_F(Http2SessionTest, GarbageAfterThePrefaceClosesTheConnection) {
  StartServer();
  {
    RawClient raw(port());
    raw.Send(kHttp2Preface);
    raw.Send("this is not an HTTP/2 frame, not even a little\r\n\r\n");
    EXPECT_TRUE(raw.WaitForClose());
  }
  {
    // A frame header announcing 16 MiB, far over the default frame size.
    RawClient raw(port());
    raw.Send(kHttp2Preface);
    raw.Send(std::string_view("\xff\xff\xff\x00\x00\x00\x00\x00\x01", 9));
    EXPECT_TRUE(raw.WaitForClose());
  }
  H2Client client(port());
  int32_t id = client.Submit("GET", "/health", {});
  ASSERT_TRUE(client.Finished(id));
  EXPECT_EQ(client.responses[id].status, 200);
}

// Not a fuzzer, but the same idea on a budget: frames with random types,
// flags, stream ids and payloads, after a valid preface and SETTINGS. Whatever
// the server makes of them, it must neither crash (the sanitizer build runs
// this) nor stop serving.
TEST_F(Http2SessionTest, SurvivesRandomFramesAfterThePreface) {
  HttpOptions options;
  options.max_request_bytes = 4096;
  StartServer(options);
  std::mt19937 random(20261122);
  auto byte = [&] { return static_cast<char>(random() & 0xff); };
  for (int connection = 0; connection < 500; ++connection) {
    RawClient raw(port());
    std::string bytes(kHttp2Preface);
    bytes.append(std::string_view("\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9));
    int frames = 1 + static_cast<int>(random() % 8);
    for (int i = 0; i < frames; ++i) {
      size_t length = random() % 64;
      bytes.push_back('\0');
      bytes.push_back('\0');
      bytes.push_back(static_cast<char>(length));
      bytes.push_back(static_cast<char>(random() % 11));  // a known type
      bytes.push_back(byte());                            // flags
      bytes.append(3, '\0');
      bytes.push_back(static_cast<char>(random() % 8));  // stream 0..7
      for (size_t j = 0; j < length; ++j) bytes.push_back(byte());
    }
    raw.Send(bytes);
    raw.ShutdownWrite();  // the server reads to the end, then closes
    ASSERT_TRUE(raw.WaitForClose()) << "connection " << connection;
  }
  H2Client client(port());
  int32_t id = client.Submit("GET", "/health", {});
  ASSERT_TRUE(client.Finished(id));
  EXPECT_EQ(client.responses[id].status, 200);
}

TEST_F(Http2SessionTest, Http1StillWorksOnTheSamePort) {
  StartServer();
  RawClient raw(port());
  // "P" could still be the start of the preface: the server must wait.
  raw.Send("P");
  std::string body = R"({"Pad":"ab"})";
  raw.Send(
      "OST / HTTP/1.1\r\nHost: localhost\r\n"
      "Content-Type: application/x-amz-json-1.1\r\n"
      "X-Amz-Target: Kinesis_20131202.Echo\r\n"
      "X-Amz-Date: 20240101T000000Z\r\n"
      "Authorization: " +
      std::string(kAuth) +
      "\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body);
  std::string answer = raw.ReadUntil("{\"PadBytes\":2}");
  EXPECT_THAT(answer, HasSubstr("HTTP/1.1 200 OK"));
  EXPECT_THAT(answer, HasSubstr("{\"PadBytes\":2}"));
}

TEST_F(Http2SessionTest, ClosesAnIdleConnectionAfterTheReadTimeout) {
  HttpOptions options;
  options.read_timeout = std::chrono::seconds(1);
  StartServer(options);
  H2Client client(port());
  int32_t id = client.Submit("GET", "/health", {});
  ASSERT_TRUE(client.Finished(id));
  client.RunUntil([&] { return client.eof; });
  EXPECT_TRUE(client.eof);
  EXPECT_TRUE(client.goaway_received);
}

TEST_F(Http2SessionTest, AHandlerSlowerThanTheReadTimeoutIsNotCutOff) {
  HttpOptions options;
  options.read_timeout = std::chrono::seconds(1);
  StartServer(options);
  gate_.Close();
  H2Client client(port());
  int32_t id = client.Kinesis("Block", "{}");
  ASSERT_TRUE(client.RunUntil([&] { return gate_.inside() == 1; }));
  // The one wait here is the point of the test: outlast the timeout twice
  // over while the handler runs, and the connection must still be open.
  auto until = steady_clock::now() + std::chrono::milliseconds(2500);
  EXPECT_TRUE(client.RunUntil([&] { return steady_clock::now() > until; }));
  EXPECT_FALSE(client.eof);
  gate_.Open();
  ASSERT_TRUE(client.Finished(id));
  EXPECT_EQ(client.responses[id].status, 200);
}

}  // namespace
}  // namespace sluice::http

namespace sluice::http {
namespace {

TEST_F(Http2SessionTest, AStreamedAnswerArrivesPieceByPieceAndEnds) {
  StartServer();
  H2Client client(port());
  int32_t id = client.Kinesis("Stream", "{}");
  ASSERT_TRUE(client.RunUntil([&] { return LastStream() != nullptr; }));
  std::shared_ptr<ResponseStream> body = LastStream();
  ASSERT_TRUE(body->Write("one"));
  ASSERT_TRUE(
      client.RunUntil([&] { return client.responses[id].body == "one"; }));
  const H2Client::Response& response = client.responses[id];
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers.at("content-type"),
            "application/vnd.amazon.eventstream");
  EXPECT_EQ(response.headers.count("content-length"), 0u);
  EXPECT_FALSE(response.closed);
  ASSERT_TRUE(body->Write("two"));
  body->Finish();
  ASSERT_TRUE(client.Finished(id));
  EXPECT_EQ(client.responses[id].body, "onetwo");
  EXPECT_EQ(client.responses[id].error_code, NGHTTP2_NO_ERROR);
}

TEST_F(Http2SessionTest, ResettingAStreamedAnswerCancelsItsProducer) {
  StartServer();
  H2Client client(port());
  int32_t id = client.Kinesis("Stream", "{}");
  ASSERT_TRUE(client.RunUntil([&] { return client.responses[id].status; }));
  client.Reset(id);
  std::shared_ptr<ResponseStream> body = LastStream();
  ASSERT_TRUE(client.RunUntil([&] { return body->cancelled(); }));
}

TEST_F(Http2SessionTest, ShutdownEndsALiveStreamedAnswer) {
  StartServer();
  H2Client client(port());
  int32_t id = client.Kinesis("Stream", "{}");
  ASSERT_TRUE(client.RunUntil([&] { return client.responses[id].status; }));
  std::shared_ptr<ResponseStream> body = LastStream();
  ASSERT_TRUE(body->Write("queued"));
  std::thread shutdown([&] { server_->Shutdown(); });
  ASSERT_TRUE(client.Finished(id));  // ends cleanly, with what was queued
  EXPECT_EQ(client.responses[id].body, "queued");
  EXPECT_EQ(client.responses[id].error_code, NGHTTP2_NO_ERROR);
  EXPECT_TRUE(body->cancelled());
  client.RunUntil([&] { return client.eof; });
  EXPECT_TRUE(client.eof);
  shutdown.join();
}

constexpr std::string_view kStreamRequest =
    "POST / HTTP/1.1\r\nHost: localhost\r\n"
    "Content-Type: application/x-amz-json-1.1\r\n"
    "X-Amz-Target: Kinesis_20131202.Stream\r\n"
    "X-Amz-Date: 20240101T000000Z\r\n"
    "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/"
    "eu-west-1/kinesis/aws4_request, SignedHeaders=host, Signature=abc\r\n"
    "Content-Length: 2\r\n\r\n{}";

TEST_F(Http2SessionTest, AStreamedAnswerIsChunkedOverHttp1) {
  StartServer();
  RawClient client(port());
  client.Send(kStreamRequest);
  ASSERT_TRUE(PollUntil([&] { return LastStream() != nullptr; }));
  std::shared_ptr<ResponseStream> body = LastStream();
  ASSERT_TRUE(body->Write("hello"));
  std::string received = client.ReadUntil("hello");
  EXPECT_THAT(received, HasSubstr("HTTP/1.1 200 OK"));
  EXPECT_THAT(received, HasSubstr("Transfer-Encoding: chunked"));
  EXPECT_THAT(received,
              HasSubstr("Content-Type: application/vnd.amazon.eventstream"));
  EXPECT_THAT(received, HasSubstr("\r\n\r\n5\r\nhello\r\n"));
  body->Finish();
  received = client.ReadUntil("\r\n0\r\n\r\n");
  EXPECT_THAT(received, HasSubstr("hello\r\n0\r\n\r\n"));
  EXPECT_TRUE(client.WaitForClose());
}

TEST_F(Http2SessionTest, AClientHangingUpCancelsTheProducerOverHttp1) {
  StartServer();
  std::shared_ptr<ResponseStream> body;
  {
    RawClient client(port());
    client.Send(kStreamRequest);
    ASSERT_TRUE(PollUntil([&] { return LastStream() != nullptr; }));
    body = LastStream();
    ASSERT_TRUE(body->Write("x"));
    client.ReadUntil("x");
  }  // closes the socket
  EXPECT_TRUE(PollUntil([&] { return body->cancelled(); }));
}

TEST_F(Http2SessionTest, ShutdownEndsALiveStreamedAnswerOverHttp1) {
  StartServer();
  RawClient client(port());
  client.Send(kStreamRequest);
  ASSERT_TRUE(PollUntil([&] { return LastStream() != nullptr; }));
  std::shared_ptr<ResponseStream> body = LastStream();
  ASSERT_TRUE(body->Write("queued"));
  std::thread shutdown([&] { server_->Shutdown(); });
  std::string received = client.ReadUntil("\r\n0\r\n\r\n");
  EXPECT_THAT(received, HasSubstr("queued\r\n0\r\n\r\n"));
  EXPECT_TRUE(client.WaitForClose());
  EXPECT_TRUE(body->cancelled());
  shutdown.join();
}

}  // namespace
}  // namespace sluice::http
