#include "idle.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "cursor_protocol.h"

namespace cursord::bench {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1'000'000'000;

// What one process reports back.
struct IdleResult {
  uint64_t requested = 0;
  uint64_t joined = 0;
  uint64_t lost = 0;  // joined, then closed by the server before the end
  double connect_s = 0;
  EventLoop::Counters loop;
};

// Holds its share of the connections until `release_fd` becomes readable
// (or EOF), reporting "ready" on `ready_fd` once every connection settled.
class IdleHolder final : public ConnectionHandler {
 public:
  IdleHolder(const IdleOptions& options, EventLoop::Options loop_options,
             int first_connection, int count)
      : options_(options), loop_(std::move(loop_options)) {
    const Target target = ParseTarget(options.common.url).value();
    for (int i = 0; i < count; ++i) {
      auto c = std::make_unique<Connection>();
      const int global = first_connection + i;
      c->handler = this;
      c->path = RoomPath(target, options.common,
                         static_cast<size_t>(global / options.members));
      c->tag = static_cast<uint64_t>(i);
      conns_.push_back(std::move(c));
    }
    joined_flags_.assign(conns_.size(), false);
  }

  IdleResult Run(int ready_fd, int release_fd) {
    const int64_t begin = NowNs();
    const int64_t connect_deadline =
        begin + static_cast<int64_t>(options_.common.connect_timeout_s * kSec);
    for (auto& c : conns_) loop_.Open(c.get());
    bool ready = false;
    bool releasing = false;
    int64_t close_deadline = 0;
    // Bounded by the caller's hold time plus timeouts; the run-time bound
    // (SIGALRM) is the backstop.
    const int64_t hard_end =
        begin + static_cast<int64_t>((options_.common.connect_timeout_s +
                                      options_.common.duration_s +
                                      options_.settle_s + 30) *
                                     kSec);
    loop_.Run(hard_end, [&](int64_t now) -> int64_t {
      if (!ready) {
        if (result_.joined + failed_ < conns_.size() && now < connect_deadline) {
          return now + kMs;
        }
        ready = true;
        result_.connect_s = (now - begin) / 1e9;
        const std::string line = absl::StrFormat("ready %d\n", result_.joined);
        if (write(ready_fd, line.data(), line.size()) < 0) return -1;
      }
      if (!releasing) {
        pollfd p{release_fd, POLLIN, 0};
        if (poll(&p, 1, 0) == 0) return now + 20 * kMs;
        releasing = true;
        for (auto& c : conns_) loop_.Close(c.get());
        close_deadline = now + 5 * kSec;
      }
      if (loop_.live() == 0 || now >= close_deadline) return -1;
      return now + 10 * kMs;
    });
    result_.requested = conns_.size();
    result_.loop = loop_.counters();
    return result_;
  }

  void OnOpen(Connection*, int64_t) override {}
  void OnBinary(Connection* c, const uint8_t* data, size_t size,
                int64_t) override {
    if (size >= 2 && data[0] == kMsgYourId && !joined_flags_[c->tag]) {
      joined_flags_[c->tag] = true;
      ++result_.joined;
    }
  }
  void OnClosed(Connection* c, bool clean, int64_t) override {
    if (!joined_flags_[c->tag]) {
      ++failed_;
    } else if (!clean) {
      ++result_.lost;
    }
  }

 private:
  const IdleOptions& options_;
  EventLoop loop_;
  std::vector<std::unique_ptr<Connection>> conns_;
  std::vector<bool> joined_flags_;
  size_t failed_ = 0;
  IdleResult result_;
};

std::string SerializeResult(const IdleResult& r) {
  return absl::StrFormat("done %d %d %d %.6f %d %d %d %d %d\n", r.requested,
                         r.joined, r.lost, r.connect_s, r.loop.connect_errors,
                         r.loop.handshake_errors, r.loop.handshake_timeouts,
                         r.loop.unexpected_closes, r.loop.protocol_errors);
}

bool ParseResult(const std::string& line, IdleResult* r) {
  std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
  if (f.size() != 10 || f[0] != "done") return false;
  return absl::SimpleAtoi(f[1], &r->requested) &&
         absl::SimpleAtoi(f[2], &r->joined) &&
         absl::SimpleAtoi(f[3], &r->lost) &&
         absl::SimpleAtod(f[4], &r->connect_s) &&
         absl::SimpleAtoi(f[5], &r->loop.connect_errors) &&
         absl::SimpleAtoi(f[6], &r->loop.handshake_errors) &&
         absl::SimpleAtoi(f[7], &r->loop.handshake_timeouts) &&
         absl::SimpleAtoi(f[8], &r->loop.unexpected_closes) &&
         absl::SimpleAtoi(f[9], &r->loop.protocol_errors);
}

// Reads lines from a child's pipe until one starts with `prefix` or the
// deadline passes.
bool ReadLine(int fd, std::string* buffer, const std::string& prefix,
              int64_t deadline_ns, std::string* line) {
  for (;;) {
    const size_t nl = buffer->find('\n');
    if (nl != std::string::npos) {
      *line = buffer->substr(0, nl);
      buffer->erase(0, nl + 1);
      if (line->rfind(prefix, 0) == 0) return true;
      continue;
    }
    const int64_t left_ms = (deadline_ns - NowNs()) / kMs;
    if (left_ms <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(std::min<int64_t>(left_ms, 1000))) <= 0) {
      continue;
    }
    char tmp[512];
    const ssize_t n = read(fd, tmp, sizeof tmp);
    if (n <= 0) return false;
    buffer->append(tmp, static_cast<size_t>(n));
  }
}

// One reading of the server's memory and CPU; `ok` is false without a pid
// or when /proc could not be read.
struct ServerSample {
  bool ok = false;
  uint64_t rss = 0;
  CpuTimes cpu;
};

ServerSample SampleServer(pid_t pid) {
  ServerSample s;
  if (pid <= 0) return s;
  std::optional<uint64_t> rss = ReadProcessRss(pid);
  std::optional<CpuTimes> cpu = ReadProcessCpu(pid);
  if (!rss || !cpu) return s;
  s.ok = true;
  s.rss = *rss;
  s.cpu = *cpu;
  return s;
}

struct Child {
  pid_t pid = -1;
  int from_child = -1;  // child writes "ready" then "done ..."
  int to_child = -1;    // closing it releases the child
  std::string buffer;
};

}  // namespace

void SetupIdleCommand(CLI::App& app, IdleOptions* o, bool* selected) {
  CLI::App* cmd = app.add_subcommand(
      "idle", "hold N connections open; with --pid, the server's resident "
              "memory per connection");
  AddCommonOptions(cmd, &o->common);
  cmd->add_option("--connections", o->connections, "connections to hold")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000000));
  cmd->add_option("--members", o->members, "members per room")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--processes", o->processes,
                  "processes to spread the connections over (each process "
                  "has its own open-file limit)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--settle", o->settle_s,
                  "seconds to wait after connecting before measuring")
      ->capture_default_str();
  cmd->callback([selected] { *selected = true; });
}

int RunIdle(const IdleOptions& options) {
  // Raise the soft open-file limit to the hard one: each process needs one
  // descriptor per connection.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  const int procs = std::min(options.processes, options.connections);
  const int per_process_sources = options.connections / procs / 20000 + 1;
  absl::StatusOr<EventLoop::Options> base =
      MakeLoopOptions(options.common, per_process_sources * procs);
  if (!base.ok()) {
    std::fprintf(stderr, "cursor-bench: %s\n",
                 std::string(base.status().message()).c_str());
    return 2;
  }
  Info(options.common,
       absl::StrFormat("idle: %d connections in rooms of %d over %d "
                       "process(es), %s",
                       options.connections, options.members, procs,
                       options.common.url));
  const pid_t server = options.common.pid;
  const ServerSample before = SampleServer(server);
  const CpuTimes self_before = SelfCpu();
  const CpuTimes children_before = ChildrenCpu();
  const int64_t begin = NowNs();

  std::vector<Child> children(procs);
  std::fflush(stdout);
  std::fflush(stderr);
  for (int p = 0; p < procs; ++p) {
    const int first = static_cast<int>(int64_t{options.connections} * p / procs);
    const int last =
        static_cast<int>(int64_t{options.connections} * (p + 1) / procs);
    int up[2], down[2];
    if (pipe2(up, O_CLOEXEC) != 0 || pipe2(down, O_CLOEXEC) != 0) {
      std::perror("pipe");
      return 2;
    }
    EventLoop::Options loop_options = *base;
    // Each process gets its own slice of the source addresses.
    if (!loop_options.sources.empty()) {
      std::vector<in_addr> mine;
      for (size_t i = p; i < base->sources.size(); i += procs) {
        mine.push_back(base->sources[i]);
      }
      if (mine.empty()) mine.push_back(base->sources[p % base->sources.size()]);
      loop_options.sources = mine;
    }
    const pid_t pid = fork();
    if (pid < 0) {
      std::perror("fork");
      return 2;
    }
    if (pid == 0) {
      close(up[0]);
      close(down[1]);
      for (int q = 0; q < p; ++q) {
        close(children[q].from_child);
        close(children[q].to_child);
      }
      ArmRunTimeBound(options.common.max_runtime_s > 0
                          ? options.common.max_runtime_s
                          : options.common.duration_s + 90,
                      "idle-child");
      IdleHolder holder(options, loop_options, first, last - first);
      const IdleResult r = holder.Run(up[1], down[0]);
      const std::string line = SerializeResult(r);
      ssize_t ignored = write(up[1], line.data(), line.size());
      (void)ignored;
      _exit(0);
    }
    close(up[1]);
    close(down[0]);
    children[p].pid = pid;
    children[p].from_child = up[0];
    children[p].to_child = down[1];
  }

  // Every child connects its share; then hold, measure, release.
  const int64_t ready_deadline =
      NowNs() + static_cast<int64_t>((options.common.connect_timeout_s + 5) * kSec);
  uint64_t joined_at_ready = 0;
  for (Child& c : children) {
    std::string line;
    if (ReadLine(c.from_child, &c.buffer, "ready", ready_deadline, &line)) {
      uint64_t n = 0;
      if (absl::SimpleAtoi(line.substr(6), &n)) joined_at_ready += n;
    }
  }
  const double connect_s = (NowNs() - begin) / 1e9;
  const int64_t hold_until =
      NowNs() + static_cast<int64_t>(std::max(options.settle_s, 0.0) * kSec);
  while (NowNs() < hold_until) usleep(10000);
  const ServerSample loaded = SampleServer(server);
  // Hold for the rest of the duration, then measure again: growth while
  // idle would mean per-connection work (timers, pings) that costs memory.
  const int64_t hold_end =
      NowNs() + static_cast<int64_t>(
                    std::max(0.0, options.common.duration_s - options.settle_s) *
                    kSec);
  while (NowNs() < hold_end) usleep(10000);
  const ServerSample end = SampleServer(server);
  const int64_t hold_stop = NowNs();

  IdleResult total;
  for (Child& c : children) close(c.to_child);
  const int64_t done_deadline = NowNs() + 20 * kSec;
  for (Child& c : children) {
    std::string line;
    IdleResult r;
    if (ReadLine(c.from_child, &c.buffer, "done", done_deadline, &line) &&
        ParseResult(line, &r)) {
      total.requested += r.requested;
      total.joined += r.joined;
      total.lost += r.lost;
      MergeCounters(r.loop, &total.loop);
    }
    close(c.from_child);
  }
  for (Child& c : children) {
    int status = 0;
    waitpid(c.pid, &status, 0);
  }
  const CpuTimes self_after = SelfCpu();
  const CpuTimes children_after = ChildrenCpu();
  const double wall = (NowNs() - begin) / 1e9;

  JsonWriter json;
  json.Add("mode", "idle").Add("label", options.common.label);
  json.Add("url", options.common.url);
  json.Add("connections", static_cast<int64_t>(options.connections));
  json.Add("members", options.members).Add("processes", procs);
  json.Add("joined", joined_at_ready);
  json.Add("lost", total.lost);
  json.Add("connect_s", connect_s);
  json.Add("connect_per_s", connect_s > 0 ? joined_at_ready / connect_s : 0.0);
  double per_conn = -1;
  if (before.ok && loaded.ok) {
    json.Add("server_rss_before_bytes", before.rss);
    json.Add("server_rss_loaded_bytes", loaded.rss);
    if (end.ok) json.Add("server_rss_end_bytes", end.rss);
    if (joined_at_ready > 0) {
      per_conn = (static_cast<double>(loaded.rss) - static_cast<double>(before.rss)) /
                 static_cast<double>(joined_at_ready);
      json.Add("server_rss_per_connection_bytes", per_conn);
    }
    json.Add("server_connect_cpu_s", loaded.cpu.Total() - before.cpu.Total());
  }
  if (loaded.ok && end.ok) {
    const double held = (hold_stop - hold_until) / 1e9;
    if (held > 0) {
      json.Add("server_idle_cores", (end.cpu.Total() - loaded.cpu.Total()) / held);
    }
  }
  json.BeginObject("cpu")
      .Add("self_cores", (self_after.Total() - self_before.Total() +
                          children_after.Total() - children_before.Total()) /
                             wall)
      .EndObject();
  AddLoopCounters(&json, total.loop);
  const bool ok = joined_at_ready == static_cast<uint64_t>(options.connections) &&
                  total.lost == 0;
  json.Add("ok", ok);
  Info(options.common,
       absl::StrFormat("joined %d of %d in %.2f s; lost %d", joined_at_ready,
                       options.connections, connect_s, total.lost));
  if (per_conn >= 0 || (before.ok && loaded.ok)) {
    Info(options.common,
         absl::StrFormat("server RSS %.1f MiB -> %.1f MiB: %.0f bytes per "
                         "connection",
                         before.rss / 1048576.0, loaded.rss / 1048576.0,
                         per_conn));
  }
  std::printf("%s\n", json.Finish().c_str());
  std::fflush(stdout);
  return ok ? 0 : 1;
}

}  // namespace cursord::bench
