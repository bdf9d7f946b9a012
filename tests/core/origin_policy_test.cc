#include "server/core/origin_policy.h"

#include "gtest/gtest.h"

namespace cursord::core {
namespace {

TEST(OriginPolicyTest, WithoutAListEveryOriginIsAllowed) {
  OriginPolicy policy;
  EXPECT_FALSE(policy.restricted());
  EXPECT_TRUE(policy.Allows("https://evil.example"));
  EXPECT_TRUE(policy.Allows(""));
}

TEST(OriginPolicyTest, ExactOriginsMatchSchemeHostAndPort) {
  absl::StatusOr<OriginPolicy> policy =
      OriginPolicy::Parse("https://app.example.com, http://localhost:3000");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_TRUE(policy->Allows("https://app.example.com"));
  EXPECT_TRUE(policy->Allows("HTTPS://App.Example.COM"));
  EXPECT_TRUE(policy->Allows("http://localhost:3000"));
  EXPECT_FALSE(policy->Allows("http://app.example.com"));     // scheme
  EXPECT_FALSE(policy->Allows("https://app.example.com:8443"));  // port
  EXPECT_FALSE(policy->Allows("http://localhost:3001"));
  EXPECT_FALSE(policy->Allows("https://app.example.com.evil.example"));
  EXPECT_FALSE(policy->Allows("null"));
  EXPECT_FALSE(policy->Allows("https://app.example.com/path"));
  // Non-browser clients send no Origin.
  EXPECT_TRUE(policy->Allows(""));
}

TEST(OriginPolicyTest, AWildcardMatchesSubdomainsOnly) {
  absl::StatusOr<OriginPolicy> policy = OriginPolicy::Parse("https://*.example.com");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_TRUE(policy->Allows("https://a.example.com"));
  EXPECT_TRUE(policy->Allows("https://a.b.example.com"));
  EXPECT_FALSE(policy->Allows("https://example.com"));
  EXPECT_FALSE(policy->Allows("https://badexample.com"));
  EXPECT_FALSE(policy->Allows("https://a.example.com.evil.example"));
  EXPECT_FALSE(policy->Allows("http://a.example.com"));
  EXPECT_FALSE(policy->Allows("https://*.example.com"));
}

TEST(OriginPolicyTest, BadEntriesAreRefusedWithTheEntry) {
  for (const char* bad : {"example.com", "https://", "https://a.*.example.com",
                          "https://*", "https://x:port", "https://a.example.com/path"}) {
    absl::StatusOr<OriginPolicy> policy = OriginPolicy::Parse(bad);
    EXPECT_FALSE(policy.ok()) << bad;
    EXPECT_NE(policy.status().message().find(bad), std::string::npos) << policy.status();
  }
}

}  // namespace
}  // namespace cursord::core
