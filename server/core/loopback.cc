#include "server/core/loopback.h"

#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "server/core/client_address.h"
#include "server/core/host_port.h"

namespace cursord::core {
namespace {

// "host:port", "[v6]:port", or a bare host (a channel's port may be left
// out), such as "localhost", "::1" or "[::1]".
bool IsLoopbackHostPort(absl::string_view address) {
  const std::string_view text(address.data(), address.size());
  absl::StatusOr<HostPort> split = SplitHostPort(text, "address");
  return split.ok() ? IsLoopbackHost(split->host) : IsLoopbackHost(text);
}

}  // namespace

bool IsLoopbackHost(std::string_view std_host) {
  absl::string_view host(std_host.data(), std_host.size());
  if (absl::EqualsIgnoreCase(host, "localhost") || absl::EqualsIgnoreCase(host, "localhost.")) {
    return true;
  }
  std::optional<IpAddress> ip = IpAddress::Parse(std_host);
  if (!ip) return false;
  if (ip->v4) return ip->bytes[12] == 127;  // 127.0.0.0/8, also as ::ffff:127.x.y.z
  for (int i = 0; i < 15; ++i) {
    if (ip->bytes[i] != 0) return false;
  }
  return ip->bytes[15] == 1;  // ::1
}

bool IsLoopbackAddress(std::string_view std_address) {
  absl::string_view address(std_address.data(), std_address.size());
  if (address.empty()) return false;
  if (absl::StartsWith(address, "unix:") || absl::StartsWith(address, "unix-abstract:")) {
    return true;
  }
  if (absl::ConsumePrefix(&address, "ipv4:") || absl::ConsumePrefix(&address, "ipv6:")) {
    for (absl::string_view one : absl::StrSplit(address, ',')) {
      if (!IsLoopbackHostPort(one)) return false;
    }
    return true;
  }
  if (absl::ConsumePrefix(&address, "dns:")) {
    // "dns:///host:port" or "dns://authority/host:port": the authority is
    // the DNS server to ask, not where the traffic goes.
    if (absl::ConsumePrefix(&address, "//")) {
      const size_t slash = address.find('/');
      if (slash == absl::string_view::npos) return false;
      address = address.substr(slash + 1);
    }
    return IsLoopbackHostPort(address);
  }
  // Any other scheme ("xds:", "dns:" handled above) names something this
  // cannot check. A bare host:port has no "//" and at most a port after
  // its first colon (or brackets, or is a bare IPv6 address).
  if (absl::StrContains(address, "://")) return false;
  return IsLoopbackHostPort(address);
}

}  // namespace cursord::core
