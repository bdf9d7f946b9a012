#include "frame_codec.h"

#include <cstring>

namespace cursord::bench {

size_t EncodeClientFrame(Opcode opcode, const uint8_t* payload, size_t size,
                         uint32_t mask_key, uint8_t* buf) {
  size_t pos = 0;
  buf[pos++] = static_cast<uint8_t>(0x80 | static_cast<uint8_t>(opcode));
  if (size < 126) {
    buf[pos++] = static_cast<uint8_t>(0x80 | size);
  } else if (size <= 0xFFFF) {
    buf[pos++] = 0x80 | 126;
    buf[pos++] = static_cast<uint8_t>(size >> 8);
    buf[pos++] = static_cast<uint8_t>(size);
  } else {
    buf[pos++] = 0x80 | 127;
    for (int shift = 56; shift >= 0; shift -= 8) {
      buf[pos++] = static_cast<uint8_t>(static_cast<uint64_t>(size) >> shift);
    }
  }
  const uint8_t mask[4] = {
      static_cast<uint8_t>(mask_key >> 24), static_cast<uint8_t>(mask_key >> 16),
      static_cast<uint8_t>(mask_key >> 8), static_cast<uint8_t>(mask_key)};
  std::memcpy(buf + pos, mask, 4);
  pos += 4;
  for (size_t i = 0; i < size; ++i) buf[pos + i] = payload[i] ^ mask[i & 3];
  return pos + size;
}

void AppendClientFrame(Opcode opcode, const uint8_t* payload, size_t size,
                       uint32_t mask_key, std::string* out) {
  const size_t old = out->size();
  out->resize(old + kMaxClientHeader + size);
  const size_t n =
      EncodeClientFrame(opcode, payload, size, mask_key,
                        reinterpret_cast<uint8_t*>(out->data() + old));
  out->resize(old + n);
}

absl::StatusOr<size_t> ParseServerFrame(const uint8_t* data, size_t size,
                                        size_t max_payload, FrameView* frame) {
  if (size < 2) return 0;
  const uint8_t b0 = data[0];
  const uint8_t b1 = data[1];
  if (b0 & 0x70) return absl::InvalidArgumentError("reserved bits set");
  const uint8_t op = b0 & 0x0F;
  const bool known = op <= 0x2 || (op >= 0x8 && op <= 0xA);
  if (!known) return absl::InvalidArgumentError("unknown opcode");
  // RFC 6455 5.1: a client must fail the connection on a masked frame.
  if (b1 & 0x80) return absl::InvalidArgumentError("masked server frame");
  const bool fin = (b0 & 0x80) != 0;
  uint64_t len = b1 & 0x7F;
  size_t header = 2;
  if (op >= 0x8 && (!fin || len > 125)) {
    return absl::InvalidArgumentError("bad control frame");
  }
  if (len == 126) {
    if (size < 4) return 0;
    len = (uint64_t{data[2]} << 8) | data[3];
    header = 4;
  } else if (len == 127) {
    if (size < 10) return 0;
    len = 0;
    for (int i = 2; i < 10; ++i) len = (len << 8) | data[i];
    if (len >> 63) return absl::InvalidArgumentError("length high bit set");
    header = 10;
  }
  if (len > max_payload) return absl::ResourceExhaustedError("frame too large");
  if (size - header < len) return 0;
  frame->fin = fin;
  frame->opcode = static_cast<Opcode>(op);
  frame->payload = data + header;
  frame->size = static_cast<size_t>(len);
  return header + static_cast<size_t>(len);
}

}  // namespace cursord::bench
