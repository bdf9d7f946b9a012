#include "proc_stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace cursord::bench {
namespace {

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double Seconds(const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; }

}  // namespace

std::optional<CpuTimes> ParseProcStat(absl::string_view stat, long ticks_per_s) {
  const size_t paren = stat.rfind(')');
  if (paren == absl::string_view::npos || ticks_per_s <= 0) return std::nullopt;
  // After ')' come field 3 (state) onwards; utime is field 14.
  std::vector<absl::string_view> fields =
      absl::StrSplit(stat.substr(paren + 1), ' ', absl::SkipEmpty());
  if (fields.size() < 13) return std::nullopt;
  uint64_t utime = 0, stime = 0;
  if (!absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return std::nullopt;
  }
  return CpuTimes{static_cast<double>(utime) / ticks_per_s,
                  static_cast<double>(stime) / ticks_per_s};
}

std::optional<uint64_t> ParseStatusKb(absl::string_view status,
                                      absl::string_view field) {
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (!absl::ConsumePrefix(&line, field)) continue;
    if (!absl::ConsumePrefix(&line, ":")) continue;
    line = absl::StripAsciiWhitespace(line);
    absl::ConsumeSuffix(&line, "kB");
    line = absl::StripAsciiWhitespace(line);
    uint64_t kb = 0;
    if (absl::SimpleAtoi(line, &kb)) return kb;
  }
  return std::nullopt;
}

std::optional<double> ParseMachineBusy(absl::string_view proc_stat,
                                       long ticks_per_s) {
  if (!absl::ConsumePrefix(&proc_stat, "cpu ") || ticks_per_s <= 0) {
    return std::nullopt;
  }
  proc_stat = proc_stat.substr(0, proc_stat.find('\n'));
  std::vector<absl::string_view> f =
      absl::StrSplit(proc_stat, ' ', absl::SkipEmpty());
  // user nice system idle iowait irq softirq steal ...
  if (f.size() < 8) return std::nullopt;
  uint64_t total = 0;
  for (size_t i : {0, 1, 2, 7}) {
    uint64_t v = 0;
    if (!absl::SimpleAtoi(f[i], &v)) return std::nullopt;
    total += v;
  }
  return static_cast<double>(total) / ticks_per_s;
}

std::optional<double> ReadMachineBusy() {
  std::optional<std::string> stat = ReadFile("/proc/stat");
  if (!stat) return std::nullopt;
  return ParseMachineBusy(*stat, sysconf(_SC_CLK_TCK));
}

std::optional<CpuTimes> ReadProcessCpu(pid_t pid) {
  std::optional<std::string> stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  if (!stat) return std::nullopt;
  return ParseProcStat(*stat, sysconf(_SC_CLK_TCK));
}

std::optional<uint64_t> ReadProcessRss(pid_t pid) {
  std::optional<std::string> status =
      ReadFile(absl::StrCat("/proc/", pid, "/status"));
  if (!status) return std::nullopt;
  std::optional<uint64_t> kb = ParseStatusKb(*status, "VmRSS");
  if (!kb) return std::nullopt;
  return *kb * 1024;
}

CpuTimes SelfCpu() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return CpuTimes{Seconds(ru.ru_utime), Seconds(ru.ru_stime)};
}

CpuTimes ChildrenCpu() {
  rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  return CpuTimes{Seconds(ru.ru_utime), Seconds(ru.ru_stime)};
}

void CpuMeter::Watch(std::string name, pid_t pid) {
  watched_.push_back(Watched{std::move(name), pid, std::nullopt, std::nullopt});
}

void CpuMeter::Start(int64_t now_ns) {
  start_ns_ = now_ns;
  self_start_ = SelfCpu();
  if (server_pid_ > 0) server_start_ = ReadProcessCpu(server_pid_);
  for (Watched& w : watched_) w.start = ReadProcessCpu(w.pid);
  machine_start_ = ReadMachineBusy();
}

void CpuMeter::Stop(int64_t now_ns) {
  stop_ns_ = now_ns;
  self_stop_ = SelfCpu();
  if (server_pid_ > 0) server_stop_ = ReadProcessCpu(server_pid_);
  for (Watched& w : watched_) w.stop = ReadProcessCpu(w.pid);
  machine_stop_ = ReadMachineBusy();
}

double CpuMeter::Watched::Cores(double wall) const {
  if (!start || !stop || wall <= 0) return -1;
  return (stop->Total() - start->Total()) / wall;
}

std::vector<std::pair<std::string, double>> CpuMeter::WatchedCores() const {
  std::vector<std::pair<std::string, double>> cores;
  for (const Watched& w : watched_) cores.emplace_back(w.name, w.Cores(WallSeconds()));
  return cores;
}

double CpuMeter::SelfCores() const {
  const double wall = WallSeconds();
  return wall > 0 ? (self_stop_.Total() - self_start_.Total()) / wall : 0;
}

double CpuMeter::OtherCores() const {
  const double wall = WallSeconds();
  if (!machine_start_ || !machine_stop_ || wall <= 0) return -1;
  double others = (*machine_stop_ - *machine_start_) / wall - SelfCores();
  const double server = ServerCores();
  if (server > 0) others -= server;
  for (const Watched& w : watched_) others -= std::max(0.0, w.Cores(wall));
  // Tick-granular counters: small negatives are rounding.
  return std::max(0.0, others);
}

double CpuMeter::ServerCores() const {
  const double wall = WallSeconds();
  if (!server_start_ || !server_stop_ || wall <= 0) return -1;
  return (server_stop_->Total() - server_start_->Total()) / wall;
}

}  // namespace cursord::bench
