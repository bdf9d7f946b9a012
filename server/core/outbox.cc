#include "server/core/outbox.h"

#include "server/core/wire.h"

namespace cursord::core {

void Outbox::PushEvent(std::string_view frame) {
  events_.append(frame.data(), frame.size());
  ++event_frames_;
}

void Outbox::PushEvent(std::string_view frame, uint8_t from, RoomTables tables) {
  if (cursors_.Remove(from)) {
    AppendCursorFrame(events_, from, tables.positions[from].x, tables.positions[from].y);
    ++event_frames_;
  }
  if (states_.Remove(from)) {
    AppendMemberStateFrame(events_, from, tables.states[from]);
    ++event_frames_;
  }
  PushEvent(frame);
}

size_t Outbox::Drain(std::string& out, RoomTables tables) {
  size_t frames = event_frames_;
  if (!events_.empty()) {
    if (out.empty()) {
      out.swap(events_);
    } else {
      out.append(events_);
    }
    // Events are rare next to positions (which need no buffer here): an
    // outbox between them holds no storage at all.
    std::string().swap(events_);
  }
  event_frames_ = 0;
  if (cursors_.size() > 0) {
    frames += static_cast<size_t>(cursors_.size());
    out.reserve(out.size() + static_cast<size_t>(cursors_.size()) * kCursorFrameSize);
    cursors_.TakeEach([&](uint8_t id) {
      AppendCursorFrame(out, id, tables.positions[id].x, tables.positions[id].y);
    });
  }
  if (states_.size() > 0) {
    frames += static_cast<size_t>(states_.size());
    states_.TakeEach([&](uint8_t id) { AppendMemberStateFrame(out, id, tables.states[id]); });
  }
  return frames;
}

void Outbox::Clear() {
  DropAllCursors();
  std::string().swap(events_);
  event_frames_ = 0;
}

}  // namespace cursord::core
