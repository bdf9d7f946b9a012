#include "server/core/flush_pacer.h"

#include "gtest/gtest.h"

namespace cursord::core {
namespace {

using std::chrono::microseconds;
using Clock = FlushPacer::Clock;

TEST(FlushPacer, ShortRoundsStartNoPause) {
  FlushPacer pacer;
  const Clock::time_point t0 = Clock::now();
  EXPECT_FALSE(pacer.ShouldWait(t0, t0));
  pacer.RoundDone(t0, t0 + FlushPacer::kLongRound - microseconds(1), 10);
  EXPECT_FALSE(pacer.ShouldWait(t0 + FlushPacer::kLongRound, t0));
}

TEST(FlushPacer, ALongRoundPausesRecentReceiversOnly) {
  FlushPacer pacer;
  const Clock::time_point t0 = Clock::now();
  const Clock::time_point end = t0 + microseconds(900);
  pacer.RoundDone(t0, end, 200);
  EXPECT_EQ(pacer.pause_end(), end + microseconds(900));
  const Clock::time_point now = end + microseconds(100);
  // Written in that round: waits for the pause to end.
  EXPECT_TRUE(pacer.ShouldWait(now, t0 + microseconds(500)));
  // Not written recently: goes now.
  EXPECT_FALSE(pacer.ShouldWait(now, now - FlushPacer::kRecent));
  EXPECT_FALSE(pacer.ShouldWait(now, Clock::time_point{}));
  // After the pause, nobody waits.
  EXPECT_FALSE(pacer.ShouldWait(pacer.pause_end(), t0 + microseconds(500)));
}

TEST(FlushPacer, OnlyLongRoundsThatWroteMovePauses) {
  FlushPacer pacer;
  const Clock::time_point t0 = Clock::now();
  pacer.RoundDone(t0, t0 + microseconds(800), 150);
  const Clock::time_point pause_end = pacer.pause_end();
  // A round that only deferred, or a short one, leaves the pause alone.
  pacer.RoundDone(t0 + microseconds(800), t0 + microseconds(2000), 0);
  pacer.RoundDone(t0 + microseconds(900), t0 + microseconds(950), 3);
  EXPECT_EQ(pacer.pause_end(), pause_end);
}

TEST(FlushPacer, ThePauseIsCapped) {
  FlushPacer pacer;
  const Clock::time_point t0 = Clock::now();
  pacer.RoundDone(t0, t0 + microseconds(30000), 5000);
  EXPECT_EQ(pacer.pause_end(), t0 + microseconds(30000) + FlushPacer::kMaxPause);
}

}  // namespace
}  // namespace cursord::core
