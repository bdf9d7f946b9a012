// Rooms over several Redis servers (docs/BACKPLANE.md, "One Redis server per
// room"): with --redis a,b every instance puts a room's keys and channel on
// the server that ServerFor (server/backplane/room_keys.h) names, and
// nowhere else; every room works across instances whichever server holds
// it; and an instance killed with -9 is reaped on every server.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "server/backplane/room_keys.h"
#include "tests/cluster/cluster_fixture.h"
#include "tests/testing/eventually.h"

namespace cursord::testing {
namespace {

// Enough rooms that both servers hold several (all 40 on one server would
// be a 1 in 2^39 hash; the test checks both are used rather than assume).
constexpr int kRooms = 40;

class ClusterShardingTest : public ClusterTest {
 protected:
  struct RoomMembers {
    std::string room;
    int server = 0;  // ServerFor(room, 2)
    Member* a = nullptr;  // on instance 0, id 0
    Member* b = nullptr;  // on instance 1, id 1
  };

  // Two instances on two Redis servers; in each of kRooms rooms a member
  // on instance 0 (id 0), then one on instance 1 (id 1): the join
  // sequences, then a move of a's and a click of b's seen on the other
  // instance.
  void StartRoomsOnBothServers();

  // The rooms that have keys on Redis server `i` (KEYS cursord:{*).
  std::set<std::string> RoomsWithKeysOn(int i);

  std::vector<RoomMembers> rooms_;
};

void ClusterShardingTest::StartRoomsOnBothServers() {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2, {}, /*redis_servers=*/2));
  for (int r = 0; r < kRooms; ++r) {
    RoomMembers room;
    room.room = absl::StrFormat("shard-%02d", r);
    room.server = backplane::ServerFor(room.room, 2);
    ASSERT_NO_FATAL_FAILURE(Join(0, room.room, absl::StrCat("a.", room.room), &room.a));
    EXPECT_EQ(room.a->id(), 0) << room.room;
    EXPECT_EQ(Ids(room.a->roster()), Ids({0})) << room.room;
    ASSERT_NO_FATAL_FAILURE(Join(1, room.room, absl::StrCat("b.", room.room), &room.b));
    EXPECT_EQ(room.b->id(), 1) << room.room;
    EXPECT_EQ(Ids(room.b->roster()), Ids({0, 1})) << room.room;
    rooms_.push_back(room);
  }
  // Each room's own coordinates, so that nothing crosses between rooms
  // unnoticed.
  for (int r = 0; r < kRooms; ++r) {
    rooms_[r].a->Move(static_cast<uint16_t>(100 + r), static_cast<uint16_t>(200 + r));
    rooms_[r].b->Press();
  }
  for (int r = 0; r < kRooms; ++r) {
    const RoomMembers& room = rooms_[r];
    ASSERT_TRUE(room.a->WaitForMessage(Joined(1))) << room.room << ": " << room.a->Describe();
    ASSERT_TRUE(room.a->WaitForMessage(Pressed(1))) << room.room << ": " << room.a->Describe();
    ASSERT_TRUE(room.b->WaitFor([&] {
      return room.b->Position(0) ==
             std::make_pair(static_cast<uint16_t>(100 + r), static_cast<uint16_t>(200 + r));
    })) << room.room << ": " << room.b->Describe();
  }
}

std::set<std::string> ClusterShardingTest::RoomsWithKeysOn(int i) {
  absl::StatusOr<std::string> keys = redis(i).Query({"KEYS", "cursord:{*"});
  EXPECT_TRUE(keys.ok()) << keys.status();
  std::set<std::string> rooms;
  if (!keys.ok()) return rooms;
  // "cursord:{R}:ids cursord:{R}:members ..." (room ids hold no spaces or
  // braces).
  for (absl::string_view key : absl::StrSplit(*keys, ' ', absl::SkipEmpty())) {
    if (!absl::ConsumePrefix(&key, "cursord:{")) continue;
    rooms.insert(std::string(key.substr(0, key.find('}'))));
  }
  return rooms;
}

TEST_F(ClusterShardingTest, EveryRoomWorksAcrossInstancesFromTheRedisServerItsHashNames) {
  ASSERT_NO_FATAL_FAILURE(StartRoomsOnBothServers());
  std::map<int, std::set<std::string>> expected;
  for (const RoomMembers& room : rooms_) expected[room.server].insert(room.room);
  ASSERT_EQ(expected.size(), 2u) << "ServerFor put all " << kRooms << " rooms on one server";
  for (int s : {0, 1}) {
    // The keys of exactly its rooms, and the keys of each room whole there
    // and absent from the other server.
    EXPECT_EQ(RoomsWithKeysOn(s), expected[s]) << "Redis server " << s;
    for (const RoomMembers& room : rooms_) {
      const backplane::RoomKeys keys = backplane::KeysOfRoom(room.room);
      absl::StatusOr<std::string> exists =
          redis(s).Query({"EXISTS", keys.ids, keys.members, keys.generation});
      ASSERT_TRUE(exists.ok()) << exists.status();
      EXPECT_EQ(*exists, room.server == s ? "3" : "0")
          << room.room << " (ServerFor says server " << room.server << ") on server " << s;
      if (room.server == s) {
        EXPECT_EQ(redis(s).Query({"HLEN", keys.members}).value_or("?"), "2") << room.room;
      }
    }
    // Each instance holds a lease on every server it has members on.
    for (int i : {0, 1}) {
      const std::string lease = backplane::KeysOfInstance(instance(i).instance_id()).lease;
      EXPECT_EQ(redis(s).Query({"EXISTS", lease}).value_or("?"), "1")
          << lease << " on server " << s;
    }
  }
}

// kill -9 of an instance with members in rooms on both servers: each
// server's reaper (every instance runs one per server) frees them, 04
// everywhere within 5 s (lease 3 s + reaper period 1 s), and nothing of
// the dead instance stays on either server.
TEST_F(ClusterShardingTest, AKilledInstancesMembersLeaveRoomsOnEveryRedisServerWithinFiveSeconds) {
  ASSERT_NO_FATAL_FAILURE(StartRoomsOnBothServers());
  std::set<int> servers;
  for (const RoomMembers& room : rooms_) servers.insert(room.server);
  ASSERT_EQ(servers.size(), 2u) << "ServerFor put all " << kRooms << " rooms on one server";

  const absl::Time killed = absl::Now();
  instance(1).Kill();
  for (const RoomMembers& room : rooms_) {
    EXPECT_TRUE(room.a->WaitUntil([&] { return !room.a->Sees(1); }, killed + absl::Seconds(5)))
        << room.room << " (server " << room.server << "): no 04 1 within 5 s of kill -9 ("
        << absl::FormatDuration(absl::Now() - killed) << "): " << room.a->Describe();
  }
  // The reap script frees the members, drops the index and the instance in
  // one step: with every room's 04 seen, both servers are clean.
  const backplane::InstanceKeys dead = backplane::KeysOfInstance(instance(1).instance_id());
  for (int s : {0, 1}) {
    EXPECT_EQ(redis(s).Query({"EXISTS", dead.lease, dead.members}).value_or("?"), "0")
        << "server " << s;
    EXPECT_EQ(redis(s).Query({"SISMEMBER", std::string(backplane::kInstancesKey),
                              instance(1).instance_id()})
                  .value_or("?"),
              "0")
        << "server " << s;
  }
  for (const RoomMembers& room : rooms_) {
    EXPECT_EQ(redis(room.server).Query({"HLEN", backplane::KeysOfRoom(room.room).members})
                  .value_or("?"),
              "1")
        << room.room;
  }
  EXPECT_TRUE(Eventually([&] {
    return instance(0).Metric("cursord_backplane_reaped_members_total") == kRooms;
  })) << instance(0).Metric("cursord_backplane_reaped_members_total").value_or(-1);

  // The freed id is the lowest again, in a room on each server.
  for (int s : {0, 1}) {
    for (const RoomMembers& room : rooms_) {
      if (room.server != s) continue;
      Member* joiner = nullptr;
      ASSERT_NO_FATAL_FAILURE(Join(0, room.room, absl::StrCat("n.", room.room), &joiner));
      EXPECT_EQ(joiner->id(), 1) << room.room;
      EXPECT_EQ(Ids(joiner->roster()), Ids({0, 1})) << room.room;
      EXPECT_TRUE(room.a->WaitForMessage(Joined(1))) << room.a->Describe();
      break;
    }
  }
}

}  // namespace
}  // namespace cursord::testing
