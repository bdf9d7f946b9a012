// When a shard writes each receiver: the one owner of that decision.
//
// A receiver asks for a flush when its outbox gets something to send:
//   - RequestFlush: in the current round. Rounds are posted behind the I/O
//     completions already queued, so everything they add goes out in the
//     same round, one write per receiver, however many messages arrived.
//   - RequestBatchedFlush (joins and leaves of others): up to
//     `presence_batch` later, so that a burst of them leaves in one write
//     per receiver; a RequestFlush before then takes them along, in order.
// A round writes every receiver that asked, except those the FlushPacer
// holds back for a short pause after a long round (they wait for the
// pause's end, still scheduled, so they are never queued twice).
//
// Pure logic: the clock is an argument, and the event loop does what the
// calls return (post a round, arm a timer). It keeps each receiver's two
// flags in the receiver's FlushSlot, so that asking twice costs one test.
//
// Thread ownership: one per shard, on the shard's thread.
#ifndef CURSORD_CORE_FLUSH_SCHEDULER_H_
#define CURSORD_CORE_FLUSH_SCHEDULER_H_

#include <chrono>
#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "server/core/flush_pacer.h"

namespace cursord::core {

// What the scheduler keeps for one receiver; only FlushScheduler writes it.
class FlushSlot {
 public:
  // A flush is scheduled for the current round (or a paced one).
  bool scheduled() const { return flush_scheduled_; }
  // A batched flush is pending.
  bool batched() const { return batch_scheduled_; }

 private:
  template <typename Handle>
  friend class FlushScheduler;
  bool flush_scheduled_ = false;
  bool batch_scheduled_ = false;
};

// `Handle` keeps a receiver alive while it is queued (a shared_ptr); the
// receiver exposes `FlushSlot& flush_slot()` and
// `Clock::time_point last_write_started() const`.
template <typename Handle>
class FlushScheduler {
 public:
  using Clock = FlushPacer::Clock;

  // What the event loop must arrange after a call.
  struct Arrange {
    bool post_round = false;                   // post RunRound behind queued work
    std::optional<Clock::time_point> batch_at;  // arm the batch timer for then
  };

  explicit FlushScheduler(Clock::duration presence_batch) : presence_batch_(presence_batch) {}

  // `receiver` wants its outbox written in the current round.
  Arrange RequestFlush(Handle receiver) {
    Arrange arrange;
    FlushSlot& slot = receiver->flush_slot();
    if (slot.flush_scheduled_) return arrange;
    slot.flush_scheduled_ = true;
    queue_.push_back(std::move(receiver));
    if (!round_posted_) {
      round_posted_ = true;
      arrange.post_round = true;
    }
    return arrange;
  }

  // `receiver` has joins or leaves of others to send: within
  // presence_batch of `now` (at once when that is zero).
  Arrange RequestBatchedFlush(Handle receiver, Clock::time_point now) {
    FlushSlot& slot = receiver->flush_slot();
    if (slot.flush_scheduled_ || slot.batch_scheduled_) return Arrange{};
    if (presence_batch_ <= Clock::duration::zero()) return RequestFlush(std::move(receiver));
    slot.batch_scheduled_ = true;
    batch_.push_back(std::move(receiver));
    Arrange arrange;
    if (!batch_timer_armed_) {
      // One timer for the shard: every receiver asking within the delay is
      // flushed together, at most presence_batch after the first asked.
      batch_timer_armed_ = true;
      arrange.batch_at = now + presence_batch_;
    }
    return arrange;
  }

  // The batch timer fired: the receivers that waited join the current
  // round, unless a RequestFlush took their frames out meanwhile
  // (`has_pending(handle)` is false).
  template <typename HasPending>
  Arrange BatchDue(HasPending&& has_pending) {
    batch_timer_armed_ = false;
    batch_running_.swap(batch_);
    Arrange arrange;
    for (Handle& receiver : batch_running_) {
      receiver->flush_slot().batch_scheduled_ = false;
      if (has_pending(receiver)) arrange.post_round |= RequestFlush(std::move(receiver)).post_round;
    }
    batch_running_.clear();
    return arrange;
  }

  // Runs a round that starts at `start`: `flush(handle)` for every receiver
  // due, in the order they asked. `now()` is read once at its end. Returns
  // when the paced timer must fire, if some receivers wait for it.
  template <typename Flush, typename Now>
  std::optional<Clock::time_point> RunRound(Clock::time_point start, Flush&& flush, Now&& now) {
    round_posted_ = false;
    running_.swap(queue_);
    size_t writes = 0;
    for (Handle& receiver : running_) {
      if (pacer_.ShouldWait(start, receiver->last_write_started())) {
        paced_.push_back(std::move(receiver));  // still scheduled
        continue;
      }
      receiver->flush_slot().flush_scheduled_ = false;
      flush(receiver);
      ++writes;
    }
    running_.clear();
    pacer_.RoundDone(start, now(), writes);
    if (paced_.empty() || paced_timer_armed_) return std::nullopt;
    paced_timer_armed_ = true;
    return pacer_.pause_end();
  }

  // The paced timer fired: the receivers that waited go in the next round,
  // which the caller runs now.
  void PauseOver() {
    paced_timer_armed_ = false;
    for (Handle& receiver : paced_) queue_.push_back(std::move(receiver));
    paced_.clear();
  }

  size_t queued() const { return queue_.size(); }
  size_t paced() const { return paced_.size(); }
  size_t batched() const { return batch_.size(); }

 private:
  const Clock::duration presence_batch_;
  FlushPacer pacer_;
  std::vector<Handle> queue_;          // due in the next round
  std::vector<Handle> running_;        // the round in progress
  std::vector<Handle> paced_;          // waiting for the pause's end
  std::vector<Handle> batch_;          // waiting for the batch timer
  std::vector<Handle> batch_running_;  // the batch being released
  bool round_posted_ = false;
  bool paced_timer_armed_ = false;
  bool batch_timer_armed_ = false;
};

}  // namespace cursord::core

#endif  // CURSORD_CORE_FLUSH_SCHEDULER_H_
