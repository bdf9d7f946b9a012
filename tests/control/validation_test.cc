#include "server/control/validation.h"

#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace cursord::control {
namespace {

TEST(ValidationTest, RoomIdAlphabetAndLength) {
  EXPECT_TRUE(ValidateRoomId("lobby").ok());
  EXPECT_TRUE(ValidateRoomId("Team-1.a_b~c:d@e").ok());
  EXPECT_TRUE(ValidateRoomId(std::string(128, 'x')).ok());
  for (const char* bad : {"", "a b", "a/b", "é", "a?b", "a#b", "a%20"}) {
    const absl::Status status = ValidateRoomId(bad);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(ValidateRoomId(std::string(129, 'x')).code(),
            absl::StatusCode::kInvalidArgument);
  // The message names the field and the offending character.
  EXPECT_EQ(ValidateRoomId("a b").message(),
            "room_id \"a b\" holds ' '; allowed are A-Z a-z 0-9 . _ ~ : @ -");
}

TEST(ValidationTest, PrefixMayBeEmpty) {
  EXPECT_TRUE(ValidateRoomIdPrefix("").ok());
  EXPECT_TRUE(ValidateRoomIdPrefix("team-").ok());
  EXPECT_FALSE(ValidateRoomIdPrefix("team/").ok());
  EXPECT_FALSE(ValidateRoomIdPrefix(std::string(129, 'x')).ok());
}

TEST(ValidationTest, MemberIdIsOneByte) {
  EXPECT_EQ(*ValidateMemberId(0), 0);
  EXPECT_EQ(*ValidateMemberId(255), 255);
  EXPECT_EQ(ValidateMemberId(256).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateMemberId(256).status().message(),
            "member_id 256 is out of range 0..255");
}

TEST(ValidationTest, ReasonFitsACloseFrame) {
  EXPECT_TRUE(ValidateReason("").ok());
  EXPECT_TRUE(ValidateReason(std::string(123, 'r')).ok());
  EXPECT_FALSE(ValidateReason(std::string(124, 'r')).ok());
}

TEST(ValidationTest, UserId) {
  EXPECT_TRUE(ValidateUserId("u-1").ok());
  EXPECT_FALSE(ValidateUserId("").ok());
  EXPECT_TRUE(ValidateUserId(std::string(128, 'u')).ok());
  EXPECT_FALSE(ValidateUserId(std::string(129, 'u')).ok());
  // No client can join as one of these, so none can be kicked.
  EXPECT_FALSE(ValidateUserId("a b").ok());
  EXPECT_FALSE(ValidateUserId("a\nb").ok());
}

TEST(ValidationTest, PageSizeDefaultsAndClamps) {
  EXPECT_EQ(*EffectivePageSize(0), 100u);
  EXPECT_EQ(*EffectivePageSize(1), 1u);
  EXPECT_EQ(*EffectivePageSize(1000), 1000u);
  EXPECT_EQ(*EffectivePageSize(5000), 1000u);
  EXPECT_EQ(EffectivePageSize(-1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ValidationTest, PageTokenRoundTrip) {
  EXPECT_EQ(*DecodePageToken("", "any"), "");
  const std::string token = EncodePageToken("team-", "team-b");
  // Opaque to clients: the room id does not show in clear.
  EXPECT_EQ(token.find("team-b"), std::string::npos);
  EXPECT_EQ(*DecodePageToken(token, "team-"), "team-b");
  EXPECT_EQ(*DecodePageToken(EncodePageToken("", "zz"), ""), "zz");
}

TEST(ValidationTest, PageTokenBoundToItsPrefix) {
  const std::string token = EncodePageToken("team-", "team-b");
  const auto other = DecodePageToken(token, "");
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(other.status().message().find("room_id_prefix"),
            absl::string_view::npos);
}

TEST(ValidationTest, MalformedPageTokens) {
  for (const std::string& bad : {
           std::string("!!!"),
           absl::WebSafeBase64Escape("lobby"),          // no tag
           absl::WebSafeBase64Escape("p1/lobby"),       // no separator
           absl::WebSafeBase64Escape("p1/x/"),          // empty id
           absl::WebSafeBase64Escape("p1/x/a b"),       // bad id
           absl::WebSafeBase64Escape("p1/team-/other"), // id outside prefix
           absl::WebSafeBase64Escape("p9//lobby"),      // unknown version
       }) {
    EXPECT_EQ(DecodePageToken(bad, "").status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

}  // namespace
}  // namespace cursord::control
