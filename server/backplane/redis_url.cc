#include "server/backplane/redis_url.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/core/host_port.h"

namespace cursord::backplane {
namespace {

// Debian's abseil has its own string_view type, not std's.
absl::string_view Absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

constexpr absl::string_view kScheme = "redis://";

absl::Status Invalid(absl::string_view url, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("redis URL \"", url, "\": ", why));
}

// A decimal number of 1 to 10 digits without sign or spaces (absl::SimpleAtoi
// would accept both), or -1.
int64_t ParseDecimal(absl::string_view digits) {
  if (digits.empty() || digits.size() > 10) return -1;
  int64_t value = 0;
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return -1;
    value = value * 10 + (c - '0');
  }
  return value;
}

bool IsHostNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
}

bool IsIpv6Char(char c) {
  return absl::ascii_isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
}

}  // namespace

std::string RedisEndpoint::HostPort() const { return core::JoinHostPort(host, port); }

std::string RedisEndpoint::ToUrl() const {
  if (db == 0) return absl::StrCat(kScheme, HostPort());
  return absl::StrCat(kScheme, HostPort(), "/", db);
}

absl::StatusOr<RedisEndpoint> ParseRedisUrl(std::string_view url_in) {
  const absl::string_view url = Absl(url_in);
  if (absl::StartsWithIgnoreCase(url, "rediss://")) {
    return Invalid(url, "TLS (rediss://) is not supported");
  }
  if (!absl::StartsWithIgnoreCase(url, kScheme)) {
    return Invalid(url, "expected redis://HOST:PORT[/DB]");
  }
  absl::string_view rest = url.substr(kScheme.size());
  if (rest.find_first_of("?#") != absl::string_view::npos) {
    return Invalid(url, "query strings and fragments are not supported");
  }
  if (rest.find('@') != absl::string_view::npos) {
    return Invalid(url, "credentials are not supported");
  }
  RedisEndpoint endpoint;

  // Authority, then an optional "/DB".
  absl::string_view authority = rest;
  if (const size_t slash = rest.find('/'); slash != absl::string_view::npos) {
    authority = rest.substr(0, slash);
    const absl::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {
      const int64_t number = ParseDecimal(db);
      if (number < 0 || number > INT32_MAX) {
        return Invalid(url, absl::StrCat("database \"", db, "\" is not a number in 0..2147483647"));
      }
      endpoint.db = static_cast<int>(number);
    }
  }

  absl::string_view port;
  if (absl::StartsWith(authority, "[")) {
    const size_t close = authority.find(']');
    if (close == absl::string_view::npos) return Invalid(url, "unterminated [IPv6 address]");
    endpoint.host = std::string(authority.substr(1, close - 1));
    const absl::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return Invalid(url, "expected :PORT after the IPv6 address");
      port = after.substr(1);
      if (port.empty()) return Invalid(url, "empty port");
    }
    if (endpoint.host.empty() || !absl::StrContains(endpoint.host, ':')) {
      return Invalid(url, "the brackets hold no IPv6 address");
    }
    for (char c : endpoint.host) {
      if (!IsIpv6Char(c)) return Invalid(url, "the brackets hold no IPv6 address");
    }
  } else {
    const size_t colon = authority.find(':');
    endpoint.host = std::string(authority.substr(0, colon));
    if (colon != absl::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return Invalid(url, "empty port");
    }
    for (char c : endpoint.host) {
      if (!IsHostNameChar(c)) {
        return Invalid(url, absl::StrCat("host \"", endpoint.host, "\" is not a host name or address"));
      }
    }
  }
  if (endpoint.host.empty()) return Invalid(url, "empty host");
  if (!port.empty()) {
    const int64_t number = ParseDecimal(port);
    if (number < 1 || number > 65535) {
      return Invalid(url, absl::StrCat("port \"", port, "\" is not a number in 1..65535"));
    }
    endpoint.port = static_cast<uint16_t>(number);
  }
  return endpoint;
}

absl::StatusOr<std::vector<RedisEndpoint>> ParseRedisUrlList(std::string_view list_in) {
  const absl::string_view list = Absl(list_in);
  std::vector<RedisEndpoint> endpoints;
  if (absl::StripAsciiWhitespace(list).empty()) {
    return absl::InvalidArgumentError("redis URL list is empty");
  }
  for (absl::string_view item : absl::StrSplit(list, ',')) {
    item = absl::StripAsciiWhitespace(item);
    if (item.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("redis URL list \"", list, "\" has an empty item"));
    }
    absl::StatusOr<RedisEndpoint> endpoint = ParseRedisUrl(std::string_view(item.data(), item.size()));
    if (!endpoint.ok()) return endpoint.status();
    for (const RedisEndpoint& seen : endpoints) {
      // Two databases of one server would still share its one CPU and its
      // channels (pub/sub ignores the database): that is not two servers.
      if (seen.host == endpoint->host && seen.port == endpoint->port) {
        return absl::InvalidArgumentError(absl::StrCat(
            "redis URL list names the server ", endpoint->HostPort(), " twice"));
      }
    }
    endpoints.push_back(*std::move(endpoint));
  }
  return endpoints;
}

}  // namespace cursord::backplane
