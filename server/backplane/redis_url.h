// Where the backplane's Redis servers are: `--redis redis://HOST:PORT[/DB]`,
// or a `,`-separated list of several independent servers (rooms are spread
// over them by a stable hash, so the order of the list matters and a server
// may not appear twice). Pure parsing, no name resolution: the host is looked
// up later, by the connection, with Asio's resolver.
#ifndef CURSORD_BACKPLANE_REDIS_URL_H_
#define CURSORD_BACKPLANE_REDIS_URL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace cursord::backplane {

// One Redis server and the logical database the backplane uses on it.
struct RedisEndpoint {
  // A host name, an IPv4 address, or an IPv6 address without its brackets.
  std::string host;
  uint16_t port = 6379;
  int db = 0;

  // "redis://host:port/db" (brackets around an IPv6 address; "/db" only
  // when it is not 0): parses back to the same endpoint.
  std::string ToUrl() const;
  // "host:port" ("[v6]:port"; core::JoinHostPort), for log lines and
  // error messages.
  std::string HostPort() const;

  friend bool operator==(const RedisEndpoint& a, const RedisEndpoint& b) {
    return a.host == b.host && a.port == b.port && a.db == b.db;
  }
  friend bool operator!=(const RedisEndpoint& a, const RedisEndpoint& b) { return !(a == b); }
};

// Parses "redis://HOST[:PORT][/DB]". The port defaults to 6379 and the
// database to 0; HOST is a name ([A-Za-z0-9.-_]), a dotted IPv4 address or a
// bracketed IPv6 address. Credentials, TLS (rediss://), query strings and
// fragments are refused with INVALID_ARGUMENT naming what was found, as are an
// empty host, a port outside 1..65535 and a database outside 0..2^31-1.
absl::StatusOr<RedisEndpoint> ParseRedisUrl(std::string_view url);

// Parses a `,`-separated list of URLs (spaces around an item are ignored).
// An empty list, an empty item, or the same server (host and port) twice is
// INVALID_ARGUMENT; the order of the list is kept.
absl::StatusOr<std::vector<RedisEndpoint>> ParseRedisUrlList(std::string_view list);

}  // namespace cursord::backplane

#endif  // CURSORD_BACKPLANE_REDIS_URL_H_
