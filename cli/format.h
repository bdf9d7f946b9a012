// Text formatting for cursorctl: aligned tables that fit a terminal width,
// compact durations, status names. Pure functions, unit-tested in
// tests/control/format_test.cc.
#ifndef CURSORD_CLI_FORMAT_H_
#define CURSORD_CLI_FORMAT_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cursord::cli {

inline constexpr size_t kTerminalWidth = 80;

// Display width of UTF-8 text, counted in code points (every character is
// taken as one column: right for the Latin, Greek, Cyrillic names the demo
// produces, an approximation for wide CJK characters).
size_t DisplayWidth(absl::string_view text);

// `text` cut to at most `width` columns, ending in "…" when cut. Never
// splits a UTF-8 sequence.
std::string Truncate(absl::string_view text, size_t width);

// A column-aligned table with a header row, two spaces between columns.
class Table {
 public:
  enum class Align { kLeft, kRight };
  struct Column {
    std::string header;
    Align align = Align::kLeft;
    // Whether the column may be narrowed (its cells truncated) to fit.
    bool shrinkable = false;
    // The narrowest a shrinkable column gets.
    size_t min_width = 6;
  };

  explicit Table(std::vector<Column> columns);

  // Missing cells are blank; extra cells are ignored. Cells are shown with
  // their control characters escaped (EscapeControl): names, ids and
  // reasons come from clients and must not steer the terminal.
  void AddRow(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }

  // Every line, each ending in '\n'. When the natural widths exceed
  // `width`, the widest shrinkable column is narrowed, one column at a
  // time, until the table fits or nothing can shrink further. Trailing
  // blanks are trimmed.
  std::string Render(size_t width = kTerminalWidth) const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// Two units at most, as operators read ages: "0s", "59s", "1m05s",
// "2h03m", "3d04h". Negative durations (clock skew) show as "0s".
std::string CompactDuration(absl::Duration duration);

// The age of `then` at `now` via CompactDuration; "-" when `then` is unset
// (absl::UnixEpoch(), what an unset proto timestamp converts to).
std::string FormatAge(absl::Time then, absl::Time now);

// "2024-05-01 12:00:03 UTC"-style, in `zone`; "-" when unset.
std::string FormatTimestamp(absl::Time time, absl::TimeZone zone);

// The canonical name of a gRPC status code, e.g. 5 -> "NOT_FOUND";
// "CODE_<n>" for codes outside the canonical range.
std::string StatusCodeName(int code);

// "NOT_FOUND: room "x" not found", or just the name when the message is
// empty. The message is the server's: its control characters are escaped.
std::string FormatStatus(int code, absl::string_view message);

// `text`, or "-" when empty: tables never show a blank for a missing value.
std::string OrDash(absl::string_view text);

}  // namespace cursord::cli

#endif  // CURSORD_CLI_FORMAT_H_
