// Which browser origins may join (--allowed-origins).
//
// A browser sends the page's origin with every WebSocket handshake, and a
// page on another site can open a socket to cursord as easily as one on
// yours: the origin check is what keeps other sites' pages out (CSWSH).
// Clients that are not browsers send no Origin and are not affected.
#ifndef CURSORD_CORE_ORIGIN_POLICY_H_
#define CURSORD_CORE_ORIGIN_POLICY_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace cursord::core {

class OriginPolicy {
 public:
  // Any origin (the default, without --allowed-origins).
  OriginPolicy() = default;

  // Parses a comma-separated list of origins: exact ones
  // ("https://app.example.com", "http://localhost:3000") and patterns with
  // one leading "*." label ("https://*.example.com", which matches any
  // subdomain at any depth but not example.com itself). Scheme and host
  // compare case-insensitively; a port, when given, must match exactly.
  // An empty list allows any origin.
  static absl::StatusOr<OriginPolicy> Parse(std::string_view list);

  // Whether a handshake with this Origin header may join. No header (empty)
  // is allowed: only browsers send one, and only browsers can be tricked
  // into connecting from another site's page. "null" (sandboxed frames,
  // file: pages) is refused when a list is set.
  bool Allows(std::string_view origin) const;

  bool restricted() const { return !entries_.empty(); }

 private:
  struct Entry {
    std::string scheme;       // "https"
    std::string host_suffix;  // "app.example.com", or ".example.com" for "*."
    std::string port;         // "" when none was given
    bool wildcard = false;
  };

  std::vector<Entry> entries_;
};

}  // namespace cursord::core

#endif  // CURSORD_CORE_ORIGIN_POLICY_H_
