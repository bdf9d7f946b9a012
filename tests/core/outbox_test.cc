#include "server/core/outbox.h"

#include "gtest/gtest.h"
#include "server/core/wire.h"

namespace cursord::core {
namespace {

std::string Cursor(uint8_t id, uint16_t x, uint16_t y) {
  std::string s;
  AppendCursorFrame(s, id, x, y);
  return s;
}
std::string Event(MessageType type, uint8_t id) {
  std::string s;
  AppendIdFrame(s, type, id);
  return s;
}

TEST(OutboxTest, LatestPositionWins) {
  Position positions[4] = {};
  Outbox outbox;
  positions[1] = {10, 10};
  EXPECT_TRUE(outbox.MarkCursor(1));
  positions[1] = {20, 20};
  EXPECT_FALSE(outbox.MarkCursor(1));  // coalesced
  positions[1] = {30, 30};
  EXPECT_FALSE(outbox.MarkCursor(1));
  std::string out;
  EXPECT_EQ(outbox.Drain(out, {positions, nullptr}), 1u);
  EXPECT_EQ(out, Cursor(1, 30, 30));
  EXPECT_TRUE(outbox.empty());
}

TEST(OutboxTest, EventsKeepTheirOrderAndComeBeforePositions) {
  Position positions[4] = {};
  Outbox outbox;
  positions[2] = {5, 6};
  outbox.MarkCursor(2);
  outbox.PushEvent(Event(MessageType::kUserJoined, 3));
  outbox.PushEvent(Event(MessageType::kUserLeft, 1));
  std::string out;
  EXPECT_EQ(outbox.Drain(out, {positions, nullptr}), 3u);
  EXPECT_EQ(out, Event(MessageType::kUserJoined, 3) + Event(MessageType::kUserLeft, 1) +
                     Cursor(2, 5, 6));
}

TEST(OutboxTest, AMembersEventFlushesItsPendingPositionFirst) {
  Position positions[4] = {};
  Outbox outbox;
  positions[1] = {7, 8};
  outbox.MarkCursor(1);
  outbox.PushEvent(Event(MessageType::kStartedClicking, 1), 1, {positions, nullptr});
  positions[1] = {9, 9};  // moved after the click: a new pending position
  outbox.MarkCursor(1);
  std::string out;
  outbox.Drain(out, {positions, nullptr});
  EXPECT_EQ(out, Cursor(1, 7, 8) + Event(MessageType::kStartedClicking, 1) + Cursor(1, 9, 9));
}

TEST(OutboxTest, DroppedCursorNeverFollowsALeave) {
  Position positions[4] = {};
  Outbox outbox;
  outbox.MarkCursor(1);
  outbox.DropCursor(1);
  outbox.PushEvent(Event(MessageType::kUserLeft, 1));
  std::string out;
  outbox.Drain(out, {positions, nullptr});
  EXPECT_EQ(out, Event(MessageType::kUserLeft, 1));
}

TEST(OutboxTest, BoundedWhateverTheNumberOfUpdates) {
  Position positions[256] = {};
  Outbox outbox;
  for (int round = 0; round < 1000; ++round) {
    for (int id = 0; id < 256; ++id) outbox.MarkCursor(static_cast<uint8_t>(id));
  }
  EXPECT_EQ(outbox.pending_cursors(), 256u);
  EXPECT_EQ(outbox.pending_event_bytes(), 0u);
  std::string out;
  EXPECT_EQ(outbox.Drain(out, {positions, nullptr}), 256u);
  EXPECT_EQ(out.size(), 256 * kCursorFrameSize);
}

TEST(OutboxTest, ClearForgetsEverything) {
  Position positions[2] = {};
  Outbox outbox;
  outbox.MarkCursor(1);
  outbox.PushEvent(Event(MessageType::kUserJoined, 0));
  outbox.Clear();
  EXPECT_TRUE(outbox.empty());
  std::string out;
  EXPECT_EQ(outbox.Drain(out, {positions, nullptr}), 0u);
  EXPECT_TRUE(out.empty());
}

}  // namespace
std::string State(uint8_t id, std::string_view state) {
  std::string s;
  AppendMemberStateFrame(s, id, state);
  return s;
}

TEST(OutboxTest, StateIsLatestWinsLikePositions) {
  Position positions[4] = {};
  std::string states[4];
  Outbox outbox;
  states[2] = "a";
  EXPECT_TRUE(outbox.MarkState(2));
  states[2] = "bb";
  EXPECT_FALSE(outbox.MarkState(2));  // coalesced
  positions[1] = {5, 6};
  outbox.MarkCursor(1);
  EXPECT_EQ(outbox.pending_states(), 1u);
  std::string out;
  // Events, then positions, then states: each member's newest.
  EXPECT_EQ(outbox.Drain(out, {positions, states}), 2u);
  EXPECT_EQ(out, Cursor(1, 5, 6) + State(2, "bb"));
  EXPECT_TRUE(outbox.empty());
}

TEST(OutboxTest, AMembersEventTakesItsPendingPositionAndStateFirst) {
  Position positions[4] = {};
  std::string states[4];
  Outbox outbox;
  positions[1] = {1, 2};
  states[1] = "sel";
  states[3] = "other";
  outbox.MarkCursor(1);
  outbox.MarkState(1);
  outbox.MarkState(3);
  outbox.PushEvent(Event(MessageType::kStartedClicking, 1), 1, {positions, states});
  std::string out;
  outbox.Drain(out, {positions, states});
  // Member 3's state is not member 1's business: it stays latest-wins.
  EXPECT_EQ(out, Cursor(1, 1, 2) + State(1, "sel") + Event(MessageType::kStartedClicking, 1) +
                     State(3, "other"));
}

TEST(OutboxTest, ALeaveDropsThePendingState) {
  Position positions[4] = {};
  std::string states[4];
  Outbox outbox;
  states[2] = "gone";
  outbox.MarkState(2);
  outbox.DropCursor(2);
  std::string out;
  EXPECT_EQ(outbox.Drain(out, {positions, states}), 0u);
  EXPECT_TRUE(out.empty());
  outbox.MarkState(2);
  outbox.DropAllCursors();
  EXPECT_TRUE(outbox.empty());
}

}  // namespace cursord::core
