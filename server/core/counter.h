// A counter with one writer thread and any number of readers.
//
// The writer adds with a plain load and store (no locked instruction on the
// per-message path); readers on other threads see a recent value. Only the
// thread that owns the counter (a shard's thread) may call Add.
#ifndef CURSORD_CORE_COUNTER_H_
#define CURSORD_CORE_COUNTER_H_

#include <atomic>
#include <cstdint>

namespace cursord::core {

class Counter {
 public:
  void Add(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  // For gauges owned by the same single writer.
  void Sub(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }
  uint64_t Get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

}  // namespace cursord::core

#endif  // CURSORD_CORE_COUNTER_H_
