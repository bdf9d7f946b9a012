// CPU time and memory of a process, read from /proc, so every run can say
// what it cost the server and the generator itself.
#ifndef CURSORD_BENCH_PROC_STATS_H_
#define CURSORD_BENCH_PROC_STATS_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace cursord::bench {

struct CpuTimes {
  double user_s = 0;
  double system_s = 0;
  double Total() const { return user_s + system_s; }
};

// Parses utime and stime (fields 14 and 15) of a /proc/<pid>/stat line.
// The command name may contain spaces and parentheses, so fields are
// counted from the last ')'.
std::optional<CpuTimes> ParseProcStat(absl::string_view stat, long ticks_per_s);

// Parses "VmRSS:" (or another "<field>:" in kB) from /proc/<pid>/status.
std::optional<uint64_t> ParseStatusKb(absl::string_view status,
                                      absl::string_view field);

// Seconds every CPU together has spent running tasks (user, nice, system
// and steal time from the "cpu" line of /proc/stat; interrupt and softirq
// time is left out because loopback traffic makes much of it ours).
std::optional<double> ParseMachineBusy(absl::string_view proc_stat, long ticks_per_s);
std::optional<double> ReadMachineBusy();

// CPU time of `pid` so far; nullopt if it cannot be read (e.g. it exited).
std::optional<CpuTimes> ReadProcessCpu(pid_t pid);
// Resident set size of `pid` in bytes.
std::optional<uint64_t> ReadProcessRss(pid_t pid);
// CPU time of this process (all threads) so far.
CpuTimes SelfCpu();
// CPU time of this process's waited-for children so far.
CpuTimes ChildrenCpu();

// Samples CPU use of this process and optionally of a server between two
// points in time, as a fraction of one core (1.0 = one core busy).
class CpuMeter {
 public:
  explicit CpuMeter(pid_t server_pid) : server_pid_(server_pid) {}
  // Also measures process `pid` under `name` (a cluster's other instance,
  // its Redis); call before Start.
  void Watch(std::string name, pid_t pid);
  void Start(int64_t now_ns);
  void Stop(int64_t now_ns);
  double SelfCores() const;
  // Negative when no server pid was given or it could not be read.
  double ServerCores() const;
  // Everything else on the machine (other processes, other users): a
  // shared machine shows up here. Negative if unknown.
  double OtherCores() const;
  double WallSeconds() const { return (stop_ns_ - start_ns_) / 1e9; }
  // The watched processes' names and cores (negative if unreadable), in
  // the order they were added.
  std::vector<std::pair<std::string, double>> WatchedCores() const;

 private:
  struct Watched {
    std::string name;
    pid_t pid;
    std::optional<CpuTimes> start, stop;
    double Cores(double wall) const;
  };
  pid_t server_pid_;
  std::vector<Watched> watched_;
  int64_t start_ns_ = 0;
  int64_t stop_ns_ = 0;
  CpuTimes self_start_, self_stop_;
  std::optional<CpuTimes> server_start_, server_stop_;
  std::optional<double> machine_start_, machine_stop_;
};

}  // namespace cursord::bench

#endif  // CURSORD_BENCH_PROC_STATS_H_
