// PutRecords and PutRecordBatch as typed calls: the request built from the
// records, and the answer read back into one outcome per record, in order.
// The producer, the load generator and sluice-cli all send batches through
// these two functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "client/api_client.h"

namespace sluice::client {

struct KinesisEntry {
  std::string_view partition_key;
  std::string_view data;  // the bytes to store (base64 is done here)
};

// What became of one entry of a batch.
struct EntryOutcome {
  Status status;         // the entry's ErrorCode and ErrorMessage, or OK
  std::string shard_id;  // Kinesis only
  // The SequenceNumber (Kinesis) or the RecordId (Firehose).
  std::string id;
};

// The call's own failure (after ApiClient's retries) is the Result's
// status; otherwise one outcome per entry.
Result<std::vector<EntryOutcome>> PutRecords(
    ApiClient& client, std::string_view stream,
    const std::vector<KinesisEntry>& entries);
Result<std::vector<EntryOutcome>> PutRecordBatch(
    ApiClient& client, std::string_view delivery_stream,
    const std::vector<std::string_view>& records);

}  // namespace sluice::client
