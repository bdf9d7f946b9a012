#include "server/core/close_handshake.h"

#include "gtest/gtest.h"

namespace cursord::core {
namespace {

using State = CloseHandshake::State;
using PeerCloseStep = CloseHandshake::PeerCloseStep;
using WrittenStep = CloseHandshake::WrittenStep;
const CloseHandshake::Clock::time_point kNow =
    CloseHandshake::Clock::time_point() + std::chrono::hours(1);

TEST(CloseHandshakeTest, OursFirstThenTheirAnswer) {
  CloseHandshake close;
  EXPECT_TRUE(close.open());
  EXPECT_TRUE(close.Begin(kNow));
  EXPECT_FALSE(close.Begin(kNow));  // once
  EXPECT_EQ(close.state(), State::kClosing);
  EXPECT_FALSE(close.last_bytes_known());
  EXPECT_EQ(close.OnOursWritten(), WrittenStep::kShutdownSend);
  EXPECT_EQ(close.state(), State::kCloseSent);
  EXPECT_EQ(close.OnPeerClose(), PeerCloseStep::kTerminate);
  EXPECT_TRUE(close.peer_closed());
}

TEST(CloseHandshakeTest, TheirsFirstIsEchoedAndEndsWithOurFrame) {
  CloseHandshake close;
  EXPECT_EQ(close.OnPeerClose(), PeerCloseStep::kEcho);
  EXPECT_TRUE(close.Begin(kNow));
  EXPECT_TRUE(close.last_bytes_known());
  EXPECT_EQ(close.OnOursWritten(), WrittenStep::kTerminate);
}

TEST(CloseHandshakeTest, BothAtOnceEndOnceOursIsWritten) {
  CloseHandshake close;
  EXPECT_TRUE(close.Begin(kNow));
  // Theirs crosses ours, which is still queued.
  EXPECT_EQ(close.OnPeerClose(), PeerCloseStep::kWaitForOurs);
  EXPECT_TRUE(close.last_bytes_known());
  EXPECT_EQ(close.OnOursWritten(), WrittenStep::kTerminate);
}

TEST(CloseHandshakeTest, AClientThatNeverAnswersExpires) {
  CloseHandshake close;
  EXPECT_FALSE(close.Expired(kNow + std::chrono::hours(1)));  // open: never
  EXPECT_TRUE(close.Begin(kNow));
  EXPECT_FALSE(close.Expired(kNow + CloseHandshake::kTimeout - std::chrono::milliseconds(1)));
  EXPECT_TRUE(close.Expired(kNow + CloseHandshake::kTimeout));
  EXPECT_EQ(close.OnOursWritten(), WrittenStep::kShutdownSend);
  EXPECT_TRUE(close.Expired(kNow + CloseHandshake::kTimeout));
  close.Terminate();
  EXPECT_FALSE(close.Expired(kNow + CloseHandshake::kTimeout));
  EXPECT_FALSE(close.Begin(kNow));
}

TEST(CloseHandshakeTest, ALostConnectionTerminatesFromAnyState) {
  for (int steps = 0; steps < 3; ++steps) {
    CloseHandshake close;
    if (steps >= 1) close.Begin(kNow);
    if (steps >= 2) close.OnOursWritten();
    close.Terminate();
    EXPECT_TRUE(close.terminated()) << steps;
    EXPECT_FALSE(close.Begin(kNow));
  }
}

}  // namespace
}  // namespace cursord::core
