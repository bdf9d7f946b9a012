// Member ids of one room: u8, unique, always the lowest free one, reused as
// soon as its owner leaves (the seed server's rule, which its clients expect).
#ifndef CURSORD_CORE_ID_ALLOCATOR_H_
#define CURSORD_CORE_ID_ALLOCATOR_H_

#include <cstdint>
#include <optional>

namespace cursord::core {

class IdAllocator {
 public:
  // At most `capacity` ids (1..256) are handed out at once.
  explicit IdAllocator(int capacity);

  // The lowest free id, or nullopt when `capacity` ids are in use.
  std::optional<uint8_t> Allocate();
  // Marks `id`, decided elsewhere (a backplane's allocation across
  // instances), as in use. False, changing nothing, when it already is or
  // `capacity` ids are in use.
  bool Claim(uint8_t id);
  // Frees `id`; freeing a free id is a no-op.
  void Release(uint8_t id);
  bool InUse(uint8_t id) const { return (used_[id >> 6] >> (id & 63)) & 1; }
  int size() const { return size_; }
  int capacity() const { return capacity_; }

 private:
  uint64_t used_[4] = {0, 0, 0, 0};
  int size_ = 0;
  int capacity_;
};

}  // namespace cursord::core

#endif  // CURSORD_CORE_ID_ALLOCATOR_H_
