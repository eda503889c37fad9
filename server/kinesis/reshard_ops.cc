// Resharding: SplitShard, MergeShards and UpdateShardCount. The rules that
// need the stream's shards (ranges, open or closed, state, limits) are checked
// by the StreamManager under the stream's lock; this file reads the request
// and writes AWS's answer.
#include <algorithm>
#include <charconv>
#include <limits>

#include "server/kinesis/kinesis_api.h"
#include "server/model/service_model.h"

namespace sluice::kinesis {
namespace {

// The shard a member names, or AWS's "Could not find shard ..." answer.
Result<uint32_t> ShardIndexOf(const json::Value& input, const char* member,
                              const StreamKey& key) {
  std::string_view id = model::GetString(input, member).value_or("");
  std::optional<uint32_t> index = catalog::ParseShardIndex(id);
  if (!index) {
    return Status(ErrorCode::kResourceNotFound,
                  "Could not find shard " + std::string(id) + " in stream " +
                      key.name + " under account " + key.account_id + ".");
  }
  return *index;
}

}  // namespace

Status KinesisApi::SplitShard(const Context& context, const json::Value& input,
                              Encoder& /*output*/) {
  auto key = ResolveStream(context, input);
  if (!key.ok()) return key.status();
  auto index = ShardIndexOf(input, "ShardToSplit", *key);
  if (!index.ok()) return index.status();
  return streams_.SplitShard(
      *key, *index, model::GetString(input, "NewStartingHashKey").value_or(""));
}

Status KinesisApi::MergeShards(const Context& context, const json::Value& input,
                               Encoder& /*output*/) {
  auto key = ResolveStream(context, input);
  if (!key.ok()) return key.status();
  auto index = ShardIndexOf(input, "ShardToMerge", *key);
  if (!index.ok()) return index.status();
  auto adjacent = ShardIndexOf(input, "AdjacentShardToMerge", *key);
  if (!adjacent.ok()) return adjacent.status();
  return streams_.MergeShards(*key, *index, *adjacent);
}

Status KinesisApi::UpdateShardCount(const Context& context,
                                    const json::Value& input, Encoder& output) {
  auto key = ResolveStream(context, input);
  if (!key.ok()) return key.status();
  // The model allows only UNIFORM_SCALING and a positive target.
  int64_t target = model::GetInteger(input, "TargetShardCount").value_or(0);
  // Anything this large is refused by the limit check; the cast stays exact.
  target = std::min<int64_t>(target, std::numeric_limits<uint32_t>::max());
  auto current = streams_.UpdateShardCount(*key, static_cast<uint32_t>(target));
  if (!current.ok()) return current.status();
  output.StartObject();
  output.Key("StreamName");
  output.String(key->name);
  output.Key("CurrentShardCount");
  output.Int(*current);
  output.Key("TargetShardCount");
  output.Int(target);
  output.Key("StreamARN");
  output.String(StreamArn(*key));
  output.EndObject();
  return Status::Ok();
}

}  // namespace sluice::kinesis
