#include "server/core/utf8.h"

#include <cstdint>

namespace cursord::core {
namespace {

// Walks `text`; returns false at the first ill-formed sequence, or at a
// control character when `printable` is asked for.
bool CheckUtf8(std::string_view text, bool printable) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (printable && (c < 0x20 || c == 0x7F)) return false;
      ++i;
      continue;
    }
    int extra;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;  // truncated
    for (int k = 1; k <= extra; ++k) {
      const unsigned char cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and out-of-range code points.
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
        (extra == 3 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    if (printable && cp >= 0x80 && cp < 0xA0) return false;  // C1 controls
    i += extra + 1;
  }
  return true;
}

}  // namespace

bool IsValidUtf8(std::string_view text) { return CheckUtf8(text, false); }

bool IsPrintableUtf8(std::string_view text) { return CheckUtf8(text, true); }

size_t Utf8Prefix(std::string_view text, size_t limit) {
  if (text.size() <= limit) return text.size();
  size_t n = limit;
  while (n > 0 && (static_cast<uint8_t>(text[n]) & 0xC0) == 0x80) --n;
  return n;
}

}  // namespace cursord::core
