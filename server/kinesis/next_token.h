// Pagination tokens (NextToken of ListStreams, ListShards, ...): opaque to
// clients, valid for 300 seconds as on AWS. A token carries where the next
// page starts and when it was issued; it is base64 text.
#pragma once

#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"

namespace sluice::kinesis {

inline constexpr EpochMillis kNextTokenLifetimeMillis = 300'000;

// `resume_after` is what the page ended with (a stream name, a shard id).
std::string EncodeNextToken(std::string_view resume_after, EpochMillis now);

// The `resume_after` the token was made with, or kInvalidArgument
// "Invalid NextToken." / kExpiredNextToken when older than 300 s.
Result<std::string> DecodeNextToken(std::string_view token, EpochMillis now);

}  // namespace sluice::kinesis
