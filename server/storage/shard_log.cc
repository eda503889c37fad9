#include "server/storage/shard_log.h"

#include "common/sequence_number.h"

namespace sluice::storage {

std::optional<FsyncMode> ParseFsyncMode(std::string_view name) {
  if (name == "never") return FsyncMode::kNever;
  if (name == "interval") return FsyncMode::kInterval;
  if (name == "always") return FsyncMode::kAlways;
  return std::nullopt;
}

std::string_view FsyncModeName(FsyncMode mode) {
  switch (mode) {
    case FsyncMode::kNever:
      return "never";
    case FsyncMode::kInterval:
      return "interval";
    case FsyncMode::kAlways:
      return "always";
  }
  return "?";
}

Result<AppendedRecord> ShardLog::Append(const RecordToAppend& record) {
  Result<std::vector<AppendedRecord>> appended =
      AppendBatch(std::span<const RecordToAppend>(&record, 1));
  if (!appended.ok()) return appended.status();
  return std::move(appended->front());
}

std::string SequenceNumberFor(const ShardIdentity& identity, uint64_t offset,
                              EpochMillis arrival_millis) {
  SequenceNumberParts parts;
  parts.shard_creation_seconds = identity.creation_seconds;
  parts.shard_index = identity.shard_index;
  parts.offset = offset;
  parts.arrival_seconds = ArrivalSeconds(arrival_millis);
  return EncodeSequenceNumber(parts);
}

}  // namespace sluice::storage
