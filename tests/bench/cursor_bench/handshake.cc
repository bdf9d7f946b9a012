#include "handshake.h"

#include <cstdint>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace cursord::bench {
namespace {

constexpr absl::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
// A response head larger than this is not a WebSocket server talking.
constexpr size_t kMaxResponseHead = 16 * 1024;

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

std::string Sha1(absl::string_view data) {
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

std::string Base64Encode(absl::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const uint32_t v = (uint32_t{static_cast<uint8_t>(data[i])} << 16) |
                       (uint32_t{static_cast<uint8_t>(data[i + 1])} << 8) |
                       static_cast<uint8_t>(data[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const size_t rest = data.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t{static_cast<uint8_t>(data[i])} << 16;
    if (rest == 2) v |= uint32_t{static_cast<uint8_t>(data[i + 1])} << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string AcceptKeyFor(absl::string_view client_key) {
  return Base64Encode(Sha1(absl::StrCat(client_key, kGuid)));
}

std::string ClientKeyFromNonce(uint64_t a, uint64_t b) {
  char raw[16];
  std::memcpy(raw, &a, 8);
  std::memcpy(raw + 8, &b, 8);
  return Base64Encode(absl::string_view(raw, 16));
}

std::string BuildUpgradeRequest(absl::string_view host, absl::string_view path,
                                absl::string_view client_key) {
  return absl::StrCat("GET ", path,
                      " HTTP/1.1\r\n"
                      "Host: ",
                      host,
                      "\r\n"
                      "Upgrade: websocket\r\n"
                      "Connection: Upgrade\r\n"
                      "Sec-WebSocket-Key: ",
                      client_key,
                      "\r\n"
                      "Sec-WebSocket-Version: 13\r\n"
                      "\r\n");
}

absl::StatusOr<size_t> ParseUpgradeResponse(absl::string_view data,
                                            absl::string_view expected_accept) {
  const size_t end = data.find("\r\n\r\n");
  if (end == absl::string_view::npos) {
    if (data.size() > kMaxResponseHead) {
      return absl::InvalidArgumentError("response head too large");
    }
    return 0;
  }
  const absl::string_view head = data.substr(0, end);
  std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
  const absl::string_view status = lines.front();
  // "HTTP/1.1 101 Switching Protocols": only the code matters.
  std::vector<absl::string_view> parts =
      absl::StrSplit(status, absl::MaxSplits(' ', 2));
  if (parts.size() < 2 || !absl::StartsWith(parts[0], "HTTP/1.") ||
      parts[1] != "101") {
    return absl::FailedPreconditionError(
        absl::StrCat("upgrade refused: ", status));
  }
  bool upgrade = false, connection = false, accept = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos) continue;
    const absl::string_view name = absl::StripAsciiWhitespace(lines[i].substr(0, colon));
    const absl::string_view value =
        absl::StripAsciiWhitespace(lines[i].substr(colon + 1));
    if (absl::EqualsIgnoreCase(name, "upgrade")) {
      upgrade = absl::EqualsIgnoreCase(value, "websocket");
    } else if (absl::EqualsIgnoreCase(name, "connection")) {
      // A token list, e.g. "keep-alive, Upgrade".
      for (absl::string_view token : absl::StrSplit(value, ',')) {
        if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(token), "upgrade")) {
          connection = true;
        }
      }
    } else if (absl::EqualsIgnoreCase(name, "sec-websocket-accept")) {
      accept = value == expected_accept;
    }
  }
  if (!upgrade || !connection) {
    return absl::InvalidArgumentError("missing Upgrade/Connection headers");
  }
  if (!accept) return absl::InvalidArgumentError("wrong Sec-WebSocket-Accept");
  return end + 4;
}

}  // namespace cursord::bench
