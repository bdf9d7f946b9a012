#include "server/core/outbox.h"

#include "server/core/wire.h"

namespace cursord::core {

void Outbox::DropCursor(uint8_t member) {
  uint64_t& word = dirty_[member >> 6];
  const uint64_t bit = uint64_t{1} << (member & 63);
  if (word & bit) {
    word &= ~bit;
    --dirty_count_;
  }
}

void Outbox::PushEvent(std::string_view frame, int from, const Position* positions) {
  if (from >= 0) {
    const uint8_t id = static_cast<uint8_t>(from);
    uint64_t& word = dirty_[id >> 6];
    const uint64_t bit = uint64_t{1} << (id & 63);
    if (word & bit) {
      word &= ~bit;
      --dirty_count_;
      AppendCursorFrame(events_, id, positions[id].x, positions[id].y);
      ++event_frames_;
    }
  }
  events_.append(frame.data(), frame.size());
  ++event_frames_;
}

size_t Outbox::Drain(std::string& out, const Position* positions) {
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
  if (dirty_count_ > 0) {
    out.reserve(out.size() + static_cast<size_t>(dirty_count_) * kCursorFrameSize);
    for (int w = 0; w < 4; ++w) {
      uint64_t bits = dirty_[w];
      while (bits) {
        const int b = __builtin_ctzll(bits);
        bits &= bits - 1;
        const uint8_t id = static_cast<uint8_t>(w * 64 + b);
        AppendCursorFrame(out, id, positions[id].x, positions[id].y);
      }
      dirty_[w] = 0;
    }
    frames += static_cast<size_t>(dirty_count_);
    dirty_count_ = 0;
  }
  return frames;
}

void Outbox::DropAllCursors() {
  for (uint64_t& w : dirty_) w = 0;
  dirty_count_ = 0;
}

void Outbox::Clear() {
  DropAllCursors();
  std::string().swap(events_);
  event_frames_ = 0;
}

}  // namespace cursord::core
