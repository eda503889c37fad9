// Which shards ListShards returns: its ShardFilter types and the rule that
// expired shards are never listed. Pure functions over catalog records, so
// the selection is tested without a server; shard_ops.cc does the paging.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "server/catalog/catalog.h"

namespace sluice::kinesis {

enum class ShardFilterType {
  kAfterShardId,
  kAtTrimHorizon,
  kFromTrimHorizon,  // the default when a request has no ShardFilter
  kAtLatest,
  kAtTimestamp,
  kFromTimestamp,
};

// "AFTER_SHARD_ID" and the rest, as on the wire; nullopt for any other text.
std::optional<ShardFilterType> ParseShardFilterType(std::string_view text);
std::string_view ToString(ShardFilterType type);

struct ShardFilter {
  ShardFilterType type = ShardFilterType::kFromTrimHorizon;
  std::string shard_id;       // AFTER_SHARD_ID only
  EpochMillis timestamp = 0;  // AT_TIMESTAMP and FROM_TIMESTAMP only

  friend bool operator==(const ShardFilter&, const ShardFilter&) = default;
};

// What the selection needs to know about the stream at the time of the call.
struct ShardSelectionContext {
  EpochMillis now = 0;
  EpochMillis stream_created_at = 0;
  int retention_hours = 24;
};

// The instant TRIM_HORIZON stands for: now minus the retention period, but
// never before the stream existed (a young stream's trim horizon is its
// creation, where its first shards opened).
EpochMillis TrimHorizonOf(const ShardSelectionContext& context);

// Whether ListShards lists `shard` under `filter`:
// - never a closed shard that closed before the trim horizon: all its data has
//   expired ("This action does not list expired shards");
// - AFTER_SHARD_ID: shard ids after filter.shard_id;
// - AT_TRIM_HORIZON: shards open at the trim horizon;
// - FROM_TRIM_HORIZON: every unexpired shard;
// - AT_LATEST: open shards;
// - AT_TIMESTAMP: created at or before the timestamp and open or closed at or
//   after it;
// - FROM_TIMESTAMP: open shards and those closed at or after the timestamp,
//   which is raised to the trim horizon when older.
bool ShardMatches(const ShardFilter& filter, const catalog::ShardRecord& shard,
                  const ShardSelectionContext& context);

// The shards `filter` selects, strictly after `exclusive_start` (a shard id;
// "" for none), in ShardId order. Shard ids sort like their indexes, since
// the index is zero-padded to 12 digits.
std::vector<const catalog::ShardRecord*> SelectShards(
    const std::vector<const catalog::ShardRecord*>& shards,
    const ShardFilter& filter, std::string_view exclusive_start,
    const ShardSelectionContext& context);

}  // namespace sluice::kinesis
