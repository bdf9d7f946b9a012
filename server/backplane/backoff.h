// How long a Redis connection waits before its next attempt after a loss or a
// failed attempt: capped exponential backoff with jitter, so that many
// instances that lost the same Redis do not reconnect in lockstep. Pure: the
// randomness is an argument.
#ifndef CURSORD_BACKPLANE_BACKOFF_H_
#define CURSORD_BACKPLANE_BACKOFF_H_

#include "absl/time/time.h"

namespace cursord::backplane {

struct BackoffPolicy {
  absl::Duration initial = absl::Milliseconds(100);
  absl::Duration max = absl::Seconds(5);
  double multiplier = 2.0;
  // The delay is scaled by a factor drawn from [1 - jitter, 1 + jitter].
  double jitter = 0.2;
};

// The delay before attempt `attempt` (0 for the first attempt after a loss):
// min(max, initial * multiplier^attempt), then scaled by 1 + jitter * (2u - 1)
// where u = `unit_random` in [0, 1) (clamped). So with the defaults: 100 ms,
// 200 ms, 400 ms, ... 3.2 s, then 5 s, each +-20 %. The cap applies before
// the jitter, so capped delays still spread over [4 s, 6 s]. A negative
// attempt counts as 0; the result is never negative.
absl::Duration BackoffDelay(const BackoffPolicy& policy, int attempt, double unit_random);

}  // namespace cursord::backplane

#endif  // CURSORD_BACKPLANE_BACKOFF_H_
