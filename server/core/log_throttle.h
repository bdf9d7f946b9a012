// Bounds the log lines that clients can cause (refusals, bad frames,
// floods), so that no client can flood the log: a token bucket per shard,
// and the number of lines held back is told in the next line written.
#ifndef CURSORD_CORE_LOG_THROTTLE_H_
#define CURSORD_CORE_LOG_THROTTLE_H_

#include <cstdint>
#include <string>

#include "server/core/input_limiter.h"

namespace cursord::core {

class LogThrottle {
 public:
  using Clock = TokenBucket::Clock;

  // `per_second` lines on average, `burst` at once.
  LogThrottle(double per_second, double burst, Clock::time_point now)
      : bucket_(per_second, burst, now) {}

  // Whether a line may be written at `now`. When it may, `*held_back` is
  // the number of lines refused since the last one allowed (and is reset).
  bool Allow(Clock::time_point now, uint64_t* held_back) {
    if (!bucket_.TryTake(now)) {
      ++held_back_;
      return false;
    }
    *held_back = held_back_;
    held_back_ = 0;
    return true;
  }

 private:
  TokenBucket bucket_;
  uint64_t held_back_ = 0;
};

// "(N client log lines held back) " or "".
inline std::string HeldBackNote(uint64_t held_back) {
  return held_back == 0 ? std::string()
                        : "(" + std::to_string(held_back) + " client log lines held back) ";
}

}  // namespace cursord::core

#endif  // CURSORD_CORE_LOG_THROTTLE_H_
