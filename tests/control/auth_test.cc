#include "server/control/auth.h"

#include "gtest/gtest.h"

namespace cursord::control {
namespace {

TEST(AuthTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals("secreT", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secret2"));
  EXPECT_FALSE(ConstantTimeEquals("secret2", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secret", ""));
  // A repetition of the token must not pass (the loop wraps `given`).
  EXPECT_FALSE(ConstantTimeEquals("ab", "abab"));
  EXPECT_FALSE(ConstantTimeEquals("abab", "ab"));
}

TEST(AuthTest, NoTokenMeansOpen) {
  EXPECT_TRUE(CheckBearerToken("", std::nullopt).ok());
  EXPECT_TRUE(CheckBearerToken("", "Bearer whatever").ok());
}

TEST(AuthTest, BearerToken) {
  EXPECT_TRUE(CheckBearerToken("s3cret", "Bearer s3cret").ok());
  // RFC 6750: the scheme is case-insensitive; the token is not.
  EXPECT_TRUE(CheckBearerToken("s3cret", "bearer s3cret").ok());
  EXPECT_EQ(CheckBearerToken("s3cret", "Bearer S3CRET").code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(CheckBearerToken("s3cret", std::nullopt).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(CheckBearerToken("s3cret", "s3cret").code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(CheckBearerToken("s3cret", "Basic s3cret").code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(CheckBearerToken("s3cret", "Bearer ").code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(AuthTest, RefusalNeverEchoesTheCredential) {
  const absl::Status status = CheckBearerToken("s3cret", "Bearer guess-123");
  EXPECT_EQ(status.message().find("guess-123"), absl::string_view::npos);
  EXPECT_EQ(status.message().find("s3cret"), absl::string_view::npos);
}

}  // namespace
}  // namespace cursord::control
