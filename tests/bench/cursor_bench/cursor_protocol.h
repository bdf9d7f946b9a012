// The cursor protocol's messages as the load generator uses them, and how a
// sequence number rides in a cursor position.
#ifndef CURSORD_BENCH_CURSOR_PROTOCOL_H_
#define CURSORD_BENCH_CURSOR_PROTOCOL_H_

#include <cstddef>
#include <cstdint>

namespace cursord::bench {

// Server to client.
inline constexpr uint8_t kMsgYourId = 0x01;
inline constexpr uint8_t kMsgMembers = 0x02;
inline constexpr uint8_t kMsgJoined = 0x03;
inline constexpr uint8_t kMsgLeft = 0x04;
inline constexpr uint8_t kMsgCursor = 0x05;  // both directions
inline constexpr uint8_t kMsgClickStart = 0x06;
inline constexpr uint8_t kMsgClickStop = 0x07;

// Client-to-server cursor update: 05 xx xx yy yy.
inline constexpr size_t kCursorUpdateSize = 5;
// Server-to-client cursor: 05 id xx xx yy yy.
inline constexpr size_t kCursorBroadcastSize = 6;

// A 32-bit sequence number is the position: x carries the high half and y
// the low half, both big-endian like every coordinate on the wire.
inline void EncodeCursorUpdate(uint32_t seq, uint8_t out[kCursorUpdateSize]) {
  out[0] = kMsgCursor;
  out[1] = static_cast<uint8_t>(seq >> 24);
  out[2] = static_cast<uint8_t>(seq >> 16);
  out[3] = static_cast<uint8_t>(seq >> 8);
  out[4] = static_cast<uint8_t>(seq);
}

struct CursorBroadcast {
  uint8_t id;
  uint32_t seq;
};

// Decodes a server cursor message; false if `data` is not one.
inline bool DecodeCursorBroadcast(const uint8_t* data, size_t size,
                                  CursorBroadcast* out) {
  if (size < kCursorBroadcastSize || data[0] != kMsgCursor) return false;
  out->id = data[1];
  out->seq = (uint32_t{data[2]} << 24) | (uint32_t{data[3]} << 16) |
             (uint32_t{data[4]} << 8) | uint32_t{data[5]};
  return true;
}

}  // namespace cursord::bench

#endif  // CURSORD_BENCH_CURSOR_PROTOCOL_H_
