#include "proc_stats.h"

#include <unistd.h>

#include "gtest/gtest.h"

namespace cursord::bench {
namespace {

TEST(ParseProcStat, CountsFieldsAfterTheLastParen) {
  // A command name with spaces and a ')' must not shift the fields.
  const char stat[] =
      "1234 (a b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 "
      "100 1000000 200";
  std::optional<CpuTimes> t = ParseProcStat(stat, 100);
  ASSERT_TRUE(t.has_value());
  EXPECT_DOUBLE_EQ(t->user_s, 2.5);
  EXPECT_DOUBLE_EQ(t->system_s, 0.5);
  EXPECT_FALSE(ParseProcStat("garbage", 100).has_value());
}

TEST(ParseStatusKb, FindsTheField) {
  const char status[] = "Name:\tcursord\nVmHWM:\t  9000 kB\nVmRSS:\t  8192 kB\n";
  EXPECT_EQ(ParseStatusKb(status, "VmRSS"), 8192u);
  EXPECT_EQ(ParseStatusKb(status, "VmHWM"), 9000u);
  EXPECT_FALSE(ParseStatusKb(status, "VmSwap").has_value());
}

TEST(ParseMachineBusy, SumsUserNiceSystemSteal) {
  const char stat[] =
      "cpu  100 20 30 5000 7 1 2 3 0 0\ncpu0 50 10 15 2500 3 0 1 1 0 0\n";
  std::optional<double> busy = ParseMachineBusy(stat, 100);
  ASSERT_TRUE(busy.has_value());
  EXPECT_DOUBLE_EQ(*busy, 1.53);
  EXPECT_FALSE(ParseMachineBusy("intr 1 2 3", 100).has_value());
}

TEST(ReadProcess, ReadsThisProcess) {
  EXPECT_TRUE(ReadProcessCpu(getpid()).has_value());
  std::optional<uint64_t> rss = ReadProcessRss(getpid());
  ASSERT_TRUE(rss.has_value());
  EXPECT_GT(*rss, 0u);
}

}  // namespace
}  // namespace cursord::bench
