// KinesisStreamAsSource: copies a Kinesis stream's records into the delivery
// stream's own log, from which the DeliveryEngine writes objects as for
// DirectPut. Every shard is read from TRIM_HORIZON like any reader, a child
// shard only once all of its parents are read to their end, and the position
// in each shard is the delivery stream's own checkpoint in the catalog
// (reader "firehose/<delivery stream id>").
//
// Exactly once: each copied record carries "<shard index>:<offset>" as its
// partition key in the delivery stream's log; a batch is appended, the log
// synced, then the checkpoint saved. A crash between the two leaves records
// past the checkpoint in the log, undelivered (the pump and the delivery of a
// stream both hold its delivery_mu, so nothing is delivered or trimmed in
// between); the first pump after a start reads them back and moves each
// shard's position past them.
#pragma once

#include "common/status.h"
#include "server/catalog/catalog.h"
#include "server/firehose/delivery_stream_manager.h"
#include "server/kinesis/stream_manager.h"

namespace sluice::firehose {

// The catalog reader name of the stream's checkpoints:
// "firehose/<delivery stream id>".
std::string SourceReaderName(int64_t delivery_stream_id);

// Copies what the source has beyond the delivery stream's positions.
// Returns OK doing nothing for a DirectPut stream or a deleted source.
// REQUIRES: stream.delivery_mu held.
Status PumpKinesisSource(LiveDeliveryStream& stream,
                         kinesis::StreamManager& kinesis,
                         catalog::Catalog& catalog);

}  // namespace sluice::firehose
