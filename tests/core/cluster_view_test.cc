#include "server/core/cluster_view.h"

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace cursord::core {
namespace {

RoomSummary Summary(const std::string& id, uint32_t count, int created_s = 100) {
  return RoomSummary{id, count, absl::FromUnixSeconds(created_s)};
}

ListRoomsResult Page(std::vector<RoomSummary> rooms, bool more) {
  ListRoomsResult page;
  page.rooms = std::move(rooms);
  page.more = more;
  return page;
}

std::vector<std::pair<std::string, uint32_t>> Rows(const ListRoomsResult& result) {
  std::vector<std::pair<std::string, uint32_t>> rows;
  for (const RoomSummary& r : result.rooms) rows.emplace_back(r.id, r.member_count);
  return rows;
}

TEST(MergeRoomPagesTest, SumsTheCountsOfARoomOnSeveralInstancesAndKeepsItsEarliestCreation) {
  ListRoomsResult merged = MergeRoomPages(
      {Page({Summary("a", 2, 50), Summary("c", 1)}, false),
       Page({Summary("a", 3, 40), Summary("b", 1)}, false)},
      10);
  EXPECT_EQ(Rows(merged), (std::vector<std::pair<std::string, uint32_t>>{
                              {"a", 5}, {"b", 1}, {"c", 1}}));
  EXPECT_EQ(merged.rooms[0].created_at, absl::FromUnixSeconds(40));
  EXPECT_FALSE(merged.more);
}

TEST(MergeRoomPagesTest, CutsToTheLimitAndSaysMore) {
  ListRoomsResult merged = MergeRoomPages(
      {Page({Summary("a", 1), Summary("c", 1)}, false), Page({Summary("b", 1), Summary("d", 1)}, false)},
      3);
  EXPECT_EQ(Rows(merged), (std::vector<std::pair<std::string, uint32_t>>{
                              {"a", 1}, {"b", 1}, {"c", 1}}));
  EXPECT_TRUE(merged.more);
}

TEST(MergeRoomPagesTest, AnInstanceWithMoreMakesThePageHaveMore) {
  // Instance 1 had more than the limit after "b": the cluster does too.
  ListRoomsResult merged =
      MergeRoomPages({Page({Summary("a", 1), Summary("b", 1)}, true), Page({}, false)}, 2);
  EXPECT_EQ(merged.rooms.size(), 2u);
  EXPECT_TRUE(merged.more);
}

// Every instance lists its own first `limit` rooms; the merged page is the
// cluster's first `limit`, with complete counts, whatever the spread.
TEST(MergeRoomPagesTest, EqualsTheFirstPageOfTheWholeClusterForEverySpread) {
  // Rooms r0..r9, member i of room k on instance (k + i) % 3, k % 4 + 1 members.
  const int kRooms = 10;
  const int kInstances = 3;
  for (size_t limit = 1; limit <= 11; ++limit) {
    std::vector<std::vector<RoomSummary>> local(kInstances);
    std::vector<std::pair<std::string, uint32_t>> all;
    for (int k = 0; k < kRooms; ++k) {
      const std::string id = "r" + std::to_string(k);
      const int members = k % 4 + 1;
      std::vector<uint32_t> per(kInstances, 0);
      for (int i = 0; i < members; ++i) ++per[(k + i) % kInstances];
      for (int n = 0; n < kInstances; ++n) {
        if (per[n] > 0) local[n].push_back(Summary(id, per[n]));
      }
      all.emplace_back(id, static_cast<uint32_t>(members));
    }
    std::vector<ListRoomsResult> pages;
    for (auto& rooms : local) {
      const bool more = rooms.size() > limit;
      if (more) rooms.resize(limit);
      pages.push_back(Page(rooms, more));
    }
    ListRoomsResult merged = MergeRoomPages(std::move(pages), limit);
    const size_t n = std::min(limit, all.size());
    using Rowset = std::vector<std::pair<std::string, uint32_t>>;
    const Rowset first(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_EQ(Rows(merged), first) << "limit " << limit;
    EXPECT_EQ(merged.more, all.size() > limit) << "limit " << limit;
  }
}

MemberSnapshot Member(uint8_t id) {
  MemberSnapshot m;
  m.id = id;
  return m;
}

TEST(MergeRoomSnapshotsTest, TagsEachMemberWithItsInstanceAndOrdersById) {
  RoomSnapshot i0;
  i0.created_at = absl::FromUnixSeconds(20);
  i0.members = {Member(0), Member(3)};
  RoomSnapshot i1;
  i1.created_at = absl::FromUnixSeconds(10);
  i1.members = {Member(1)};
  absl::StatusOr<RoomSnapshot> room =
      MergeRoomSnapshots("doc", "i1", {{"i0", i0}, {"i1", i1}, {"i2", RoomSnapshot{}}});
  ASSERT_TRUE(room.ok()) << room.status();
  EXPECT_EQ(room->id, "doc");
  EXPECT_EQ(room->created_at, absl::FromUnixSeconds(10));
  ASSERT_EQ(room->members.size(), 3u);
  EXPECT_EQ(room->members[0].id, 0);
  EXPECT_EQ(room->members[0].instance, "i0");
  EXPECT_TRUE(room->members[0].remote);
  EXPECT_EQ(room->members[1].id, 1);
  EXPECT_EQ(room->members[1].instance, "i1");
  EXPECT_FALSE(room->members[1].remote);
  EXPECT_EQ(room->members[2].id, 3);
}

TEST(GroupByUserTest, OneRowPerUserAndOnePerAnonymousMember) {
  RoomSnapshot room;
  auto add = [&room](uint8_t id, const std::string& user, const std::string& name,
                     const std::string& instance, int connected_s, int active_s) {
    MemberSnapshot m = Member(id);
    m.user_id = user;
    m.name = name;
    m.instance = instance;
    m.connected_at = absl::FromUnixSeconds(connected_s);
    m.last_activity = absl::FromUnixSeconds(active_s);
    room.members.push_back(m);
  };
  add(4, "bob", "Bob", "i1", 50, 60);
  add(0, "ann", "Ann", "i0", 30, 90);
  add(1, "", "", "i0", 10, 20);
  add(2, "ann", "Ann", "i1", 20, 40);
  add(3, "", "Guest", "i1", 10, 20);
  std::vector<RoomUser> users = GroupByUser(room);
  ASSERT_EQ(users.size(), 4u);
  EXPECT_EQ(users[0].user_id, "ann");
  EXPECT_EQ(users[0].member_ids, (std::vector<uint8_t>{0, 2}));
  EXPECT_EQ(users[0].names, (std::vector<std::string>{"Ann"}));
  EXPECT_EQ(users[0].instances, (std::vector<std::string>{"i0", "i1"}));
  EXPECT_EQ(users[0].first_connected, absl::FromUnixSeconds(20));
  EXPECT_EQ(users[0].last_activity, absl::FromUnixSeconds(90));
  EXPECT_EQ(users[1].user_id, "bob");
  EXPECT_EQ(users[2].user_id, "");
  EXPECT_EQ(users[2].member_ids, (std::vector<uint8_t>{1}));
  EXPECT_TRUE(users[2].names.empty());
  EXPECT_EQ(users[3].member_ids, (std::vector<uint8_t>{3}));
  EXPECT_EQ(users[3].names, (std::vector<std::string>{"Guest"}));
}

TEST(MergeRoomSnapshotsTest, NoMemberAnywhereIsNotFound) {
  EXPECT_TRUE(absl::IsNotFound(
      MergeRoomSnapshots("doc", "i0", {{"i0", RoomSnapshot{}}, {"i1", RoomSnapshot{}}}).status()));
  EXPECT_TRUE(absl::IsNotFound(MergeRoomSnapshots("doc", "i0", {}).status()));
}

}  // namespace
}  // namespace cursord::core
