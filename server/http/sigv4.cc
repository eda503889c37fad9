#include "server/http/sigv4.h"

#include <array>
#include <map>

namespace sluice::http {
namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

// "AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=x;y, Signature=z": after the
// algorithm, parameters are separated by commas and/or spaces.
std::map<std::string, std::string, std::less<>> HeaderParameters(
    std::string_view header) {
  std::map<std::string, std::string, std::less<>> params;
  size_t first_space = header.find(' ');
  if (first_space == std::string_view::npos) return params;
  std::string_view rest = header.substr(first_space + 1);
  while (!rest.empty()) {
    size_t end = rest.find_first_of(", ");
    std::string_view item = Trim(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view()
                                         : rest.substr(end + 1);
    size_t eq = item.find('=');
    if (item.empty() || eq == std::string_view::npos) continue;
    params.emplace(std::string(item.substr(0, eq)),
                   std::string(item.substr(eq + 1)));
  }
  return params;
}

std::map<std::string, std::string, std::less<>> QueryParameters(
    std::string_view query) {
  std::map<std::string, std::string, std::less<>> params;
  while (!query.empty()) {
    size_t end = query.find('&');
    std::string_view item = query.substr(0, end);
    query = end == std::string_view::npos ? std::string_view()
                                          : query.substr(end + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string key = PercentDecode(item.substr(0, eq));
    std::string value = eq == std::string_view::npos
                            ? std::string()
                            : PercentDecode(item.substr(eq + 1));
    params.emplace(std::move(key), std::move(value));
  }
  return params;
}

Credential ParseScope(std::string_view scope) {
  Credential credential;
  std::array<std::string_view, 5> parts;
  size_t count = 0;
  while (count < parts.size()) {
    size_t slash = scope.find('/');
    parts[count++] = scope.substr(0, slash);
    if (slash == std::string_view::npos) break;
    scope.remove_prefix(slash + 1);
  }
  credential.access_key_id = std::string(parts[0]);
  if (count == parts.size() && parts[4] == "aws4_request") {
    credential.date = std::string(parts[1]);
    credential.region = std::string(parts[2]);
    credential.service = std::string(parts[3]);
  }
  return credential;
}

}  // namespace

std::string PercentDecode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 &&
        hex(text[i + 2]) >= 0) {
      out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

Result<Credential> ReadCredential(std::string_view authorization,
                                  std::string_view query,
                                  bool has_date_header) {
  auto query_params = QueryParameters(query);
  bool header_auth = !authorization.empty();
  bool query_auth = query_params.count("X-Amz-Algorithm") > 0;

  if (header_auth && query_auth) {
    return Status(ErrorCode::kInvalidSignature,
                  "Found both 'X-Amz-Algorithm' as a query-string param and "
                  "'Authorization' as HTTP header.");
  }
  if (!header_auth && !query_auth) {
    return Status(ErrorCode::kMissingAuthenticationToken,
                  "Missing Authentication Token");
  }

  std::string missing;
  if (header_auth) {
    auto params = HeaderParameters(authorization);
    for (const char* name : {"Credential", "Signature", "SignedHeaders"}) {
      auto it = params.find(name);
      if (it == params.end() || it->second.empty()) {
        missing += "Authorization header requires '";
        missing += name;
        missing += "' parameter. ";
      }
    }
    if (!has_date_header) {
      missing +=
          "Authorization header requires existence of either a 'X-Amz-Date' "
          "or a 'Date' header. ";
    }
    if (!missing.empty()) {
      missing += "Authorization=";
      missing += authorization;
      return Status(ErrorCode::kIncompleteSignature, std::move(missing));
    }
    return ParseScope(params.find("Credential")->second);
  }

  for (const char* name :
       {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature",
        "X-Amz-SignedHeaders", "X-Amz-Date"}) {
    auto it = query_params.find(name);
    if (it == query_params.end() || it->second.empty()) {
      missing += "AWS query-string parameters must include '";
      missing += name;
      missing += "'. ";
    }
  }
  if (!missing.empty()) {
    missing += "Re-examine the query-string parameters.";
    return Status(ErrorCode::kIncompleteSignature, std::move(missing));
  }
  return ParseScope(query_params.find("X-Amz-Credential")->second);
}

}  // namespace sluice::http
