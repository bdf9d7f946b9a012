// When a shard writes a receiver's pending frames: now, or at the end of a
// pause. Pure logic; the shard feeds it the times of its flush rounds and
// of each receiver's last write.
//
// Writing costs a system call per receiver, however few frames each write
// carries. So after a long round (a large room under load) comes a pause
// as long as the round took, up to kMaxPause, during which receivers that
// were written recently wait for the next round: they are getting frames
// continually, so their next write carries more of them (positions
// coalescing meanwhile, latest-wins) instead of the thread drowning in
// small writes. A receiver not written recently (a member of one of many
// quiet rooms) never waits: waiting would gather nothing for it. A short
// round starts no pause, so light rooms keep their latency.
#ifndef CURSORD_CORE_FLUSH_PACER_H_
#define CURSORD_CORE_FLUSH_PACER_H_

#include <algorithm>
#include <chrono>
#include <cstddef>

namespace cursord::core {

class FlushPacer {
 public:
  using Clock = std::chrono::steady_clock;

  // Rounds shorter than this start no pause. About 100 writes on a small
  // VM; rooms of a few dozen members at 30 Hz stay well below it.
  static constexpr std::chrono::microseconds kLongRound{500};
  // The longest pause.
  static constexpr std::chrono::microseconds kMaxPause{1000};
  // A receiver written less than this long ago counts as recent.
  static constexpr std::chrono::microseconds kRecent{4000};

  // Records a round that ran from `start` to `end` and wrote to `writes`
  // receivers. A round that wrote nothing says nothing about the cost of
  // writing; a short one does not cut a pause short.
  void RoundDone(Clock::time_point start, Clock::time_point end, size_t writes) {
    if (writes == 0) return;
    const Clock::duration took = end - start;
    if (took < kLongRound) return;
    pause_end_ = std::max(pause_end_, end + std::min<Clock::duration>(took, kMaxPause));
  }

  // True when a receiver whose last write started at `last_write` should
  // wait for pause_end() rather than be written at `now`.
  bool ShouldWait(Clock::time_point now, Clock::time_point last_write) const {
    return now < pause_end_ && now - last_write < kRecent;
  }

  // When the current pause ends (in the past when there is none).
  Clock::time_point pause_end() const { return pause_end_; }

 private:
  Clock::time_point pause_end_{};
};

}  // namespace cursord::core

#endif  // CURSORD_CORE_FLUSH_PACER_H_
