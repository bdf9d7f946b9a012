#include "server/common/escape.h"

#include <cstdint>

namespace cursord {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// The code point of the well-formed UTF-8 sequence (RFC 3629) that starts
// `text` at `at`, and its length in bytes; length 0 when there is none
// (a stray continuation byte, an overlong form, a surrogate, a code point
// past U+10FFFF, a truncated sequence).
struct Decoded {
  uint32_t code_point = 0;
  size_t length = 0;
};

Decoded DecodeUtf8(absl::string_view text, size_t at) {
  const uint8_t lead = static_cast<uint8_t>(text[at]);
  size_t length;
  uint32_t code_point;
  uint32_t smallest;  // below it, the form is overlong
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    code_point = lead & 0x1F;
    smallest = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    code_point = lead & 0x0F;
    smallest = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    code_point = lead & 0x07;
    smallest = 0x10000;
  } else {
    return {};
  }
  if (text.size() - at < length) return {};
  for (size_t k = 1; k < length; ++k) {
    const uint8_t next = static_cast<uint8_t>(text[at + k]);
    if ((next & 0xC0) != 0x80) return {};
    code_point = (code_point << 6) | (next & 0x3F);
  }
  if (code_point < smallest || code_point > 0x10FFFF ||
      (code_point >= 0xD800 && code_point <= 0xDFFF)) {
    return {};
  }
  return {code_point, length};
}

// Code points that pass UTF-8 validation but still act on a line or a
// terminal: C1 controls, line/paragraph separators, bidi overrides.
bool IsHiddenControl(uint32_t code_point) {
  return (code_point >= 0x80 && code_point <= 0x9F) || code_point == 0x2028 ||
         code_point == 0x2029 || (code_point >= 0x202A && code_point <= 0x202E) ||
         (code_point >= 0x2066 && code_point <= 0x2069);
}

void AppendByteEscape(uint8_t byte, std::string* out) {
  out->append({'\\', 'x', kHex[byte >> 4], kHex[byte & 0xF]});
}

void AppendCodePointEscape(uint32_t code_point, std::string* out) {
  out->append({'\\', 'u', kHex[(code_point >> 12) & 0xF], kHex[(code_point >> 8) & 0xF],
               kHex[(code_point >> 4) & 0xF], kHex[code_point & 0xF]});
}

bool IsPlainAscii(char c) { return c >= 0x20 && c < 0x7F && c != '\\'; }

}  // namespace

std::string EscapeControl(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t at = 0;
  while (at < text.size()) {
    const char c = text[at];
    if (IsPlainAscii(c)) {
      out.push_back(c);
      ++at;
      continue;
    }
    switch (c) {
      case '\n': out.append("\\n"); ++at; continue;
      case '\r': out.append("\\r"); ++at; continue;
      case '\t': out.append("\\t"); ++at; continue;
      case '\\': out.append("\\\\"); ++at; continue;
      default: break;
    }
    const uint8_t byte = static_cast<uint8_t>(c);
    if (byte < 0x80) {  // the other C0 controls and DEL
      AppendByteEscape(byte, &out);
      ++at;
      continue;
    }
    const Decoded decoded = DecodeUtf8(text, at);
    if (decoded.length == 0) {
      AppendByteEscape(byte, &out);
      ++at;
    } else if (IsHiddenControl(decoded.code_point)) {
      AppendCodePointEscape(decoded.code_point, &out);
      at += decoded.length;
    } else {
      out.append(text.data() + at, decoded.length);
      at += decoded.length;
    }
  }
  return out;
}

}  // namespace cursord
