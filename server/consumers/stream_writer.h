// The StreamWriter handlers use to put records into this server's Kinesis
// streams and Firehose delivery streams, as a producer would (same routing,
// stamping and wake-ups), for one account and region.
#pragma once

#include <string>

#include "server/consumers/handler.h"
#include "server/firehose/delivery_stream_manager.h"
#include "server/kinesis/stream_manager.h"

namespace sluice::consumers {

// Thread-safe. Lives with its consumer; the managers outlive it.
class ServerStreamWriter final : public StreamWriter {
 public:
  // `delivery_streams` may be null (then PutToDeliveryStream fails).
  ServerStreamWriter(kinesis::StreamManager& streams,
                     firehose::DeliveryStreamManager* delivery_streams,
                     std::string account_id, std::string region)
      : streams_(streams),
        delivery_streams_(delivery_streams),
        account_id_(std::move(account_id)),
        region_(std::move(region)) {}

  // kResourceNotFound for a missing stream; kInvalidArgument for a partition
  // key outside 1-256 characters or data above the stream's record size.
  Result<std::string> PutToStream(std::string_view stream,
                                  std::string_view partition_key,
                                  std::string_view data) override;
  Result<std::string> PutToDeliveryStream(std::string_view delivery_stream,
                                          std::string_view data) override;

  Result<ShardTips> StreamTips(std::string_view stream) override;
  Result<std::vector<std::string>> PartitionKeysSince(
      std::string_view stream, const ShardTips& tips) override;

  // PutToStream into a stream of any account and region.
  Result<std::string> PutTo(const kinesis::StreamKey& key,
                            std::string_view partition_key,
                            std::string_view data);

 private:
  kinesis::StreamManager& streams_;
  firehose::DeliveryStreamManager* delivery_streams_;
  const std::string account_id_;
  const std::string region_;
};

}  // namespace sluice::consumers
