#include "server/core/flush_scheduler.h"

#include <chrono>
#include <memory>
#include <vector>

#include "gtest/gtest.h"

namespace cursord::core {
namespace {

using Clock = FlushPacer::Clock;
using std::chrono::microseconds;
using std::chrono::milliseconds;

struct Receiver {
  explicit Receiver(int id) : id(id) {}
  FlushSlot& flush_slot() { return slot; }
  Clock::time_point last_write_started() const { return last_write; }
  int id;
  FlushSlot slot;
  Clock::time_point last_write{};
  bool pending = true;
};
using Handle = std::shared_ptr<Receiver>;

const Clock::time_point kT0 = Clock::time_point() + std::chrono::hours(1);

// Runs a round at `start` that takes `took`; returns the ids written.
std::vector<int> Round(FlushScheduler<Handle>& scheduler, Clock::time_point start,
                       Clock::duration took = microseconds(10),
                       std::optional<Clock::time_point>* paced_until = nullptr) {
  std::vector<int> written;
  auto until = scheduler.RunRound(
      start,
      [&](const Handle& r) {
        written.push_back(r->id);
        r->last_write = start;
      },
      [&] { return start + took; });
  if (paced_until) *paced_until = until;
  return written;
}

TEST(FlushSchedulerTest, ARoundIsPostedOnceAndWritesEachReceiverOnce) {
  FlushScheduler<Handle> scheduler(milliseconds(2));
  auto a = std::make_shared<Receiver>(1), b = std::make_shared<Receiver>(2);
  EXPECT_TRUE(scheduler.RequestFlush(a).post_round);
  EXPECT_TRUE(a->slot.scheduled());
  EXPECT_FALSE(scheduler.RequestFlush(a).post_round);  // already in this round
  EXPECT_FALSE(scheduler.RequestFlush(b).post_round);  // the round is posted
  EXPECT_EQ(Round(scheduler, kT0), (std::vector<int>{1, 2}));
  EXPECT_FALSE(a->slot.scheduled());
  // The next request posts the next round.
  EXPECT_TRUE(scheduler.RequestFlush(a).post_round);
}

TEST(FlushSchedulerTest, BatchedRequestsShareOneTimerAndJoinTheRoundWhenDue) {
  FlushScheduler<Handle> scheduler(milliseconds(2));
  auto a = std::make_shared<Receiver>(1), b = std::make_shared<Receiver>(2);
  FlushScheduler<Handle>::Arrange first = scheduler.RequestBatchedFlush(a, kT0);
  ASSERT_TRUE(first.batch_at);
  EXPECT_EQ(*first.batch_at, kT0 + milliseconds(2));
  EXPECT_FALSE(first.post_round);
  EXPECT_FALSE(scheduler.RequestBatchedFlush(b, kT0 + milliseconds(1)).batch_at);
  EXPECT_FALSE(scheduler.RequestBatchedFlush(a, kT0).batch_at);  // once
  EXPECT_EQ(scheduler.batched(), 2u);
  // b was flushed meanwhile by a move of its own: nothing left for it.
  b->pending = false;
  FlushScheduler<Handle>::Arrange due =
      scheduler.BatchDue([](const Handle& r) { return r->pending; });
  EXPECT_TRUE(due.post_round);
  EXPECT_FALSE(a->slot.batched());
  EXPECT_FALSE(b->slot.batched());
  EXPECT_EQ(Round(scheduler, kT0 + milliseconds(2)), (std::vector<int>{1}));
}

TEST(FlushSchedulerTest, AFlushInTheRoundTakesABatchedOneAlong) {
  FlushScheduler<Handle> scheduler(milliseconds(2));
  auto a = std::make_shared<Receiver>(1);
  EXPECT_TRUE(scheduler.RequestFlush(a).post_round);
  // Already flushing this round: no batch, no timer.
  FlushScheduler<Handle>::Arrange batched = scheduler.RequestBatchedFlush(a, kT0);
  EXPECT_FALSE(batched.batch_at);
  EXPECT_EQ(scheduler.batched(), 0u);
}

TEST(FlushSchedulerTest, WithoutABatchDelayPresenceGoesAtOnce) {
  FlushScheduler<Handle> scheduler(Clock::duration::zero());
  auto a = std::make_shared<Receiver>(1);
  FlushScheduler<Handle>::Arrange arrange = scheduler.RequestBatchedFlush(a, kT0);
  EXPECT_TRUE(arrange.post_round);
  EXPECT_FALSE(arrange.batch_at);
  EXPECT_EQ(Round(scheduler, kT0), (std::vector<int>{1}));
}

TEST(FlushSchedulerTest, AfterALongRoundRecentReceiversWaitForThePauseEnd) {
  FlushScheduler<Handle> scheduler(milliseconds(2));
  auto busy = std::make_shared<Receiver>(1), quiet = std::make_shared<Receiver>(2);
  scheduler.RequestFlush(busy);
  // A long round (1 ms, over FlushPacer::kLongRound) writes `busy`.
  EXPECT_EQ(Round(scheduler, kT0, milliseconds(1)), (std::vector<int>{1}));
  // In the pause, `busy` (written just now) waits; `quiet` does not.
  scheduler.RequestFlush(busy);
  scheduler.RequestFlush(quiet);
  std::optional<Clock::time_point> paced_until;
  EXPECT_EQ(Round(scheduler, kT0 + microseconds(1100), microseconds(10), &paced_until),
            (std::vector<int>{2}));
  ASSERT_TRUE(paced_until);
  EXPECT_EQ(*paced_until, kT0 + milliseconds(2));
  EXPECT_TRUE(busy->slot.scheduled());  // still scheduled: never queued twice
  EXPECT_FALSE(scheduler.RequestFlush(busy).post_round);
  EXPECT_EQ(scheduler.paced(), 1u);
  scheduler.PauseOver();
  EXPECT_EQ(Round(scheduler, kT0 + milliseconds(2)), (std::vector<int>{1}));
}

TEST(FlushSchedulerTest, AShortRoundStartsNoPause) {
  FlushScheduler<Handle> scheduler(milliseconds(2));
  auto a = std::make_shared<Receiver>(1);
  scheduler.RequestFlush(a);
  Round(scheduler, kT0, microseconds(100));
  scheduler.RequestFlush(a);
  std::optional<Clock::time_point> paced_until;
  EXPECT_EQ(Round(scheduler, kT0 + microseconds(200), microseconds(10), &paced_until),
            (std::vector<int>{1}));
  EXPECT_FALSE(paced_until);
}

}  // namespace
}  // namespace cursord::core
