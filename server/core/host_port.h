// "host:port" as flags and logs write it, IPv6 in brackets ("[::1]:8080"):
// one parser and one formatter for the edge's and the control plane's
// listen addresses and the peers in logs.
#ifndef CURSORD_CORE_HOST_PORT_H_
#define CURSORD_CORE_HOST_PORT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace cursord::core {

struct HostPort {
  std::string host;  // without brackets: "127.0.0.1", "::1", "localhost"
  uint16_t port = 0;
};

// Parses "host:port", "[v6]:port" (and "v6:port" is refused: it is
// ambiguous). `what` names the value in errors, e.g. "listen address".
absl::StatusOr<HostPort> SplitHostPort(std::string_view text, std::string_view what);

// "host:port", with brackets around a host that contains ':' (IPv6).
std::string JoinHostPort(std::string_view host, uint16_t port);

}  // namespace cursord::core

#endif  // CURSORD_CORE_HOST_PORT_H_
