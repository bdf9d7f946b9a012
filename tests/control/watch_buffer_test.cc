#include "server/control/watch_buffer.h"

#include <variant>

#include "gtest/gtest.h"

namespace cursord::control {
namespace {

using core::RoomEvent;
using core::RoomEventKind;

const absl::Time kT0 = absl::FromUnixSeconds(1714564800);
constexpr absl::Duration kInterval = absl::Milliseconds(100);

RoomEvent Event(RoomEventKind kind, uint8_t id) {
  RoomEvent event;
  event.kind = kind;
  event.member.id = id;
  return event;
}

RoomEvent Move(uint8_t id, uint16_t x, uint16_t y) {
  RoomEvent event = Event(RoomEventKind::kCursorMoved, id);
  event.member.x = x;
  event.member.y = y;
  event.member.has_position = true;
  return event;
}

WatchBuffer MakeBuffer(size_t capacity = 16) {
  WatchBuffer::Options options;
  options.capacity = capacity;
  options.cursor_interval = kInterval;
  return WatchBuffer(options);
}

// The event Pop returns, failing the test if it is the snapshot or none.
RoomEvent PopEvent(WatchBuffer& buffer, absl::Time now) {
  std::optional<WatchBuffer::Item> item = buffer.Pop(now);
  EXPECT_TRUE(item.has_value());
  if (!item.has_value() || !std::holds_alternative<RoomEvent>(*item)) {
    ADD_FAILURE() << "expected an event";
    return RoomEvent();
  }
  return std::get<RoomEvent>(*item);
}

TEST(WatchBufferTest, SnapshotThenEventsInOrder) {
  WatchBuffer buffer = MakeBuffer();
  ASSERT_TRUE(buffer.PushSnapshot(core::RoomSnapshot{"lobby", kT0, {}, {}}, kT0));
  ASSERT_TRUE(buffer.Push(Event(RoomEventKind::kJoined, 1), kT0));
  ASSERT_TRUE(buffer.Push(Event(RoomEventKind::kClickStarted, 1), kT0));
  EXPECT_EQ(buffer.NextReady(), absl::InfinitePast());
  auto first = buffer.Pop(kT0);
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(std::holds_alternative<WatchBuffer::Snapshot>(*first));
  EXPECT_EQ(std::get<WatchBuffer::Snapshot>(*first).room.id, "lobby");
  EXPECT_EQ(PopEvent(buffer, kT0).kind, RoomEventKind::kJoined);
  EXPECT_EQ(PopEvent(buffer, kT0).kind, RoomEventKind::kClickStarted);
  EXPECT_FALSE(buffer.Pop(kT0).has_value());
  EXPECT_EQ(buffer.NextReady(), absl::InfiniteFuture());
}

TEST(WatchBufferTest, FirstMoveGoesAtOnceLaterOnesCoalesce) {
  WatchBuffer buffer = MakeBuffer();
  ASSERT_TRUE(buffer.Push(Move(1, 10, 10), kT0));
  for (uint16_t i = 1; i <= 50; ++i) {
    ASSERT_TRUE(buffer.Push(Move(1, 10 + i, 20 + i), kT0 + absl::Milliseconds(i)));
  }
  EXPECT_EQ(buffer.queued(), 1u);
  EXPECT_EQ(buffer.pending_moves(), 1u);
  EXPECT_EQ(PopEvent(buffer, kT0).member.x, 10);
  // The rest waits for the interval, then comes as the latest position.
  EXPECT_FALSE(buffer.Pop(kT0 + absl::Milliseconds(60)).has_value());
  EXPECT_EQ(buffer.NextReady(), kT0 + kInterval);
  const RoomEvent latest = PopEvent(buffer, kT0 + kInterval);
  EXPECT_EQ(latest.member.x, 60);
  EXPECT_EQ(latest.member.y, 70);
  EXPECT_FALSE(buffer.Pop(kT0 + absl::Seconds(5)).has_value());
}

TEST(WatchBufferTest, RateLimitIsPerMember) {
  WatchBuffer buffer = MakeBuffer();
  ASSERT_TRUE(buffer.Push(Move(1, 1, 1), kT0));
  ASSERT_TRUE(buffer.Push(Move(2, 2, 2), kT0));  // another member: not held
  EXPECT_EQ(buffer.queued(), 2u);
  ASSERT_TRUE(buffer.Push(Move(1, 3, 3), kT0));
  ASSERT_TRUE(buffer.Push(Move(2, 4, 4), kT0 + absl::Milliseconds(10)));
  EXPECT_EQ(buffer.pending_moves(), 2u);
  PopEvent(buffer, kT0);
  PopEvent(buffer, kT0);
  // Both due at kT0 + interval; one Pop each.
  const absl::Time later = kT0 + kInterval;
  const RoomEvent a = PopEvent(buffer, later);
  const RoomEvent b = PopEvent(buffer, later);
  EXPECT_NE(a.member.id, b.member.id);
  EXPECT_EQ(buffer.pending_moves(), 0u);
}

TEST(WatchBufferTest, AtMostOneMovePerIntervalOverTime) {
  WatchBuffer buffer = MakeBuffer(1024);
  int sent = 0;
  // A member moving every millisecond for one second, drained as fast as
  // the buffer allows.
  for (int ms = 0; ms < 1000; ++ms) {
    const absl::Time now = kT0 + absl::Milliseconds(ms);
    ASSERT_TRUE(buffer.Push(Move(3, ms, ms), now));
    while (buffer.Pop(now).has_value()) ++sent;
  }
  EXPECT_GE(sent, 9);
  EXPECT_LE(sent, 10);
}

TEST(WatchBufferTest, OtherEventsReleaseTheMemberPendingMoveFirst) {
  WatchBuffer buffer = MakeBuffer();
  ASSERT_TRUE(buffer.Push(Move(1, 1, 1), kT0));
  ASSERT_TRUE(buffer.Push(Move(1, 5, 5), kT0));  // pending
  ASSERT_TRUE(buffer.Push(Event(RoomEventKind::kClickStarted, 1), kT0));
  EXPECT_EQ(PopEvent(buffer, kT0).member.x, 1);
  // The click lands where the cursor was: the move comes before it even
  // though its interval has not passed.
  const RoomEvent move = PopEvent(buffer, kT0);
  EXPECT_EQ(move.kind, RoomEventKind::kCursorMoved);
  EXPECT_EQ(move.member.x, 5);
  EXPECT_EQ(PopEvent(buffer, kT0).kind, RoomEventKind::kClickStarted);
}

RoomEvent StateChange(uint8_t id, std::string state) {
  RoomEvent event = Event(RoomEventKind::kStateChanged, id);
  event.member.state = std::move(state);
  return event;
}

TEST(WatchBufferTest, StateChangesCoalesceApartFromMoves) {
  WatchBuffer buffer = MakeBuffer();
  // The first of each goes at once: a state change does not spend the
  // move's allowance, nor the other way round.
  ASSERT_TRUE(buffer.Push(Move(2, 1, 1), kT0));
  ASSERT_TRUE(buffer.Push(StateChange(2, "a"), kT0));
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(buffer.Push(StateChange(2, "b" + std::to_string(i)), kT0));
  ASSERT_TRUE(buffer.Push(Move(2, 7, 7), kT0));
  EXPECT_EQ(buffer.queued(), 2u);
  EXPECT_EQ(buffer.pending_moves(), 2u);  // one move, one state
  EXPECT_EQ(PopEvent(buffer, kT0).kind, RoomEventKind::kCursorMoved);
  EXPECT_EQ(PopEvent(buffer, kT0).member.state, "a");
  EXPECT_FALSE(buffer.Pop(kT0 + kInterval / 2).has_value());
  // An interval on: the newest of each.
  const RoomEvent first = PopEvent(buffer, kT0 + kInterval);
  const RoomEvent second = PopEvent(buffer, kT0 + kInterval);
  EXPECT_EQ(first.kind == RoomEventKind::kCursorMoved ? second.member.state : first.member.state,
            "b99");
  EXPECT_EQ(buffer.pending_moves(), 0u);
}

TEST(WatchBufferTest, AClickReleasesThePendingStateToo) {
  WatchBuffer buffer = MakeBuffer();
  ASSERT_TRUE(buffer.Push(StateChange(1, "x"), kT0));
  ASSERT_TRUE(buffer.Push(StateChange(1, "y"), kT0));  // pending
  ASSERT_TRUE(buffer.Push(Event(RoomEventKind::kClickStarted, 1), kT0));
  EXPECT_EQ(PopEvent(buffer, kT0).member.state, "x");
  EXPECT_EQ(PopEvent(buffer, kT0).member.state, "y");
  EXPECT_EQ(PopEvent(buffer, kT0).kind, RoomEventKind::kClickStarted);
}

TEST(WatchBufferTest, LeaveResetsTheIdForItsNextOwner) {
  WatchBuffer buffer = MakeBuffer();
  ASSERT_TRUE(buffer.Push(Move(4, 1, 1), kT0));
  ASSERT_TRUE(buffer.Push(Event(RoomEventKind::kLeft, 4), kT0));
  ASSERT_TRUE(buffer.Push(Event(RoomEventKind::kJoined, 4), kT0));
  ASSERT_TRUE(buffer.Push(Move(4, 9, 9), kT0));  // a new member: not held
  EXPECT_EQ(buffer.queued(), 4u);
  EXPECT_EQ(buffer.pending_moves(), 0u);
}

TEST(WatchBufferTest, FullBufferRefuses) {
  WatchBuffer buffer = MakeBuffer(3);
  ASSERT_TRUE(buffer.PushSnapshot(core::RoomSnapshot{"r", kT0, {}, {}}, kT0));
  ASSERT_TRUE(buffer.Push(Event(RoomEventKind::kJoined, 1), kT0));
  ASSERT_TRUE(buffer.Push(Event(RoomEventKind::kJoined, 2), kT0));
  EXPECT_FALSE(buffer.Push(Event(RoomEventKind::kJoined, 3), kT0));
  // Coalesced moves never need room: they replace each other.
  ASSERT_TRUE(buffer.Push(Move(1, 1, 1), kT0));
  EXPECT_EQ(buffer.pending_moves(), 1u);
  ASSERT_TRUE(buffer.Push(Move(1, 2, 2), kT0));
  buffer.Clear();
  EXPECT_EQ(buffer.queued(), 0u);
  EXPECT_EQ(buffer.pending_moves(), 0u);
  EXPECT_FALSE(buffer.Pop(kT0 + absl::Hours(1)).has_value());
}

}  // namespace
}  // namespace cursord::control
