// Histograms counted on the hot path without a lock: each shard owns a
// ShardHistogram (one core::Counter per bucket, written only by the shard's
// thread), and a scrape sums them into HistogramCounts. The bucket logic is
// here, pure; the edge declares which histograms exist
// (server/edge/shard_counters.h) and exports them (server/edge/metrics.cc).
#ifndef CURSORD_CORE_HISTOGRAM_H_
#define CURSORD_CORE_HISTOGRAM_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "server/core/counter.h"

namespace cursord::core {

// The upper bounds of a histogram's buckets, strictly ascending, in the
// unit observed (bytes, microseconds, milliseconds). A value falls in the
// first bucket whose bound is >= the value (Prometheus' "le"); a value
// above the last bound falls in the overflow bucket (+Inf).
class HistogramBounds {
 public:
  // `bounds` must be non-empty and strictly ascending (IsValid).
  HistogramBounds(std::initializer_list<uint64_t> bounds);
  explicit HistogramBounds(std::vector<uint64_t> bounds);

  // Non-empty and strictly ascending.
  bool IsValid() const;
  // The bucket of `value`: 0..bounds().size(), bounds().size() being the
  // overflow bucket.
  size_t BucketFor(uint64_t value) const;
  // Buckets in all, the overflow bucket included.
  size_t bucket_count() const { return bounds_.size() + 1; }
  const std::vector<uint64_t>& bounds() const { return bounds_; }

 private:
  std::vector<uint64_t> bounds_;
};

// A histogram's figures at one moment, summed over shards: the count of
// each bucket (not cumulative; the last is the overflow bucket) and the sum
// of the values observed, in the bounds' unit.
struct HistogramCounts {
  std::vector<uint64_t> buckets;
  uint64_t sum = 0;

  // Values observed: the buckets' total (so that it always equals the
  // +Inf bucket, even when a scrape races an observation).
  uint64_t count() const;
  // Prometheus' cumulative counts: entry i counts the values <= bound i;
  // the last entry (+Inf) is count().
  std::vector<uint64_t> Cumulative() const;
};

// Latencies in microseconds, 100 us to 1 s: the edge's delivery lag and the
// backplane's PUBLISH round trips.
inline const HistogramBounds kLatencyBoundsUs{100,    250,    500,     1000,    2500,
                                              5000,   10000,  25000,   50000,   100000,
                                              250000, 500000, 1000000};

// One shard's share of a histogram: one writer thread (Observe), any
// number of readers (AddTo), no lock and no locked instruction (see
// core::Counter). `bounds` must outlive it.
class ShardHistogram {
 public:
  explicit ShardHistogram(const HistogramBounds& bounds);
  ShardHistogram(const ShardHistogram&) = delete;
  ShardHistogram& operator=(const ShardHistogram&) = delete;

  // Counts `value` in its bucket. The owning thread only.
  void Observe(uint64_t value) {
    buckets_[bounds_.BucketFor(value)].Add();
    sum_.Add(value);
  }
  // Adds this shard's figures to `*into` (whose buckets are resized to
  // the bounds' bucket_count() if empty). Any thread.
  void AddTo(HistogramCounts* into) const;
  const HistogramBounds& bounds() const { return bounds_; }

 private:
  const HistogramBounds& bounds_;
  std::vector<Counter> buckets_;
  Counter sum_;
};

}  // namespace cursord::core

#endif  // CURSORD_CORE_HISTOGRAM_H_
