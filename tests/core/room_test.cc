#include "server/core/room.h"

#include <memory>
#include <vector>

#include "gtest/gtest.h"
#include "server/core/member_color.h"
#include "server/core/wire.h"

namespace cursord::core {
namespace {

// A member whose outbox the test drains by hand, with a scheduler of its
// own that counts what it is asked.
struct TestMember : RoomMember {
  using Clock = FlushScheduler<TestMember*>::Clock;
  int flush_requests = 0;
  int batched_flush_requests = 0;
  FlushScheduler<TestMember*> scheduler{std::chrono::milliseconds(2)};
  void ScheduleFlush() override {
    ++flush_requests;
    scheduler.RequestFlush(this);
  }
  void ScheduleBatchedFlush() override {
    ++batched_flush_requests;
    scheduler.RequestBatchedFlush(this, Clock::now());
  }
  void Kick(uint16_t, std::string_view) override {}
  Clock::time_point last_write_started() const { return {}; }
  std::string Take(const Room* room) {
    std::string out;
    outbox.Drain(out, room ? room->tables() : RoomTables{});
    // The round and the batch are over.
    scheduler.RunRound(Clock::now(), [](TestMember*) {}, [] { return Clock::now(); });
    scheduler.BatchDue([](TestMember*) { return false; });
    return out;
  }
};

std::string Id(MessageType type, uint8_t id) {
  std::string s;
  AppendIdFrame(s, type, id);
  return s;
}
std::string Cursor(uint8_t id, uint16_t x, uint16_t y) {
  std::string s;
  AppendCursorFrame(s, id, x, y);
  return s;
}
std::string List(std::vector<uint8_t> ids) {
  std::string s;
  AppendUserListFrame(s, ids.data(), ids.size());
  return s;
}

class RoomTest : public ::testing::Test {
 protected:
  Counter coalesced_;
  Room room_{"r", 256, absl::Now(), &coalesced_};
};

TEST_F(RoomTest, JoinSequence) {
  TestMember a, b;
  ASSERT_EQ(room_.Join(&a, {}, absl::Now()), 0);
  EXPECT_EQ(a.Take(&room_), Id(MessageType::kInitialConnection, 0) + List({0}));
  ASSERT_EQ(room_.Join(&b, {}, absl::Now()), 1);
  EXPECT_EQ(b.Take(&room_), Id(MessageType::kInitialConnection, 1) + List({0, 1}));
  EXPECT_EQ(a.Take(&room_), Id(MessageType::kUserJoined, 1));
}

TEST_F(RoomTest, AnIdDecidedElsewhereJoinsLikeAnyOther) {
  TestMember a, b, c;
  ASSERT_TRUE(room_.JoinAs(5, &a, {}, absl::Now()));
  EXPECT_FALSE(room_.JoinAs(5, &b, {}, absl::Now()));  // taken
  EXPECT_EQ(a.Take(&room_), Id(MessageType::kInitialConnection, 5) + List({5}));
  // The local allocator skips it: lowest free is still 0.
  EXPECT_EQ(room_.Join(&b, {}, absl::Now()), 0);
  EXPECT_EQ(a.Take(&room_), Id(MessageType::kUserJoined, 0));
  EXPECT_EQ(b.Take(&room_), Id(MessageType::kInitialConnection, 0) + List({0, 5}));
  room_.Leave(5, absl::Now());
  EXPECT_TRUE(room_.JoinAs(5, &c, {}, absl::Now()));
}

TEST_F(RoomTest, RemoteMembersAreInTheRosterAndRelayedButHaveNoOutbox) {
  TestMember a;
  room_.Join(&a, {}, absl::Now());
  a.Take(&room_);
  // Member 1 lives on another instance.
  ASSERT_TRUE(room_.JoinRemote(1, MemberIdentity{"u-remote", "", "", ""}, absl::Now()));
  EXPECT_EQ(a.Take(&room_), Id(MessageType::kUserJoined, 1));
  EXPECT_EQ(room_.size(), 1u);  // one connected here
  EXPECT_EQ(room_.member_count(), 2u);
  EXPECT_EQ(room_.member(1), nullptr);
  room_.Cursor(1, 10, 20, absl::Now());
  room_.Click(1, true, absl::Now());
  EXPECT_EQ(a.Take(&room_), Id(MessageType::kStartedClicking, 1).insert(0, Cursor(1, 10, 20)));
  // A late joiner here sees the remote member's position and press.
  TestMember late;
  EXPECT_EQ(room_.Join(&late, {}, absl::Now()), 2);
  EXPECT_EQ(late.Take(&room_), Id(MessageType::kInitialConnection, 2) + List({0, 1, 2}) +
                                   Cursor(1, 10, 20) + Id(MessageType::kStartedClicking, 1));
  a.Take(&room_);
  room_.Leave(1, absl::Now());
  EXPECT_EQ(a.Take(&room_), Id(MessageType::kUserLeft, 1));
  EXPECT_EQ(room_.member_count(), 2u);
  EXPECT_EQ(room_.Summary().member_count, 2u);
}

TEST_F(RoomTest, RelayNeverEchoesAndCoalescesPerRecipient) {
  TestMember a, b;
  room_.Join(&a, {}, absl::Now());
  room_.Join(&b, {}, absl::Now());
  a.Take(&room_);
  b.Take(&room_);
  const int requests_before = b.flush_requests;
  room_.Cursor(0, 1, 1, absl::Now());
  room_.Cursor(0, 2, 2, absl::Now());
  room_.Cursor(0, 3, 3, absl::Now());
  EXPECT_EQ(b.flush_requests, requests_before + 1);  // one flush per round
  EXPECT_EQ(coalesced_.Get(), 2u);
  EXPECT_EQ(b.Take(&room_), Cursor(0, 3, 3));
  EXPECT_EQ(a.Take(&room_), "");
}

TEST_F(RoomTest, JoinsAndLeavesAreBatchedAndCursorsTakeThemAlongInOrder) {
  TestMember a, b, c, d;
  room_.Join(&a, {}, absl::Now());
  EXPECT_EQ(a.flush_requests, 1);  // its own join sequence: at once
  a.Take(&room_);
  room_.Join(&b, {}, absl::Now());
  room_.Join(&c, {}, absl::Now());
  EXPECT_EQ(b.flush_requests, 1);
  // Two joins for `a`: one batched flush asked for, no immediate one.
  EXPECT_EQ(a.batched_flush_requests, 1);
  EXPECT_EQ(a.flush_requests, 1);
  // A cursor move asks for an immediate flush, which takes the pending
  // joins along, ahead of the position.
  room_.Cursor(1, 7, 8, absl::Now());
  EXPECT_EQ(a.flush_requests, 2);
  // With an immediate flush pending, a join asks for nothing more.
  room_.Join(&d, {}, absl::Now());
  EXPECT_EQ(a.batched_flush_requests, 1);
  EXPECT_EQ(a.Take(&room_), Id(MessageType::kUserJoined, 1) + Id(MessageType::kUserJoined, 2) +
                                Id(MessageType::kUserJoined, 3) + Cursor(1, 7, 8));
  // A leave is batched too.
  room_.Leave(2, absl::Now());
  EXPECT_EQ(a.batched_flush_requests, 2);
  EXPECT_EQ(a.flush_requests, 2);
  EXPECT_EQ(a.Take(&room_), Id(MessageType::kUserLeft, 2));
}

TEST_F(RoomTest, ClickFollowsTheSendersPendingPosition) {
  TestMember a, b;
  room_.Join(&a, {}, absl::Now());
  room_.Join(&b, {}, absl::Now());
  a.Take(&room_);
  b.Take(&room_);
  room_.Cursor(0, 5, 5, absl::Now());
  room_.Click(0, true, absl::Now());
  room_.Click(0, false, absl::Now());
  EXPECT_EQ(b.Take(&room_), Cursor(0, 5, 5) + Id(MessageType::kStartedClicking, 0) +
                                Id(MessageType::kStoppedClicking, 0));
}

TEST_F(RoomTest, LateJoinerGetsPositionsAndClicks) {
  TestMember a, b, c;
  room_.Join(&a, {}, absl::Now());
  room_.Join(&b, {}, absl::Now());
  room_.Cursor(0, 10, 20, absl::Now());
  room_.Click(0, true, absl::Now());
  room_.Join(&c, {}, absl::Now());
  EXPECT_EQ(c.Take(&room_), Id(MessageType::kInitialConnection, 2) + List({0, 1, 2}) +
                                Cursor(0, 10, 20) + Id(MessageType::kStartedClicking, 0));
}

TEST_F(RoomTest, LeaveDropsPendingPositionAndReusedIdIsNotWiped) {
  TestMember a, b, c;
  room_.Join(&a, {}, absl::Now());
  room_.Join(&b, {}, absl::Now());
  a.Take(&room_);
  room_.Cursor(1, 9, 9, absl::Now());  // pending for a
  room_.Leave(1, absl::Now());
  ASSERT_EQ(room_.Join(&c, {}, absl::Now()), 1);  // reuses id 1
  room_.Cursor(1, 4, 4, absl::Now());
  // a sees: the leave (without the stale position), the join, the new position.
  EXPECT_EQ(a.Take(&room_),
            Id(MessageType::kUserLeft, 1) + Id(MessageType::kUserJoined, 1) + Cursor(1, 4, 4));
  EXPECT_EQ(room_.size(), 2u);
  ASSERT_NE(room_.member(1), nullptr);
  EXPECT_EQ(room_.member(1), &c);
}

TEST_F(RoomTest, FullRoomRefusesWithoutSideEffects) {
  Counter counter;
  Room small("s", 2, absl::Now(), &counter);
  TestMember a, b, c;
  small.Join(&a, {}, absl::Now());
  small.Join(&b, {}, absl::Now());
  a.Take(&small);
  EXPECT_EQ(small.Join(&c, {}, absl::Now()), std::nullopt);
  EXPECT_EQ(a.Take(&small), "");
  EXPECT_EQ(c.Take(nullptr), "");
  EXPECT_EQ(small.size(), 2u);
}

TEST_F(RoomTest, SnapshotCarriesIdentityAndState) {
  TestMember a;
  room_.Join(&a, MemberIdentity{"u1", "Ada", "#ff0000", "127.0.0.1:5"}, absl::Now());
  room_.Cursor(0, 100, 200, absl::Now());
  room_.Click(0, true, absl::Now());
  RoomSnapshot snapshot = room_.Snapshot();
  ASSERT_EQ(snapshot.members.size(), 1u);
  const MemberSnapshot& m = snapshot.members[0];
  EXPECT_EQ(m.user_id, "u1");
  EXPECT_EQ(m.name, "Ada");
  EXPECT_EQ(m.color, "#ff0000");
  EXPECT_EQ(m.remote_address, "127.0.0.1:5");
  EXPECT_TRUE(m.has_position);
  EXPECT_EQ(m.x, 100);
  EXPECT_EQ(m.y, 200);
  EXPECT_TRUE(m.clicking);
}

struct RecordingSink : WatchSink {
  std::vector<RoomEvent> events;
  int snapshots = 0;
  bool accept = true;
  absl::Status detached;
  void OnSnapshot(const RoomSnapshot&) override { ++snapshots; }
  bool OnEvent(const RoomEvent& event) override {
    if (!accept) return false;
    events.push_back(event);
    return true;
  }
  void OnDetached(const absl::Status& status) override { detached = status; }
};

TEST_F(RoomTest, WatchersSeeEventsAndARefusingWatcherIsDetached) {
  TestMember a, b;
  room_.Join(&a, {}, absl::Now());
  auto sink = std::make_shared<RecordingSink>();
  auto cursors = std::make_shared<RecordingSink>();
  RoomWatchers watchers;
  watchers.Add("r", sink, false);
  WatcherList& list = watchers.Add("r", cursors, true);
  room_.set_watchers(&list);
  room_.Join(&b, {}, absl::Now());
  room_.Cursor(1, 1, 1, absl::Now());
  room_.Click(1, true, absl::Now());
  room_.Leave(1, absl::Now());
  ASSERT_EQ(sink->events.size(), 3u);
  EXPECT_EQ(sink->events[0].kind, RoomEventKind::kJoined);
  EXPECT_EQ(sink->events[1].kind, RoomEventKind::kClickStarted);
  EXPECT_EQ(sink->events[2].kind, RoomEventKind::kLeft);
  ASSERT_EQ(cursors->events.size(), 4u);
  EXPECT_EQ(cursors->events[1].kind, RoomEventKind::kCursorMoved);
  sink->accept = false;
  room_.Click(0, true, absl::Now());
  EXPECT_EQ(sink->detached.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(list.size(), 1u);
  // The last watcher leaves: the list goes, and the room must forget it.
  EXPECT_TRUE(watchers.Remove("r", cursors.get()));
  EXPECT_EQ(watchers.Find("r"), nullptr);
}

// ---- protocol v2 ----

std::string Info(uint8_t id, Rgb color, std::string_view user, std::string_view name) {
  std::string s;
  AppendMemberInfoFrame(s, id, color, user, name);
  return s;
}
std::string StateFrame(uint8_t id, std::string_view state) {
  std::string s;
  AppendMemberStateFrame(s, id, state);
  return s;
}

TEST_F(RoomTest, AV2MemberLearnsWhoEveryoneIsAndAV1MemberNothingMore) {
  TestMember v1, v2, late;
  v2.set_protocol(ProtocolVersion::kV2);
  late.set_protocol(ProtocolVersion::kV2);
  ASSERT_EQ(room_.Join(&v1, {"u1", "Ann", "#010203", ""}, absl::Now()), 0);
  v1.Take(&room_);
  ASSERT_EQ(room_.Join(&v2, {"u2", "Bob", "", ""}, absl::Now()), 1);
  const Rgb bob = MemberColor("", "u2", "Bob", 1);
  EXPECT_EQ(v2.Take(&room_), Id(MessageType::kInitialConnection, 1) + List({0, 1}) +
                                 Info(0, Rgb{1, 2, 3}, "u1", "Ann") + Info(1, bob, "u2", "Bob"));
  EXPECT_EQ(v1.Take(&room_), Id(MessageType::kUserJoined, 1));  // byte for byte v1
  ASSERT_EQ(room_.Join(&late, {}, absl::Now()), 2);
  late.Take(&room_);
  // A join reaches v2 members with who it is, in one event.
  EXPECT_EQ(v2.Take(&room_), Id(MessageType::kUserJoined, 2) +
                                 Info(2, MemberColor("", "", "", 2), "", ""));
  EXPECT_EQ(v1.Take(&room_), Id(MessageType::kUserJoined, 2));
}

TEST_F(RoomTest, StateGoesToV2MembersOnlyCoalescedAndReachesLateJoiners) {
  TestMember a, b, v1;
  a.set_protocol(ProtocolVersion::kV2);
  b.set_protocol(ProtocolVersion::kV2);
  Counter state_coalesced;
  Room room("s", 256, absl::Now(), &coalesced_, &state_coalesced);
  ASSERT_EQ(room.Join(&a, {}, absl::Now()), 0);
  ASSERT_EQ(room.Join(&b, {}, absl::Now()), 1);
  ASSERT_EQ(room.Join(&v1, {}, absl::Now()), 2);
  a.Take(&room);
  b.Take(&room);
  v1.Take(&room);
  room.SetState(0, "one", absl::Now());
  room.SetState(0, "two", absl::Now());
  EXPECT_EQ(state_coalesced.Get(), 1u);
  EXPECT_EQ(b.Take(&room), StateFrame(0, "two"));
  EXPECT_EQ(a.Take(&room), "");   // never echoed
  EXPECT_EQ(v1.Take(&room), "");  // a v1 member gets no state
  EXPECT_EQ(room.state(0), "two");
  EXPECT_EQ(room.SnapshotMember(0).state, "two");

  // A late v2 joiner gets it after the member's position and press.
  room.Cursor(0, 4, 5, absl::Now());
  room.Click(0, true, absl::Now());
  TestMember late;
  late.set_protocol(ProtocolVersion::kV2);
  ASSERT_EQ(room.Join(&late, {}, absl::Now()), 3);
  const std::string sequence = late.Take(&room);
  const std::string tail = Cursor(0, 4, 5) + Id(MessageType::kStartedClicking, 0) +
                           StateFrame(0, "two");
  ASSERT_GE(sequence.size(), tail.size());
  EXPECT_EQ(sequence.substr(sequence.size() - tail.size()), tail);
}

TEST_F(RoomTest, ALeaveClearsTheStateAndTheNextOwnerOfTheIdStartsWithout) {
  TestMember a, b, c;
  a.set_protocol(ProtocolVersion::kV2);
  b.set_protocol(ProtocolVersion::kV2);
  c.set_protocol(ProtocolVersion::kV2);
  ASSERT_EQ(room_.Join(&a, {}, absl::Now()), 0);
  ASSERT_EQ(room_.Join(&b, {}, absl::Now()), 1);
  a.Take(&room_);
  b.Take(&room_);
  room_.SetState(0, "pending", absl::Now());
  room_.Leave(0, absl::Now());
  // Nothing of 0 after 04 0: the pending state went with it.
  EXPECT_EQ(b.Take(&room_), Id(MessageType::kUserLeft, 0));
  ASSERT_EQ(room_.Join(&c, {}, absl::Now()), 0);
  EXPECT_EQ(room_.state(0), "");
  const std::string sequence = c.Take(&room_);
  EXPECT_EQ(sequence.find(StateFrame(0, "pending")), std::string::npos);
}

TEST(RoomWatchersTest, AWatchOutlivesItsRoomAndShutdownDetachesEveryone) {
  RoomWatchers watchers;
  auto a = std::make_shared<RecordingSink>();
  auto b = std::make_shared<RecordingSink>();
  watchers.Add("one", a, false);
  watchers.Add("two", b, true);
  EXPECT_FALSE(watchers.Find("one")->any_cursor_watcher());
  EXPECT_TRUE(watchers.Find("two")->any_cursor_watcher());
  EXPECT_FALSE(watchers.Remove("one", b.get()));  // not its watcher
  EXPECT_EQ(watchers.rooms(), 2u);
  watchers.DetachAll(absl::UnavailableError("server shutting down"));
  EXPECT_EQ(a->detached.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(b->detached.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(watchers.rooms(), 0u);
}

}  // namespace
}  // namespace cursord::core
