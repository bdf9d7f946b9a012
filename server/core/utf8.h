// UTF-8 rules shared by the wire (close reasons) and the join parameters.
#ifndef CURSORD_CORE_UTF8_H_
#define CURSORD_CORE_UTF8_H_

#include <cstddef>
#include <string_view>

namespace cursord::core {

// Well-formed UTF-8 (RFC 3629): no overlong forms, surrogates, code points
// past U+10FFFF or truncated sequences.
bool IsValidUtf8(std::string_view text);

// Well-formed UTF-8 without control characters (C0, DEL, C1).
bool IsPrintableUtf8(std::string_view text);

// Length of the longest prefix of `text` no longer than `limit` bytes that
// does not end inside a UTF-8 sequence.
size_t Utf8Prefix(std::string_view text, size_t limit);

}  // namespace cursord::core

#endif  // CURSORD_CORE_UTF8_H_
