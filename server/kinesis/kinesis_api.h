// The Kinesis Data Streams operations (X-Amz-Target Kinesis_20131202.*).
// Each handler validates its input, calls the catalog or the shard logs, and
// writes AWS's output shape. Operations not built yet are simply not
// registered, so they answer UnknownOperationException.
#pragma once

#include "common/codec.h"
#include "common/json.h"
#include "common/status.h"
#include "server/catalog/catalog.h"
#include "server/http/api_router.h"

namespace sluice::kinesis {

inline constexpr std::string_view kApiName = "Kinesis_20131202";

// Owned by Server; handlers run on worker threads, concurrently.
class KinesisApi {
 public:
  explicit KinesisApi(catalog::Catalog& catalog) : catalog_(catalog) {}

  void RegisterWith(http::ApiRouter& router);

  Status ListStreams(const http::RequestContext& context,
                     const json::Value& input, Encoder& output);

 private:
  catalog::Catalog& catalog_;
};

}  // namespace sluice::kinesis
