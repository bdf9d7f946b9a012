#include "server/core/ws_handshake.h"

#include <cstdint>
#include <cstring>

#include "absl/strings/escaping.h"

namespace cursord::core {
namespace {

// RFC 6455 section 1.3.
constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '+' || c == '/';
}

uint32_t RotateLeft(uint32_t v, int n) { return (v << n) | (v >> (32 - n)); }

void Sha1Block(const uint8_t* block, uint32_t h[5]) {
  uint32_t w[80];
  for (int i = 0; i < 16; ++i) {
    w[i] = (uint32_t{block[4 * i]} << 24) | (uint32_t{block[4 * i + 1]} << 16) |
           (uint32_t{block[4 * i + 2]} << 8) | uint32_t{block[4 * i + 3]};
  }
  for (int i = 16; i < 80; ++i) {
    w[i] = RotateLeft(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
  for (int i = 0; i < 80; ++i) {
    uint32_t f, k;
    if (i < 20) {
      f = (b & c) | (~b & d);
      k = 0x5A827999;
    } else if (i < 40) {
      f = b ^ c ^ d;
      k = 0x6ED9EBA1;
    } else if (i < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8F1BBCDC;
    } else {
      f = b ^ c ^ d;
      k = 0xCA62C1D6;
    }
    const uint32_t t = RotateLeft(a, 5) + f + e + k + w[i];
    e = d;
    d = c;
    c = RotateLeft(b, 30);
    b = a;
    a = t;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
}

}  // namespace

std::string Sha1(std::string_view data) {
  uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  const size_t full = data.size() / 64;
  for (size_t i = 0; i < full; ++i) {
    Sha1Block(reinterpret_cast<const uint8_t*>(data.data()) + 64 * i, h);
  }
  // Padding: 0x80, zeros, then the bit length; one or two final blocks.
  uint8_t tail[128] = {};
  const size_t rest = data.size() - 64 * full;
  std::memcpy(tail, data.data() + 64 * full, rest);
  tail[rest] = 0x80;
  const size_t tail_len = rest + 9 <= 64 ? 64 : 128;
  const uint64_t bits = static_cast<uint64_t>(data.size()) * 8;
  for (int i = 0; i < 8; ++i) {
    tail[tail_len - 1 - i] = static_cast<uint8_t>(bits >> (8 * i));
  }
  for (size_t off = 0; off < tail_len; off += 64) Sha1Block(tail + off, h);
  std::string digest(20, '\0');
  for (int i = 0; i < 5; ++i) {
    for (int j = 0; j < 4; ++j) {
      digest[4 * i + j] = static_cast<char>(h[i] >> (24 - 8 * j));
    }
  }
  return digest;
}

std::string AcceptKeyFor(std::string_view client_key) {
  return absl::Base64Escape(Sha1(std::string(client_key) + std::string(kGuid)));
}

bool IsValidClientKey(std::string_view key) {
  // 16 bytes encode to 22 characters and "==".
  if (key.size() != 24 || key.substr(22) != "==") return false;
  for (size_t i = 0; i < 22; ++i) {
    if (!IsBase64Char(key[i])) return false;
  }
  return true;
}

HandshakeVerdict CheckHandshake(std::string_view host, std::string_view key,
                                std::string_view version) {
  HandshakeVerdict verdict;
  if (version != "13") {
    verdict.status = version.empty() ? 400 : 426;
    verdict.error = version.empty() ? "missing Sec-WebSocket-Version"
                                    : "unsupported Sec-WebSocket-Version; this server speaks 13";
    return verdict;
  }
  if (host.empty()) {
    verdict.status = 400;
    verdict.error = "missing Host";
    return verdict;
  }
  if (!IsValidClientKey(key)) {
    verdict.status = 400;
    verdict.error = "bad Sec-WebSocket-Key: must be the base64 of 16 bytes";
    return verdict;
  }
  verdict.accept_key = AcceptKeyFor(key);
  return verdict;
}

std::string SwitchingProtocolsResponse(std::string_view accept_key,
                                       std::string_view subprotocol) {
  std::string head =
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ";
  head.append(accept_key);
  if (!subprotocol.empty()) {
    head.append("\r\nSec-WebSocket-Protocol: ");
    head.append(subprotocol);
  }
  head.append("\r\nServer: cursord\r\n\r\n");
  return head;
}

}  // namespace cursord::core
