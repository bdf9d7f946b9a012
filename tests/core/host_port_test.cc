#include "server/core/host_port.h"

#include "gtest/gtest.h"

namespace cursord::core {
namespace {

TEST(HostPortTest, SplitsBothFamilies) {
  absl::StatusOr<HostPort> v4 = SplitHostPort("127.0.0.1:8080", "listen address");
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 8080);
  absl::StatusOr<HostPort> v6 = SplitHostPort("[::1]:0", "listen address");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 0);
  EXPECT_EQ(SplitHostPort("localhost:50051", "x")->host, "localhost");
}

TEST(HostPortTest, RefusesWhatIsAmbiguousOrIncomplete) {
  for (const char* bad : {"8080", ":8080", "host:", "host:65536", "host:-1", "host:+1",
                          "::1:8080", "[::1:8080", "[]:1", "host:8o"}) {
    absl::StatusOr<HostPort> parsed = SplitHostPort(bad, "listen address");
    EXPECT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.status().message().find(std::string("listen address \"") + bad),
              std::string::npos)
        << parsed.status();
  }
}

TEST(HostPortTest, JoinsWithBracketsForIpv6) {
  EXPECT_EQ(JoinHostPort("127.0.0.1", 80), "127.0.0.1:80");
  EXPECT_EQ(JoinHostPort("::1", 443), "[::1]:443");
  EXPECT_EQ(JoinHostPort("localhost", 1), "localhost:1");
}

}  // namespace
}  // namespace cursord::core
