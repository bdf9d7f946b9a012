#include "server/core/ws_frame.h"

#include <cstring>

#include "server/core/utf8.h"

namespace cursord::core {
namespace {

bool IsControl(Opcode opcode) { return (static_cast<uint8_t>(opcode) & 0x8) != 0; }

bool IsKnownOpcode(uint8_t op) {
  return op <= 0x2 || (op >= 0x8 && op <= 0xA);
}

// Close codes a peer may send: RFC 6455 7.4.1, the later IANA registrations
// 1012-1014 (browsers echo our 1013), and the 3000-4999 ranges.
bool IsValidReceivedCloseCode(uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

void Unmask(uint8_t* payload, size_t size, const uint8_t mask[4]) {
  for (size_t i = 0; i < size; ++i) payload[i] ^= mask[i & 3];
}

}  // namespace

void AppendFrameHeader(std::string& out, Opcode opcode, size_t size) {
  out.push_back(static_cast<char>(0x80 | static_cast<uint8_t>(opcode)));
  if (size < 126) {
    out.push_back(static_cast<char>(size));
  } else if (size <= 0xFFFF) {
    out.push_back(126);
    out.push_back(static_cast<char>(size >> 8));
    out.push_back(static_cast<char>(size & 0xFF));
  } else {
    out.push_back(127);
    for (int shift = 56; shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>((static_cast<uint64_t>(size) >> shift) & 0xFF));
    }
  }
}

void AppendFrame(std::string& out, Opcode opcode, std::string_view payload) {
  AppendFrameHeader(out, opcode, payload.size());
  out.append(payload.data(), payload.size());
}

void AppendCloseFrame(std::string& out, uint16_t code, std::string_view reason) {
  reason = reason.substr(0, Utf8Prefix(reason, kMaxCloseReasonBytes));
  AppendFrameHeader(out, Opcode::kClose, 2 + reason.size());
  out.push_back(static_cast<char>(code >> 8));
  out.push_back(static_cast<char>(code & 0xFF));
  out.append(reason.data(), reason.size());
}

FrameParser::Result FrameParser::Consume(uint8_t* data, size_t size, FrameHandler& handler) {
  Result result;
  bool stop = false;
  if (partial_.empty()) {
    const size_t used = ParseFrames(data, size, handler, &result, &stop);
    if (!stop && used < size) partial_.assign(reinterpret_cast<char*>(data) + used, size - used);
  } else {
    // Rare: a frame was split across reads. Join and parse from our copy.
    partial_.append(reinterpret_cast<char*>(data), size);
    const size_t used = ParseFrames(reinterpret_cast<uint8_t*>(partial_.data()),
                                    partial_.size(), handler, &result, &stop);
    if (stop) {
      partial_.clear();
    } else {
      partial_.erase(0, used);
    }
  }
  if (stop) {
    partial_.clear();
    partial_.shrink_to_fit();
  } else if (partial_.empty() && partial_.capacity() > 256) {
    // Don't let one large frame pin memory on an idle connection.
    partial_.shrink_to_fit();
  }
  return result;
}

size_t FrameParser::ParseFrames(uint8_t* data, size_t size, FrameHandler& handler,
                                Result* result, bool* stop) {
  auto fail = [&](uint16_t code, const char* reason) {
    result->ok = false;
    result->close_code = code;
    result->reason = reason;
    *stop = true;
  };
  size_t pos = 0;
  while (size - pos >= 2) {
    const uint8_t* h = data + pos;
    const bool fin = (h[0] & 0x80) != 0;
    const uint8_t op = h[0] & 0x0F;
    if ((h[0] & 0x70) != 0) {
      fail(kCloseProtocolError, "reserved bits set");
      return pos;
    }
    if (!IsKnownOpcode(op)) {
      fail(kCloseProtocolError, "unknown opcode");
      return pos;
    }
    if ((h[1] & 0x80) == 0) {
      fail(kCloseProtocolError, "client frames must be masked");
      return pos;
    }
    const Opcode opcode = static_cast<Opcode>(op);
    size_t header = 2;
    uint64_t length = h[1] & 0x7F;
    if (length == 126) {
      header = 4;
      if (size - pos < header) break;
      length = (static_cast<uint64_t>(h[2]) << 8) | h[3];
    } else if (length == 127) {
      header = 10;
      if (size - pos < header) break;
      length = 0;
      for (int i = 2; i < 10; ++i) length = (length << 8) | h[i];
      if (length >> 63) {
        fail(kCloseProtocolError, "invalid frame length");
        return pos;
      }
    }
    if (IsControl(opcode)) {
      if (!fin || length > 125) {
        fail(kCloseProtocolError, "invalid control frame");
        return pos;
      }
    } else {
      const bool continuation = opcode == Opcode::kContinuation;
      const bool open = fragment_opcode_ != Opcode::kContinuation;
      if (continuation != open) {
        fail(kCloseProtocolError, continuation ? "continuation without a message"
                                               : "new message inside a fragmented one");
        return pos;
      }
      // Checked at the header, before any payload is buffered.
      if (length > max_message_bytes_ || fragments_.size() + length > max_message_bytes_) {
        fail(kCloseTooBig, "message too big");
        return pos;
      }
    }
    header += 4;  // the mask
    if (size - pos < header || size - pos - header < length) break;
    uint8_t mask[4];
    std::memcpy(mask, h + header - 4, 4);
    uint8_t* payload = data + pos + header;
    const size_t n = static_cast<size_t>(length);
    Unmask(payload, n, mask);
    pos += header + n;

    switch (opcode) {
      case Opcode::kText:
      case Opcode::kBinary:
        if (fin) {
          handler.OnMessage(opcode, payload, n);
        } else {
          fragment_opcode_ = opcode;
          fragments_.assign(reinterpret_cast<char*>(payload), n);
        }
        break;
      case Opcode::kContinuation:
        fragments_.append(reinterpret_cast<char*>(payload), n);
        if (fin) {
          const Opcode message_opcode = fragment_opcode_;
          fragment_opcode_ = Opcode::kContinuation;
          std::string message;
          message.swap(fragments_);
          handler.OnMessage(message_opcode, reinterpret_cast<uint8_t*>(message.data()),
                            message.size());
        }
        break;
      case Opcode::kPing:
        handler.OnPing(payload, n);
        break;
      case Opcode::kPong:
        handler.OnPong();
        break;
      case Opcode::kClose: {
        if (n == 1) {
          fail(kCloseProtocolError, "invalid close frame");
          return pos;
        }
        uint16_t code = kCloseNoStatus;
        std::string_view reason;
        if (n >= 2) {
          code = static_cast<uint16_t>((payload[0] << 8) | payload[1]);
          if (!IsValidReceivedCloseCode(code)) {
            fail(kCloseProtocolError, "invalid close code");
            return pos;
          }
          reason = std::string_view(reinterpret_cast<char*>(payload + 2), n - 2);
          // RFC 6455 5.5.1 and 8.1: the reason is UTF-8, and a peer that
          // sends anything else fails the connection with 1007.
          if (!IsValidUtf8(reason)) {
            fail(kCloseInvalidPayload, "close reason is not valid UTF-8");
            return pos;
          }
        }
        handler.OnClose(code, reason);
        *stop = true;
        return pos;
      }
    }
  }
  return pos;
}

}  // namespace cursord::core
