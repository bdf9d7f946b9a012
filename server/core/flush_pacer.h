// When a shard's next flush round may start. Pure logic; the shard feeds it
// the times of its rounds.
//
// Writing costs a system call per receiver, however few frames each write
// carries. After a long round (a large room under load) the next one waits
// as long as that round took: at most half of the thread's time goes to
// writing, and each write carries more frames instead of the thread
// drowning in small ones; positions coalesce meanwhile (latest-wins). A
// short round delays nothing, so light rooms keep their latency.
#ifndef CURSORD_CORE_FLUSH_PACER_H_
#define CURSORD_CORE_FLUSH_PACER_H_

#include <chrono>

namespace cursord::core {

class FlushPacer {
 public:
  using Clock = std::chrono::steady_clock;

  // A round this long or longer is followed by a pause as long. About 100
  // writes on a small VM; rooms of a few dozen members at 30 Hz stay well
  // below it.
  static constexpr std::chrono::microseconds kLongRound{500};

  // Records a round that ran from `start` to `end`.
  void RoundDone(Clock::time_point start, Clock::time_point end) {
    const Clock::duration took = end - start;
    next_allowed_ = took >= kLongRound ? end + took : end;
  }

  // The earliest start of the next round.
  Clock::time_point next_allowed() const { return next_allowed_; }

 private:
  Clock::time_point next_allowed_{};
};

}  // namespace cursord::core

#endif  // CURSORD_CORE_FLUSH_PACER_H_
