#include "server/control/watch_buffer.h"

#include <utility>

namespace cursord::control {

WatchBuffer::WatchBuffer(Options options) : options_(options) {}

bool WatchBuffer::Enqueue(Item item) {
  if (queue_.size() >= options_.capacity) return false;
  queue_.push_back(std::move(item));
  return true;
}

bool WatchBuffer::ReleasePending(uint8_t id) {
  for (MemberMoves* moves : {&moves_[id], &moves_[256 + id]}) {
    if (!moves->pending.has_value()) continue;
    core::RoomEvent event = std::move(*moves->pending);
    moves->pending.reset();
    --pending_moves_;
    if (!Enqueue(std::move(event))) return false;
  }
  return true;
}

bool WatchBuffer::PushSnapshot(core::RoomSnapshot snapshot, absl::Time now) {
  return Enqueue(Snapshot{std::move(snapshot), now});
}

bool WatchBuffer::Push(const core::RoomEvent& event, absl::Time now) {
  const uint8_t id = event.member.id;
  if (event.kind != core::RoomEventKind::kCursorMoved &&
      event.kind != core::RoomEventKind::kStateChanged) {
    if (!ReleasePending(id)) return false;
    if (event.kind == core::RoomEventKind::kLeft) {
      // The id may be reused by the next member; it starts with a fresh
      // allowance.
      moves_[id].last_sent = absl::InfinitePast();
      moves_[256 + id].last_sent = absl::InfinitePast();
    }
    return Enqueue(event);
  }
  MemberMoves& moves = SlotOf(event.kind, id);
  // A move that may go now still waits as pending when the queue is full:
  // moves coalesce, so they never overflow the buffer themselves.
  if (!moves.pending.has_value() &&
      now - moves.last_sent >= options_.cursor_interval &&
      queue_.size() < options_.capacity) {
    moves.last_sent = now;
    return Enqueue(event);
  }
  if (!moves.pending.has_value()) ++pending_moves_;
  moves.pending = event;  // latest position (or state) wins
  return true;
}

std::optional<WatchBuffer::Item> WatchBuffer::Pop(absl::Time now) {
  if (!queue_.empty()) {
    Item item = std::move(queue_.front());
    queue_.pop_front();
    return item;
  }
  if (pending_moves_ == 0) return std::nullopt;
  // The most overdue move goes first; with 256 slots a scan is cheaper
  // than keeping a heap in step with every coalesced move.
  MemberMoves* best = nullptr;
  for (MemberMoves& moves : moves_) {
    if (!moves.pending.has_value()) continue;
    if (best == nullptr || moves.last_sent < best->last_sent) best = &moves;
  }
  if (best == nullptr || best->last_sent + options_.cursor_interval > now) {
    return std::nullopt;
  }
  core::RoomEvent event = std::move(*best->pending);
  best->pending.reset();
  best->last_sent = now;
  --pending_moves_;
  return event;
}

absl::Time WatchBuffer::NextReady() const {
  if (!queue_.empty()) return absl::InfinitePast();
  absl::Time next = absl::InfiniteFuture();
  if (pending_moves_ == 0) return next;
  for (const MemberMoves& moves : moves_) {
    if (moves.pending.has_value()) {
      next = std::min(next, moves.last_sent + options_.cursor_interval);
    }
  }
  return next;
}

void WatchBuffer::Clear() {
  queue_.clear();
  for (MemberMoves& moves : moves_) moves.pending.reset();
  pending_moves_ = 0;
}

}  // namespace cursord::control
