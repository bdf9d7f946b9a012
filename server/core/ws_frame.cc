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

// One frame's header, as read from the wire (RFC 6455 5.2).
struct FrameParser::Header {
  bool fin = false;
  Opcode opcode = Opcode::kContinuation;
  uint64_t length = 0;  // payload bytes
  size_t size = 0;      // header bytes, mask included
  uint8_t mask[4] = {0, 0, 0, 0};
};

FrameParser::HeaderStatus FrameParser::ReadHeader(const uint8_t* h, size_t available,
                                                  Header* header, Result* error) const {
  auto fail = [error](uint16_t code, const char* reason) {
    error->ok = false;
    error->close_code = code;
    error->reason = reason;
    return HeaderStatus::kError;
  };
  header->fin = (h[0] & 0x80) != 0;
  const uint8_t op = h[0] & 0x0F;
  if ((h[0] & 0x70) != 0) return fail(kCloseProtocolError, "reserved bits set");
  if (!IsKnownOpcode(op)) return fail(kCloseProtocolError, "unknown opcode");
  if ((h[1] & 0x80) == 0) return fail(kCloseProtocolError, "client frames must be masked");
  header->opcode = static_cast<Opcode>(op);
  header->size = 2;
  header->length = h[1] & 0x7F;
  if (header->length == 126) {
    header->size = 4;
    if (available < header->size) return HeaderStatus::kIncomplete;
    header->length = (static_cast<uint64_t>(h[2]) << 8) | h[3];
  } else if (header->length == 127) {
    header->size = 10;
    if (available < header->size) return HeaderStatus::kIncomplete;
    header->length = 0;
    for (int i = 2; i < 10; ++i) header->length = (header->length << 8) | h[i];
    if (header->length >> 63) return fail(kCloseProtocolError, "invalid frame length");
  }
  if (IsControl(header->opcode)) {
    if (!header->fin || header->length > 125) {
      return fail(kCloseProtocolError, "invalid control frame");
    }
  } else {
    const bool continuation = header->opcode == Opcode::kContinuation;
    const bool open = fragment_opcode_ != Opcode::kContinuation;
    if (continuation != open) {
      return fail(kCloseProtocolError, continuation ? "continuation without a message"
                                                    : "new message inside a fragmented one");
    }
    // Checked at the header, before any payload is buffered.
    if (header->length > max_message_bytes_ ||
        fragments_.size() + header->length > max_message_bytes_) {
      return fail(kCloseTooBig, "message too big");
    }
  }
  header->size += 4;  // the mask
  if (available < header->size) return HeaderStatus::kIncomplete;
  std::memcpy(header->mask, h + header->size - 4, 4);
  return HeaderStatus::kComplete;
}

bool FrameParser::Deliver(const Header& header, uint8_t* payload, size_t n,
                          FrameHandler& handler, Result* result) {
  switch (header.opcode) {
    case Opcode::kText:
    case Opcode::kBinary:
      if (header.fin) {
        handler.OnMessage(header.opcode, payload, n);
      } else {
        fragment_opcode_ = header.opcode;
        fragments_.assign(reinterpret_cast<char*>(payload), n);
      }
      return true;
    case Opcode::kContinuation:
      fragments_.append(reinterpret_cast<char*>(payload), n);
      if (header.fin) {
        const Opcode message_opcode = fragment_opcode_;
        fragment_opcode_ = Opcode::kContinuation;
        std::string message;
        message.swap(fragments_);
        handler.OnMessage(message_opcode, reinterpret_cast<uint8_t*>(message.data()),
                          message.size());
      }
      return true;
    case Opcode::kPing:
      handler.OnPing(payload, n);
      return true;
    case Opcode::kPong:
      handler.OnPong();
      return true;
    case Opcode::kClose:
      DeliverClose(payload, n, handler, result);
      return false;  // nothing is parsed after a close frame
  }
  return true;
}

void FrameParser::DeliverClose(const uint8_t* payload, size_t n, FrameHandler& handler,
                               Result* result) {
  auto fail = [result](uint16_t code, const char* reason) {
    result->ok = false;
    result->close_code = code;
    result->reason = reason;
  };
  if (n == 1) return fail(kCloseProtocolError, "invalid close frame");
  uint16_t code = kCloseNoStatus;
  std::string_view reason;
  if (n >= 2) {
    code = static_cast<uint16_t>((payload[0] << 8) | payload[1]);
    if (!IsValidReceivedCloseCode(code)) return fail(kCloseProtocolError, "invalid close code");
    reason = std::string_view(reinterpret_cast<const char*>(payload + 2), n - 2);
    // RFC 6455 5.5.1 and 8.1: the reason is UTF-8, and a peer that sends
    // anything else fails the connection with 1007.
    if (!IsValidUtf8(reason)) {
      return fail(kCloseInvalidPayload, "close reason is not valid UTF-8");
    }
  }
  handler.OnClose(code, reason);
}

size_t FrameParser::ParseFrames(uint8_t* data, size_t size, FrameHandler& handler,
                                Result* result, bool* stop) {
  size_t pos = 0;
  while (size - pos >= 2) {
    Header header;
    const HeaderStatus status = ReadHeader(data + pos, size - pos, &header, result);
    if (status == HeaderStatus::kError) {
      *stop = true;
      return pos;
    }
    if (status == HeaderStatus::kIncomplete || size - pos - header.size < header.length) break;
    uint8_t* payload = data + pos + header.size;
    const size_t n = static_cast<size_t>(header.length);
    Unmask(payload, n, header.mask);
    pos += header.size + n;
    if (!Deliver(header, payload, n, handler, result)) {
      *stop = true;
      return pos;
    }
  }
  return pos;
}

}  // namespace cursord::core
