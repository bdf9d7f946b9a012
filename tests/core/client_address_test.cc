#include "server/core/client_address.h"

#include "gtest/gtest.h"

namespace cursord::core {
namespace {

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

constexpr ForwardedHeader kXff = ForwardedHeader::kXForwardedFor;
constexpr ForwardedHeader kForwarded = ForwardedHeader::kForwarded;

AddressRanges Ranges(const char* list) {
  absl::StatusOr<AddressRanges> ranges = AddressRanges::Parse(list);
  EXPECT_TRUE(ranges.ok()) << ranges.status();
  return *ranges;
}

TEST(IpAddressTest, ParsesBothFamiliesAndMappedAddressesAsIpv4) {
  EXPECT_EQ(Ip("192.0.2.1").ToString(), "192.0.2.1");
  EXPECT_EQ(Ip("::ffff:192.0.2.1").ToString(), "192.0.2.1");
  EXPECT_EQ(Ip("[2001:db8::1]").ToString(), "2001:db8::1");
  EXPECT_FALSE(IpAddress::Parse("192.0.2"));
  EXPECT_FALSE(IpAddress::Parse("example.com"));
  EXPECT_FALSE(IpAddress::Parse(""));
}

TEST(AddressRangesTest, MatchesCidrsOfBothFamilies) {
  AddressRanges ranges = Ranges("10.0.0.0/8, 192.168.1.7, fd00::/8, 172.16.0.0/12");
  EXPECT_TRUE(ranges.Contains(Ip("10.200.3.4")));
  EXPECT_TRUE(ranges.Contains(Ip("::ffff:10.1.1.1")));
  EXPECT_TRUE(ranges.Contains(Ip("192.168.1.7")));
  EXPECT_FALSE(ranges.Contains(Ip("192.168.1.8")));
  EXPECT_TRUE(ranges.Contains(Ip("172.31.255.255")));
  EXPECT_FALSE(ranges.Contains(Ip("172.32.0.0")));
  EXPECT_TRUE(ranges.Contains(Ip("fd12::1")));
  EXPECT_FALSE(ranges.Contains(Ip("fe80::1")));
  EXPECT_FALSE(ranges.Contains(Ip("11.0.0.1")));
}

TEST(AddressRangesTest, RefusesWhatIsNoRange) {
  for (const char* bad : {"10.0.0.0/33", "fd00::/129", "10.0.0.0/x", "proxy.local", "10/8"}) {
    EXPECT_FALSE(AddressRanges::Parse(bad).ok()) << bad;
  }
}

TEST(ClientAddressTest, HeadersFromAnUntrustedPeerAreIgnored) {
  const AddressRanges trusted = Ranges("10.0.0.0/8");
  EXPECT_EQ(ClientAddress(Ip("203.0.113.9"), "198.51.100.1", kXff, trusted), "203.0.113.9");
  EXPECT_EQ(ClientAddress(Ip("203.0.113.9"), "198.51.100.1", kXff, AddressRanges()),
            "203.0.113.9");
}

TEST(ClientAddressTest, ATrustedProxyNamesTheClient) {
  const AddressRanges trusted = Ranges("10.0.0.0/8");
  EXPECT_EQ(ClientAddress(Ip("10.0.0.2"), "198.51.100.1", kXff, trusted), "198.51.100.1");
  // From the right: what the client wrote itself (the spoofed first entry)
  // is not believed, only what trusted hops added.
  EXPECT_EQ(ClientAddress(Ip("10.0.0.2"), "1.2.3.4, 198.51.100.1, 10.0.0.3", kXff, trusted),
            "198.51.100.1");
  // Every hop trusted: the leftmost.
  EXPECT_EQ(ClientAddress(Ip("10.0.0.2"), "10.9.9.9, 10.0.0.3", kXff, trusted), "10.9.9.9");
  // No header: the proxy itself.
  EXPECT_EQ(ClientAddress(Ip("10.0.0.2"), "", kXff, trusted), "10.0.0.2");
  // Garbage stops the walk at the last address known.
  EXPECT_EQ(ClientAddress(Ip("10.0.0.2"), "unknown", kXff, trusted), "10.0.0.2");
  EXPECT_EQ(ClientAddress(Ip("10.0.0.2"), "198.51.100.1:5555", kXff, trusted), "198.51.100.1");
}

TEST(ClientAddressTest, ForwardedIsReadWhenTheProxiesWriteIt) {
  const AddressRanges trusted = Ranges("10.0.0.0/8");
  EXPECT_EQ(ClientAddress(Ip("10.0.0.2"),
                          "for=192.0.2.60;proto=https;by=10.0.0.2, for=\"[2001:db8:cafe::17]:4711\"",
                          kForwarded, trusted),
            "2001:db8:cafe::17");
  EXPECT_EQ(ClientAddress(Ip("10.0.0.2"), "For=\"192.0.2.43:80\"", kForwarded, trusted), "192.0.2.43");
  EXPECT_EQ(ClientAddress(Ip("10.0.0.2"), "for=_hidden", kForwarded, trusted), "10.0.0.2");
}

TEST(ClientAddressTest, OnlyTheConfiguredHeaderIsRead) {
  const AddressRanges trusted = Ranges("10.0.0.0/8");
  // Proxies that write Forwarded pass a client's X-Forwarded-For through:
  // with kForwarded it is never read (the caller hands over Forwarded only).
  EXPECT_EQ(ClientAddress(Ip("10.0.0.2"), "for=192.0.2.60", kForwarded, trusted), "192.0.2.60");
  EXPECT_EQ(ClientAddress(Ip("10.0.0.2"), "", kForwarded, trusted), "10.0.0.2");
  EXPECT_EQ(*ParseForwardedHeader("X-Forwarded-For"), kXff);
  EXPECT_EQ(*ParseForwardedHeader("forwarded"), kForwarded);
  EXPECT_FALSE(ParseForwardedHeader("x-real-ip").ok());
}

}  // namespace
}  // namespace cursord::core
