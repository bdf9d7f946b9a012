// The binary cursor protocol of cursor-tracking-rs (message types 0x01-0x07),
// byte for byte, and cursord's protocol v2 (0x08 member info, 0x09 member
// state; docs/PROTOCOL.md, "Protocol v2"). Pure code: decoding of client
// messages and encoding of server messages as complete, unmasked WebSocket
// binary frames, ready to be copied into any number of recipients' output
// buffers.
#ifndef CURSORD_CORE_WIRE_H_
#define CURSORD_CORE_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cursord::core {

// The protocol a session speaks, negotiated by subprotocol.
enum class ProtocolVersion : uint8_t { kV1 = 1, kV2 = 2 };

enum class MessageType : uint8_t {
  kInitialConnection = 0x01,  // S->C: 01 id
  kInitialUserList = 0x02,    // S->C: 02 id...
  kUserJoined = 0x03,         // S->C: 03 id
  kUserLeft = 0x04,           // S->C: 04 id
  kCursorUpdate = 0x05,       // S->C: 05 id xx yy; C->S: 05 xx yy
  kStartedClicking = 0x06,    // S->C: 06 id; C->S: 06 (trailing bytes ignored)
  kStoppedClicking = 0x07,    // S->C: 07 id; C->S: 07 (trailing bytes ignored)
  kMemberInfo = 0x08,         // v2 S->C: 08 id rr gg bb ulen user nlen name
  kMemberState = 0x09,        // v2 S->C: 09 id state; C->S: 09 state
};

// A decoded client message.
struct ClientMessage {
  enum class Kind { kCursor, kClickStart, kClickStop, kState };
  Kind kind = Kind::kCursor;
  uint16_t x = 0;  // kCursor only
  uint16_t y = 0;  // kCursor only
  // kState only (v2): the new state, pointing into the decoded bytes.
  std::string_view state;
};

// Why a client message was ignored (each has its own counter).
enum class DecodeError { kNone, kEmpty, kUnknownType, kTooShort };

// Decodes one client message (the payload of one binary frame) of a
// session speaking `version`. On failure returns false and sets `*error`;
// the message is to be ignored and counted, the session goes on. A cursor
// update longer than 5 bytes is accepted and its extra bytes ignored, like
// the trailing bytes of a click. `09` is a v2 message (unknown in v1); its
// size limit is the session's to check.
bool DecodeClientMessage(const uint8_t* data, size_t size, ClientMessage* message,
                         DecodeError* error, ProtocolVersion version = ProtocolVersion::kV1);

// Size of a server frame carrying a cursor update: 2 header + 6 payload.
inline constexpr size_t kCursorFrameSize = 8;

// Appends `05 id xx yy` as a binary frame. The hot path: no allocation
// beyond `out`'s growth.
inline void AppendCursorFrame(std::string& out, uint8_t id, uint16_t x, uint16_t y) {
  const char frame[kCursorFrameSize] = {
      static_cast<char>(0x82), 6, 0x05, static_cast<char>(id),
      static_cast<char>(x >> 8), static_cast<char>(x & 0xff),
      static_cast<char>(y >> 8), static_cast<char>(y & 0xff)};
  out.append(frame, sizeof(frame));
}

// Appends a two-byte message `type id` (01, 03, 04, 06, 07) as a frame.
void AppendIdFrame(std::string& out, MessageType type, uint8_t id);

// Appends `02 id...` as a frame; `ids` holds `count` member ids.
void AppendUserListFrame(std::string& out, const uint8_t* ids, size_t count);

// A colour as three bytes.
struct Rgb {
  uint8_t r = 0;
  uint8_t g = 0;
  uint8_t b = 0;
  friend bool operator==(const Rgb& a, const Rgb& b) {
    return a.r == b.r && a.g == b.g && a.b == b.b;
  }
};

// Appends v2's `08 id rr gg bb ulen user nlen name` as a frame. `user` and
// `name` are at most 255 bytes each (identity rules keep them at 128 and
// 64); longer ones are cut.
void AppendMemberInfoFrame(std::string& out, uint8_t id, Rgb color, std::string_view user,
                           std::string_view name);

// Appends v2's `09 id state` as a frame.
void AppendMemberStateFrame(std::string& out, uint8_t id, std::string_view state);

}  // namespace cursord::core

#endif  // CURSORD_CORE_WIRE_H_
