#include "client/sigv4_signer.h"

#include <algorithm>
#include <ctime>

#include "common/sha256.h"

namespace sluice::client {
namespace {

// "20150830T123600Z" for an instant.
std::string AmzDate(EpochMillis now) {
  std::time_t seconds = static_cast<std::time_t>(now / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[17];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

std::string Hex(const Sha256Digest& digest) { return HexEncode(digest); }

}  // namespace

SignedHeaders SignPost(std::string_view path,
                       std::vector<std::pair<std::string, std::string>> headers,
                       std::string_view body, std::string_view region,
                       std::string_view service, const Credentials& credentials,
                       EpochMillis now) {
  SignedHeaders out;
  out.amz_date = AmzDate(now);
  const std::string day = out.amz_date.substr(0, 8);
  headers.emplace_back("x-amz-date", out.amz_date);
  if (!credentials.session_token.empty()) {
    headers.emplace_back("x-amz-security-token", credentials.session_token);
  }
  std::sort(headers.begin(), headers.end());

  std::string canonical_headers;
  std::string signed_names;
  for (const auto& [name, value] : headers) {
    canonical_headers += name + ":" + value + "\n";
    if (!signed_names.empty()) signed_names += ';';
    signed_names += name;
  }
  const std::string canonical_request = "POST\n" + std::string(path) + "\n\n" +
                                        canonical_headers + "\n" +
                                        signed_names + "\n" + Hex(Sha256(body));
  const std::string scope = day + "/" + std::string(region) + "/" +
                            std::string(service) + "/aws4_request";
  const std::string string_to_sign = "AWS4-HMAC-SHA256\n" + out.amz_date +
                                     "\n" + scope + "\n" +
                                     Hex(Sha256(canonical_request));

  Sha256Digest key = HmacSha256("AWS4" + credentials.secret_access_key, day);
  key = HmacSha256(key, region);
  key = HmacSha256(key, service);
  key = HmacSha256(key, "aws4_request");
  out.authorization =
      "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + "/" + scope +
      ", SignedHeaders=" + signed_names +
      ", Signature=" + Hex(HmacSha256(key, string_to_sign));
  return out;
}

}  // namespace sluice::client
