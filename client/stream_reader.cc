#include "client/stream_reader.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "common/base64.h"
#include "common/kpl_aggregation.h"

namespace sluice::client {
namespace {

// Renewals in a row, without a call that worked between them, before an
// ExpiredIteratorException is taken for what it says.
constexpr int kMaxRenewalsInARow = 3;

std::string ShardBody(std::string_view stream, std::string_view shard,
                      std::string_view type) {
  std::string body = "{\"StreamName\":";
  body += json::Quote(stream);
  body += ",\"ShardId\":";
  body += json::Quote(shard);
  body += ",\"ShardIteratorType\":\"";
  body += type;
  body += '"';
  return body;
}

std::string_view IteratorType(StartPosition start) {
  switch (start) {
    case StartPosition::kTrimHorizon:
      return "TRIM_HORIZON";
    case StartPosition::kLatest:
      return "LATEST";
    case StartPosition::kAtTimestamp:
      return "AT_TIMESTAMP";
  }
  return "TRIM_HORIZON";
}

// A string member, or "" when it is missing or not a string.
std::string_view StringMember(const json::Value& object,
                              std::string_view name) {
  const json::Value* value = json::Member(object, name);
  return value != nullptr && value->IsString() ? json::AsView(*value)
                                               : std::string_view();
}

}  // namespace

StreamReader::StreamReader(ApiClient& client, std::string stream,
                           ReaderOptions options)
    : StreamReader(
          [&client](Api api, std::string_view operation,
                    std::string_view body) {
            return client.Call(api, operation, body);
          },
          std::move(stream), std::move(options)) {}

StreamReader::StreamReader(CallFunction call, std::string stream,
                           ReaderOptions options)
    : call_(std::move(call)),
      stream_(std::move(stream)),
      options_(std::move(options)) {}

StreamReader::~StreamReader() = default;

void StreamReader::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
}

bool StreamReader::WaitUntil(Clock::time_point until) {
  std::unique_lock lock(mu_);
  return !wake_.wait_until(lock, until, [&] { return stop_.load(); });
}

Result<bool> StreamReader::ListShards() {
  struct Listed {
    std::string id;
    std::vector<std::string> parents;
    bool closed = false;
  };
  std::vector<Listed> listed;
  std::string body = "{\"StreamName\":" + json::Quote(stream_) + "}";
  while (true) {
    auto answer = call_(Api::kKinesis, "ListShards", body);
    if (!answer.ok()) return answer.status();
    const json::Value* shards = json::Member(*answer, "Shards");
    if (shards == nullptr || !shards->IsArray()) {
      return Status(ErrorCode::kInternalFailure, "ListShards has no Shards");
    }
    for (const json::Value& shard : shards->GetArray()) {
      Listed entry;
      entry.id = StringMember(shard, "ShardId");
      if (entry.id.empty()) continue;
      for (const char* member : {"ParentShardId", "AdjacentParentShardId"}) {
        std::string_view parent = StringMember(shard, member);
        if (!parent.empty()) entry.parents.emplace_back(parent);
      }
      const json::Value* range = json::Member(shard, "SequenceNumberRange");
      entry.closed = range != nullptr &&
                     json::Member(*range, "EndingSequenceNumber") != nullptr;
      listed.push_back(std::move(entry));
    }
    std::string_view token = StringMember(*answer, "NextToken");
    if (token.empty()) break;
    body = "{\"NextToken\":" + json::Quote(token) + "}";
  }

  bool added = false;
  for (Listed& entry : listed) {
    if (shards_.count(entry.id)) continue;
    Shard& shard = shards_[entry.id];
    added = true;
    for (std::string& parent : entry.parents) {
      // A parent past the retention period is no longer listed: nothing to
      // wait for.
      if (std::any_of(listed.begin(), listed.end(), [&](const Listed& other) {
            return other.id == parent;
          })) {
        shard.parents.push_back(std::move(parent));
      }
    }
    if (listed_) continue;  // made by a reshard: read from its first record
    shard.start = options_.start;
    // From the tip, a shard closed already holds only the past.
    if (options_.start == StartPosition::kLatest && entry.closed) {
      shard.started = shard.finished = true;
    }
  }
  listed_ = true;
  return added;
}

Status StreamReader::MakeIterator(const std::string& id, Shard& shard) {
  std::string body;
  if (!shard.partial_sequence.empty()) {
    body = ShardBody(stream_, id, "AT_SEQUENCE_NUMBER") +
           ",\"StartingSequenceNumber\":" + json::Quote(shard.partial_sequence);
  } else if (!shard.last_sequence.empty()) {
    body = ShardBody(stream_, id, "AFTER_SEQUENCE_NUMBER") +
           ",\"StartingSequenceNumber\":" + json::Quote(shard.last_sequence);
  } else {
    // Nothing handed over yet: where the shard starts (for LATEST, the tip
    // as it is now).
    body = ShardBody(stream_, id, IteratorType(shard.start));
    if (shard.start == StartPosition::kAtTimestamp) {
      char number[64];
      auto end = std::to_chars(number, number + sizeof(number),
                               options_.timestamp, std::chars_format::fixed, 3)
                     .ptr;
      body += ",\"Timestamp\":";
      body.append(number, end);
    }
  }
  body += '}';
  auto answer = call_(Api::kKinesis, "GetShardIterator", body);
  if (!answer.ok()) return answer.status();
  std::string_view iterator = StringMember(*answer, "ShardIterator");
  if (iterator.empty()) {
    return Status(ErrorCode::kInternalFailure,
                  "GetShardIterator answered without a ShardIterator");
  }
  shard.iterator = iterator;
  shard.started = true;
  shard.renew = false;
  return Status::Ok();
}

Status StreamReader::ReadOnce(const std::string& id, Shard& shard,
                              const RecordCallback& on_record, bool& stopped) {
  const std::string body = "{\"ShardIterator\":" + json::Quote(shard.iterator) +
                           ",\"Limit\":" + std::to_string(options_.limit) + "}";
  auto answer = call_(Api::kKinesis, "GetRecords", body);
  ++stats_.get_records_calls;
  const auto now = Clock::now();
  if (!answer.ok()) {
    const ErrorCode code = answer.status().code();
    if (code == ErrorCode::kProvisionedThroughputExceeded ||
        code == ErrorCode::kLimitExceeded) {
      // ApiClient has retried already; this shard waits longer while the
      // others go on.
      ++stats_.throttled;
      BackOff(shard);
      return Status::Ok();
    }
    if (code == ErrorCode::kExpiredIterator &&
        ++shard.expired_streak <= kMaxRenewalsInARow) {
      ++stats_.renewed_iterators;
      shard.renew = true;  // after what was handed over
      return Status::Ok();
    }
    return answer.status();
  }
  shard.throttle_streak = 0;
  shard.expired_streak = 0;

  const json::Value* records = json::Member(*answer, "Records");
  if (records == nullptr || !records->IsArray()) {
    return Status(ErrorCode::kInternalFailure, "GetRecords has no Records");
  }
  ReadRecord out;
  out.shard_id = id;
  for (const json::Value& record : records->GetArray()) {
    ++stats_.records;
    out.sequence_number = StringMember(record, "SequenceNumber");
    out.partition_key = StringMember(record, "PartitionKey");
    const json::Value* arrival =
        json::Member(record, "ApproximateArrivalTimestamp");
    out.approximate_arrival_timestamp =
        arrival != nullptr && arrival->IsNumber() ? arrival->GetDouble() : 0;
    std::string data =
        Base64Decode(StringMember(record, "Data")).value_or(std::string());
    std::optional<std::vector<kpl::UserRecord>> users;
    if (options_.deaggregate) users = kpl::Deaggregate(data);

    // Where this record's hand-over begins: past the user records handed
    // over before Run() last stopped inside it.
    uint32_t done = 0;
    if (!shard.partial_sequence.empty()) {
      if (shard.partial_sequence == out.sequence_number) {
        done = shard.partial_done;
      }
      shard.partial_sequence.clear();
    }
    const uint32_t count =
        users ? static_cast<uint32_t>(users->size()) : uint32_t{1};
    for (uint32_t i = done; i < count; ++i) {
      if (users) {
        kpl::UserRecord& user = (*users)[i];
        out.subsequence_number = i;
        out.partition_key = std::move(user.partition_key);
        out.explicit_hash_key = std::move(user.explicit_hash_key);
        out.data = std::move(user.data);
      } else {
        out.subsequence_number.reset();
        out.explicit_hash_key.reset();
        out.data = std::move(data);
      }
      bool go_on = !stopping();
      if (go_on) {
        ++stats_.user_records;
        go_on = on_record(out) && !stopping();
        ++done;
      }
      if (!go_on) {
        // Come back to exactly the next record: the rest of this page is
        // read again by a new iterator, if Run() is called again.
        stopped = true;
        shard.renew = true;
        if (done < count) {
          shard.partial_sequence = out.sequence_number;
          shard.partial_done = done;
        } else {
          shard.last_sequence = out.sequence_number;
        }
        return Status::Ok();
      }
    }
    shard.last_sequence = out.sequence_number;
  }

  std::string_view next = StringMember(*answer, "NextShardIterator");
  if (next.empty()) {
    // A closed shard read to its end: its children come next.
    shard.finished = true;
    ++stats_.shards_finished;
    return Status::Ok();
  }
  shard.iterator = next;
  const json::Value* behind = json::Member(*answer, "MillisBehindLatest");
  shard.at_tip =
      records->Empty() &&
      (behind == nullptr || !behind->IsNumber() || behind->GetDouble() <= 0);
  shard.not_before = now + (shard.at_tip ? std::max(options_.poll_interval,
                                                    options_.min_call_interval)
                                         : options_.min_call_interval);
  return Status::Ok();
}

void StreamReader::BackOff(Shard& shard) {
  ClientOptions backoff;
  backoff.base_backoff = options_.throttle_base_backoff;
  backoff.max_backoff = options_.throttle_max_backoff;
  shard.not_before =
      Clock::now() + JitteredBackoff(backoff, ++shard.throttle_streak);
}

bool StreamReader::Pending(const Shard& shard) const {
  if (shard.finished || (shard.at_tip && !options_.follow)) return false;
  if (shard.started) return true;
  return std::all_of(
      shard.parents.begin(), shard.parents.end(), [&](const std::string& p) {
        auto parent = shards_.find(p);
        return parent == shards_.end() || parent->second.finished;
      });
}

Status StreamReader::Run(const RecordCallback& on_record) {
  // Whatever way this returns, a Stop() that ended it is used up.
  struct ClearStop {
    std::atomic<bool>& stop;
    ~ClearStop() { stop = false; }
  } clear_stop{stop_};

  if (!listed_) {
    auto listed = ListShards();
    if (!listed.ok()) return listed.status();
  }
  // Without `follow`, what was at its tip last time may have more now.
  for (auto& [id, shard] : shards_) shard.at_tip = false;

  while (!stopping()) {
    bool finished_one = false;
    bool pending = false;
    Clock::time_point wake = Clock::time_point::max();
    for (auto& [id, shard] : shards_) {
      if (!Pending(shard)) continue;
      pending = true;
      if (const auto now = Clock::now(); shard.not_before > now) {
        wake = std::min(wake, shard.not_before);
        continue;
      }
      if (!shard.started || shard.renew) {
        if (Status s = MakeIterator(id, shard); !s.ok()) {
          const ErrorCode code = s.code();
          if (code != ErrorCode::kProvisionedThroughputExceeded &&
              code != ErrorCode::kLimitExceeded) {
            return s;
          }
          BackOff(shard);
          wake = std::min(wake, shard.not_before);
          continue;
        }
      }
      bool stopped = false;
      if (Status s = ReadOnce(id, shard, on_record, stopped); !s.ok()) {
        return s;
      }
      if (stopped) return Status::Ok();
      finished_one |= shard.finished;
      wake = Clock::now();  // go round again before waiting
    }
    if (finished_one) {
      // A drained parent: its children (made when it closed) are listed by
      // now and may start.
      auto listed = ListShards();
      if (!listed.ok()) return listed.status();
      continue;
    }
    if (!pending) {
      // Every shard is finished or (without `follow`) at its tip. A reshard
      // meanwhile closes shards and makes new ones: read those too.
      auto listed = ListShards();
      if (!listed.ok()) return listed.status();
      if (*listed) {
        for (auto& [id, shard] : shards_) shard.at_tip = false;
        continue;
      }
      if (!options_.follow) return Status::Ok();
      wake = Clock::now() + options_.poll_interval;
    }
    if (wake > Clock::now() && !WaitUntil(wake)) break;
  }
  return Status::Ok();
}

}  // namespace sluice::client
