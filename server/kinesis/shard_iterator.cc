#include "server/kinesis/shard_iterator.h"

#include <array>
#include <cassert>
#include <chrono>
#include <cstdio>
#include <optional>
#include <random>
#include <utility>

#include "common/base64.h"
#include "common/sha256.h"

namespace sluice::kinesis {
namespace {

// Layout, all integers big-endian:
//   format 8 | stream_id 8 | shard_index 4 | offset 8 | created_at 8 | MAC 12
// 48 bytes, a whole number of base64 groups, so the text is 64 characters of
// the standard alphabet with no '=' and exactly one encoding per iterator.
// The format field, 1, makes iterators open with "AAAAAAAAAA" as AWS's do.
constexpr size_t kFormatBytes = 8;
constexpr size_t kSignedBytes = kFormatBytes + 8 + 4 + 8 + 8;
// 96 bits of MAC: forging one takes about 2^96 guesses at GetRecords.
constexpr size_t kMacBytes = 12;
constexpr size_t kIteratorBytes = kSignedBytes + kMacBytes;
constexpr size_t kIteratorLength = kIteratorBytes / 3 * 4;
static_assert(kIteratorBytes % 3 == 0);
static_assert(kIteratorLength <= kMaxShardIteratorLength);
constexpr uint64_t kFormat = 1;

// Prefixed to what the MAC covers, so a MAC made for another kind of token
// under the same key (a future NextToken, say) never passes here.
constexpr std::string_view kMacContext = "sluice shard iterator\n";

void PutBigEndian(std::string& out, uint64_t value, size_t bytes) {
  for (size_t i = bytes; i-- > 0;) {
    out += static_cast<char>(static_cast<unsigned char>(value >> (8 * i)));
  }
}

uint64_t GetBigEndian(std::string_view in, size_t at, size_t bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < bytes; ++i) {
    value = value << 8 | static_cast<unsigned char>(in[at + i]);
  }
  return value;
}

std::string Mac(std::string_view key, std::string_view signed_bytes) {
  std::string message(kMacContext);
  message += signed_bytes;
  Sha256Digest digest = HmacSha256(key, message);
  return std::string(digest.begin(), digest.begin() + kMacBytes);
}

Status InvalidShardIterator() {
  return Status(ErrorCode::kInvalidArgument, "Invalid ShardIterator.");
}

}  // namespace

ShardIteratorCodec::ShardIteratorCodec(std::string secret_key,
                                       const Clock& clock)
    : secret_key_(std::move(secret_key)), clock_(clock) {
  assert(secret_key_.size() >= kShardIteratorKeyBytes);
}

std::string ShardIteratorCodec::Encode(const IteratorPosition& position) const {
  std::string bytes;
  bytes.reserve(kIteratorBytes);
  PutBigEndian(bytes, kFormat, kFormatBytes);
  PutBigEndian(bytes, static_cast<uint64_t>(position.stream_id), 8);
  PutBigEndian(bytes, position.shard_index, 4);
  PutBigEndian(bytes, position.offset, 8);
  PutBigEndian(bytes, static_cast<uint64_t>(position.created_at), 8);
  bytes += Mac(secret_key_, bytes);
  return Base64Encode(bytes);
}

Result<IteratorPosition> ShardIteratorCodec::Decode(
    std::string_view iterator) const {
  if (iterator.size() != kIteratorLength) return InvalidShardIterator();
  std::optional<std::string> bytes = Base64Decode(iterator);
  if (!bytes || bytes->size() != kIteratorBytes) return InvalidShardIterator();
  std::string_view view = *bytes;
  if (GetBigEndian(view, 0, kFormatBytes) != kFormat ||
      !ConstantTimeEquals(view.substr(kSignedBytes),
                          Mac(secret_key_, view.substr(0, kSignedBytes)))) {
    return InvalidShardIterator();
  }
  IteratorPosition position{
      .stream_id = static_cast<int64_t>(GetBigEndian(view, 8, 8)),
      .shard_index = static_cast<uint32_t>(GetBigEndian(view, 16, 4)),
      .offset = GetBigEndian(view, 20, 8),
      .created_at = static_cast<EpochMillis>(GetBigEndian(view, 28, 8)),
  };
  // An iterator from the future (the clock stepped back across a restart) is
  // accepted rather than failed.
  EpochMillis now = clock_.NowMillis();
  if (now > position.created_at &&
      now - position.created_at > kShardIteratorLifetimeMillis) {
    return Status(ErrorCode::kExpiredIterator,
                  "Iterator expired. The iterator was created at time " +
                      JavaUtcDateString(position.created_at) +
                      " while right now it is " + JavaUtcDateString(now) +
                      " which is further in the future than the tolerated "
                      "delay of 300000 milliseconds.");
  }
  return position;
}

std::string NewShardIteratorKey() {
  // libstdc++ and libc++ draw std::random_device from getrandom(),
  // /dev/urandom or RDRAND: an unpredictable source, unlike the engines.
  std::random_device device;
  std::string key;
  key.reserve(kShardIteratorKeyBytes);
  while (key.size() < kShardIteratorKeyBytes) {
    uint32_t word = device();
    for (int i = 0; i < 4 && key.size() < kShardIteratorKeyBytes; ++i) {
      key += static_cast<char>(static_cast<unsigned char>(word >> (8 * i)));
    }
  }
  return key;
}

std::string JavaUtcDateString(EpochMillis millis) {
  using namespace std::chrono;
  static constexpr std::array<const char*, 7> kWeekdays = {
      "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun",
      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  sys_time<milliseconds> time{milliseconds(millis)};
  sys_days day = floor<days>(time);
  year_month_day date{day};
  hh_mm_ss<milliseconds> clock_time{time - day};
  char text[64];
  std::snprintf(text, sizeof text, "%s %s %02u %02d:%02d:%02d UTC %04d",
                kWeekdays[weekday(day).c_encoding()],
                kMonths[static_cast<unsigned>(date.month()) - 1],
                static_cast<unsigned>(date.day()),
                static_cast<int>(clock_time.hours().count()),
                static_cast<int>(clock_time.minutes().count()),
                static_cast<int>(clock_time.seconds().count()),
                static_cast<int>(date.year()));
  return text;
}

}  // namespace sluice::kinesis
