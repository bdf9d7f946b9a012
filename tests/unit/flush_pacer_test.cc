#include "server/core/flush_pacer.h"

#include "gtest/gtest.h"

namespace cursord::core {
namespace {

using std::chrono::microseconds;
using Clock = FlushPacer::Clock;

TEST(FlushPacer, ShortRoundsDelayNothing) {
  FlushPacer pacer;
  const Clock::time_point t0 = Clock::now();
  pacer.RoundDone(t0, t0 + microseconds(40));
  EXPECT_EQ(pacer.next_allowed(), t0 + microseconds(40));
  pacer.RoundDone(t0, t0 + FlushPacer::kLongRound - microseconds(1));
  EXPECT_EQ(pacer.next_allowed(), t0 + FlushPacer::kLongRound - microseconds(1));
}

TEST(FlushPacer, ALongRoundIsFollowedByAPauseAsLong) {
  FlushPacer pacer;
  const Clock::time_point t0 = Clock::now();
  pacer.RoundDone(t0, t0 + microseconds(900));
  EXPECT_EQ(pacer.next_allowed(), t0 + microseconds(1800));
  // The pause follows the last round only.
  pacer.RoundDone(t0 + microseconds(2000), t0 + microseconds(2100));
  EXPECT_EQ(pacer.next_allowed(), t0 + microseconds(2100));
}

}  // namespace
}  // namespace cursord::core
