// RFC 6455 framing for the client side of a WebSocket: masked frames out,
// unmasked frames in, with partial and coalesced input handled by the caller
// feeding whatever bytes a read() returned.
#ifndef CURSORD_BENCH_FRAME_CODEC_H_
#define CURSORD_BENCH_FRAME_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/core/ws_frame.h"

namespace cursord::bench {

// The opcodes are the server's (one definition of RFC 6455's table).
using Opcode = core::Opcode;

// Largest header a client frame can have: 2 + 8 (length) + 4 (mask key).
inline constexpr size_t kMaxClientHeader = 14;

// Appends one final client frame carrying `payload` to `*out`, masked with
// `mask_key` as RFC 6455 5.3 requires of every client frame.
void AppendClientFrame(Opcode opcode, const uint8_t* payload, size_t size,
                       uint32_t mask_key, std::string* out);

// Writes the same frame into `buf`, which must hold kMaxClientHeader + size
// bytes; returns the frame's length. The hot send path uses this to avoid
// touching a heap buffer when the socket takes the whole frame.
size_t EncodeClientFrame(Opcode opcode, const uint8_t* payload, size_t size,
                         uint32_t mask_key, uint8_t* buf);

// One frame as it sits in the input buffer; `payload` points into that
// buffer and is only valid until the buffer changes.
struct FrameView {
  bool fin = false;
  Opcode opcode = Opcode::kContinuation;
  const uint8_t* payload = nullptr;
  size_t size = 0;
};

// Parses the frame at the front of [data, data + size). Returns the number
// of bytes the frame occupies, 0 if more bytes are needed, or an error for a
// frame a client must reject (masked, reserved bits, bad control frame, or a
// payload over `max_payload`).
absl::StatusOr<size_t> ParseServerFrame(const uint8_t* data, size_t size,
                                        size_t max_payload, FrameView* frame);

// Turns a stream of server frames into messages. Fragmented data messages
// are reassembled; control frames (which may arrive between fragments) are
// reported as they come. Not thread-safe; one per connection.
class MessageDecoder {
 public:
  explicit MessageDecoder(size_t max_message = 1 << 20)
      : max_message_(max_message) {}

  // Decodes every complete frame in [data, data + size) and calls
  // `on_message(Opcode, const uint8_t*, size_t)` for each complete data
  // message or control frame. Returns the bytes consumed; the caller keeps
  // the rest and feeds it again with more bytes appended.
  template <typename OnMessage>
  absl::StatusOr<size_t> Decode(const uint8_t* data, size_t size,
                                OnMessage&& on_message);

  bool InFragmentedMessage() const { return fragment_active_; }

 private:
  size_t max_message_;
  bool fragment_active_ = false;
  Opcode fragment_opcode_ = Opcode::kBinary;
  std::string fragments_;
};

template <typename OnMessage>
absl::StatusOr<size_t> MessageDecoder::Decode(const uint8_t* data, size_t size,
                                              OnMessage&& on_message) {
  size_t consumed = 0;
  while (consumed < size) {
    FrameView frame;
    absl::StatusOr<size_t> n =
        ParseServerFrame(data + consumed, size - consumed, max_message_, &frame);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    consumed += *n;
    const uint8_t op = static_cast<uint8_t>(frame.opcode);
    if (op >= 0x8) {
      on_message(frame.opcode, frame.payload, frame.size);
      continue;
    }
    if (frame.opcode == Opcode::kContinuation) {
      if (!fragment_active_) {
        return absl::InvalidArgumentError("continuation without a message");
      }
      if (fragments_.size() + frame.size > max_message_) {
        return absl::ResourceExhaustedError("message too large");
      }
      fragments_.append(reinterpret_cast<const char*>(frame.payload),
                        frame.size);
      if (frame.fin) {
        fragment_active_ = false;
        on_message(fragment_opcode_,
                   reinterpret_cast<const uint8_t*>(fragments_.data()),
                   fragments_.size());
        fragments_.clear();
      }
      continue;
    }
    if (fragment_active_) {
      return absl::InvalidArgumentError("new message inside a fragmented one");
    }
    if (frame.fin) {
      // The common case: the whole message in one frame, handed out in place.
      on_message(frame.opcode, frame.payload, frame.size);
    } else {
      fragment_active_ = true;
      fragment_opcode_ = frame.opcode;
      fragments_.assign(reinterpret_cast<const char*>(frame.payload),
                        frame.size);
    }
  }
  return consumed;
}

}  // namespace cursord::bench

#endif  // CURSORD_BENCH_FRAME_CODEC_H_
