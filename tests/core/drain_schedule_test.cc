#include "server/core/drain_schedule.h"

#include <vector>

#include "gtest/gtest.h"

namespace cursord::core {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = DrainSchedule::Clock;

TEST(DrainSchedule, ClosesAreSpreadEvenlyFromTheStart) {
  const Clock::time_point t0 = Clock::now();
  const DrainSchedule schedule(4, t0, seconds(2));
  EXPECT_EQ(schedule.CloseAt(0), t0);
  EXPECT_EQ(schedule.CloseAt(1), t0 + milliseconds(500));
  EXPECT_EQ(schedule.CloseAt(2), t0 + milliseconds(1000));
  EXPECT_EQ(schedule.CloseAt(3), t0 + milliseconds(1500));
}

TEST(DrainSchedule, TakeDueHandsOutEachCloseOnceInOrder) {
  const Clock::time_point t0 = Clock::now();
  DrainSchedule schedule(4, t0, seconds(2));
  EXPECT_EQ(schedule.TakeDue(t0 - milliseconds(1)), 0u);
  EXPECT_EQ(schedule.next(), t0);
  EXPECT_EQ(schedule.TakeDue(t0), 1u);
  EXPECT_EQ(schedule.next(), t0 + milliseconds(500));
  // Asked late (a busy thread): everything due by then at once.
  EXPECT_EQ(schedule.TakeDue(t0 + milliseconds(1200)), 2u);
  EXPECT_EQ(schedule.taken(), 3u);
  EXPECT_EQ(schedule.TakeDue(t0 + milliseconds(1200)), 0u);
  EXPECT_EQ(schedule.next(), t0 + milliseconds(1500));
  EXPECT_EQ(schedule.TakeDue(t0 + hours(1)), 1u);
  EXPECT_EQ(schedule.next(), std::nullopt);
  EXPECT_EQ(schedule.TakeDue(t0 + hours(2)), 0u);
}

// --drain-spread 0: today's behaviour, every session closed at once.
TEST(DrainSchedule, ZeroSpreadClosesEverySessionAtTheStart) {
  const Clock::time_point t0 = Clock::now();
  DrainSchedule schedule(1000, t0, Clock::duration::zero());
  EXPECT_EQ(schedule.CloseAt(999), t0);
  EXPECT_EQ(schedule.TakeDue(t0), 1000u);
  EXPECT_EQ(schedule.next(), std::nullopt);
  DrainSchedule negative(3, t0, -seconds(1));
  EXPECT_EQ(negative.TakeDue(t0), 3u);
}

TEST(DrainSchedule, NoSessionsNothingToClose) {
  const Clock::time_point t0 = Clock::now();
  DrainSchedule schedule(0, t0, seconds(5));
  EXPECT_EQ(schedule.next(), std::nullopt);
  EXPECT_EQ(schedule.TakeDue(t0 + hours(1)), 0u);
}

// The rate is steady: in any window of a tenth of the spread, a tenth of
// the sessions (give or take one) are closed; no burst at either end.
TEST(DrainSchedule, TheRateIsSteadyOverTheSpread) {
  const Clock::time_point t0 = Clock::now();
  const size_t n = 5000;
  DrainSchedule schedule(n, t0, seconds(5));
  std::vector<size_t> per_window;
  for (int w = 1; w <= 10; ++w) per_window.push_back(schedule.TakeDue(t0 + milliseconds(500) * w - Clock::duration(1)));
  EXPECT_EQ(schedule.taken(), n);
  for (size_t closes : per_window) {
    EXPECT_GE(closes, n / 10 - 1);
    EXPECT_LE(closes, n / 10 + 1);
  }
  // The last close is one step (spread / n) before the spread's end.
  EXPECT_EQ(schedule.CloseAt(n - 1),
            t0 + seconds(5) - std::chrono::nanoseconds(seconds(5)) / n);
}

// Long spreads and many sessions: spread in ns times the count would
// overflow 64 bits; the times stay exact and in order.
TEST(DrainSchedule, LongSpreadsWithManySessionsDoNotOverflow) {
  const Clock::time_point t0 = Clock::now();
  const size_t n = 10'000'000;
  const DrainSchedule schedule(n, t0, hours(24));
  EXPECT_EQ(schedule.CloseAt(n / 2), t0 + hours(12));
  EXPECT_LT(schedule.CloseAt(n - 1), t0 + hours(24));
  EXPECT_GT(schedule.CloseAt(n - 1), t0 + hours(24) - milliseconds(10));
  EXPECT_LT(schedule.CloseAt(n - 2), schedule.CloseAt(n - 1));
}

TEST(DrainPlan, TheClosesStartAfterTheDelayAndTheDeadlineLeavesTheGrace) {
  const Clock::time_point t0 = Clock::now();
  const DrainPlan plan = DrainPlan::Make(t0, seconds(2), seconds(5), seconds(3));
  EXPECT_EQ(plan.begin, t0);
  EXPECT_EQ(plan.first_close, t0 + seconds(2));
  EXPECT_EQ(plan.spread, seconds(5));
  EXPECT_EQ(plan.deadline, t0 + seconds(10));
  const DrainPlan at_once = DrainPlan::Make(t0, Clock::duration::zero(),
                                            Clock::duration::zero(), seconds(3));
  EXPECT_EQ(at_once.first_close, t0);
  EXPECT_EQ(at_once.deadline, t0 + seconds(3));
}

}  // namespace
}  // namespace cursord::core
