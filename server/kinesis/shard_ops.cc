// ListShards: which shards (shard_filter.h), and paging through them with
// NextToken.
#include <algorithm>
#include <charconv>

#include "server/kinesis/kinesis_api.h"
#include "server/kinesis/next_token.h"
#include "server/kinesis/shard_filter.h"
#include "server/model/service_model.h"

namespace sluice::kinesis {
namespace {

inline constexpr int64_t kListShardsPageMax = 1000;

// Where the next page of a ListShards call starts. The token names the
// stream incarnation by id, so a stream deleted and created again under the
// same name is not continued by mistake, and it carries the filter, since a
// request with a NextToken may not repeat it.
struct ShardPageToken {
  int64_t stream_id = 0;
  std::string stream_name;  // for the not-found message once it is gone
  std::string last_shard_id;
  ShardFilter filter;
};

// Stream names, shard ids and filter type names never contain '/', so it
// separates the fields.
std::string EncodeShardPage(const ShardPageToken& page) {
  return std::to_string(page.stream_id) + "/" + page.stream_name + "/" +
         page.last_shard_id + "/" + std::string(ToString(page.filter.type)) +
         "/" + page.filter.shard_id + "/" +
         std::to_string(page.filter.timestamp);
}

std::optional<ShardPageToken> DecodeShardPage(std::string_view text) {
  std::string_view fields[6];
  for (size_t i = 0; i < 6; ++i) {
    size_t slash = text.find('/');
    if ((slash == std::string_view::npos) != (i == 5)) return std::nullopt;
    fields[i] = text.substr(0, slash);
    if (slash != std::string_view::npos) text.remove_prefix(slash + 1);
  }
  ShardPageToken page;
  auto parse = [](std::string_view field, int64_t& value) {
    auto [ptr, ec] =
        std::from_chars(field.data(), field.data() + field.size(), value);
    return ec == std::errc() && ptr == field.data() + field.size();
  };
  std::optional<ShardFilterType> type = ParseShardFilterType(fields[3]);
  if (!parse(fields[0], page.stream_id) || fields[1].empty() ||
      fields[2].empty() || !type || !parse(fields[5], page.filter.timestamp)) {
    return std::nullopt;
  }
  page.stream_name = fields[1];
  page.last_shard_id = fields[2];
  page.filter.type = *type;
  page.filter.shard_id = fields[4];
  return page;
}

bool Has(const json::Value& input, const char* member) {
  auto it = input.FindMember(member);
  return it != input.MemberEnd() && !it->value.IsNull();
}

// A model-validated timestamp member (epoch seconds, possibly fractional).
std::optional<EpochMillis> GetTimestampMillis(const json::Value& input,
                                              const char* member) {
  auto it = input.FindMember(member);
  if (it == input.MemberEnd() || !it->value.IsNumber()) return std::nullopt;
  return EpochMillisFromSeconds(it->value.GetDouble());
}

Result<ShardFilter> ReadShardFilter(const json::Value& input) {
  ShardFilter filter;
  auto it = input.FindMember("ShardFilter");
  if (it == input.MemberEnd() || !it->value.IsObject()) return filter;
  const json::Value& object = it->value;
  // The model has checked that Type is present and in the enum.
  filter.type =
      ParseShardFilterType(
          model::GetString(object, "Type").value_or("FROM_TRIM_HORIZON"))
          .value_or(ShardFilterType::kFromTrimHorizon);
  std::string type_name(ToString(filter.type));
  if (filter.type == ShardFilterType::kAfterShardId) {
    std::optional<std::string_view> shard_id =
        model::GetString(object, "ShardId");
    if (!shard_id) {
      return Status(ErrorCode::kInvalidArgument,
                    "ShardId must be specified for ShardFilter of type " +
                        type_name + ".");
    }
    filter.shard_id = std::string(*shard_id);
  }
  if (filter.type == ShardFilterType::kAtTimestamp ||
      filter.type == ShardFilterType::kFromTimestamp) {
    std::optional<EpochMillis> timestamp =
        GetTimestampMillis(object, "Timestamp");
    if (!timestamp) {
      return Status(ErrorCode::kInvalidArgument,
                    "Timestamp must be specified for ShardFilter of type " +
                        type_name + ".");
    }
    filter.timestamp = *timestamp;
  }
  return filter;
}

Status NextTokenConflict(std::string_view member) {
  return Status(
      ErrorCode::kInvalidArgument,
      "NextToken and " + std::string(member) + " cannot be provided together.");
}

}  // namespace

Status KinesisApi::ListShards(const Context& context, const json::Value& input,
                              Encoder& output) {
  int64_t limit = std::min(
      model::GetInteger(input, "MaxResults").value_or(kListShardsPageMax),
      kListShardsPageMax);
  EpochMillis now = streams_.clock().NowMillis();

  std::shared_ptr<LiveStream> stream;
  ShardFilter filter;
  std::string start(
      model::GetString(input, "ExclusiveStartShardId").value_or(""));
  if (std::optional<std::string_view> token =
          model::GetString(input, "NextToken")) {
    // The token names the stream and the filter; nothing may compete with it.
    // AWS names StreamName also when the request gave a StreamARN.
    if (Has(input, "StreamName") || Has(input, "StreamARN"))
      return NextTokenConflict("StreamName");
    if (Has(input, "ExclusiveStartShardId"))
      return NextTokenConflict("ExclusiveStartShardId");
    if (Has(input, "StreamCreationTimestamp"))
      return NextTokenConflict("StreamCreationTimestamp");
    if (Has(input, "ShardFilter")) return NextTokenConflict("ShardFilter");
    auto plain = DecodeNextToken(*token, now);
    if (!plain.ok()) return plain.status();
    std::optional<ShardPageToken> page = DecodeShardPage(*plain);
    if (!page) return Status(ErrorCode::kInvalidArgument, "Invalid NextToken.");
    stream = streams_.FindById(page->stream_id);
    StreamKey key{context.account_id, context.region, page->stream_name};
    if (!stream) return StreamNotFound(key);
    {
      std::shared_lock lock(stream->mu);
      // Another account's or region's token does not reach its stream.
      if (stream->record.account_id != key.account_id ||
          stream->record.region != key.region ||
          stream->record.name != key.name) {
        return Status(ErrorCode::kInvalidArgument, "Invalid NextToken.");
      }
    }
    filter = page->filter;
    start = page->last_shard_id;
  } else {
    if (!Has(input, "StreamName") && !Has(input, "StreamARN")) {
      return Status(ErrorCode::kInvalidArgument,
                    "Either NextToken or StreamName should be provided.");
    }
    auto found = FindStream(context, input);
    if (!found.ok()) return found.status();
    stream = std::move(*found);
    auto read = ReadShardFilter(input);
    if (!read.ok()) return read.status();
    filter = std::move(*read);
  }

  std::shared_lock lock(stream->mu);
  const catalog::StreamRecord& record = stream->record;
  if (std::optional<EpochMillis> created =
          GetTimestampMillis(input, "StreamCreationTimestamp")) {
    // Clients may send whole seconds; only this incarnation is live, so a
    // timestamp naming another one finds nothing.
    if (*created / 1000 != record.created_at / 1000) {
      return StreamNotFound({record.account_id, record.region, record.name});
    }
  }
  if (record.status == catalog::StreamStatus::kCreating) {
    return StreamNotActive(record);
  }

  std::vector<const catalog::ShardRecord*> all;
  all.reserve(stream->shards.size());
  for (const LiveShard& shard : stream->shards) all.push_back(&shard.record);
  std::vector<const catalog::ShardRecord*> selected = SelectShards(
      all, filter, start, {now, record.created_at, record.retention_hours});
  bool has_more = selected.size() > static_cast<size_t>(limit);
  if (has_more) selected.resize(static_cast<size_t>(limit));

  output.StartObject();
  output.Key("Shards");
  output.StartArray();
  for (const catalog::ShardRecord* shard : selected) WriteShard(output, *shard);
  output.EndArray();
  if (has_more) {
    output.Key("NextToken");
    output.String(
        EncodeNextToken(EncodeShardPage({record.stream_id, record.name,
                                         selected.back()->ShardId(), filter}),
                        now));
  }
  output.EndObject();
  return Status::Ok();
}

}  // namespace sluice::kinesis
