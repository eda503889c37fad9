#include "server/http/api_router.h"

#include <exception>
#include <memory>
#include <optional>

#include "common/cbor_codec.h"
#include "common/json_codec.h"
#include "common/log.h"
#include "common/uuid.h"
#include "server/http/sigv4.h"

namespace sluice::http {
namespace {

// "application/x-amz-json-1.1; charset=utf-8" -> "application/x-amz-json-1.1"
std::string_view MediaType(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && content_type.back() == ' ') {
    content_type.remove_suffix(1);
  }
  return content_type;
}

bool IsAllDigits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Protocol errors before a codec is agreed on are answered as AWS's front end
// answers them: XML or an empty body, never JSON.
ApiResponse XmlError(unsigned status, std::string_view type,
                     std::string_view message) {
  ApiResponse response;
  response.status = status;
  std::string& body = response.body;
  body.append("<").append(type);
  if (message.empty()) {
    body.append("/>\n");
  } else {
    body.append(">\n  <Message>").append(message).append("</Message>\n</");
    body.append(type).append(">\n");
  }
  return response;
}

// A wire format the protocol layer can speak: how to read a request body
// into the document handlers see, and how to write answers.
struct WireCodec {
  std::string_view content_type;
  // May reuse `body`'s memory for the document's strings (in-situ parsing).
  bool (*decode)(std::string& body, json::Document& out);
  std::unique_ptr<Encoder> (*new_encoder)();
};

// JSON 1.1 (boto3, the CLI, the JS SDK) and CBOR 1.1 (the Java SDKs' and
// KCL's default). The CBOR decoder hands handlers byte strings as base64 and
// tag-1 millisecond timestamps as epoch seconds, exactly what JSON gives
// them, so handlers and the model validator stay codec-blind; only the
// Encoder's Blob() and Timestamp() differ on the way out.
constexpr WireCodec kCodecs[] = {
    {kJsonContentType, DecodeJsonObject, NewJsonEncoder},
    {kCborContentType, DecodeCborObject, NewCborEncoder},
};

const WireCodec* CodecFor(std::string_view content_type) {
  for (const WireCodec& codec : kCodecs) {
    if (MediaType(content_type) == codec.content_type) return &codec;
  }
  return nullptr;
}

// `{"__type": "...", "message": "..."}` in the request's codec; the message
// is left out when empty, as AWS leaves it out of bare SerializationException
// and UnknownOperationException answers.
ApiResponse ErrorResponse(const WireCodec& codec, const Status& status) {
  const ErrorInfo& info = InfoFor(status.code());
  std::unique_ptr<Encoder> out = codec.new_encoder();
  out->StartObject();
  out->Key("__type");
  out->String(info.aws_type);
  if (!status.message().empty()) {
    out->Key("message");
    out->String(status.message());
  }
  out->EndObject();

  ApiResponse response;
  response.status = info.http_status;
  response.content_type = std::string(codec.content_type);
  response.error_type = std::string(info.aws_type);
  response.body = out->Take();
  return response;
}

}  // namespace

std::string_view PathRequest::Header(std::string_view lowercase_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lowercase_name) return value;
  }
  return {};
}

ApiRouter::ApiRouter(RouterOptions options) : options_(std::move(options)) {}

void ApiRouter::RegisterPath(std::string path, PathHandler handler) {
  paths_[std::move(path)] = std::move(handler);
}

const PathHandler* ApiRouter::FindPath(std::string_view path) const {
  auto it = paths_.find(path);
  return it == paths_.end() ? nullptr : &it->second;
}

void ApiRouter::Register(std::string_view api, std::string_view operation,
                         ApiHandler handler) {
  std::string target(api);
  target += '.';
  target += operation;
  handlers_[std::move(target)] = Operation{std::move(handler), nullptr};
}

void ApiRouter::RegisterStreaming(std::string_view api,
                                  std::string_view operation,
                                  StreamingApiHandler handler) {
  std::string target(api);
  target += '.';
  target += operation;
  handlers_[std::move(target)] = Operation{nullptr, std::move(handler)};
}

std::string ApiRouter::AccountFor(std::string_view access_key_id) const {
  if (access_key_id.size() == 12 && IsAllDigits(access_key_id)) {
    return std::string(access_key_id);
  }
  return options_.default_account_id;
}

ApiResponse ApiRouter::Handle(ApiRequest request) const {
  std::string request_id = NewUuid();
  ApiResponse response = [&] {
    if (request.method != "POST") {
      if (request.authorization.empty()) {
        return XmlError(403, "MissingAuthenticationTokenException",
                        "Missing Authentication Token");
      }
      return XmlError(403, "AccessDeniedException",
                      "Unable to determine service/operation name to be "
                      "authorized");
    }
    const WireCodec* codec = CodecFor(request.content_type);
    if (codec == nullptr) return XmlError(404, "UnknownOperationException", "");
    auto error = [codec](const Status& status) {
      return ErrorResponse(*codec, status);
    };

    auto handler = handlers_.find(request.target);
    bool known_target = handler != handlers_.end();
    if (request.body.empty()) {
      return error(Status(known_target ? ErrorCode::kSerialization
                                       : ErrorCode::kUnknownOperation,
                          ""));
    }
    json::Document input;
    if (!codec->decode(request.body, input)) {
      return error(Status(ErrorCode::kSerialization, ""));
    }
    if (!known_target) {
      return error(Status(ErrorCode::kUnknownOperation, ""));
    }

    Result<Credential> credential = ReadCredential(
        request.authorization, request.query, request.has_date_header);
    if (!credential.ok()) return error(credential.status());

    RequestContext context;
    context.request_id = request_id;
    context.account_id = AccountFor(credential->access_key_id);
    context.region = credential->region.empty() ? options_.default_region
                                                : credential->region;
    context.operation =
        std::string_view(handler->first).substr(handler->first.find('.') + 1);
    context.content_type = codec->content_type;
    context.new_encoder = codec->new_encoder;

    std::unique_ptr<Encoder> output = codec->new_encoder();
    Status status;
    std::optional<StreamedAnswer> streamed;
    try {
      if (handler->second.streaming) {
        Result<StreamedAnswer> answer =
            handler->second.streaming(context, input);
        if (answer.ok()) {
          streamed = std::move(*answer);
        } else {
          status = answer.status();
        }
      } else {
        status = handler->second.unary(context, input, *output);
      }
    } catch (const std::exception& e) {
      // Handlers don't throw by design; a library that did must not take the
      // server down with it.
      SLUICE_LOG(kError) << request.target << " threw: " << e.what();
      status = Status(ErrorCode::kInternalFailure, "Internal service failure.");
    }
    if (!status.ok()) return error(status);

    ApiResponse ok;
    if (streamed) {
      ok.content_type = std::move(streamed->content_type);
      ok.stream = std::move(streamed->body);
      return ok;
    }
    ok.content_type = std::string(codec->content_type);
    ok.body = output->Take();
    return ok;
  }();
  response.request_id = std::move(request_id);
  return response;
}

}  // namespace sluice::http
