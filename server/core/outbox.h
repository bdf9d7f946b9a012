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
// A member's state (protocol v2's `09`) is state too, kept the same way: a
// second bit set, bytes produced at flush time from the room's table.
//
// Per-member order is kept: an event from member x first emits x's pending
// position and state, and x's leave discards them, so nothing of x follows
// `04 x`.
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

// A room's newest positions and states, indexed by member id, as the
// outboxes of its members read them at flush time.
struct RoomTables {
  const Position* positions = nullptr;
  const std::string* states = nullptr;
};

// A set of member ids (0..255).
class MemberSet {
 public:
  // Adds `member`; false when it was in already.
  bool Add(uint8_t member) {
    uint64_t& word = words_[member >> 6];
    const uint64_t bit = uint64_t{1} << (member & 63);
    if (word & bit) return false;
    word |= bit;
    ++count_;
    return true;
  }
  // Removes `member`; false when it was not in.
  bool Remove(uint8_t member) {
    uint64_t& word = words_[member >> 6];
    const uint64_t bit = uint64_t{1} << (member & 63);
    if (!(word & bit)) return false;
    word &= ~bit;
    --count_;
    return true;
  }
  // Calls `f(id)` for every member in ascending order, then empties the set.
  template <typename F>
  void TakeEach(F f) {
    for (int w = 0; w < 4; ++w) {
      uint64_t bits = words_[w];
      while (bits) {
        const int b = __builtin_ctzll(bits);
        bits &= bits - 1;
        f(static_cast<uint8_t>(w * 64 + b));
      }
      words_[w] = 0;
    }
    count_ = 0;
  }
  void Clear() {
    for (uint64_t& w : words_) w = 0;
    count_ = 0;
  }
  int size() const { return count_; }

 private:
  uint64_t words_[4] = {0, 0, 0, 0};
  int count_ = 0;
};

class Outbox {
 public:
  // Marks `member`'s position as changed. Returns false when it already was
  // (the earlier position is superseded: a coalesced update).
  bool MarkCursor(uint8_t member) { return cursors_.Add(member); }

  // Marks `member`'s state as changed; false when it already was.
  bool MarkState(uint8_t member) { return states_.Add(member); }

  // Forgets a pending position and state of `member` (it left).
  void DropCursor(uint8_t member) {
    cursors_.Remove(member);
    states_.Remove(member);
  }

  // Appends an encoded frame that belongs to no member (a pong, a close).
  void PushEvent(std::string_view frame);

  // Appends an encoded frame of member `from`. Its pending position and
  // state go first, so `from`'s messages keep their order.
  void PushEvent(std::string_view frame, uint8_t from, RoomTables tables);

  // Appends bytes that are not a frame and must precede every frame (the
  // HTTP 101 response head). Not counted as a frame.
  void PushRaw(std::string_view bytes) { events_.append(bytes.data(), bytes.size()); }

  // Moves everything pending into `out`: events in order, then the newest
  // position and state of every marked member. Returns the number of frames
  // moved.
  size_t Drain(std::string& out, RoomTables tables);

  // Forgets every pending position and state (the recipient left its room).
  void DropAllCursors() {
    cursors_.Clear();
    states_.Clear();
  }

  // Forgets everything pending (the recipient is being dropped).
  void Clear();

  bool empty() const { return events_.empty() && cursors_.size() == 0 && states_.size() == 0; }
  size_t pending_event_bytes() const { return events_.size(); }
  size_t pending_cursors() const { return static_cast<size_t>(cursors_.size()); }
  size_t pending_states() const { return static_cast<size_t>(states_.size()); }

 private:
  std::string events_;
  size_t event_frames_ = 0;
  MemberSet cursors_;
  MemberSet states_;
};

}  // namespace cursord::core

#endif  // CURSORD_CORE_OUTBOX_H_
