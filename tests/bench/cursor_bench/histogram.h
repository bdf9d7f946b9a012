// A log-linear histogram of non-negative integers (nanoseconds here), in the
// spirit of HdrHistogram: exact below 2^kSubBucketBits, then every power of
// two split into 2^kSubBucketBits equal buckets, so any recorded value is
// reported within 1/64 (1.6%) of itself. Recording is a few instructions and
// never allocates, so it can sit on the receive path.
#ifndef CURSORD_BENCH_HISTOGRAM_H_
#define CURSORD_BENCH_HISTOGRAM_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/numeric/int128.h"

namespace cursord::bench {

class Histogram {
 public:
  static constexpr int kSubBucketBits = 6;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;
  // Exact region, then one row of kSubBuckets per remaining power of two.
  static constexpr size_t kBucketCount =
      kSubBuckets + (64 - kSubBucketBits) * kSubBuckets;

  Histogram() { counts_.fill(0); }

  void Record(uint64_t value) { RecordN(value, 1); }
  void RecordN(uint64_t value, uint64_t n);
  // Adds every sample of `other`.
  void Merge(const Histogram& other);
  void Reset();

  uint64_t Count() const { return count_; }
  uint64_t Min() const { return count_ ? min_ : 0; }
  uint64_t Max() const { return max_; }
  double Mean() const {
    return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0;
  }
  // The smallest recorded-bucket upper bound that at least `percentile`
  // percent of samples do not exceed, clamped to Max(); 0 when empty.
  uint64_t Percentile(double percentile) const;

  // Bucket arithmetic, public for tests.
  static size_t BucketIndex(uint64_t value);
  static uint64_t BucketLowest(size_t index);
  static uint64_t BucketHighest(size_t index);

 private:
  std::array<uint64_t, kBucketCount> counts_;
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  // Saturates only after ~580 years of nanoseconds; fine for a mean.
  absl::uint128 sum_ = 0;
};

}  // namespace cursord::bench

#endif  // CURSORD_BENCH_HISTOGRAM_H_
