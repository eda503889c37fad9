// Shard iterators: the opaque strings GetShardIterator hands out and
// GetRecords takes back. Each binds a stream incarnation, a shard, a log
// position and its creation time under a MAC, so a client can neither forge
// nor edit one. Like AWS's, an iterator lives 300 s.
//
// The incarnation (stream_id) lets GetRecords tell an iterator of a deleted
// stream from one of a new stream with the same name. What it then answers is
// its call: AWS, in kinesalite's test run against the real service, gave such
// an iterator 200 with no records when the recreated stream had that shard,
// and ResourceNotFoundException "Shard <id> in stream <name> under account
// <account> does not exist" when it had not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"

namespace sluice::kinesis {

// AWS's limit on ShardIterator in GetRecords; ours are far shorter (64).
inline constexpr size_t kMaxShardIteratorLength = 512;
// How long an iterator may be used after GetShardIterator (or GetRecords)
// created it; a use exactly this old still succeeds.
inline constexpr EpochMillis kShardIteratorLifetimeMillis = 300000;
// Length of the secret that keys the MAC.
inline constexpr size_t kShardIteratorKeyBytes = 32;

struct IteratorPosition {
  int64_t stream_id;  // the catalog's id of this stream incarnation
  uint32_t shard_index;
  uint64_t offset;  // where in the shard's log the next read starts
  EpochMillis created_at;

  friend bool operator==(const IteratorPosition&,
                         const IteratorPosition&) = default;
};

// Turns positions into iterators and back. Created once by the server and
// shared; const and thread-safe. `clock` must outlive the codec.
//
// Iterators survive a restart, as AWS's survive within their 300 s, only if
// the server persists its key and hands the same one to the next process; a
// new key invalidates every outstanding iterator ("Invalid ShardIterator.").
class ShardIteratorCodec {
 public:
  // REQUIRES: `secret_key` holds at least kShardIteratorKeyBytes random bytes,
  // e.g. from NewShardIteratorKey().
  ShardIteratorCodec(std::string secret_key, const Clock& clock);

  // `position.created_at` is written as given; the caller takes it from the
  // clock it gave this codec.
  std::string Encode(const IteratorPosition& position) const;

  // The position Encode() was given, or
  // - kInvalidArgument "Invalid ShardIterator." for any string Encode() did
  //   not produce under this key: bad base64, wrong length, wrong MAC;
  // - kExpiredIterator, with AWS's message, once the clock is more than
  //   kShardIteratorLifetimeMillis past `created_at`.
  // Whether the stream and shard still exist is for the caller to check.
  Result<IteratorPosition> Decode(std::string_view iterator) const;

 private:
  std::string secret_key_;
  const Clock& clock_;
};

// kShardIteratorKeyBytes from the operating system's random source.
std::string NewShardIteratorKey();

// How AWS prints times in the ExpiredIteratorException message: Java's
// Date.toString() in UTC, "Thu Jan 22 01:22:02 UTC 2015". Milliseconds are
// dropped.
std::string JavaUtcDateString(EpochMillis millis);

}  // namespace sluice::kinesis
