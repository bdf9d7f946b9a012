// RFC 6455 framing, server side, as pure code: a parser for the frames a
// client sends (masked, possibly fragmented, arriving in arbitrary pieces)
// and encoders for the unmasked frames a server sends.
//
// Beast performs the HTTP upgrade; after it, cursord frames the connection
// itself so that it can put many small frames into one write (Beast's
// websocket stream writes one message per operation) and keep an idle
// connection down to a few hundred bytes of buffers.
#ifndef CURSORD_CORE_WS_FRAME_H_
#define CURSORD_CORE_WS_FRAME_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cursord::core {

enum class Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// Every close code cursord sends or handles by name (RFC 6455 7.4.1).
inline constexpr uint16_t kCloseNormal = 1000;
inline constexpr uint16_t kCloseGoingAway = 1001;
inline constexpr uint16_t kCloseProtocolError = 1002;
inline constexpr uint16_t kCloseUnsupportedData = 1003;
inline constexpr uint16_t kCloseNoStatus = 1005;  // never sent, only received
inline constexpr uint16_t kCloseAbnormal = 1006;  // never sent: the connection ended without one
inline constexpr uint16_t kCloseInvalidPayload = 1007;
inline constexpr uint16_t kClosePolicyViolation = 1008;
inline constexpr uint16_t kCloseTooBig = 1009;
inline constexpr uint16_t kCloseInternalError = 1011;
// The instance lost its place in the cluster (docs/BACKPLANE.md): reconnect.
inline constexpr uint16_t kCloseServiceRestart = 1012;
inline constexpr uint16_t kCloseTryAgainLater = 1013;
// The 4000 range is the application's (RFC 6455 7.4.2); documented in
// docs/PROTOCOL.md. The join tokens' 44xx codes come from
// JoinTokenCloseCode (join_token.h).
inline constexpr uint16_t kCloseKicked = 4000;      // KickMember / KickUser
inline constexpr uint16_t kCloseRoomClosed = 4001;  // CloseRoom

// Appends a frame header (FIN set, unmasked) for a payload of `size` bytes.
void AppendFrameHeader(std::string& out, Opcode opcode, size_t size);

// Appends a whole frame with `payload`.
void AppendFrame(std::string& out, Opcode opcode, std::string_view payload);

// A close frame carries at most 125 payload bytes, two of them the code.
inline constexpr size_t kMaxCloseReasonBytes = 123;

// Appends a close frame; `reason` is cut to the kMaxCloseReasonBytes a
// control frame allows (at a UTF-8 character boundary).
void AppendCloseFrame(std::string& out, uint16_t code, std::string_view reason);

// Receives what FrameParser finds. Payloads point into the parser's or the
// caller's buffer and are valid only during the call.
class FrameHandler {
 public:
  virtual ~FrameHandler() = default;
  // A complete data message (fragments already joined).
  virtual void OnMessage(Opcode opcode, const uint8_t* data, size_t size) = 0;
  virtual void OnPing(const uint8_t* data, size_t size) = 0;
  virtual void OnPong() = 0;
  // The peer's close frame; code is kCloseNoStatus when it carried none.
  virtual void OnClose(uint16_t code, std::string_view reason) = 0;
};

// Parses client frames from a byte stream. Keeps only what it must between
// calls: the tail of an incomplete frame and an unfinished fragmented
// message, both bounded by `max_message_bytes`.
class FrameParser {
 public:
  // The result of Consume: ok, or a protocol error to close with.
  struct Result {
    bool ok = true;
    uint16_t close_code = 0;
    const char* reason = "";
  };

  explicit FrameParser(size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

  // Parses `size` bytes of `data` (unmasked in place, hence not const).
  // Stops at the first error or at a close frame; everything after is
  // discarded.
  Result Consume(uint8_t* data, size_t size, FrameHandler& handler);

  // Bytes held between calls (for memory accounting and tests).
  size_t buffered_bytes() const { return partial_.size() + fragments_.size(); }

 private:
  // Parses frames from [data, data+size); returns the number of bytes used.
  // Sets *stop when parsing must end.
  size_t ParseFrames(uint8_t* data, size_t size, FrameHandler& handler, Result* result,
                     bool* stop);

  struct Header;
  enum class HeaderStatus { kComplete, kIncomplete, kError };
  // Reads and checks the header at `h` (`available` bytes, at least 2).
  // On kError, `*error` says why.
  HeaderStatus ReadHeader(const uint8_t* h, size_t available, Header* header,
                          Result* error) const;
  // Hands an unmasked frame to `handler` (joining fragments). Returns false
  // when parsing must stop (a close frame; `*result` holds an error if it
  // was invalid).
  bool Deliver(const Header& header, uint8_t* payload, size_t n, FrameHandler& handler,
               Result* result);
  void DeliverClose(const uint8_t* payload, size_t n, FrameHandler& handler, Result* result);

  size_t max_message_bytes_;
  std::string partial_;    // an incomplete frame carried to the next call
  std::string fragments_;  // payload of an unfinished fragmented message
  Opcode fragment_opcode_ = Opcode::kContinuation;  // kContinuation: none open
};

}  // namespace cursord::core

#endif  // CURSORD_CORE_WS_FRAME_H_
