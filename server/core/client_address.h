// The client's address behind trusted reverse proxies (--trusted-proxies).
//
// A proxy (nginx, a load balancer) connects on its clients' behalf and
// names them in X-Forwarded-For or Forwarded (RFC 7239). Those headers are
// believed only from a trusted proxy, and read from the right: each trusted
// hop names the one before it, and the first address that is not a trusted
// proxy is the client. Anyone else could write whatever they like there.
#ifndef CURSORD_CORE_CLIENT_ADDRESS_H_
#define CURSORD_CORE_CLIENT_ADDRESS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace cursord::core {

// An IPv4 or IPv6 address, IPv4 held as IPv4-mapped IPv6 (::ffff:a.b.c.d),
// so that a dual-stack socket's mapped peers compare equal to IPv4 ranges.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  bool v4 = false;

  // Parses "192.0.2.1", "2001:db8::1", "[2001:db8::1]", "::ffff:192.0.2.1".
  static std::optional<IpAddress> Parse(std::string_view text);
  // Canonical text: dotted IPv4 for IPv4 and mapped addresses.
  std::string ToString() const;
};

// A list of address ranges: "10.0.0.0/8, 192.168.1.7, fd00::/8".
class AddressRanges {
 public:
  AddressRanges() = default;
  static absl::StatusOr<AddressRanges> Parse(std::string_view list);
  bool Contains(const IpAddress& address) const;
  bool empty() const { return ranges_.empty(); }

 private:
  struct Range {
    IpAddress network;
    int prefix_bits = 0;  // over the 128-bit (mapped) form
  };
  std::vector<Range> ranges_;
};

// Which header the trusted proxies write. Only that one is read: a proxy
// that writes one passes the other through from the client unchanged.
enum class ForwardedHeader {
  kXForwardedFor,  // X-Forwarded-For: 203.0.113.7, 10.0.0.2
  kForwarded,      // RFC 7239 Forwarded: for=203.0.113.7, for="[2001:db8::1]"
};

// Parses "x-forwarded-for" or "forwarded" (any case).
absl::StatusOr<ForwardedHeader> ParseForwardedHeader(std::string_view name);

// The address to use for the client of a connection from `peer` (limits,
// logs, the control plane). `header` is the value of the `kind` header, its
// lines joined with "," in order (empty when absent). Returns `peer`'s text
// when it is not trusted or the header names no usable address.
std::string ClientAddress(const IpAddress& peer, std::string_view header, ForwardedHeader kind,
                          const AddressRanges& trusted);

}  // namespace cursord::core

#endif  // CURSORD_CORE_CLIENT_ADDRESS_H_
