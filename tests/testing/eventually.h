// Waiting for an event in a test: polls `predicate` every 5 ms until it
// holds or `timeout` passes (a bound on a wait, never a proof by waiting).
#ifndef CURSORD_TESTS_TESTING_EVENTUALLY_H_
#define CURSORD_TESTS_TESTING_EVENTUALLY_H_

#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace cursord::testing {

// True as soon as `predicate` holds; false if it still does not after
// `timeout`.
inline bool Eventually(const std::function<bool()>& predicate,
                       absl::Duration timeout = absl::Seconds(5)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (predicate()) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return predicate();
}

}  // namespace cursord::testing

#endif  // CURSORD_TESTS_TESTING_EVENTUALLY_H_
