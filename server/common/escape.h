// Making untrusted text safe to print on one line of a log or a terminal.
//
// Kick reasons, room and user ids, display names, request targets and peer
// error messages come from whoever sent them. Printed raw, a newline forges
// a log line and an escape sequence rewrites another operator's terminal.
// Every place that prints such text for a human goes through this one
// function: the logger (every line) and cursorctl's table output.
#ifndef CURSORD_COMMON_ESCAPE_H_
#define CURSORD_COMMON_ESCAPE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace cursord {

// `text` with everything that could break a line or steer a terminal
// written out as a visible escape, so that the result is one line of
// printable, valid UTF-8:
//   - newline, carriage return and tab as "\n", "\r", "\t";
//   - the backslash as "\\" (so an escape in the output always means an
//     escape, never text that looks like one);
//   - every other C0 control and DEL as "\xNN" (lowercase hex);
//   - the C1 controls U+0080..U+009F, the line and paragraph separators
//     U+2028/U+2029 and the bidirectional overrides and isolates
//     (U+202A..U+202E, U+2066..U+2069) as "\uNNNN";
//   - each byte that is not part of valid UTF-8 as "\xNN".
// Everything else, including any other non-ASCII UTF-8, is kept as is.
// Pure; text without anything to escape comes back unchanged.
std::string EscapeControl(absl::string_view text);

}  // namespace cursord

#endif  // CURSORD_COMMON_ESCAPE_H_
