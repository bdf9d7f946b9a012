#include "server/core/client_address.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace cursord::core {
namespace {

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};

// A hop as a proxy wrote it: maybe quoted, maybe with a port.
std::optional<IpAddress> ParseHop(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    text = text.substr(1, text.size() - 2);
  }
  if (std::optional<IpAddress> address = IpAddress::Parse(std::string_view(text.data(), text.size()))) {
    return address;
  }
  // "[v6]:port" or "a.b.c.d:port".
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == absl::string_view::npos) return std::nullopt;
    const absl::string_view inside = text.substr(1, close - 1);
    return IpAddress::Parse(std::string_view(inside.data(), inside.size()));
  }
  const size_t colon = text.find(':');
  if (colon != absl::string_view::npos && text.find(':', colon + 1) == absl::string_view::npos) {
    const absl::string_view host = text.substr(0, colon);
    std::optional<IpAddress> address = IpAddress::Parse(std::string_view(host.data(), host.size()));
    if (address && address->v4) return address;
  }
  return std::nullopt;
}

// The "for=" values of a Forwarded header, in order.
std::vector<absl::string_view> ForwardedFor(absl::string_view header) {
  std::vector<absl::string_view> hops;
  for (absl::string_view element : absl::StrSplit(header, ',')) {
    absl::string_view hop;
    for (absl::string_view pair : absl::StrSplit(element, ';')) {
      pair = absl::StripAsciiWhitespace(pair);
      const size_t eq = pair.find('=');
      if (eq == absl::string_view::npos) continue;
      if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(pair.substr(0, eq)), "for")) {
        hop = pair.substr(eq + 1);
      }
    }
    hops.push_back(hop);
  }
  return hops;
}

}  // namespace

std::optional<IpAddress> IpAddress::Parse(std::string_view std_text) {
  absl::string_view text(std_text.data(), std_text.size());
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buffer[INET6_ADDRSTRLEN];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  IpAddress address;
  if (text.find(':') == absl::string_view::npos) {
    in_addr v4;
    if (inet_pton(AF_INET, buffer, &v4) != 1) return std::nullopt;
    std::memcpy(address.bytes.data(), kMappedPrefix, 12);
    std::memcpy(address.bytes.data() + 12, &v4, 4);
    address.v4 = true;
    return address;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, buffer, &v6) != 1) return std::nullopt;
  std::memcpy(address.bytes.data(), &v6, 16);
  address.v4 = std::memcmp(address.bytes.data(), kMappedPrefix, 12) == 0;
  return address;
}

std::string IpAddress::ToString() const {
  char buffer[INET6_ADDRSTRLEN];
  if (v4) {
    inet_ntop(AF_INET, bytes.data() + 12, buffer, sizeof buffer);
  } else {
    inet_ntop(AF_INET6, bytes.data(), buffer, sizeof buffer);
  }
  return buffer;
}

absl::StatusOr<AddressRanges> AddressRanges::Parse(std::string_view std_list) {
  const absl::string_view list(std_list.data(), std_list.size());
  AddressRanges ranges;
  for (absl::string_view item : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    const size_t slash = item.find('/');
    const absl::string_view address = item.substr(0, slash);
    std::optional<IpAddress> network =
        IpAddress::Parse(std::string_view(address.data(), address.size()));
    if (!network) {
      return absl::InvalidArgumentError(absl::StrCat("\"", item, "\": an address or CIDR expected"));
    }
    const int family_bits = network->v4 ? 32 : 128;
    int bits = family_bits;
    if (slash != absl::string_view::npos &&
        (!absl::SimpleAtoi(item.substr(slash + 1), &bits) || bits < 0 || bits > family_bits)) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", item, "\": prefix length 0 to ", family_bits, " expected"));
    }
    Range range{*network, network->v4 ? 96 + bits : bits};
    // Clear the host bits, so that "10.1.2.3/8" means 10.0.0.0/8.
    for (int i = range.prefix_bits; i < 128; ++i) {
      range.network.bytes[i / 8] &= static_cast<uint8_t>(~(0x80u >> (i % 8)));
    }
    ranges.ranges_.push_back(range);
  }
  return ranges;
}

bool AddressRanges::Contains(const IpAddress& address) const {
  for (const Range& range : ranges_) {
    const int full = range.prefix_bits / 8;
    if (std::memcmp(range.network.bytes.data(), address.bytes.data(), full) != 0) continue;
    const int rest = range.prefix_bits % 8;
    if (rest != 0) {
      const uint8_t mask = static_cast<uint8_t>(0xFF00u >> rest);
      if ((address.bytes[full] & mask) != range.network.bytes[full]) continue;
    }
    return true;
  }
  return false;
}

absl::StatusOr<ForwardedHeader> ParseForwardedHeader(std::string_view name) {
  const absl::string_view n(name.data(), name.size());
  if (absl::EqualsIgnoreCase(n, "x-forwarded-for")) return ForwardedHeader::kXForwardedFor;
  if (absl::EqualsIgnoreCase(n, "forwarded")) return ForwardedHeader::kForwarded;
  return absl::InvalidArgumentError(
      absl::StrCat("forwarded header \"", n, "\": x-forwarded-for or forwarded expected"));
}

std::string ClientAddress(const IpAddress& peer, std::string_view std_header,
                          ForwardedHeader kind, const AddressRanges& trusted) {
  const absl::string_view header(std_header.data(), std_header.size());
  if (trusted.empty() || !trusted.Contains(peer)) return peer.ToString();
  std::vector<absl::string_view> hops;
  if (!header.empty()) {
    if (kind == ForwardedHeader::kXForwardedFor) {
      hops = absl::StrSplit(header, ',');
    } else {
      hops = ForwardedFor(header);
    }
  }
  // From the right: while the address we have is a trusted proxy, believe
  // what it says about the hop before it.
  IpAddress client = peer;
  for (auto it = hops.rbegin(); it != hops.rend() && trusted.Contains(client); ++it) {
    std::optional<IpAddress> hop = ParseHop(*it);
    if (!hop) break;  // "unknown", an obfuscated name, garbage: stop here
    client = *hop;
  }
  return client.ToString();
}

}  // namespace cursord::core
