// The cursor protocol's codec (server/core/wire.h) and the server frame
// encoders (server/core/ws_frame.h), read back by core::FrameParser.
//
// Input: one client message, the payload of a binary frame ("\x05\x01\x02
// \x03\x04" is a cursor at 258,772). Its bytes also serve as the ids, the
// coordinates and the close reason that the encoders are given.
//
// Checks:
//  - DecodeClientMessage follows the protocol table, in v1 and in v2: 05
//    needs 5 bytes and takes x and y big-endian, 06 and 07 take any length,
//    09 (v2 only) takes the rest of the message as the state, an empty
//    message and every other type are refused with their own error;
//  - every frame the server encodes (cursor, id, user list, v2 member info
//    and state, data, close),
//    masked as a client would, parses back to exactly what was encoded; a
//    close reason comes back cut to 123 bytes at a character boundary, or
//    the connection fails with 1007 when the reason is not UTF-8.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "server/core/utf8.h"
#include "server/core/wire.h"
#include "server/core/ws_frame.h"
#include "tests/fuzz/fuzz_check.h"

namespace cursord::fuzz {
namespace {

using core::Opcode;

void CheckDecode(const uint8_t* data, size_t size, core::ProtocolVersion version) {
  core::ClientMessage message;
  core::DecodeError error = core::DecodeError::kNone;
  const bool ok = core::DecodeClientMessage(data, size, &message, &error, version);
  if (size == 0) {
    FUZZ_CHECK(!ok && error == core::DecodeError::kEmpty);
    return;
  }
  switch (data[0]) {
    case 0x05:
      if (size < 5) {
        FUZZ_CHECK(!ok && error == core::DecodeError::kTooShort);
      } else {
        FUZZ_CHECK(ok && message.kind == core::ClientMessage::Kind::kCursor);
        FUZZ_CHECK(message.x == (data[1] << 8 | data[2]));
        FUZZ_CHECK(message.y == (data[3] << 8 | data[4]));
      }
      break;
    case 0x06:
      FUZZ_CHECK(ok && message.kind == core::ClientMessage::Kind::kClickStart);
      break;
    case 0x07:
      FUZZ_CHECK(ok && message.kind == core::ClientMessage::Kind::kClickStop);
      break;
    case 0x09:
      if (version == core::ProtocolVersion::kV2) {
        FUZZ_CHECK(ok && message.kind == core::ClientMessage::Kind::kState);
        FUZZ_CHECK(message.state.size() == size - 1 &&
                   std::memcmp(message.state.data(), data + 1, size - 1) == 0);
      } else {
        FUZZ_CHECK(!ok && error == core::DecodeError::kUnknownType);
      }
      break;
    default:
      FUZZ_CHECK(!ok && error == core::DecodeError::kUnknownType);
  }
}

// Turns unmasked server frames into the masked frames a client would send.
std::string MaskFrames(std::string_view frames, const uint8_t mask[4]) {
  std::string out;
  size_t pos = 0;
  while (pos < frames.size()) {
    FUZZ_CHECK(frames.size() - pos >= 2);
    const auto byte = [&](size_t i) { return static_cast<uint8_t>(frames[pos + i]); };
    FUZZ_CHECK((byte(1) & 0x80) == 0);  // a server never masks
    size_t header = 2;
    uint64_t length = byte(1);
    if (length == 126) {
      header = 4;
      FUZZ_CHECK(frames.size() - pos >= header);
      length = byte(2) << 8 | byte(3);
      FUZZ_CHECK(length >= 126);  // the shortest form (RFC 6455 5.2)
    } else if (length == 127) {
      header = 10;
      FUZZ_CHECK(frames.size() - pos >= header);
      length = 0;
      for (size_t i = 2; i < 10; ++i) length = length << 8 | byte(i);
      FUZZ_CHECK(length > 0xFFFF);
    }
    FUZZ_CHECK(frames.size() - pos - header >= length);
    out.append(frames.substr(pos, header));
    out[out.size() - header + 1] = static_cast<char>(byte(1) | 0x80);
    out.append(reinterpret_cast<const char*>(mask), 4);
    for (size_t i = 0; i < length; ++i) {
      out.push_back(static_cast<char>(frames[pos + header + i] ^ mask[i & 3]));
    }
    pos += header + length;
  }
  return out;
}

struct Received {
  std::vector<std::pair<Opcode, std::string>> messages;
  bool closed = false;
  uint16_t close_code = 0;
  std::string close_reason;
};

class Collector : public core::FrameHandler {
 public:
  explicit Collector(Received* received) : received_(received) {}
  void OnMessage(Opcode opcode, const uint8_t* data, size_t size) override {
    received_->messages.emplace_back(opcode, std::string(AsText(data, size)));
  }
  void OnPing(const uint8_t*, size_t) override { FUZZ_CHECK(false); }
  void OnPong() override { FUZZ_CHECK(false); }
  void OnClose(uint16_t code, std::string_view reason) override {
    received_->closed = true;
    received_->close_code = code;
    received_->close_reason = std::string(reason);
  }

 private:
  Received* received_;
};

// Parses server frames as if a client had sent them.
core::FrameParser::Result ReadBack(std::string_view frames, const uint8_t mask[4],
                                   Received* received) {
  std::string masked = MaskFrames(frames, mask);
  core::FrameParser parser(1 << 20);
  Collector collector(received);
  return parser.Consume(reinterpret_cast<uint8_t*>(masked.data()), masked.size(), collector);
}

void CheckEncoders(const uint8_t* data, size_t size) {
  const std::string_view input = AsText(data, size);
  uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
  std::memcpy(mask, data, size < 4 ? size : 4);
  const uint8_t id = size > 0 ? data[0] : 0;
  const uint16_t x = size > 2 ? static_cast<uint16_t>(data[1] << 8 | data[2]) : 0;
  const uint16_t y = size > 4 ? static_cast<uint16_t>(data[3] << 8 | data[4]) : 0;

  // Data frames, in one stream as a flush writes them.
  std::string frames;
  std::vector<std::pair<Opcode, std::string>> expected;
  core::AppendCursorFrame(frames, id, x, y);
  expected.emplace_back(Opcode::kBinary,
                        std::string{0x05, static_cast<char>(id), static_cast<char>(x >> 8),
                                    static_cast<char>(x & 0xFF), static_cast<char>(y >> 8),
                                    static_cast<char>(y & 0xFF)});
  for (core::MessageType type :
       {core::MessageType::kInitialConnection, core::MessageType::kUserJoined,
        core::MessageType::kUserLeft, core::MessageType::kStartedClicking,
        core::MessageType::kStoppedClicking}) {
    core::AppendIdFrame(frames, type, id);
    expected.emplace_back(Opcode::kBinary,
                          std::string{static_cast<char>(type), static_cast<char>(id)});
  }
  core::AppendUserListFrame(frames, data, size);
  expected.emplace_back(Opcode::kBinary, std::string("\x02", 1) + std::string(input));
  core::AppendFrame(frames, Opcode::kBinary, input);
  expected.emplace_back(Opcode::kBinary, std::string(input));
  // v2: the input as a member's state, and split into a user id and a name
  // (each cut at 255 bytes by the encoder).
  core::AppendMemberStateFrame(frames, id, input);
  expected.emplace_back(Opcode::kBinary, std::string{0x09, static_cast<char>(id)} +
                                             std::string(input));
  const std::string_view user = input.substr(0, input.size() / 2);
  const std::string_view name = input.substr(input.size() / 2);
  const core::Rgb color{static_cast<uint8_t>(x >> 8), static_cast<uint8_t>(x),
                        static_cast<uint8_t>(y)};
  core::AppendMemberInfoFrame(frames, id, color, user, name);
  const std::string_view user_cut = user.substr(0, 255);
  const std::string_view name_cut = name.substr(0, 255);
  expected.emplace_back(
      Opcode::kBinary,
      std::string{0x08, static_cast<char>(id), static_cast<char>(color.r),
                  static_cast<char>(color.g), static_cast<char>(color.b),
                  static_cast<char>(user_cut.size())} +
          std::string(user_cut) + std::string(1, static_cast<char>(name_cut.size())) +
          std::string(name_cut));
  core::AppendFrame(frames, Opcode::kText, input);
  expected.emplace_back(Opcode::kText, std::string(input));

  Received received;
  const core::FrameParser::Result result = ReadBack(frames, mask, &received);
  FUZZ_CHECK(result.ok);
  FUZZ_CHECK(!received.closed);
  FUZZ_CHECK(received.messages == expected);

  // A close frame with the input as its reason.
  static constexpr uint16_t kCodes[] = {1000, 1001, 1008, 1009, 1011, 1013, 4000, 4999};
  const uint16_t code = kCodes[id % (sizeof(kCodes) / sizeof(kCodes[0]))];
  std::string close;
  core::AppendCloseFrame(close, code, input);
  const std::string_view sent_reason = input.substr(0, core::Utf8Prefix(input, 123));
  FUZZ_CHECK(sent_reason.size() <= 123);
  FUZZ_CHECK(sent_reason.size() == input.size() || input.size() > 123);
  Received closed;
  const core::FrameParser::Result close_result = ReadBack(close, mask, &closed);
  if (core::IsValidUtf8(sent_reason)) {
    FUZZ_CHECK(close_result.ok && closed.closed);
    FUZZ_CHECK(closed.close_code == code && closed.close_reason == sent_reason);
  } else {
    FUZZ_CHECK(!close_result.ok && close_result.close_code == core::kCloseInvalidPayload);
  }
}

}  // namespace
}  // namespace cursord::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cursord::fuzz::CheckDecode(data, size, cursord::core::ProtocolVersion::kV1);
  cursord::fuzz::CheckDecode(data, size, cursord::core::ProtocolVersion::kV2);
  cursord::fuzz::CheckEncoders(data, size);
  return 0;
}
