// Open-loop send schedule (no coordinated omission): every update has an
// intended send time fixed in advance, and a late sender does not push its
// later updates back. Latency is measured from the intended time, so a
// server (or a generator) that stalls shows up in the numbers instead of
// silently lowering the offered load.
#ifndef CURSORD_BENCH_SCHEDULER_H_
#define CURSORD_BENCH_SCHEDULER_H_

#include <cstddef>
#include <cstdint>

namespace cursord::bench {

inline constexpr int64_t kNever = INT64_MAX;

// `senders` senders share one period; sender i's phase is i/senders of a
// period so the load is spread evenly rather than arriving in bursts.
// Sender i's update `seq` is due at start + phase(i) + seq * period, for
// every such time before `end`.
class OpenLoopSchedule {
 public:
  OpenLoopSchedule(int64_t start_ns, int64_t period_ns, int64_t end_ns,
                   size_t senders);

  int64_t start() const { return start_ns_; }
  int64_t period() const { return period_ns_; }
  int64_t Phase(size_t sender) const;
  int64_t IntendedTime(size_t sender, uint64_t seq) const {
    return start_ns_ + Phase(sender) + static_cast<int64_t>(seq) * period_ns_;
  }

  // Calls `send(sender, seq, intended_ns)` for every update due at or before
  // `now_ns` that has not been handed out yet, in intended-time order.
  // Returns the next due time, or kNever once the schedule is exhausted.
  template <typename Send>
  int64_t RunDue(int64_t now_ns, Send&& send);

  // The next update to hand out, kNever when done.
  int64_t NextDue() const;
  // Updates handed out so far.
  uint64_t Issued() const { return issued_; }

 private:
  int64_t start_ns_;
  int64_t period_ns_;
  int64_t end_ns_;
  size_t senders_;
  // Position of the next update: sender index within round `round_`.
  size_t next_sender_ = 0;
  uint64_t round_ = 0;
  uint64_t issued_ = 0;
};

template <typename Send>
int64_t OpenLoopSchedule::RunDue(int64_t now_ns, Send&& send) {
  for (;;) {
    const int64_t due = NextDue();
    if (due == kNever || due > now_ns) return due;
    send(next_sender_, round_, due);
    ++issued_;
    if (++next_sender_ == senders_) {
      next_sender_ = 0;
      ++round_;
    }
  }
}

}  // namespace cursord::bench

#endif  // CURSORD_BENCH_SCHEDULER_H_
