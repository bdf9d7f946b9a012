#include "server/core/histogram.h"

#include <cstdint>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace cursord::core {
namespace {

TEST(HistogramBounds, AValueFallsInTheFirstBucketWhoseBoundIsAtLeastIt) {
  const HistogramBounds bounds{10, 100, 1000};
  EXPECT_EQ(bounds.bucket_count(), 4u);
  EXPECT_EQ(bounds.BucketFor(0), 0u);
  EXPECT_EQ(bounds.BucketFor(10), 0u);  // "le": the bound itself is inside
  EXPECT_EQ(bounds.BucketFor(11), 1u);
  EXPECT_EQ(bounds.BucketFor(100), 1u);
  EXPECT_EQ(bounds.BucketFor(999), 2u);
  EXPECT_EQ(bounds.BucketFor(1000), 2u);
}

TEST(HistogramBounds, AValueAboveTheLastBoundFallsInTheOverflowBucket) {
  const HistogramBounds bounds{10, 100};
  EXPECT_EQ(bounds.BucketFor(101), 2u);
  EXPECT_EQ(bounds.BucketFor(UINT64_MAX), 2u);
}

TEST(HistogramBounds, BoundsMustBeNonEmptyAndStrictlyAscending) {
  EXPECT_TRUE((HistogramBounds{1, 2, 3}.IsValid()));
  EXPECT_FALSE(HistogramBounds(std::vector<uint64_t>{}).IsValid());
  EXPECT_FALSE((HistogramBounds{1, 1, 3}.IsValid()));
  EXPECT_FALSE((HistogramBounds{3, 2}.IsValid()));
}

TEST(ShardHistogram, CountsEachValueInItsBucketAndSumsThem) {
  const HistogramBounds bounds{10, 100};
  ShardHistogram histogram(bounds);
  for (uint64_t v : {1, 10, 50, 100, 5000}) histogram.Observe(v);
  HistogramCounts counts;
  histogram.AddTo(&counts);
  EXPECT_EQ(counts.buckets, (std::vector<uint64_t>{2, 2, 1}));
  EXPECT_EQ(counts.sum, 5161u);
  EXPECT_EQ(counts.count(), 5u);
  EXPECT_EQ(counts.Cumulative(), (std::vector<uint64_t>{2, 4, 5}));
}

TEST(ShardHistogram, TheShardsOfAHistogramAddUp) {
  const HistogramBounds bounds{10, 100};
  ShardHistogram a(bounds);
  ShardHistogram b(bounds);
  a.Observe(5);
  b.Observe(50);
  b.Observe(500);
  HistogramCounts counts;
  a.AddTo(&counts);
  b.AddTo(&counts);
  EXPECT_EQ(counts.buckets, (std::vector<uint64_t>{1, 1, 1}));
  EXPECT_EQ(counts.sum, 555u);
  EXPECT_EQ(counts.Cumulative().back(), counts.count());
}

TEST(ShardHistogram, AReaderOnAnotherThreadSeesCumulativeCountsThatNeverDecrease) {
  // One writer (the shard's thread), one scraper: every scrape is
  // internally ordered (cumulative counts ascend, +Inf equals count) and
  // no later scrape counts fewer values than an earlier one.
  const HistogramBounds bounds{10, 100, 1000};
  ShardHistogram histogram(bounds);
  constexpr uint64_t kValues = 200'000;
  std::thread writer([&] {
    for (uint64_t i = 0; i < kValues; ++i) histogram.Observe(i % 2000);
  });
  uint64_t last_count = 0;
  for (;;) {
    HistogramCounts counts;
    histogram.AddTo(&counts);
    const std::vector<uint64_t> cumulative = counts.Cumulative();
    for (size_t i = 1; i < cumulative.size(); ++i) ASSERT_LE(cumulative[i - 1], cumulative[i]);
    ASSERT_EQ(cumulative.back(), counts.count());
    ASSERT_GE(counts.count(), last_count);
    last_count = counts.count();
    if (last_count == kValues) break;
  }
  writer.join();
  HistogramCounts final_counts;
  histogram.AddTo(&final_counts);
  EXPECT_EQ(final_counts.buckets, (std::vector<uint64_t>{1100, 9000, 90000, 99900}));
  EXPECT_EQ(final_counts.sum, 100u * (1999u * 2000u / 2));
}

}  // namespace
}  // namespace cursord::core
