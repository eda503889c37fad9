// Signs a request with AWS Signature Version 4, so the client works against
// AWS itself and any emulator that checks signatures, not only Sluice (which
// reads the Authorization header's shape but not the signature).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"

namespace sluice::client {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty: none
};

struct SignedHeaders {
  std::string amz_date;       // X-Amz-Date, yyyyMMddTHHmmssZ
  std::string authorization;  // the Authorization header
};

// Signs a POST to `path` (no query string) whose headers are `headers`
// (lowercase names, Host among them; X-Amz-Date and, with a session token,
// X-Amz-Security-Token are added to what is signed by this function, and the
// caller must send them too).
SignedHeaders SignPost(std::string_view path,
                       std::vector<std::pair<std::string, std::string>> headers,
                       std::string_view body, std::string_view region,
                       std::string_view service, const Credentials& credentials,
                       EpochMillis now);

}  // namespace sluice::client
