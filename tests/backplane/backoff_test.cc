// The reconnect delay: doubling from the initial delay to the cap, jitter
// within its band, no overflow in a long outage.
#include "server/backplane/backoff.h"

#include <climits>

#include "gtest/gtest.h"

namespace cursord::backplane {
namespace {

TEST(BackoffTest, DelaysDoubleFromTheInitialOneUpToTheCap) {
  const BackoffPolicy policy;  // 100 ms doubling to 5 s
  const double no_jitter = 0.5;  // u = 0.5 scales by exactly 1
  const int64_t expected_ms[] = {100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000};
  for (int attempt = 0; attempt < 9; ++attempt) {
    EXPECT_EQ(BackoffDelay(policy, attempt, no_jitter), absl::Milliseconds(expected_ms[attempt]))
        << "attempt " << attempt;
  }
}

TEST(BackoffTest, JitterStaysWithinTwentyPercentEitherWay) {
  const BackoffPolicy policy;
  EXPECT_EQ(BackoffDelay(policy, 0, 0.0), absl::Milliseconds(80));
  EXPECT_EQ(BackoffDelay(policy, 0, 0.25), absl::Milliseconds(90));
  EXPECT_EQ(BackoffDelay(policy, 0, 0.75), absl::Milliseconds(110));
  EXPECT_LT(BackoffDelay(policy, 0, 0.999999), absl::Milliseconds(120));
  EXPECT_GT(BackoffDelay(policy, 0, 0.999999), absl::Milliseconds(119));
  // Out-of-range randomness is clamped, not trusted.
  EXPECT_EQ(BackoffDelay(policy, 0, -3.0), absl::Milliseconds(80));
  EXPECT_EQ(BackoffDelay(policy, 0, 7.0), absl::Milliseconds(120));
}

TEST(BackoffTest, CappedDelaysStillSpreadSoInstancesDoNotRetryInLockstep) {
  const BackoffPolicy policy;
  EXPECT_EQ(BackoffDelay(policy, 40, 0.0), absl::Seconds(4));
  EXPECT_EQ(BackoffDelay(policy, 40, 1.0), absl::Seconds(6));
}

TEST(BackoffTest, ALongOutageNeitherOverflowsNorGoesNegative) {
  const BackoffPolicy policy;
  EXPECT_EQ(BackoffDelay(policy, INT_MAX, 0.5), absl::Seconds(5));
  EXPECT_EQ(BackoffDelay(policy, -1, 0.5), absl::Milliseconds(100));
}

TEST(BackoffTest, OddPoliciesStayWellDefined) {
  BackoffPolicy no_growth;
  no_growth.multiplier = 1.0;
  EXPECT_EQ(BackoffDelay(no_growth, 1000, 0.5), absl::Milliseconds(100));
  BackoffPolicy initial_above_cap;
  initial_above_cap.initial = absl::Seconds(10);
  EXPECT_EQ(BackoffDelay(initial_above_cap, 3, 0.5), absl::Seconds(10));
  BackoffPolicy no_jitter;
  no_jitter.jitter = 0;
  EXPECT_EQ(BackoffDelay(no_jitter, 1, 0.0), absl::Milliseconds(200));
  BackoffPolicy negative;
  negative.initial = -absl::Seconds(1);
  EXPECT_EQ(BackoffDelay(negative, 0, 0.5), absl::ZeroDuration());
}

}  // namespace
}  // namespace cursord::backplane
