#include "cli/format.h"

#include <string>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace cursord::cli {
namespace {

using Align = Table::Align;

TEST(FormatTest, DisplayWidthCountsCodePoints) {
  EXPECT_EQ(DisplayWidth(""), 0u);
  EXPECT_EQ(DisplayWidth("abc"), 3u);
  EXPECT_EQ(DisplayWidth("Zoë"), 3u);
  EXPECT_EQ(DisplayWidth("Жанна"), 5u);
}

TEST(FormatTest, TruncateNeverSplitsACharacter) {
  EXPECT_EQ(Truncate("lobby", 5), "lobby");
  EXPECT_EQ(Truncate("lobby", 4), "lob…");
  EXPECT_EQ(Truncate("Жанна", 3), "Жа…");
  EXPECT_EQ(DisplayWidth(Truncate("Жанна", 3)), 3u);
  EXPECT_EQ(Truncate("lobby", 1), "…");
  EXPECT_EQ(Truncate("lobby", 0), "");
}

TEST(FormatTest, TableAlignsColumns) {
  Table table({{"ROOM"}, {"MEMBERS", Align::kRight}, {"AGE"}});
  table.AddRow({"lobby", "2", "5m12s"});
  table.AddRow({"a-much-longer-room", "128", "3s"});
  EXPECT_EQ(table.Render(),
            "ROOM                MEMBERS  AGE\n"
            "lobby                     2  5m12s\n"
            "a-much-longer-room      128  3s\n");
}

TEST(FormatTest, TableShrinksTheWidestShrinkableColumnToFit) {
  Table table({{"ROOM", Align::kLeft, /*shrinkable=*/true, 8},
               {"NOTE", Align::kLeft, /*shrinkable=*/true, 8},
               {"N", Align::kRight}});
  table.AddRow({std::string(60, 'r'), std::string(30, 'n'), "1"});
  const std::string out = table.Render(40);
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    EXPECT_LE(DisplayWidth(line), 40u) << line;
  }
  // Both long columns gave up space, the widest the most, evenly at the end.
  EXPECT_NE(out.find("rrrrrrrrrrrrrrrr…"), std::string::npos) << out;
  EXPECT_NE(out.find("nnnnnnnnnnnnnnnn…"), std::string::npos) << out;
}

TEST(FormatTest, TableOverflowsRatherThanHidingFixedColumns) {
  Table table({{"A"}, {"B"}});
  table.AddRow({std::string(50, 'a'), std::string(50, 'b')});
  const std::string out = table.Render(80);
  EXPECT_NE(out.find(std::string(50, 'b')), std::string::npos);
}

TEST(FormatTest, TableTrimsTrailingBlanksAndFillsMissingCells) {
  Table table({{"A"}, {"B"}});
  table.AddRow({"x"});
  EXPECT_EQ(table.Render(), "A  B\nx\n");
}

TEST(FormatTest, CompactDuration) {
  EXPECT_EQ(CompactDuration(absl::ZeroDuration()), "0s");
  EXPECT_EQ(CompactDuration(absl::Milliseconds(999)), "0s");
  EXPECT_EQ(CompactDuration(absl::Seconds(59)), "59s");
  EXPECT_EQ(CompactDuration(absl::Seconds(65)), "1m05s");
  EXPECT_EQ(CompactDuration(absl::Minutes(123)), "2h03m");
  EXPECT_EQ(CompactDuration(absl::Hours(76)), "3d04h");
  EXPECT_EQ(CompactDuration(-absl::Seconds(5)), "0s");
}

TEST(FormatTest, AgesAndTimestamps) {
  const absl::Time t = absl::FromUnixSeconds(1714564803);
  EXPECT_EQ(FormatAge(t, t + absl::Seconds(312)), "5m12s");
  EXPECT_EQ(FormatAge(absl::UnixEpoch(), t), "-");
  EXPECT_EQ(FormatTimestamp(t, absl::UTCTimeZone()), "2024-05-01 12:00:03 UTC");
  EXPECT_EQ(FormatTimestamp(absl::UnixEpoch(), absl::UTCTimeZone()), "-");
}

TEST(FormatTest, StatusNames) {
  EXPECT_EQ(StatusCodeName(0), "OK");
  EXPECT_EQ(StatusCodeName(5), "NOT_FOUND");
  EXPECT_EQ(StatusCodeName(16), "UNAUTHENTICATED");
  EXPECT_EQ(StatusCodeName(42), "CODE_42");
  EXPECT_EQ(FormatStatus(5, "room \"x\" not found"),
            "NOT_FOUND: room \"x\" not found");
  EXPECT_EQ(FormatStatus(14, ""), "UNAVAILABLE");
  EXPECT_EQ(OrDash(""), "-");
  EXPECT_EQ(OrDash("x"), "x");
}

}  // namespace
}  // namespace cursord::cli
