// The AWS protocol layer: turns one HTTP request into one AWS answer. It
// applies AWS's order of checks (content type, body, target, authentication),
// hands the decoded input to the operation's handler, and shapes every error
// as `{"__type": ..., "message": ...}` with x-amzn-ErrorType. It knows no
// sockets, so tests call it directly.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/codec.h"
#include "common/json.h"
#include "common/status.h"
#include "server/http/response_stream.h"

namespace sluice::http {

// Who is calling and what they asked for; handed to every operation handler.
struct RequestContext {
  std::string request_id;      // also sent back as x-amzn-RequestId
  std::string account_id;      // 12 digits
  std::string region;          // from the SigV4 credential scope
  std::string_view operation;  // e.g. "ListStreams"
  // The request's codec, for handlers that write more than one document
  // (each event of a streamed answer): its media type and a new Encoder.
  std::string_view content_type{};
  std::unique_ptr<Encoder> (*new_encoder)() = nullptr;
};

// Reads `input` (always a JSON object), writes the output object through
// `output` (or nothing, for operations without output) and returns OK or the
// error to answer with. Runs on a worker thread and may block.
using ApiHandler = std::function<Status(
    const RequestContext& context, const json::Value& input, Encoder& output)>;

// An operation whose answer is a stream of messages (SubscribeToShard):
// returns the stream its producer writes, or the error to answer with
// instead. The router answers 200 with `content_type` and leaves the body to
// the connection. Runs on a worker thread; it must return promptly and leave
// the writing to a thread of its own.
struct StreamedAnswer {
  std::string content_type;
  std::shared_ptr<ResponseStream> body;
};
using StreamingApiHandler = std::function<Result<StreamedAnswer>(
    const RequestContext& context, const json::Value& input)>;

// The parts of an HTTP request the protocol layer looks at.
struct ApiRequest {
  std::string method;        // "POST"
  std::string query;         // after '?' in the request target, raw
  std::string content_type;  // as sent, parameters included
  std::string target;        // X-Amz-Target
  std::string authorization;
  std::string host;  // Host, or :authority on HTTP/2; SigV4 signs it
  bool has_date_header = false;  // X-Amz-Date or Date present
  std::string body;
};

struct ApiResponse {
  unsigned status = 200;
  std::string content_type;  // empty: no Content-Type header
  std::string error_type;    // x-amzn-ErrorType when not empty
  std::string request_id;    // x-amzn-RequestId
  std::string body;
  // Set for a streamed answer: the body comes from here, as it is written,
  // and `body` above is empty. The connection calls Cancel() on it when the
  // client goes away or the server drains.
  std::shared_ptr<ResponseStream> stream;
};

// A request to a path served outside the AWS protocol (the ingestion
// gateway's routes): the connection hands it over whole.
struct PathRequest {
  std::string method;  // "POST", "OPTIONS", ...
  std::string path;    // the request target up to '?'
  std::string query;
  // Every header, names lowercased, in the order received.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string remote_address;  // the peer's IP address
  std::string body;
  // The first header named `lowercase_name`, or "".
  std::string_view Header(std::string_view lowercase_name) const;
};

struct PathResponse {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Runs on a worker thread and may block.
using PathHandler = std::function<PathResponse(PathRequest request)>;

struct RouterOptions {
  // Used when a credential scope is not in the standard form.
  std::string default_region = "us-east-1";
  // The account of every access key that is not itself 12 digits.
  std::string default_account_id = "000000000000";
};

// Built and filled with Register() before the server starts; Handle() is then
// safe to call from any number of threads at once.
class ApiRouter {
 public:
  explicit ApiRouter(RouterOptions options);

  // Routes X-Amz-Target "<api>.<operation>" (e.g. "Kinesis_20131202",
  // "ListStreams") to `handler`. Operations never registered answer
  // UnknownOperationException, as AWS does for names it does not know.
  void Register(std::string_view api, std::string_view operation,
                ApiHandler handler);
  // The same for an operation that answers with a stream.
  void RegisterStreaming(std::string_view api, std::string_view operation,
                         StreamingApiHandler handler);

  // Serves every method on `path` (exactly, no patterns) with `handler`,
  // ahead of the AWS protocol checks. Only configured paths are taken over.
  void RegisterPath(std::string path, PathHandler handler);
  // The handler of `path`, or nullptr when the AWS protocol answers it.
  const PathHandler* FindPath(std::string_view path) const;

  // Takes the request by value: the body is parsed in place, and the
  // handler's view of the input points into it.
  ApiResponse Handle(ApiRequest request) const;

 private:
  // Which account an access key id belongs to: a 12-digit key id is taken as
  // the account itself, so tests can act as several accounts; any other key
  // belongs to the default account.
  std::string AccountFor(std::string_view access_key_id) const;

  RouterOptions options_;
  // One of the two is set.
  struct Operation {
    ApiHandler unary;
    StreamingApiHandler streaming;
  };
  std::map<std::string, Operation, std::less<>> handlers_;  // by full target
  std::map<std::string, PathHandler, std::less<>> paths_;
};

}  // namespace sluice::http
