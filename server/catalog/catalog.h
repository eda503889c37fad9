// The catalog: Sluice's metadata store in SQLite. It holds streams, their
// shards (hash-key ranges, lineage, sequence-number bounds), tags on any
// resource ARN, and reader checkpoints, under a versioned schema (schema.h).
// Record data never passes through here; it lives in the shard logs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "server/catalog/sqlite.h"

namespace sluice::catalog {

enum class StreamStatus { kCreating, kActive, kUpdating, kDeleting };
enum class StreamMode { kProvisioned, kOnDemand };

std::string_view ToString(StreamStatus status);  // "CREATING", "ACTIVE", ...
std::string_view ToString(StreamMode mode);      // "PROVISIONED", "ON_DEMAND"
// The inverses, for reading rows back; nullopt for any other text.
std::optional<StreamStatus> ParseStreamStatus(std::string_view text);
std::optional<StreamMode> ParseStreamMode(std::string_view text);

struct StreamRecord {
  // Catalog-assigned, unique forever: a stream deleted and created again under
  // the same name is a new incarnation with a new id.
  int64_t stream_id = 0;
  std::string account_id;  // 12 digits
  std::string region;      // e.g. "us-east-1"
  std::string name;
  StreamStatus status = StreamStatus::kCreating;
  StreamMode mode = StreamMode::kProvisioned;
  EpochMillis created_at = 0;
  int retention_hours = 24;
  int max_record_size_kib = 1024;
  std::string encryption_type = "NONE";  // or "KMS"
  std::string kms_key_id;                // empty when NONE
  // Every shard the stream ever had has an index below this; indexes are
  // never reused.
  uint32_t next_shard_index = 0;
  // ShardLevelMetrics enabled. Stored as a set: read back sorted, without
  // duplicates.
  std::vector<std::string> enhanced_metrics;

  // arn:aws:kinesis:<region>:<account>:stream/<name>
  std::string Arn() const;

  friend bool operator==(const StreamRecord&, const StreamRecord&) = default;
};

struct ShardRecord {
  int64_t stream_id = 0;
  uint32_t shard_index = 0;  // shardId-%012u
  // Decimal strings, 0 .. 2^128-1, inclusive.
  std::string hash_key_start;
  std::string hash_key_end;
  std::optional<uint32_t> parent_index;
  std::optional<uint32_t> adjacent_parent_index;
  std::string starting_sequence_number;
  std::optional<std::string> ending_sequence_number;  // set when closed
  EpochMillis created_at = 0;
  std::optional<EpochMillis> closed_at;

  std::string ShardId() const;  // "shardId-000000000003"
  // A shard is closed once resharding gave it an ending sequence number.
  bool IsOpen() const { return !ending_sequence_number.has_value(); }

  friend bool operator==(const ShardRecord&, const ShardRecord&) = default;
};

// "shardId-" and the index in 12 digits.
std::string ShardIdFor(uint32_t shard_index);
// The inverse, as AWS reads shard ids: "shardId-000000000003", and also
// "shardId-3" and "3". nullopt for anything else or an index past 2^31-1.
std::optional<uint32_t> ParseShardIndex(std::string_view shard_id);

using Tags = std::vector<std::pair<std::string, std::string>>;

// An enhanced fan-out consumer's lifecycle: CREATING -> ACTIVE, then
// DELETING -> gone once deregistered.
enum class ConsumerStatus { kCreating, kActive, kDeleting };

std::string_view ToString(ConsumerStatus status);  // "CREATING", ...
std::optional<ConsumerStatus> ParseConsumerStatus(std::string_view text);

struct ConsumerRecord {
  int64_t stream_id = 0;
  std::string name;  // unique within the stream
  ConsumerStatus status = ConsumerStatus::kCreating;
  EpochMillis created_at = 0;

  // "<stream ARN>/consumer/<name>:<created_at in epoch seconds>"
  std::string Arn(std::string_view stream_arn) const;

  friend bool operator==(const ConsumerRecord&,
                         const ConsumerRecord&) = default;
};

// A Firehose delivery stream as the catalog keeps it. The destination and
// encryption are JSON text owned by server/firehose; the catalog stores them
// verbatim.
struct DeliveryStreamRecord {
  // Catalog-assigned and never reused, like stream_id; also names the
  // delivery stream's log directory, so no user input becomes a path.
  int64_t delivery_stream_id = 0;
  std::string account_id;
  std::string region;
  std::string name;
  std::string type = "DirectPut";   // DeliveryStreamType
  std::string status = "CREATING";  // CREATING, ACTIVE or DELETING
  EpochMillis created_at = 0;
  EpochMillis updated_at = 0;
  int64_t version_id = 1;   // +1 per UpdateDestination
  std::string destination;  // JSON
  std::string encryption;   // JSON
  // The delivery checkpoint: the log offset the next object starts at.
  uint64_t delivered_offset = 0;
  // JSON of the object being written, if any (see schema.cc, version 4).
  std::optional<std::string> planned_object;
  // JSON of the source (KinesisStreamAsSource); fixed at creation.
  std::optional<std::string> source;

  // arn:aws:firehose:<region>:<account>:deliverystream/<name>
  std::string Arn() const;

  friend bool operator==(const DeliveryStreamRecord&,
                         const DeliveryStreamRecord&) = default;
};

// An in-process consumer (server/consumers) as the catalog keeps it. The
// definition is JSON owned by server/consumers, stored verbatim.
struct EventConsumerRecord {
  std::string name;  // unique per server
  std::string account_id;
  std::string region;
  std::string definition;  // JSON: the CreateConsumer request
  bool paused = false;
  EpochMillis created_at = 0;

  friend bool operator==(const EventConsumerRecord&,
                         const EventConsumerRecord&) = default;
};

// Owned by the Server, open from startup to shutdown. Thread-safe: any thread
// may call any method; calls run one at a time on a single SQLite connection
// guarded by a mutex (catalog traffic is control-plane rate, far below what
// one connection serves). Every call may block on disk, so callers run it off
// the HTTP I/O threads.
// An API key of the ingestion gateway created at run time. Only the SHA-256
// of the secret is stored; `settings` is the gateway's own JSON (the routes
// the key may use, its rate limit), opaque here.
struct GatewayKeyRecord {
  std::string name;
  std::string sha256_hex;
  std::string settings;
  EpochMillis created_at = 0;
  friend bool operator==(const GatewayKeyRecord&,
                         const GatewayKeyRecord&) = default;
};

class Catalog {
 public:
  // ":memory:" for --in-memory: nothing touches disk. Otherwise a file, which
  // is created if missing, put in WAL mode and migrated to the current schema.
  // Fails if the file's schema is newer than this build knows.
  static Result<std::unique_ptr<Catalog>> Open(const std::string& path);

  ~Catalog();
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  // The schema version of the open database: CurrentSchemaVersion() once
  // Open() has succeeded.
  int SchemaVersion() const { return schema_version_; }

  // --- Streams --------------------------------------------------------------
  // Streams are unique per (account, region, name) among the streams in the
  // catalog, DELETING ones included.

  // Inserts the stream and its shards in one transaction and writes the new
  // stream_id back into `stream` (and nothing else). The shards' stream_id
  // fields are ignored. kResourceInUse "Stream <name> under account <account>
  // already exists." if the name is taken.
  // REQUIRES: every shard index is below stream.next_shard_index.
  Status CreateStream(StreamRecord& stream,
                      const std::vector<ShardRecord>& shards);

  Result<std::optional<StreamRecord>> FindStream(std::string_view account_id,
                                                 std::string_view region,
                                                 std::string_view name);
  // nullopt if no stream has that id.
  Result<std::optional<StreamRecord>> FindStreamById(int64_t stream_id);

  // The account's streams in `region`, sorted by name in byte order, with
  // names strictly after `exclusive_start_name` ("" = from the start), at most
  // `limit` of them. Ask for one more than a page to learn HasMoreStreams.
  Result<std::vector<StreamRecord>> ListStreams(
      std::string_view account_id, std::string_view region,
      std::string_view exclusive_start_name, size_t limit);

  // Every stream of every account and region, by stream_id; for startup.
  Result<std::vector<StreamRecord>> ListAllStreams();

  // Overwrites the mutable fields of the stream with `stream.stream_id`:
  // status, mode, retention, max record size, encryption, next_shard_index and
  // enhanced metrics. Identity fields (account, region, name, created_at) are
  // fixed at creation and ignored here. kResourceNotFound "Stream <name> under
  // account <account> not found." if there is no such stream.
  Status UpdateStream(const StreamRecord& stream);

  // Deletes the stream with its shards, shard-level metrics, checkpoints, and
  // the tags and resource policies of its ARN and of ARNs under it (its
  // consumers). kResourceNotFound
  // "Stream with id <id> not found." if there is no such stream.
  Status DeleteStream(int64_t stream_id);

  // --- Shards ---------------------------------------------------------------

  // All of the stream's shards, open and closed, by index. kResourceNotFound
  // "Stream with id <id> not found." if there is no such stream.
  Result<std::vector<ShardRecord>> ListShards(int64_t stream_id);

  // Resharding in one transaction: each shard in `changed_or_new` is written
  // whole (an existing index is overwritten, e.g. a parent being closed; a new
  // one is added), and the stream's next_shard_index becomes
  // `next_shard_index`. The shards' stream_id fields are ignored.
  // kResourceNotFound as for ListShards.
  // REQUIRES: every index is below `next_shard_index`, which is not below the
  // stream's current one (indexes are never reused).
  Status ReplaceShards(int64_t stream_id,
                       const std::vector<ShardRecord>& changed_or_new,
                       uint32_t next_shard_index);

  // --- Delivery streams -----------------------------------------------------
  // Unique per (account, region, name), DELETING ones included.

  // Inserts the delivery stream and writes its new id back into `stream`.
  // kResourceInUse "Firehose <name> under accountId <account> already
  // exists" if the name is taken.
  Status CreateDeliveryStream(DeliveryStreamRecord& stream);
  Result<std::optional<DeliveryStreamRecord>> FindDeliveryStream(
      std::string_view account_id, std::string_view region,
      std::string_view name);
  // Every delivery stream of every account and region, by id; for startup.
  Result<std::vector<DeliveryStreamRecord>> ListAllDeliveryStreams();
  // Overwrites status, updated_at, version_id, destination and encryption.
  // The identity (id, account, region, name, type, created_at, source) is
  // fixed at creation, and the delivery checkpoint belongs to
  // SaveDeliveryCheckpoint alone, so a control-plane change racing a
  // delivery never writes back a stale checkpoint. kResourceNotFound if there
  // is no such id.
  Status UpdateDeliveryStream(const DeliveryStreamRecord& stream);
  // Saves only the delivery checkpoint (delivered_offset and
  // planned_object), so the delivery worker never overwrites a concurrent
  // UpdateDestination. kResourceNotFound if there is no such id.
  Status SaveDeliveryCheckpoint(int64_t delivery_stream_id,
                                uint64_t delivered_offset,
                                const std::optional<std::string>& planned);
  // Deletes the row and the tags of its ARN. kResourceNotFound if absent.
  Status DeleteDeliveryStream(int64_t delivery_stream_id);

  // --- Tags -----------------------------------------------------------------
  // On any resource ARN (streams, consumers, delivery streams). The catalog
  // does not check that the resource exists, nor tag limits: callers validate.

  // Adds the tags, overwriting the value of a key already present.
  Status TagResource(std::string_view arn, const Tags& tags);
  // Removes the keys; keys not present are ignored.
  Status UntagResource(std::string_view arn,
                       const std::vector<std::string>& keys);
  // Sorted by key, in byte order.
  Result<Tags> ListTags(std::string_view arn);

  // --- Resource policies ----------------------------------------------------
  // One policy document per resource ARN, stored verbatim and never enforced.
  // Like tags, the catalog does not check that the resource exists.

  // Inserts or replaces the ARN's policy.
  Status PutResourcePolicy(std::string_view arn, std::string_view policy);
  // nullopt if the ARN has none.
  Result<std::optional<std::string>> GetResourcePolicy(std::string_view arn);
  // Whether there was one to delete.
  Result<bool> DeleteResourcePolicy(std::string_view arn);

  // --- Gateway API keys ----------------------------------------------------

  // kResourceInUse "An API key named <name> already exists." when taken.
  Status InsertGatewayKey(const GatewayKeyRecord& key);
  // Sorted by name.
  Result<std::vector<GatewayKeyRecord>> ListGatewayKeys();
  // Whether there was one to delete.
  Result<bool> DeleteGatewayKey(std::string_view name);

  // --- Consumers (enhanced fan-out) ----------------------------------------
  // Limits (20 per stream, 5 CREATING) are the caller's to check.

  // Inserts the consumer and the tags of its ARN in one transaction.
  // kResourceInUse "Consumer <name> under stream <stream> under account
  // <account> already exists." if the stream has one of that name;
  // kResourceNotFound "Stream with id <id> not found." if there is no stream.
  Status CreateConsumer(const ConsumerRecord& consumer, const Tags& tags);
  // Sets the status of the stream's consumer of that name. kResourceNotFound
  // "Consumer <name> not found in stream with id <id>." if there is none.
  Status UpdateConsumerStatus(int64_t stream_id, std::string_view name,
                              ConsumerStatus status);
  // Deletes the consumer with the tags and resource policy of its ARN.
  // kResourceNotFound as for UpdateConsumerStatus.
  Status DeleteConsumer(int64_t stream_id, std::string_view name);
  // The stream's consumers, sorted by name in byte order.
  Result<std::vector<ConsumerRecord>> ListConsumers(int64_t stream_id);

  // --- Reader checkpoints ---------------------------------------------------
  // One position per named reader (a consumer, a delivery stream) per shard.
  // The position is opaque here: the reader's own sequence number.

  // Inserts or overwrites. kResourceNotFound "Stream with id <id> not found."
  // or "Shard <shard id> in stream <name> under account <account> does not
  // exist" if the shard is not in the catalog.
  Status SaveCheckpoint(std::string_view reader, int64_t stream_id,
                        uint32_t shard_index, std::string_view position);
  // nullopt if the reader never saved one for that shard.
  Result<std::optional<std::string>> LoadCheckpoint(std::string_view reader,
                                                    int64_t stream_id,
                                                    uint32_t shard_index);
  // Forgets every checkpoint of the reader (a deleted delivery stream).
  Status DeleteCheckpoints(std::string_view reader);

  // --- Delivery stream readers ---------------------------------------------
  // The position (the offset of the next record to read) of a named reader
  // in a delivery stream's own log: an in-process consumer whose source is a
  // delivery stream. The delivery engine keeps the records at and after the
  // lowest position when it trims the log. Deleting the delivery stream
  // forgets its readers; DeleteEventConsumer forgets the reader's positions.

  // Inserts or overwrites. kResourceNotFound if there is no such id.
  Status SaveDeliveryReaderPosition(std::string_view reader,
                                    int64_t delivery_stream_id,
                                    uint64_t position);
  // nullopt if the reader never saved one for that delivery stream.
  Result<std::optional<uint64_t>> LoadDeliveryReaderPosition(
      std::string_view reader, int64_t delivery_stream_id);
  // The lowest position of any reader of the delivery stream; nullopt when
  // it has none.
  Result<std::optional<uint64_t>> LowestDeliveryReaderPosition(
      int64_t delivery_stream_id);

  // --- In-process consumers -------------------------------------------------
  // kResourceInUse "Consumer <name> already exists." if the name is taken.
  Status CreateEventConsumer(const EventConsumerRecord& consumer);
  // Every consumer, sorted by name.
  Result<std::vector<EventConsumerRecord>> ListEventConsumers();
  // kResourceNotFound "Consumer <name> not found." if there is none.
  Status SetEventConsumerPaused(std::string_view name, bool paused);
  // Deletes the consumer and every checkpoint and delivery stream position
  // of `reader` (its positions) in one transaction. kResourceNotFound as above.
  Status DeleteEventConsumer(std::string_view name, std::string_view reader);

 private:
  struct Statements;  // the prepared statements; defined in catalog.cc

  Catalog(Database db, std::unique_ptr<Statements> statements,
          int schema_version);

  // Each REQUIRES mu_ held.
  Result<std::optional<StreamRecord>> FindStreamByIdLocked(int64_t stream_id);
  Result<std::vector<StreamRecord>> ReadStreamsLocked(Statement& statement);
  Status ReadMetricsLocked(StreamRecord& stream);
  Status WriteMetricsLocked(const StreamRecord& stream);
  Status WriteShardLocked(Statement& statement, int64_t stream_id,
                          const ShardRecord& shard);

  const int schema_version_;
  mutable std::mutex mu_;
  // Declared before the statements, so they are finalized before it closes.
  Database db_;                             // guarded by mu_
  std::unique_ptr<Statements> statements_;  // guarded by mu_
};

}  // namespace sluice::catalog
