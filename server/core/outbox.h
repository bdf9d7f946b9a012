// What one recipient has yet to be sent, with bounded memory.
//
// A cursor position is state: only the newest matters. So the outbox keeps
// no positions at all, only a 256-bit set of members whose position changed
// since the last flush; the bytes are produced at flush time from the room's
// current positions. A reader that falls behind therefore gets the newest
// position of each member when it catches up, never a backlog.
//
// Joins, leaves, clicks and control frames are events: kept in order as
// encoded frames, never dropped. The owner bounds them (see
// pending_event_bytes) and closes a reader that lets them pile up.
//
// Per-member order is kept: an event from member x first emits x's pending
// position, and x's leave discards it, so nothing of x follows `04 x`.
#ifndef CURSORD_CORE_OUTBOX_H_
#define CURSORD_CORE_OUTBOX_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cursord::core {

// Where a room keeps its members' newest positions, indexed by member id.
struct Position {
  uint16_t x = 0;
  uint16_t y = 0;
};

class Outbox {
 public:
  // Marks `member`'s position as changed. Returns false when it already was
  // (the earlier position is superseded: a coalesced update).
  bool MarkCursor(uint8_t member) {
    uint64_t& word = dirty_[member >> 6];
    const uint64_t bit = uint64_t{1} << (member & 63);
    if (word & bit) return false;
    word |= bit;
    ++dirty_count_;
    return true;
  }

  // Forgets a pending position of `member` (it left).
  void DropCursor(uint8_t member);

  // Appends an encoded frame. When `from` is a member (0..255) with a
  // pending position, that position goes first, so `from`'s messages keep
  // their order. `positions` is the room's table (may be null only when
  // `from` is negative).
  void PushEvent(std::string_view frame, int from, const Position* positions);

  // Appends bytes that are not a frame and must precede every frame (the
  // HTTP 101 response head). Not counted as a frame.
  void PushRaw(std::string_view bytes) { events_.append(bytes.data(), bytes.size()); }

  // Moves everything pending into `out`: events in order, then the newest
  // position of every marked member. Returns the number of frames moved.
  size_t Drain(std::string& out, const Position* positions);

  // Forgets every pending position (the recipient left its room).
  void DropAllCursors();

  // Forgets everything pending (the recipient is being dropped).
  void Clear();

  bool empty() const { return events_.empty() && dirty_count_ == 0; }
  size_t pending_event_bytes() const { return events_.size(); }
  size_t pending_cursors() const { return dirty_count_; }

 private:
  std::string events_;
  size_t event_frames_ = 0;
  uint64_t dirty_[4] = {0, 0, 0, 0};
  int dirty_count_ = 0;
};

}  // namespace cursord::core

#endif  // CURSORD_CORE_OUTBOX_H_
