#include "common.h"

#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>

#include "CLI/CLI.hpp"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace cursord::bench {
namespace {

// Written by ArmRunTimeBound, read by the signal handler; set before the
// timer is armed, so no race.
char g_timeout_line[256];

void OnRunTimeBound(int) {
  // Only async-signal-safe calls here.
  ssize_t ignored = write(STDOUT_FILENO, g_timeout_line, strlen(g_timeout_line));
  (void)ignored;
  _exit(3);
}

}  // namespace

void AddCommonOptions(CLI::App* cmd, CommonOptions* o) {
  cmd->add_option("--url", o->url,
                  "server base URL, ws://HOST:PORT[/PREFIX]; rate and saturate "
                  "take a comma-separated list (a room's members spread over them)")
      ->capture_default_str();
  cmd->add_option("--room-prefix", o->room_prefix,
                  "room id prefix (default cb<pid>, unique per run)");
  cmd->add_option("--duration", o->duration_s, "measured seconds")
      ->capture_default_str();
  cmd->add_option("--max-runtime", o->max_runtime_s,
                  "hard bound on the whole run in seconds (0: duration + connect timeout + 60)")
      ->capture_default_str();
  cmd->add_option("--connect-timeout", o->connect_timeout_s,
                  "seconds allowed for connecting every member")
      ->capture_default_str();
  cmd->add_option("--threads", o->threads, "event-loop threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--pid", o->pid, "server pid, to report its CPU and memory");
  cmd->add_option("--source-ips", o->sources,
                  "source addresses: auto, none, or a comma-separated list")
      ->capture_default_str();
  cmd->add_option("--source-count", o->source_count,
                  "addresses 127.0.0.1.. to use with --source-ips auto "
                  "(0: as the mode needs)");
  cmd->add_option("--max-pending", o->max_pending,
                  "handshakes in flight at once per thread")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--watch", o->watch,
                  "NAME=PID: also report this process's CPU over the measured "
                  "window (repeatable; e.g. a second server, redis-server)");
  cmd->add_option("--label", o->label, "free text copied into the JSON");
  cmd->add_flag("--quiet", o->quiet, "only print the JSON line");
  cmd->add_flag("--busy-poll", o->busy_poll,
                "never sleep in epoll (steadier timing on VMs; the generator "
                "then reports its load as busy time, not CPU time)");
}

std::string RoomPath(const Target& target, const CommonOptions& options,
                     size_t index) {
  return absl::StrCat(target.path_prefix, "/rooms/", options.room_prefix, "-",
                      index);
}

absl::Status WatchProcesses(const CommonOptions& options, CpuMeter* meter) {
  for (const std::string& spec : options.watch) {
    const size_t eq = spec.find('=');
    int pid = 0;
    if (eq == std::string::npos || eq == 0 ||
        !absl::SimpleAtoi(absl::string_view(spec).substr(eq + 1), &pid) || pid <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--watch takes NAME=PID, not \"", spec, "\""));
    }
    meter->Watch(spec.substr(0, eq), static_cast<pid_t>(pid));
  }
  return absl::OkStatus();
}

absl::StatusOr<EventLoop::Options> MakeLoopOptions(const CommonOptions& options,
                                                   int default_source_count) {
  absl::StatusOr<Target> target = ParseTarget(options.url);
  if (!target.ok()) return target.status();
  const int count =
      options.source_count > 0 ? options.source_count : default_source_count;
  absl::StatusOr<std::vector<in_addr>> sources =
      ParseSources(options.sources, *target, count);
  if (!sources.ok()) return sources.status();
  EventLoop::Options loop;
  loop.target = *target;
  loop.sources = *sources;
  loop.max_pending = static_cast<size_t>(options.max_pending);
  loop.busy_poll = options.busy_poll;
  return loop;
}

void AddLatency(JsonWriter* json, absl::string_view key, const Histogram& h) {
  json->BeginObject(key)
      .Add("count", h.Count())
      .Add("p50_ms", h.Percentile(50) / 1e6)
      .Add("p90_ms", h.Percentile(90) / 1e6)
      .Add("p99_ms", h.Percentile(99) / 1e6)
      .Add("p999_ms", h.Percentile(99.9) / 1e6)
      .Add("max_ms", h.Max() / 1e6)
      .Add("mean_ms", h.Mean() / 1e6)
      .EndObject();
}

std::string LatencySummary(const Histogram& h) {
  if (h.Count() == 0) return "no samples";
  return absl::StrFormat(
      "p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f ms (n=%d)",
      h.Percentile(50) / 1e6, h.Percentile(90) / 1e6, h.Percentile(99) / 1e6,
      h.Percentile(99.9) / 1e6, h.Max() / 1e6, h.Count());
}

void MergeCounters(const EventLoop::Counters& f, EventLoop::Counters* t) {
  t->connect_errors += f.connect_errors;
  t->handshake_errors += f.handshake_errors;
  t->handshake_timeouts += f.handshake_timeouts;
  t->protocol_errors += f.protocol_errors;
  t->unexpected_closes += f.unexpected_closes;
  t->close_timeouts += f.close_timeouts;
  t->pings += f.pings;
  t->text_messages += f.text_messages;
  t->bytes_read += f.bytes_read;
  t->reads += f.reads;
  t->writes += f.writes;
  t->recycled += f.recycled;
}

void AddLoopCounters(JsonWriter* json, const EventLoop::Counters& c) {
  json->BeginObject("errors")
      .Add("connect", c.connect_errors)
      .Add("handshake", c.handshake_errors)
      .Add("handshake_timeout", c.handshake_timeouts)
      .Add("protocol", c.protocol_errors)
      .Add("unexpected_close", c.unexpected_closes)
      .Add("close_timeout", c.close_timeouts)
      .EndObject();
  json->BeginObject("io")
      .Add("reads", c.reads)
      .Add("writes", c.writes)
      .Add("recycled_sockets", c.recycled)
      .Add("bytes_read", c.bytes_read)
      .Add("pings", c.pings)
      .EndObject();
}

std::string AddCpu(JsonWriter* json, const CpuMeter& meter, int threads,
                   double busy_fraction) {
  const double self = meter.SelfCores();
  const double server = meter.ServerCores();
  json->BeginObject("cpu").Add("self_cores", self);
  if (busy_fraction >= 0) json->Add("self_busy_fraction", busy_fraction);
  if (server >= 0) {
    json->Add("server_cores", server);
  } else {
    json->AddNull("server_cores");
  }
  const double others = meter.OtherCores();
  if (others >= 0) json->Add("other_cores", others);
  const auto watched = meter.WatchedCores();
  if (!watched.empty()) {
    json->BeginObject("watched");
    for (const auto& [name, cores] : watched) {
      if (cores >= 0) {
        json->Add(name, cores);
      } else {
        json->AddNull(name);
      }
    }
    json->EndObject();
  }
  json->EndObject();
  // A generator thread near 100% cannot keep its schedule: what it reports
  // is then its own limit, not the server's. Busy-polling burns the whole
  // core anyway, so then only the time spent on real work counts.
  if (busy_fraction >= 0) {
    if (busy_fraction >= 0.9) {
      return absl::StrFormat(
          "load generator was busy %.0f%% of the time (busiest thread); it "
          "is likely the bottleneck",
          100 * busy_fraction);
    }
  } else if (self >= 0.9 * threads) {
    return absl::StrFormat(
        "load generator used %.0f%% of its %d thread(s); it is likely the "
        "bottleneck",
        100 * self / threads, threads);
  }
  return "";
}

void ArmRunTimeBound(double seconds, const std::string& mode) {
  std::snprintf(g_timeout_line, sizeof g_timeout_line,
                "\n{\"mode\":\"%s\",\"error\":\"run time bound of %.0f s "
                "exceeded\"}\n",
                mode.c_str(), seconds);
  struct sigaction sa {};
  sa.sa_handler = OnRunTimeBound;
  sigaction(SIGALRM, &sa, nullptr);
  itimerval timer{};
  timer.it_value.tv_sec = static_cast<time_t>(seconds);
  timer.it_value.tv_usec =
      static_cast<suseconds_t>((seconds - timer.it_value.tv_sec) * 1e6);
  setitimer(ITIMER_REAL, &timer, nullptr);
}

void Info(const CommonOptions& options, const std::string& line) {
  if (!options.quiet) std::fprintf(stderr, "%s\n", line.c_str());
}

}  // namespace cursord::bench
