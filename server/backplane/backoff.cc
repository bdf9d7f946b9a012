#include "server/backplane/backoff.h"

#include <algorithm>

namespace cursord::backplane {

absl::Duration BackoffDelay(const BackoffPolicy& policy, int attempt, double unit_random) {
  absl::Duration delay = std::max(policy.initial, absl::ZeroDuration());
  const absl::Duration cap = std::max(policy.max, delay);
  // Multiply step by step and stop at the cap: no overflow however large
  // `attempt` grows during a long outage.
  for (int i = 0; i < attempt && delay < cap; ++i) delay = delay * policy.multiplier;
  delay = std::min(delay, cap);
  const double u = std::clamp(unit_random, 0.0, 1.0);
  const double jitter = std::clamp(policy.jitter, 0.0, 1.0);
  return std::max(delay * (1.0 + jitter * (2.0 * u - 1.0)), absl::ZeroDuration());
}

}  // namespace cursord::backplane
