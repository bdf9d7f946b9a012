#include "server/core/histogram.h"

#include <algorithm>
#include <utility>

namespace cursord::core {

HistogramBounds::HistogramBounds(std::initializer_list<uint64_t> bounds) : bounds_(bounds) {}

HistogramBounds::HistogramBounds(std::vector<uint64_t> bounds) : bounds_(std::move(bounds)) {}

bool HistogramBounds::IsValid() const {
  if (bounds_.empty()) return false;
  for (size_t i = 1; i < bounds_.size(); ++i) {
    if (bounds_[i] <= bounds_[i - 1]) return false;
  }
  return true;
}

size_t HistogramBounds::BucketFor(uint64_t value) const {
  // The first bound >= value; a dozen bounds, so a binary search is a few
  // compares.
  return static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                             bounds_.begin());
}

uint64_t HistogramCounts::count() const {
  uint64_t total = 0;
  for (uint64_t n : buckets) total += n;
  return total;
}

std::vector<uint64_t> HistogramCounts::Cumulative() const {
  std::vector<uint64_t> cumulative(buckets.size());
  uint64_t running = 0;
  for (size_t i = 0; i < buckets.size(); ++i) {
    running += buckets[i];
    cumulative[i] = running;
  }
  return cumulative;
}

ShardHistogram::ShardHistogram(const HistogramBounds& bounds)
    : bounds_(bounds), buckets_(bounds.bucket_count()) {}

void ShardHistogram::AddTo(HistogramCounts* into) const {
  if (into->buckets.empty()) into->buckets.resize(buckets_.size());
  for (size_t i = 0; i < buckets_.size() && i < into->buckets.size(); ++i) {
    into->buckets[i] += buckets_[i].Get();
  }
  into->sum += sum_.Get();
}

}  // namespace cursord::core
