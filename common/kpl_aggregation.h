// KPL aggregated records (aws-behaviour.md section 5): many user records in
// one Kinesis record, as the Kinesis Producer Library writes them and the
// KCL and Firehose read them. The bytes are the magic F3 89 9A C2, a
// protobuf (proto2) AggregatedRecord, and the MD5 of the protobuf bytes.
// Written here (a few varints) rather than linked to protobuf, so
// sluice_common keeps its no-dependency rule.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::kpl {

// One record inside an aggregate.
struct UserRecord {
  std::string partition_key;
  std::optional<std::string> explicit_hash_key;
  std::string data;

  friend bool operator==(const UserRecord&, const UserRecord&) = default;
};

// The user records of `bytes`, in order, or nullopt when `bytes` is an
// ordinary record: no magic, too short, a protobuf that does not parse or
// breaks the message's rules (a required field missing, an index outside
// its table), or a wrong MD5 — as the KCL decides.
std::optional<std::vector<UserRecord>> Deaggregate(std::string_view bytes);

// The aggregated record holding `records` (each key written once in the
// tables), for producers. Deaggregate(Aggregate(r)) == r.
std::string Aggregate(const std::vector<UserRecord>& records);

}  // namespace sluice::kpl
