#include "server/core/wire.h"

#include "server/core/ws_frame.h"

namespace cursord::core {

bool DecodeClientMessage(const uint8_t* data, size_t size, ClientMessage* message,
                         DecodeError* error) {
  if (size == 0) {
    *error = DecodeError::kEmpty;
    return false;
  }
  switch (static_cast<MessageType>(data[0])) {
    case MessageType::kCursorUpdate:
      if (size < 5) {
        *error = DecodeError::kTooShort;
        return false;
      }
      message->kind = ClientMessage::Kind::kCursor;
      message->x = static_cast<uint16_t>((data[1] << 8) | data[2]);
      message->y = static_cast<uint16_t>((data[3] << 8) | data[4]);
      return true;
    case MessageType::kStartedClicking:
      message->kind = ClientMessage::Kind::kClickStart;
      return true;
    case MessageType::kStoppedClicking:
      message->kind = ClientMessage::Kind::kClickStop;
      return true;
    default:
      // Types 01-04 are server-to-client only; anything else is unknown.
      *error = DecodeError::kUnknownType;
      return false;
  }
}

void AppendIdFrame(std::string& out, MessageType type, uint8_t id) {
  const char frame[4] = {static_cast<char>(0x82), 2, static_cast<char>(type),
                         static_cast<char>(id)};
  out.append(frame, sizeof(frame));
}

void AppendUserListFrame(std::string& out, const uint8_t* ids, size_t count) {
  AppendFrameHeader(out, Opcode::kBinary, 1 + count);
  out.push_back(static_cast<char>(MessageType::kInitialUserList));
  out.append(reinterpret_cast<const char*>(ids), count);
}

}  // namespace cursord::core
