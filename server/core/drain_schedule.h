// When a draining instance closes its sessions (docs/OPERATIONS.md,
// "Signals and shutdown"). Pure logic, the clock passed in; the shards do
// the closing (edge::Shard::BeginDrain).
//
// A rolling restart moves every client of one instance to the others. All
// at once, that is a wall of reconnects (and joins, and Redis scripts) on
// the instances that stay; spread evenly, it is a ramp they absorb. So the
// sessions open when the closing starts are closed one after another at a
// steady rate, count/spread, the first at the start.
#ifndef CURSORD_CORE_DRAIN_SCHEDULE_H_
#define CURSORD_CORE_DRAIN_SCHEDULE_H_

#include <chrono>
#include <cstddef>
#include <optional>

namespace cursord::core {

// The moments of one drain, from the signal on.
struct DrainPlan {
  using Clock = std::chrono::steady_clock;

  // Readiness fails at `begin`; the closes start `delay` later (so that
  // load balancers see /readyz fail and stop sending new clients first),
  // spread over `spread`; the last one gets `grace` for its close
  // handshake. Negative durations count as zero.
  static DrainPlan Make(Clock::time_point begin, Clock::duration delay, Clock::duration spread,
                        Clock::duration grace);

  Clock::time_point begin;        // readiness false, new joins refused
  Clock::time_point first_close;  // begin + delay
  Clock::duration spread{};       // the closes run over [first_close, first_close + spread)
  Clock::time_point deadline;     // first_close + spread + grace: the process ends by then
};

class DrainSchedule {
 public:
  using Clock = std::chrono::steady_clock;

  // `count` closes from `start` over `spread`: the i-th (from 0) is due at
  // start + spread * i / count, so the last is due one step before
  // start + spread. A spread of zero (or less) makes them all due at
  // `start`.
  DrainSchedule(size_t count, Clock::time_point start, Clock::duration spread);

  // When the i-th close is due (i < count()).
  Clock::time_point CloseAt(size_t i) const;

  // The closes due at `now` that were not taken yet, in order: returns how
  // many, and they count as taken (the next ones start at taken()).
  size_t TakeDue(Clock::time_point now);

  // When the first close not taken yet is due; nullopt once all were.
  std::optional<Clock::time_point> next() const;

  size_t count() const { return count_; }
  size_t taken() const { return taken_; }

 private:
  size_t count_;
  Clock::time_point start_;
  Clock::duration spread_;
  size_t taken_ = 0;
};

}  // namespace cursord::core

#endif  // CURSORD_CORE_DRAIN_SCHEDULE_H_
