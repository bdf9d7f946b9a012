// The queue between a room and one WatchRoom stream. Pure: no locks, no
// I/O, time passed in; WatchSession owns one under its mutex.
//
// Bounds: at most `capacity` queued items, plus at most one pending cursor
// move and one pending state change per member id (2 x 256). Cursor moves
// and state changes are coalesced per member, the latest wins, and each
// released at most once per `cursor_interval` per member. A member's other
// events (click, leave, ...) first release that member's pending move and
// state, so a watcher never sees a member's events out of order (a click
// lands where the cursor was).
#ifndef CURSORD_CONTROL_WATCH_BUFFER_H_
#define CURSORD_CONTROL_WATCH_BUFFER_H_

#include <array>
#include <cstddef>
#include <deque>
#include <optional>
#include <variant>

#include "absl/time/time.h"
#include "server/core/presence.h"

namespace cursord::control {

class WatchBuffer {
 public:
  struct Options {
    size_t capacity = 1024;
    absl::Duration cursor_interval = absl::Milliseconds(100);
  };

  // The snapshot comes first, then events. The snapshot carries the time
  // it was queued at, to stamp the message.
  struct Snapshot {
    core::RoomSnapshot room;
    absl::Time taken;
  };
  using Item = std::variant<Snapshot, core::RoomEvent>;

  explicit WatchBuffer(Options options);

  // Queue the room's snapshot. False when the buffer is full.
  bool PushSnapshot(core::RoomSnapshot snapshot, absl::Time now);

  // Queue an event (cursor moves and state changes coalesce). False when the buffer is full:
  // the watcher is too slow and must be dropped.
  bool Push(const core::RoomEvent& event, absl::Time now);

  // The next item to send at `now`, if any is ready.
  std::optional<Item> Pop(absl::Time now);

  // When Pop will next have something: InfinitePast() if it has now,
  // InfiniteFuture() if nothing is queued or pending.
  absl::Time NextReady() const;

  // Drops everything queued and pending.
  void Clear();

  size_t queued() const { return queue_.size(); }
  size_t pending_moves() const { return pending_moves_; }

 private:
  struct MemberMoves {
    std::optional<core::RoomEvent> pending;  // latest unsent move
    absl::Time last_sent = absl::InfinitePast();
  };

  bool Enqueue(Item item);
  // Moves `id`'s pending move and state, if any, to the queue.
  bool ReleasePending(uint8_t id);
  // The slot of a coalesced event (a move or a state change) of `id`.
  MemberMoves& SlotOf(core::RoomEventKind kind, uint8_t id) {
    return moves_[kind == core::RoomEventKind::kStateChanged ? 256 + id : id];
  }

  Options options_;
  std::deque<Item> queue_;
  // Indexed by member id: moves, then (256 + id) state changes.
  std::array<MemberMoves, 512> moves_;
  size_t pending_moves_ = 0;
};

}  // namespace cursord::control

#endif  // CURSORD_CONTROL_WATCH_BUFFER_H_
