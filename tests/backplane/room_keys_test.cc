// Key names as docs/BACKPLANE.md gives them, the stable room hash, and the
// jump consistent hash that spreads rooms over Redis servers.
#include "server/backplane/room_keys.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace cursord::backplane {
namespace {

TEST(RoomKeysTest, RoomKeysAndChannelAreTheDocumentedNames) {
  const RoomKeys keys = KeysOfRoom("doc:42");
  EXPECT_EQ(keys.ids, "cursord:{doc:42}:ids");
  EXPECT_EQ(keys.members, "cursord:{doc:42}:members");
  EXPECT_EQ(keys.generation, "cursord:{doc:42}:gen");
  EXPECT_EQ(keys.channel, "cursord:{doc:42}");
  EXPECT_EQ(RoomChannel("doc:42"), keys.channel);
}

TEST(RoomKeysTest, InstanceKeysAreTheDocumentedNames) {
  const InstanceKeys keys = KeysOfInstance("host-1.a");
  EXPECT_EQ(keys.lease, "cursord:instance:{host-1.a}:lease");
  EXPECT_EQ(keys.members, "cursord:instance:{host-1.a}:members");
  EXPECT_EQ(kInstancesKey, "cursord:instances");
}

TEST(RoomKeysTest, NoRoomKeyIsAnInstanceKey) {
  // Room keys start "cursord:{", instance keys "cursord:instance:{", and
  // room ids hold no braces: a room named "instance:x" is still a room.
  const RoomKeys keys = KeysOfRoom("instance:x");
  EXPECT_EQ(keys.ids.rfind("cursord:{instance:x}", 0), 0u);
  EXPECT_NE(keys.channel.rfind("cursord:instance:", 0), 0u);
}

TEST(RoomKeysTest, IndexEntriesAreRoomIdAndGenerationBetweenNuls) {
  const absl::string_view nul("\0", 1);
  EXPECT_EQ(IndexEntry("r", 7, 12345678901234ULL),
            absl::StrJoin({"r", "7", "12345678901234"}, nul));
  EXPECT_EQ(IndexEntry("room", 255, 1), absl::StrJoin({"room", "255", "1"}, nul));
}

TEST(RoomKeysTest, InstanceIdsAreShortPlainNames) {
  EXPECT_TRUE(IsValidInstanceId("a"));
  EXPECT_TRUE(IsValidInstanceId("cursord-host.example_1"));
  EXPECT_TRUE(IsValidInstanceId(std::string(64, 'x')));
  EXPECT_FALSE(IsValidInstanceId(""));
  EXPECT_FALSE(IsValidInstanceId(std::string(65, 'x')));
  for (const char* bad : {"a}b", "a{b", "a b", "a:b", "a/b"}) {
    EXPECT_FALSE(IsValidInstanceId(bad)) << bad;
  }
  EXPECT_FALSE(IsValidInstanceId(std::string("a\0b", 3)));
}

TEST(RoomKeysTest, StableHashIsFnv1a64) {
  // The published FNV-1a 64 test vectors.
  EXPECT_EQ(StableHash64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(StableHash64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(StableHash64("foobar"), 0x85944171f73967e8ULL);
  // Bytes are unsigned: a high byte is not sign-extended.
  EXPECT_NE(StableHash64("\xff"), StableHash64("\x7f"));
}

TEST(RoomKeysTest, JumpHashGivesThePapersBuckets) {
  // Values of the paper's reference code, as other implementations
  // (ClickHouse's jumpConsistentHash, the Go and Rust ports) test them.
  EXPECT_EQ(JumpHash(1, 1), 0);
  EXPECT_EQ(JumpHash(42, 57), 43);
  EXPECT_EQ(JumpHash(256, 1024), 520);
  EXPECT_EQ(JumpHash(0xDEAD10CCULL, 1), 0);
  EXPECT_EQ(JumpHash(0xDEAD10CCULL, 666), 361);
  EXPECT_EQ(JumpHash(16045690984833335023ULL, 255), 237);
}

TEST(RoomKeysTest, JumpHashStaysWithinItsBuckets) {
  EXPECT_EQ(JumpHash(12345, 0), 0);
  EXPECT_EQ(JumpHash(12345, -3), 0);
  for (uint64_t key = 0; key < 1000; ++key) {
    const int32_t bucket = JumpHash(key * 0x9E3779B97F4A7C15ULL, 7);
    ASSERT_GE(bucket, 0);
    ASSERT_LT(bucket, 7);
  }
}

// Room names as a deployment would have them.
std::vector<std::string> Rooms(int count) {
  std::vector<std::string> rooms;
  for (int i = 0; i < count; ++i) rooms.push_back(absl::StrCat("doc-", i));
  return rooms;
}

TEST(RoomKeysTest, AddingAServerMovesAboutOneInNPlusOneRoomsAllToTheNewServer) {
  const std::vector<std::string> rooms = Rooms(20000);
  for (int n : {1, 2, 3, 4, 7, 10}) {
    int moved = 0;
    for (const std::string& room : rooms) {
      const int before = ServerFor(room, n);
      const int after = ServerFor(room, n + 1);
      if (before == after) continue;
      ++moved;
      ASSERT_EQ(after, n) << room << " moved between old servers going from " << n;
    }
    // Expected 20000/(n+1), binomial sd <= 71: 10 % is over 4.5 sd away at
    // every n here (n = 10: 1818 +- 182, sd 41).
    const double expected = 20000.0 / (n + 1);
    EXPECT_NEAR(moved, expected, expected * 0.1) << "from " << n << " to " << n + 1;
  }
}

TEST(RoomKeysTest, RoomsSpreadEvenlyOverServers) {
  int count[3] = {0, 0, 0};
  for (const std::string& room : Rooms(30000)) ++count[ServerFor(room, 3)];
  // 10000 each, sd 82: 5 % is 6 sd.
  for (int server = 0; server < 3; ++server) EXPECT_NEAR(count[server], 10000, 500) << server;
}

TEST(RoomKeysTest, TheRoomToServerMapNeverChanges) {
  // Pinned: instances of different versions must agree on where a room
  // lives. A change here moves live rooms during a rolling upgrade. (The
  // values come from a separate implementation of FNV-1a and the paper's
  // code.)
  EXPECT_EQ(StableHash64("default"), 0xebada5168620c5feULL);
  EXPECT_EQ(ServerFor("default", 1), 0);
  EXPECT_EQ(ServerFor("default", 3), JumpHash(0xebada5168620c5feULL, 3));
  EXPECT_EQ(ServerFor("default", 3), 2);
  EXPECT_EQ(ServerFor("doc-1", 5), 3);
}

}  // namespace
}  // namespace cursord::backplane
