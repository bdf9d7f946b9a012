#include "scheduler.h"

#include <tuple>
#include <vector>

#include "gtest/gtest.h"

namespace cursord::bench {
namespace {

using Sends = std::vector<std::tuple<size_t, uint64_t, int64_t>>;

TEST(OpenLoopSchedule, SpreadsSendersOverThePeriod) {
  OpenLoopSchedule s(1000, 100, 1000000, 4);
  EXPECT_EQ(s.Phase(0), 0);
  EXPECT_EQ(s.Phase(1), 25);
  EXPECT_EQ(s.Phase(3), 75);
  EXPECT_EQ(s.IntendedTime(2, 3), 1000 + 50 + 300);
}

TEST(OpenLoopSchedule, HandsOutDueUpdatesInOrder) {
  OpenLoopSchedule s(1000, 100, 1000000, 2);
  Sends sends;
  const auto record = [&](size_t i, uint64_t seq, int64_t t) {
    sends.emplace_back(i, seq, t);
  };
  EXPECT_EQ(s.RunDue(999, record), 1000);
  EXPECT_TRUE(sends.empty());
  EXPECT_EQ(s.RunDue(1000, record), 1050);
  EXPECT_EQ(sends, (Sends{{0, 0, 1000}}));
  sends.clear();
  EXPECT_EQ(s.RunDue(1120, record), 1150);
  EXPECT_EQ(sends, (Sends{{1, 0, 1050}, {0, 1, 1100}}));
}

TEST(OpenLoopSchedule, LateCallerCatchesUpWithoutShifting) {
  // Open loop: a stall does not move later updates; they are all due.
  OpenLoopSchedule s(0, 10, 1000000, 1);
  Sends sends;
  s.RunDue(95, [&](size_t i, uint64_t seq, int64_t t) {
    sends.emplace_back(i, seq, t);
  });
  ASSERT_EQ(sends.size(), 10u);
  EXPECT_EQ(std::get<2>(sends.back()), 90);
  EXPECT_EQ(s.NextDue(), 100);
  EXPECT_EQ(s.Issued(), 10u);
}

TEST(OpenLoopSchedule, StopsAtTheEnd) {
  OpenLoopSchedule s(0, 10, 30, 1);
  int n = 0;
  EXPECT_EQ(s.RunDue(1000, [&](size_t, uint64_t, int64_t) { ++n; }), kNever);
  EXPECT_EQ(n, 3);  // at 0, 10, 20
}

TEST(OpenLoopSchedule, NoSenders) {
  OpenLoopSchedule s(0, 10, 30, 0);
  EXPECT_EQ(s.NextDue(), kNever);
}

}  // namespace
}  // namespace cursord::bench
