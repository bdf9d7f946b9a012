#include "server/core/input_limiter.h"

#include <optional>

#include "gtest/gtest.h"
#include "server/core/log_throttle.h"

namespace cursord::core {
namespace {

using Clock = InputLimiter::Clock;
using Verdict = InputLimiter::Verdict;
using std::chrono::milliseconds;

const Clock::time_point kStart = Clock::time_point() + std::chrono::hours(1);

// A limiter of 10 messages a second and a burst of 3, whose burst is spent
// at kStart: the next 3 messages wait, the one after is abuse.
InputLimiter SpentLimiter() {
  InputLimiter limiter({/*rate=*/10, /*burst=*/3}, kStart);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.OnOther(kStart), InputLimiter::Verdict::kApply);
  return limiter;
}

TEST(TokenBucketTest, StartsFullAndRefillsAtItsRate) {
  TokenBucket bucket(10, 3, kStart);
  EXPECT_TRUE(bucket.TryTake(kStart));
  EXPECT_TRUE(bucket.TryTake(kStart));
  EXPECT_TRUE(bucket.TryTake(kStart));
  EXPECT_FALSE(bucket.TryTake(kStart));
  EXPECT_FALSE(bucket.TryTake(kStart + milliseconds(99)));
  EXPECT_TRUE(bucket.TryTake(kStart + milliseconds(100)));
  // Never more than the burst saved, however long it rests.
  EXPECT_DOUBLE_EQ(bucket.Available(kStart + std::chrono::hours(1)), 3);
}

TEST(TokenBucketTest, ATimeGoingBackwardsAddsNothing) {
  TokenBucket bucket(10, 1, kStart);
  EXPECT_TRUE(bucket.TryTake(kStart));
  EXPECT_FALSE(bucket.TryTake(kStart - milliseconds(500)));
  EXPECT_FALSE(bucket.TryTake(kStart));
}

TEST(InputLimiterTest, WithinTheBurstEverythingApplies) {
  InputLimiter limiter({/*rate=*/100, /*burst=*/5}, kStart);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limiter.OnMove(kStart, i, i), Verdict::kApply);
  EXPECT_FALSE(limiter.has_deferred());
}

TEST(InputLimiterTest, ARateOfZeroLimitsNothing) {
  InputLimiter limiter({/*rate=*/0, /*burst=*/1}, kStart);
  for (int i = 0; i < 100000; ++i) ASSERT_EQ(limiter.OnClick(kStart, i & 1), Verdict::kApply);
}

using Move = InputLimiter::Deferred::Move;

bool Same(const std::optional<Move>& a, std::optional<Move> b) {
  return a.has_value() == b.has_value() && (!a || (a->x == b->x && a->y == b->y));
}

TEST(InputLimiterTest, OverTheLimitTheNewestMoveIsKeptAndAppliedLater) {
  InputLimiter limiter = SpentLimiter();
  EXPECT_EQ(limiter.OnMove(kStart, 2, 2), Verdict::kDeferred);
  EXPECT_EQ(limiter.OnMove(kStart, 3, 4), Verdict::kDeferred);
  InputLimiter::Deferred deferred;
  // No token yet: it waits.
  EXPECT_FALSE(limiter.TakeDeferredIfAllowed(kStart + milliseconds(50), &deferred));
  ASSERT_TRUE(limiter.TakeDeferredIfAllowed(kStart + milliseconds(100), &deferred));
  EXPECT_TRUE(Same(deferred.move_before, Move{3, 4}));
  EXPECT_FALSE(deferred.click);
  EXPECT_FALSE(deferred.move_after);
  EXPECT_FALSE(limiter.has_deferred());
}

TEST(InputLimiterTest, APressIsShownWhereItHappenedAndTheMemberWhereItIs) {
  InputLimiter limiter = SpentLimiter();
  EXPECT_EQ(limiter.OnMove(kStart, 1, 1), Verdict::kDeferred);
  EXPECT_EQ(limiter.OnMove(kStart, 2, 2), Verdict::kDeferred);
  EXPECT_EQ(limiter.OnClick(kStart, true), Verdict::kDeferred);
  // Only two of the three excess tokens were spent: a tick frees one.
  InputLimiter::Deferred deferred;
  ASSERT_TRUE(limiter.TakeDeferredIfAllowed(kStart + milliseconds(100), &deferred));
  EXPECT_TRUE(Same(deferred.move_before, Move{2, 2}));
  EXPECT_EQ(deferred.click, true);
  EXPECT_FALSE(deferred.move_after);
}

TEST(InputLimiterTest, AMoveAfterADeferredPressStaysAfterIt) {
  InputLimiter limiter = SpentLimiter();
  EXPECT_EQ(limiter.OnMove(kStart, 2, 2), Verdict::kDeferred);
  EXPECT_EQ(limiter.OnClick(kStart, true), Verdict::kDeferred);
  EXPECT_EQ(limiter.OnMove(kStart, 9, 9), Verdict::kDeferred);
  const InputLimiter::Deferred deferred = limiter.TakeDeferred();
  EXPECT_TRUE(Same(deferred.move_before, Move{2, 2}));
  EXPECT_EQ(deferred.click, true);
  EXPECT_TRUE(Same(deferred.move_after, Move{9, 9}));
}

TEST(InputLimiterTest, AnAdmittedMoveSupersedesDeferredMovesButNotAPress) {
  InputLimiter limiter = SpentLimiter();
  EXPECT_EQ(limiter.OnMove(kStart, 2, 2), Verdict::kDeferred);
  EXPECT_EQ(limiter.OnClick(kStart, true), Verdict::kDeferred);
  EXPECT_EQ(limiter.OnMove(kStart, 3, 3), Verdict::kDeferred);
  EXPECT_EQ(limiter.OnMove(kStart + milliseconds(100), 5, 5), Verdict::kApply);
  const InputLimiter::Deferred deferred = limiter.TakeDeferred();
  EXPECT_TRUE(Same(deferred.move_before, Move{2, 2}));  // where the press was
  EXPECT_EQ(deferred.click, true);
  EXPECT_FALSE(deferred.move_after);  // (5, 5) is newer
}

TEST(InputLimiterTest, DeferredPressAndReleaseCancelOut) {
  InputLimiter limiter = SpentLimiter();
  EXPECT_EQ(limiter.OnClick(kStart, true), Verdict::kDeferred);
  EXPECT_EQ(limiter.OnClick(kStart, false), Verdict::kDeferred);
  EXPECT_FALSE(limiter.TakeDeferred().click);
  // Against the applied state: released, so a deferred release is no change.
  EXPECT_EQ(limiter.OnClick(kStart, false), Verdict::kDeferred);
  EXPECT_FALSE(limiter.has_deferred());
}

TEST(InputLimiterTest, ADeferredPressGoesBeforeAnAdmittedRelease) {
  // The release is admitted while the press waits: both reach the room, in
  // order (a release is never relayed without its press).
  InputLimiter limiter = SpentLimiter();
  EXPECT_EQ(limiter.OnClick(kStart, true), Verdict::kDeferred);
  EXPECT_EQ(limiter.OnClick(kStart + milliseconds(150), false), Verdict::kApply);
  EXPECT_EQ(limiter.TakeDeferred().click, true);
  // The release was applied: a later deferred press is a change again.
  InputLimiter spent = SpentLimiter();
  EXPECT_EQ(spent.OnClick(kStart, true), Verdict::kDeferred);
  InputLimiter::Deferred deferred;
  ASSERT_TRUE(spent.TakeDeferredIfAllowed(kStart + milliseconds(100), &deferred));
  EXPECT_EQ(deferred.click, true);
  EXPECT_EQ(spent.OnClick(kStart + milliseconds(100), true), Verdict::kDeferred);
  EXPECT_FALSE(spent.has_deferred());  // already pressed: no change
}

TEST(InputLimiterTest, TwiceTheRateForLongIsAbuse) {
  // rate 100/s, burst 10: the allowance lasts 10 messages, then the excess
  // bucket absorbs 10 more; the 21st message at the same instant is abuse.
  InputLimiter limiter({/*rate=*/100, /*burst=*/10}, kStart);
  int applied = 0, deferred = 0;
  Verdict verdict = Verdict::kApply;
  for (int i = 0; i < 1000 && verdict != Verdict::kAbuse; ++i) {
    verdict = limiter.OnClick(kStart, i & 1);
    if (verdict == Verdict::kApply) ++applied;
    if (verdict == Verdict::kDeferred) ++deferred;
  }
  EXPECT_EQ(verdict, Verdict::kAbuse);
  EXPECT_EQ(applied, 10);
  EXPECT_EQ(deferred, 10);
}

TEST(InputLimiterTest, JustUnderTwiceTheRateIsNeverAbuse) {
  // 1.9x the rate for 60 s: half the messages wait, none is abuse.
  InputLimiter limiter({/*rate=*/100, /*burst=*/10}, kStart);
  const auto step = std::chrono::nanoseconds(1'000'000'000 / 190);
  for (int i = 0; i < 190 * 60; ++i) {
    ASSERT_NE(limiter.OnMove(kStart + step * i, 1, 1), Verdict::kAbuse) << i;
  }
}

TEST(LogThrottleTest, HoldsLinesBackAndCountsThemInTheNextLine) {
  LogThrottle throttle(/*per_second=*/1, /*burst=*/2, kStart);
  uint64_t held_back = 99;
  EXPECT_TRUE(throttle.Allow(kStart, &held_back));
  EXPECT_EQ(held_back, 0u);
  EXPECT_TRUE(throttle.Allow(kStart, &held_back));
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(throttle.Allow(kStart, &held_back));
  EXPECT_TRUE(throttle.Allow(kStart + std::chrono::seconds(1), &held_back));
  EXPECT_EQ(held_back, 5u);
  EXPECT_EQ(HeldBackNote(5), "(5 client log lines held back) ");
  EXPECT_EQ(HeldBackNote(0), "");
}

}  // namespace
TEST(InputLimiterTest, AStateOverTheLimitWaitsLatestWinsAndGoesWithTheNextAdmitted) {
  InputLimiter limiter = SpentLimiter();
  EXPECT_EQ(limiter.OnState(kStart, "one"), Verdict::kDeferred);
  EXPECT_EQ(limiter.OnState(kStart, "two"), Verdict::kDeferred);
  ASSERT_TRUE(limiter.has_deferred());
  // A move admitted later takes the waiting state along.
  EXPECT_EQ(limiter.OnMove(kStart + milliseconds(100), 1, 1), Verdict::kApply);
  const InputLimiter::Deferred deferred = limiter.TakeDeferred();
  EXPECT_EQ(deferred.state_before, std::optional<std::string>("two"));
  EXPECT_FALSE(deferred.state_after.has_value());
  EXPECT_FALSE(limiter.has_deferred());
}

TEST(InputLimiterTest, AnAdmittedStateSupersedesAWaitingOne) {
  InputLimiter limiter = SpentLimiter();
  EXPECT_EQ(limiter.OnState(kStart, "old"), Verdict::kDeferred);
  EXPECT_EQ(limiter.OnState(kStart + milliseconds(100), "new"), Verdict::kApply);
  const InputLimiter::Deferred deferred = limiter.TakeDeferred();
  EXPECT_FALSE(deferred.state_before.has_value());
  EXPECT_FALSE(deferred.state_after.has_value());
}

TEST(InputLimiterTest, AStateSetBeforeAWaitingClickStaysBeforeIt) {
  InputLimiter limiter({/*rate=*/10, /*burst=*/4}, kStart);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(limiter.OnOther(kStart), Verdict::kApply);
  EXPECT_EQ(limiter.OnState(kStart, "s1"), Verdict::kDeferred);
  EXPECT_EQ(limiter.OnClick(kStart, true), Verdict::kDeferred);
  EXPECT_EQ(limiter.OnState(kStart, "s2"), Verdict::kDeferred);
  // In order: s1, the press, s2.
  InputLimiter::Deferred out;
  ASSERT_TRUE(limiter.TakeDeferredIfAllowed(kStart + milliseconds(100), &out));
  EXPECT_EQ(out.state_before, std::optional<std::string>("s1"));
  EXPECT_EQ(out.click, std::optional<bool>(true));
  EXPECT_EQ(out.state_after, std::optional<std::string>("s2"));
}

TEST(InputLimiterTest, AnAdmittedStateKeepsTheStateAWaitingClickHappenedWith) {
  InputLimiter limiter = SpentLimiter();
  EXPECT_EQ(limiter.OnState(kStart, "s1"), Verdict::kDeferred);
  EXPECT_EQ(limiter.OnClick(kStart, true), Verdict::kDeferred);
  // s2, admitted later, supersedes nothing the press needs: the room gets
  // s1, the press, then s2.
  EXPECT_EQ(limiter.OnState(kStart + milliseconds(100), "s2"), Verdict::kApply);
  const InputLimiter::Deferred deferred = limiter.TakeDeferred();
  EXPECT_EQ(deferred.state_before, std::optional<std::string>("s1"));
  EXPECT_EQ(deferred.click, std::optional<bool>(true));
  EXPECT_FALSE(deferred.state_after.has_value());
}

TEST(InputLimiterTest, AWaitingStateGoesOnATickWithAToken) {
  InputLimiter limiter = SpentLimiter();
  EXPECT_EQ(limiter.OnState(kStart, "s"), Verdict::kDeferred);
  InputLimiter::Deferred out;
  EXPECT_FALSE(limiter.TakeDeferredIfAllowed(kStart, &out));
  ASSERT_TRUE(limiter.TakeDeferredIfAllowed(kStart + milliseconds(100), &out));
  EXPECT_EQ(out.state_before, std::optional<std::string>("s"));
}

}  // namespace cursord::core
