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

// The address to use for the client of a connection from `peer` (limits,
// logs, the control plane). `x_forwarded_for` and `forwarded` are the
// headers' values (empty when absent); X-Forwarded-For is preferred when
// both are present. Returns `peer`'s text when it is not trusted or the
// headers name no usable address.
std::string ClientAddress(const IpAddress& peer, std::string_view x_forwarded_for,
                          std::string_view forwarded, const AddressRanges& trusted);

}  // namespace cursord::core

#endif  // CURSORD_CORE_CLIENT_ADDRESS_H_
