#include "cli/format.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/common/escape.h"

namespace cursord::cli {
namespace {

constexpr absl::string_view kEllipsis = "…";

bool IsContinuationByte(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

std::string Pad(absl::string_view text, size_t width, Table::Align align) {
  const size_t used = DisplayWidth(text);
  const std::string fill(width > used ? width - used : 0, ' ');
  return align == Table::Align::kLeft ? absl::StrCat(text, fill)
                                      : absl::StrCat(fill, text);
}

}  // namespace

size_t DisplayWidth(absl::string_view text) {
  size_t width = 0;
  for (char c : text) {
    if (!IsContinuationByte(c)) ++width;
  }
  return width;
}

std::string Truncate(absl::string_view text, size_t width) {
  if (DisplayWidth(text) <= width) return std::string(text);
  if (width == 0) return std::string();
  // Keep width - 1 code points, then the ellipsis.
  size_t kept = 0;
  size_t end = 0;
  while (end < text.size()) {
    if (!IsContinuationByte(text[end])) {
      if (kept == width - 1) break;
      ++kept;
    }
    ++end;
  }
  return absl::StrCat(text.substr(0, end), kEllipsis);
}

Table::Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  // Escaped before widths are measured, so what is shown is what is counted.
  for (std::string& cell : cells) cell = EscapeControl(cell);
  rows_.push_back(std::move(cells));
}

std::string Table::Render(size_t width) const {
  const size_t n = columns_.size();
  if (n == 0) return "";
  std::vector<size_t> widths(n);
  for (size_t i = 0; i < n; ++i) {
    widths[i] = DisplayWidth(columns_[i].header);
    for (const auto& row : rows_) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  }
  auto total = [&] {
    size_t sum = 2 * (n - 1);
    for (size_t w : widths) sum += w;
    return sum;
  };
  // Narrow the widest shrinkable column one step at a time: the columns
  // that are long for a reason (ids, names) give up space evenly. Bounded
  // by the sum of the widths.
  while (total() > width) {
    size_t victim = n;
    for (size_t i = 0; i < n; ++i) {
      const Column& column = columns_[i];
      const size_t floor =
          std::max(column.min_width, DisplayWidth(column.header));
      if (!column.shrinkable || widths[i] <= floor) continue;
      if (victim == n || widths[i] > widths[victim]) victim = i;
    }
    if (victim == n) break;  // nothing left to give: overflow
    --widths[victim];
  }

  std::string out;
  auto emit = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t i = 0; i < n; ++i) {
      if (i > 0) line += "  ";
      line += Pad(Truncate(cells[i], widths[i]), widths[i], columns_[i].align);
    }
    line.erase(line.find_last_not_of(' ') + 1);
    absl::StrAppend(&out, line, "\n");
  };
  std::vector<std::string> header;
  header.reserve(n);
  for (const Column& column : columns_) header.push_back(column.header);
  emit(header);
  for (const auto& row : rows_) emit(row);
  return out;
}

std::string CompactDuration(absl::Duration duration) {
  if (duration < absl::ZeroDuration()) duration = absl::ZeroDuration();
  const int64_t seconds = absl::ToInt64Seconds(duration);
  const int64_t days = seconds / 86400;
  const int64_t hours = seconds / 3600 % 24;
  const int64_t minutes = seconds / 60 % 60;
  const int64_t secs = seconds % 60;
  if (days > 0) return absl::StrFormat("%dd%02dh", days, hours);
  if (hours > 0) return absl::StrFormat("%dh%02dm", hours, minutes);
  if (minutes > 0) return absl::StrFormat("%dm%02ds", minutes, secs);
  return absl::StrFormat("%ds", secs);
}

std::string FormatAge(absl::Time then, absl::Time now) {
  if (then == absl::UnixEpoch()) return "-";
  return CompactDuration(now - then);
}

std::string FormatTimestamp(absl::Time time, absl::TimeZone zone) {
  if (time == absl::UnixEpoch()) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S %Z", time, zone);
}

std::string StatusCodeName(int code) {
  static constexpr std::array<absl::string_view, 17> kNames = {
      "OK",
      "CANCELLED",
      "UNKNOWN",
      "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED",
      "NOT_FOUND",
      "ALREADY_EXISTS",
      "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION",
      "ABORTED",
      "OUT_OF_RANGE",
      "UNIMPLEMENTED",
      "INTERNAL",
      "UNAVAILABLE",
      "DATA_LOSS",
      "UNAUTHENTICATED",
  };
  if (code >= 0 && static_cast<size_t>(code) < kNames.size()) {
    return std::string(kNames[code]);
  }
  return absl::StrCat("CODE_", code);
}

std::string FormatStatus(int code, absl::string_view message) {
  if (message.empty()) return StatusCodeName(code);
  return absl::StrCat(StatusCodeName(code), ": ", EscapeControl(message));
}

std::string OrDash(absl::string_view text) {
  return text.empty() ? "-" : std::string(text);
}

}  // namespace cursord::cli
