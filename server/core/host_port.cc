#include "server/core/host_port.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace cursord::core {

absl::StatusOr<HostPort> SplitHostPort(std::string_view text, std::string_view what) {
  const std::string shown(text);
  const std::string name(what);
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " \"", shown, "\": host:port expected ([v6]:port for IPv6)"));
  }
  HostPort result;
  std::string_view host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " \"", shown, "\": unbalanced brackets"));
    }
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " \"", shown, "\": write an IPv6 host in brackets, [v6]:port"));
  }
  uint32_t port = 0;
  const std::string port_text(text.substr(colon + 1));
  if (!absl::SimpleAtoi(port_text, &port) || port > 65535 || port_text.empty() ||
      port_text[0] == '+' || port_text[0] == '-') {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " \"", shown, "\": port 0 to 65535 expected"));
  }
  result.host = std::string(host);
  result.port = static_cast<uint16_t>(port);
  return result;
}

std::string JoinHostPort(std::string_view host, uint16_t port) {
  const std::string h(host);
  if (h.find(':') != std::string::npos) return absl::StrCat("[", h, "]:", port);
  return absl::StrCat(h, ":", port);
}

}  // namespace cursord::core
