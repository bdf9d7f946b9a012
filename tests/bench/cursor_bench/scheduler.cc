#include "scheduler.h"

#include "absl/numeric/int128.h"

namespace cursord::bench {

OpenLoopSchedule::OpenLoopSchedule(int64_t start_ns, int64_t period_ns,
                                   int64_t end_ns, size_t senders)
    : start_ns_(start_ns),
      period_ns_(period_ns > 0 ? period_ns : 1),
      end_ns_(end_ns),
      senders_(senders) {}

int64_t OpenLoopSchedule::Phase(size_t sender) const {
  if (senders_ == 0) return 0;
  // 128-bit to stay exact for long periods and many senders.
  return static_cast<int64_t>(absl::int128(period_ns_) *
                              static_cast<int64_t>(sender) /
                              static_cast<int64_t>(senders_));
}

int64_t OpenLoopSchedule::NextDue() const {
  if (senders_ == 0) return kNever;
  const int64_t due = IntendedTime(next_sender_, round_);
  return due < end_ns_ ? due : kNever;
}

}  // namespace cursord::bench
