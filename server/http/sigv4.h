// Reads who is calling from SigV4 authentication: the Authorization header or
// presigned query parameters. Sluice takes the region (and, through the access
// key, the account) from the credential scope, as AWS does; it does not check
// signatures yet.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace sluice::http {

// Credential=<access key id>/<yyyymmdd>/<region>/<service>/aws4_request
struct Credential {
  std::string access_key_id;
  std::string date;
  std::string region;  // empty when the scope is not in the standard form
  std::string service;
};

// `query` is the raw query string of the request target (after '?').
// `has_date_header` says whether X-Amz-Date or Date was sent.
// Errors, with AWS's messages: MissingAuthenticationToken when neither form of
// authentication is present, InvalidSignature when both are, and
// IncompleteSignature naming every missing part.
Result<Credential> ReadCredential(std::string_view authorization,
                                  std::string_view query, bool has_date_header);

// Percent-decodes one query-string component ('+' stays '+', as SigV4 encodes
// spaces as %20). Malformed escapes are kept literally.
std::string PercentDecode(std::string_view text);

}  // namespace sluice::http
