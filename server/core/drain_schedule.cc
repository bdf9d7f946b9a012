#include "server/core/drain_schedule.h"

#include <algorithm>

namespace cursord::core {

DrainPlan DrainPlan::Make(Clock::time_point begin, Clock::duration delay, Clock::duration spread,
                          Clock::duration grace) {
  const Clock::duration zero = Clock::duration::zero();
  DrainPlan plan;
  plan.begin = begin;
  plan.first_close = begin + std::max(delay, zero);
  plan.spread = std::max(spread, zero);
  plan.deadline = plan.first_close + plan.spread + std::max(grace, zero);
  return plan;
}

DrainSchedule::DrainSchedule(size_t count, Clock::time_point start, Clock::duration spread)
    : count_(count), start_(start), spread_(std::max(spread, Clock::duration::zero())) {}

DrainSchedule::Clock::time_point DrainSchedule::CloseAt(size_t i) const {
  if (count_ == 0) return start_;
  // spread * i / count without overflow: spread (in ns) times a count of
  // sessions can pass 2^63 for spreads of hours. Split spread into the
  // part count divides and the remainder (less than count, so the
  // remainder times i stays below count^2).
  using Rep = Clock::duration::rep;
  const Rep n = static_cast<Rep>(count_);
  const Rep k = static_cast<Rep>(i);
  const Rep s = spread_.count();
  return start_ + Clock::duration(s / n * k + s % n * k / n);
}

size_t DrainSchedule::TakeDue(Clock::time_point now) {
  const size_t from = taken_;
  while (taken_ < count_ && CloseAt(taken_) <= now) ++taken_;
  return taken_ - from;
}

std::optional<DrainSchedule::Clock::time_point> DrainSchedule::next() const {
  if (taken_ >= count_) return std::nullopt;
  return CloseAt(taken_);
}

}  // namespace cursord::core
