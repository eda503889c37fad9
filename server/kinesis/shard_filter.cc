#include "server/kinesis/shard_filter.h"

#include <algorithm>
#include <array>
#include <utility>

namespace sluice::kinesis {
namespace {

constexpr std::array<std::pair<ShardFilterType, std::string_view>, 6> kNames = {
    {
        {ShardFilterType::kAfterShardId, "AFTER_SHARD_ID"},
        {ShardFilterType::kAtTrimHorizon, "AT_TRIM_HORIZON"},
        {ShardFilterType::kFromTrimHorizon, "FROM_TRIM_HORIZON"},
        {ShardFilterType::kAtLatest, "AT_LATEST"},
        {ShardFilterType::kAtTimestamp, "AT_TIMESTAMP"},
        {ShardFilterType::kFromTimestamp, "FROM_TIMESTAMP"},
    }};

// Open at `instant`: created by then and not closed before it. A shard
// closed exactly at `instant` counts, as AWS's "end timestamp is greater than
// or equal to the given timestamp" says.
bool OpenAt(const catalog::ShardRecord& shard, EpochMillis instant) {
  return shard.created_at <= instant &&
         (shard.IsOpen() || shard.closed_at.value_or(0) >= instant);
}

bool ClosedAtOrAfter(const catalog::ShardRecord& shard, EpochMillis instant) {
  return shard.IsOpen() || shard.closed_at.value_or(0) >= instant;
}

}  // namespace

std::optional<ShardFilterType> ParseShardFilterType(std::string_view text) {
  for (const auto& [type, name] : kNames) {
    if (name == text) return type;
  }
  return std::nullopt;
}

std::string_view ToString(ShardFilterType type) {
  for (const auto& [candidate, name] : kNames) {
    if (candidate == type) return name;
  }
  return "FROM_TRIM_HORIZON";
}

EpochMillis TrimHorizonOf(const ShardSelectionContext& context) {
  EpochMillis retention =
      static_cast<EpochMillis>(context.retention_hours) * 3600 * 1000;
  return std::max(context.now - retention, context.stream_created_at);
}

bool ShardMatches(const ShardFilter& filter, const catalog::ShardRecord& shard,
                  const ShardSelectionContext& context) {
  EpochMillis trim_horizon = TrimHorizonOf(context);
  if (!ClosedAtOrAfter(shard, trim_horizon)) return false;  // expired
  switch (filter.type) {
    case ShardFilterType::kAfterShardId:
      return shard.ShardId() > filter.shard_id;
    case ShardFilterType::kAtTrimHorizon:
      return OpenAt(shard, trim_horizon);
    case ShardFilterType::kFromTrimHorizon:
      return true;
    case ShardFilterType::kAtLatest:
      return shard.IsOpen();
    case ShardFilterType::kAtTimestamp:
      return OpenAt(shard, filter.timestamp);
    case ShardFilterType::kFromTimestamp:
      return ClosedAtOrAfter(shard, std::max(filter.timestamp, trim_horizon));
  }
  return false;
}

std::vector<const catalog::ShardRecord*> SelectShards(
    const std::vector<const catalog::ShardRecord*>& shards,
    const ShardFilter& filter, std::string_view exclusive_start,
    const ShardSelectionContext& context) {
  std::vector<const catalog::ShardRecord*> out;
  for (const catalog::ShardRecord* shard : shards) {
    if (!exclusive_start.empty() && shard->ShardId() <= exclusive_start)
      continue;
    if (ShardMatches(filter, *shard, context)) out.push_back(shard);
  }
  std::sort(out.begin(), out.end(),
            [](const catalog::ShardRecord* a, const catalog::ShardRecord* b) {
              return a->shard_index < b->shard_index;
            });
  return out;
}

}  // namespace sluice::kinesis
