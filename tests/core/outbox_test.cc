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
  EXPECT_EQ(outbox.Drain(out, positions), 1u);
  EXPECT_EQ(out, Cursor(1, 30, 30));
  EXPECT_TRUE(outbox.empty());
}

TEST(OutboxTest, EventsKeepTheirOrderAndComeBeforePositions) {
  Position positions[4] = {};
  Outbox outbox;
  positions[2] = {5, 6};
  outbox.MarkCursor(2);
  outbox.PushEvent(Event(MessageType::kUserJoined, 3), -1, nullptr);
  outbox.PushEvent(Event(MessageType::kUserLeft, 1), -1, nullptr);
  std::string out;
  EXPECT_EQ(outbox.Drain(out, positions), 3u);
  EXPECT_EQ(out, Event(MessageType::kUserJoined, 3) + Event(MessageType::kUserLeft, 1) +
                     Cursor(2, 5, 6));
}

TEST(OutboxTest, AMembersEventFlushesItsPendingPositionFirst) {
  Position positions[4] = {};
  Outbox outbox;
  positions[1] = {7, 8};
  outbox.MarkCursor(1);
  outbox.PushEvent(Event(MessageType::kStartedClicking, 1), 1, positions);
  positions[1] = {9, 9};  // moved after the click: a new pending position
  outbox.MarkCursor(1);
  std::string out;
  outbox.Drain(out, positions);
  EXPECT_EQ(out, Cursor(1, 7, 8) + Event(MessageType::kStartedClicking, 1) + Cursor(1, 9, 9));
}

TEST(OutboxTest, DroppedCursorNeverFollowsALeave) {
  Position positions[4] = {};
  Outbox outbox;
  outbox.MarkCursor(1);
  outbox.DropCursor(1);
  outbox.PushEvent(Event(MessageType::kUserLeft, 1), -1, nullptr);
  std::string out;
  outbox.Drain(out, positions);
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
  EXPECT_EQ(outbox.Drain(out, positions), 256u);
  EXPECT_EQ(out.size(), 256 * kCursorFrameSize);
}

TEST(OutboxTest, ClearForgetsEverything) {
  Position positions[2] = {};
  Outbox outbox;
  outbox.MarkCursor(1);
  outbox.PushEvent(Event(MessageType::kUserJoined, 0), -1, nullptr);
  outbox.Clear();
  EXPECT_TRUE(outbox.empty());
  std::string out;
  EXPECT_EQ(outbox.Drain(out, positions), 0u);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace cursord::core
