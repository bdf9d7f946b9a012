#include "server/core/wire.h"

#include "server/core/ws_frame.h"

namespace cursord::core {

bool DecodeClientMessage(const uint8_t* data, size_t size, ClientMessage* message,
                         DecodeError* error, ProtocolVersion version) {
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
    case MessageType::kMemberState:
      if (version != ProtocolVersion::kV2) break;
      message->kind = ClientMessage::Kind::kState;
      message->state = std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1);
      return true;
    default:
      break;
  }
  // Types 01-04 and 08 are server-to-client only; 09 is v2's; anything else
  // is unknown.
  *error = DecodeError::kUnknownType;
  return false;
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

void AppendMemberInfoFrame(std::string& out, uint8_t id, Rgb color, std::string_view user,
                           std::string_view name) {
  user = user.substr(0, 255);
  name = name.substr(0, 255);
  AppendFrameHeader(out, Opcode::kBinary, 7 + user.size() + name.size());
  const char head[5] = {static_cast<char>(MessageType::kMemberInfo), static_cast<char>(id),
                        static_cast<char>(color.r), static_cast<char>(color.g),
                        static_cast<char>(color.b)};
  out.append(head, sizeof(head));
  out.push_back(static_cast<char>(user.size()));
  out.append(user);
  out.push_back(static_cast<char>(name.size()));
  out.append(name);
}

void AppendMemberStateFrame(std::string& out, uint8_t id, std::string_view state) {
  AppendFrameHeader(out, Opcode::kBinary, 2 + state.size());
  out.push_back(static_cast<char>(MessageType::kMemberState));
  out.push_back(static_cast<char>(id));
  out.append(state);
}

}  // namespace cursord::core
