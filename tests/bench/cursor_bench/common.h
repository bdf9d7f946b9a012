// Options and plumbing shared by every mode of cursor-bench.
#ifndef CURSORD_BENCH_COMMON_H_
#define CURSORD_BENCH_COMMON_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/string_view.h"
#include "event_loop.h"
#include "histogram.h"
#include "json_writer.h"
#include "proc_stats.h"

namespace CLI {
class App;
}

namespace cursord::bench {

struct CommonOptions {
  std::string url = "ws://127.0.0.1:8080";
  std::string room_prefix;  // default: "cb<pid>", unique per run
  double duration_s = 5;
  // Hard bound on the whole run; 0 means duration + connect timeout + 60 s.
  double max_runtime_s = 0;
  double connect_timeout_s = 30;
  int threads = 1;
  pid_t pid = 0;  // server process to measure, 0 for none
  std::string sources = "auto";
  int source_count = 0;  // for "auto"; 0 picks per mode
  int max_pending = 256;
  // Further processes whose CPU to report over the measured window, as
  // "NAME=PID" (a cluster's other instances, its Redis).
  std::vector<std::string> watch;
  std::string label;  // echoed into the JSON, e.g. the server's name
  bool quiet = false;
  bool busy_poll = false;
};

// Adds the options every mode shares to `cmd`.
void AddCommonOptions(CLI::App* cmd, CommonOptions* options);

// The URL path of room `index`: "<prefix>/rooms/<room_prefix>-<index>".
std::string RoomPath(const Target& target, const CommonOptions& options,
                     size_t index);

// Adds the --watch processes to `meter`; fails on a malformed NAME=PID.
absl::Status WatchProcesses(const CommonOptions& options, CpuMeter* meter);

// Builds the loop options from the common ones (resolving the target).
absl::StatusOr<EventLoop::Options> MakeLoopOptions(const CommonOptions& options,
                                                   int default_source_count);

// Threads (or processes) report ready here; the last to arrive sets a start
// time a little in the future so every sender starts on the same clock.
class StartGate {
 public:
  explicit StartGate(int parties) : remaining_(parties) {}
  void Arrive(int64_t now_ns, int64_t settle_ns) {
    if (remaining_.fetch_sub(1) == 1) start_.store(now_ns + settle_ns);
  }
  // 0 until everyone has arrived.
  int64_t start_ns() const { return start_.load(); }

 private:
  std::atomic<int> remaining_;
  std::atomic<int64_t> start_{0};
};

// Writes a latency histogram (ns) as {"p50_ms":..,...} under `key`.
void AddLatency(JsonWriter* json, absl::string_view key, const Histogram& h);
// "p50 1.23 ms, p99 ..." for the human summary.
std::string LatencySummary(const Histogram& h);
// Adds the loop's error counters under "errors".
void AddLoopCounters(JsonWriter* json, const EventLoop::Counters& c);
void MergeCounters(const EventLoop::Counters& from, EventLoop::Counters* to);
// Adds {"self_cores":..,"server_cores":..} and returns the warning text if
// the generator looks like the bottleneck ("" otherwise). `busy_fraction`
// is the busiest thread's share of non-idle time when busy-polling, or
// negative otherwise.
std::string AddCpu(JsonWriter* json, const CpuMeter& meter, int threads,
                   double busy_fraction);

// Arms a hard stop: after `seconds` the process prints an error JSON line
// and exits with status 3, whatever it is doing.
void ArmRunTimeBound(double seconds, const std::string& mode);

// Logs to stderr unless quiet.
void Info(const CommonOptions& options, const std::string& line);

// Runs every worker's Run(): worker 0 on the calling thread, each other
// on a thread of its own; returns when all are done.
template <typename Worker>
void RunWorkers(std::vector<std::unique_ptr<Worker>>& workers) {
  std::vector<std::thread> pool;
  for (size_t t = 1; t < workers.size(); ++t) {
    pool.emplace_back([w = workers[t].get()] { w->Run(); });
  }
  workers[0]->Run();
  for (auto& thread : pool) thread.join();
}

}  // namespace cursord::bench

#endif  // CURSORD_BENCH_COMMON_H_
