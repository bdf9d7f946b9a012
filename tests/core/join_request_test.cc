#include "server/core/join_request.h"

#include "gtest/gtest.h"

namespace cursord::core {
namespace {

TEST(JoinRequestTest, RoomIds) {
  EXPECT_TRUE(IsValidRoomId("a"));
  EXPECT_TRUE(IsValidRoomId("Doc-1.2_x~y:z@w"));
  EXPECT_TRUE(IsValidRoomId(std::string(128, 'z')));
  EXPECT_FALSE(IsValidRoomId(""));
  EXPECT_FALSE(IsValidRoomId(std::string(129, 'z')));
  for (const char* bad : {"a b", "a/b", "a%20", "é", "a?b", "a#b", "a+b"}) {
    EXPECT_FALSE(IsValidRoomId(bad)) << bad;
  }
}

TEST(JoinRequestTest, PathsMapToRooms) {
  EXPECT_EQ(*RoomFromPath("/"), "default");
  EXPECT_EQ(*RoomFromPath("/rooms/doc-42"), "doc-42");
  EXPECT_EQ(RoomFromPath("/rooms/").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RoomFromPath("/rooms/a/b").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RoomFromPath("/other").status().code(), absl::StatusCode::kNotFound);
}

TEST(JoinRequestTest, IdentityFromTheQuery) {
  auto join = ParseJoinTarget("/rooms/r1?user=u%40x.io&name=Ada+Lovelace%20%C3%A9&color=%23A0B1c2&t=1");
  ASSERT_TRUE(join.ok()) << join.status();
  EXPECT_EQ(join->room, "r1");
  EXPECT_EQ(join->user_id, "u@x.io");
  EXPECT_EQ(join->name, "Ada Lovelace \xC3\xA9");
  EXPECT_EQ(join->color, "#a0b1c2");
  auto bare = ParseJoinTarget("/");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->room, "default");
  EXPECT_EQ(bare->user_id, "");
}

TEST(JoinRequestTest, InvalidIdentityIsRefusedWithAReason) {
  for (const char* target :
       {"/rooms/r?color=red", "/rooms/r?color=%23abcdeg", "/rooms/r?name=",
        "/rooms/r?name=%00x", "/rooms/r?name=%C3", "/rooms/r?user=a%20b", "/rooms/r?user=%zz",
        "/rooms/r?user=%4"}) {
    auto join = ParseJoinTarget(target);
    EXPECT_EQ(join.status().code(), absl::StatusCode::kInvalidArgument) << target;
    EXPECT_FALSE(join.status().message().empty());
  }
  EXPECT_FALSE(ParseJoinTarget("/rooms/r?name=" + std::string(65, 'n')).ok());
  EXPECT_TRUE(ParseJoinTarget("/rooms/r?name=" + std::string(64, 'n')).ok());
  EXPECT_FALSE(ParseJoinTarget("/rooms/r?user=" + std::string(129, 'u')).ok());
}

}  // namespace
}  // namespace cursord::core
