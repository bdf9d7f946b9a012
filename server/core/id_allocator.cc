#include "server/core/id_allocator.h"

#include <algorithm>

namespace cursord::core {

IdAllocator::IdAllocator(int capacity) : capacity_(std::clamp(capacity, 1, 256)) {}

std::optional<uint8_t> IdAllocator::Allocate() {
  if (size_ >= capacity_) return std::nullopt;
  for (int word = 0; word < 4; ++word) {
    const uint64_t free_bits = ~used_[word];
    if (free_bits == 0) continue;
    const int bit = __builtin_ctzll(free_bits);
    used_[word] |= uint64_t{1} << bit;
    ++size_;
    return static_cast<uint8_t>(word * 64 + bit);
  }
  return std::nullopt;  // unreachable while size_ < capacity_ <= 256
}

bool IdAllocator::Claim(uint8_t id) {
  if (size_ >= capacity_ || InUse(id)) return false;
  used_[id >> 6] |= uint64_t{1} << (id & 63);
  ++size_;
  return true;
}

void IdAllocator::Release(uint8_t id) {
  if (!InUse(id)) return;
  used_[id >> 6] &= ~(uint64_t{1} << (id & 63));
  --size_;
}

}  // namespace cursord::core
