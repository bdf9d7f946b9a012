// --redis URLs: what is accepted, what is refused and why.
#include "server/backplane/redis_url.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace cursord::backplane {
namespace {

RedisEndpoint Parse(std::string_view url) {
  absl::StatusOr<RedisEndpoint> endpoint = ParseRedisUrl(url);
  EXPECT_TRUE(endpoint.ok()) << url << ": " << endpoint.status();
  return endpoint.value_or(RedisEndpoint{});
}

TEST(RedisUrlTest, HostPortAndDatabaseAreRead) {
  EXPECT_EQ(Parse("redis://10.0.0.5:6380/3"), (RedisEndpoint{"10.0.0.5", 6380, 3}));
  EXPECT_EQ(Parse("redis://cache-1.internal:7000"), (RedisEndpoint{"cache-1.internal", 7000, 0}));
  EXPECT_EQ(Parse("REDIS://Host_A:1/0"), (RedisEndpoint{"Host_A", 1, 0}));
}

TEST(RedisUrlTest, PortAndDatabaseHaveDefaults) {
  EXPECT_EQ(Parse("redis://localhost"), (RedisEndpoint{"localhost", 6379, 0}));
  EXPECT_EQ(Parse("redis://localhost/"), (RedisEndpoint{"localhost", 6379, 0}));
  EXPECT_EQ(Parse("redis://localhost/5"), (RedisEndpoint{"localhost", 6379, 5}));
  EXPECT_EQ(Parse("redis://h:65535/2147483647"), (RedisEndpoint{"h", 65535, 2147483647}));
}

TEST(RedisUrlTest, Ipv6AddressesAreBracketed) {
  EXPECT_EQ(Parse("redis://[::1]:7000/1"), (RedisEndpoint{"::1", 7000, 1}));
  EXPECT_EQ(Parse("redis://[fe80::1]"), (RedisEndpoint{"fe80::1", 6379, 0}));
  EXPECT_EQ((RedisEndpoint{"::1", 7000, 1}).ToUrl(), "redis://[::1]:7000/1");
  EXPECT_EQ((RedisEndpoint{"::1", 7000, 0}).HostPort(), "[::1]:7000");
}

TEST(RedisUrlTest, ToUrlParsesBackToTheSameEndpoint) {
  for (const RedisEndpoint& endpoint :
       {RedisEndpoint{"a", 1, 0}, RedisEndpoint{"a.b", 6379, 15}, RedisEndpoint{"::ffff:1.2.3.4", 9, 3}}) {
    EXPECT_EQ(Parse(endpoint.ToUrl()), endpoint) << endpoint.ToUrl();
  }
}

TEST(RedisUrlTest, WhatCannotBeHonouredIsRefusedWithTheReason) {
  const struct {
    const char* url;
    const char* reason;
  } cases[] = {
      {"", "expected redis://"},
      {"localhost:6379", "expected redis://"},
      {"http://h:1", "expected redis://"},
      {"rediss://h:1", "TLS"},
      {"redis://user:secret@h:1", "credentials"},
      {"redis://:secret@h:1", "credentials"},
      {"redis://h:1?db=2", "query"},
      {"redis://h:1#x", "fragment"},
      {"redis://", "empty host"},
      {"redis://:6379", "empty host"},
      {"redis://h:", "empty port"},
      {"redis://h:0", "port \"0\""},
      {"redis://h:65536", "port \"65536\""},
      {"redis://h:-1", "port"},
      {"redis://h:+1", "port"},
      {"redis://h: 1", "port"},
      {"redis://h:99999999999", "port"},
      {"redis://h:1/x", "database \"x\""},
      {"redis://h:1/-1", "database"},
      {"redis://h:1/2147483648", "database"},
      {"redis://h:1/1/2", "database"},
      {"redis://h h:1", "not a host name"},
      {"redis://h%41:1", "not a host name"},
      {"redis://[::1", "unterminated"},
      {"redis://[]:1", "no IPv6 address"},
      {"redis://[1.2.3.4]:1", "no IPv6 address"},
      {"redis://[::g]:1", "no IPv6 address"},
      {"redis://[::1]x", "expected :PORT"},
      {"redis://[::1]:", "empty port"},
  };
  for (const auto& c : cases) {
    const absl::StatusOr<RedisEndpoint> endpoint = ParseRedisUrl(c.url);
    ASSERT_FALSE(endpoint.ok()) << c.url;
    EXPECT_EQ(endpoint.status().code(), absl::StatusCode::kInvalidArgument) << c.url;
    EXPECT_TRUE(absl::StrContains(endpoint.status().message(), c.reason))
        << c.url << ": " << endpoint.status();
  }
}

TEST(RedisUrlTest, AListKeepsItsOrder) {
  const absl::StatusOr<std::vector<RedisEndpoint>> list =
      ParseRedisUrlList("redis://b:2/1, redis://a:1 ,redis://[::1]:3");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(*list, (std::vector<RedisEndpoint>{{"b", 2, 1}, {"a", 1, 0}, {"::1", 3, 0}}));
  EXPECT_EQ(ParseRedisUrlList("redis://a:1")->size(), 1u);
}

TEST(RedisUrlTest, AListRefusesEmptyItemsBadItemsAndOneServerTwice) {
  const struct {
    const char* list;
    const char* reason;
  } cases[] = {
      {"", "empty"},
      {"  ", "empty"},
      {",", "empty item"},
      {"redis://a:1,", "empty item"},
      {"redis://a:1,,redis://b:1", "empty item"},
      {"redis://a:1,rediss://b:1", "TLS"},
      {"redis://a:1,redis://a:1", "a:1 twice"},
      // Two databases of one server are still one server.
      {"redis://a:1/0,redis://a:1/1", "a:1 twice"},
  };
  for (const auto& c : cases) {
    const absl::StatusOr<std::vector<RedisEndpoint>> list = ParseRedisUrlList(c.list);
    ASSERT_FALSE(list.ok()) << c.list;
    EXPECT_EQ(list.status().code(), absl::StatusCode::kInvalidArgument) << c.list;
    EXPECT_TRUE(absl::StrContains(list.status().message(), c.reason))
        << c.list << ": " << list.status();
  }
}

}  // namespace
}  // namespace cursord::backplane
