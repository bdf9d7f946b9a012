#include "histogram.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace cursord::bench {
namespace {

TEST(Histogram, BucketsAreExactThenLogLinear) {
  for (uint64_t v = 0; v < Histogram::kSubBuckets; ++v) {
    EXPECT_EQ(Histogram::BucketIndex(v), v);
  }
  // Every value falls inside its bucket's bounds, and a bucket is never
  // wider than 1/kSubBuckets of its lower bound.
  for (uint64_t v : std::vector<uint64_t>{64ull, 65ull, 127ull, 128ull, 1000ull, 123456789ull,
                     (1ull << 40) + 12345, UINT64_MAX}) {
    const size_t i = Histogram::BucketIndex(v);
    ASSERT_LT(i, Histogram::kBucketCount);
    EXPECT_LE(Histogram::BucketLowest(i), v);
    EXPECT_GE(Histogram::BucketHighest(i), v);
    EXPECT_LE(Histogram::BucketHighest(i) - Histogram::BucketLowest(i),
              Histogram::BucketLowest(i) / Histogram::kSubBuckets);
  }
  EXPECT_EQ(Histogram::BucketIndex(UINT64_MAX), Histogram::kBucketCount - 1);
}

TEST(Histogram, PercentilesWithinRelativeError) {
  Histogram h;
  for (uint64_t v = 1; v <= 100000; ++v) h.Record(v * 1000);  // 1us..100ms
  EXPECT_EQ(h.Count(), 100000u);
  EXPECT_EQ(h.Min(), 1000u);
  EXPECT_EQ(h.Max(), 100000000u);
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    const double exact = p / 100 * 100000 * 1000;
    EXPECT_NEAR(h.Percentile(p), exact, exact / 60) << p;
  }
  EXPECT_EQ(h.Percentile(100), h.Max());
  EXPECT_NEAR(h.Mean(), 50000500.0, 1);
}

TEST(Histogram, EmptyAndSingle) {
  Histogram h;
  EXPECT_EQ(h.Percentile(99), 0u);
  EXPECT_EQ(h.Max(), 0u);
  h.Record(777777);
  EXPECT_EQ(h.Percentile(0), 777777u);
  EXPECT_EQ(h.Percentile(50), 777777u);
  EXPECT_EQ(h.Percentile(100), 777777u);
}

TEST(Histogram, MergeAddsSamples) {
  Histogram a, b;
  a.RecordN(10, 90);
  b.RecordN(5000, 10);
  a.Merge(b);
  EXPECT_EQ(a.Count(), 100u);
  EXPECT_EQ(a.Percentile(90), 10u);
  EXPECT_GE(a.Percentile(91), 5000u);
  EXPECT_EQ(a.Max(), 5000u);
  EXPECT_EQ(a.Min(), 10u);
}

}  // namespace
}  // namespace cursord::bench
