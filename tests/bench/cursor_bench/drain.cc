#include "drain.h"

#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <queue>
#include <random>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cursor_protocol.h"

namespace cursord::bench {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kBucketNs = 10 * kMs;  // the join and close timelines' grain
// Handshakes to A in flight at once while the clients first join (the
// move itself is not throttled: every client reconnects on its own).
constexpr int kInitialInFlight = 256;

struct Client {
  Connection conn;
  bool joined = false;  // got its 01 in the current session
  bool on_b = false;    // closed by A: from now on it connects to B
  int64_t opened_ns = 0;
};

class DrainRun final : public ConnectionHandler {
 public:
  DrainRun(const DrainOptions& options, EventLoop::Options loop_options, Target a, Target b)
      : options_(options), loop_(std::move(loop_options)), b_(std::move(b)),
        rng_(std::random_device{}()) {
    const int rooms = (options.connections + options.members - 1) / options.members;
    rooms_ = rooms;
    for (int i = 0; i < options.connections; ++i) {
      auto c = std::make_unique<Client>();
      c->conn.handler = this;
      c->conn.path = RoomPath(a, options.common, static_cast<size_t>(i / options.members));
      c->conn.tag = static_cast<uint64_t>(i);
      clients_.push_back(std::move(c));
    }
    const size_t buckets =
        static_cast<size_t>(options.move_timeout_s * kSec / kBucketNs) + 1;
    joins_.assign(buckets, 0);
    closes_.assign(buckets, 0);
  }

  void Run() {
    const int64_t now = NowNs();
    connect_deadline_ = now + static_cast<int64_t>(options_.common.connect_timeout_s * kSec);
    const int64_t hard_end =
        now + static_cast<int64_t>((options_.common.connect_timeout_s + options_.settle_s +
                                    options_.move_timeout_s + 10) * kSec);
    loop_.Run(hard_end, [this](int64_t t) { return Tick(t); });
  }

  void OnOpen(Connection*, int64_t) override {}

  void OnBinary(Connection* c, const uint8_t* data, size_t size, int64_t now) override {
    if (size == 0 || data[0] != kMsgYourId) return;
    Client* client = clients_[c->tag].get();
    if (client->joined) return;
    client->joined = true;
    if (!client->on_b) {
      ++joined_a_;
      --in_flight_a_;
      return;
    }
    ++joined_b_;
    latency_.Record(static_cast<uint64_t>(now - client->opened_ns));
    Count(&joins_, now);
    last_join_ns_ = now;
  }

  void OnClosed(Connection* c, bool, int64_t now) override {
    Client* client = clients_[c->tag].get();
    const bool was_joined = client->joined;
    client->joined = false;
    if (phase_ == Phase::kClosing) return;
    if (!client->on_b) {
      if (phase_ == Phase::kConnecting || !was_joined) {
        ++failed_a_;  // never joined A: the run is void
        if (phase_ == Phase::kConnecting) --in_flight_a_;
        return;
      }
      if (phase_ != Phase::kMoving) ++lost_before_drain_;
      // A closed it (1001 from the drain): to B, after the SDK's delay.
      ++closed_by_a_;
      if (first_close_ns_ == 0) first_close_ns_ = now;
      last_close_ns_ = now;
      Count(&closes_, now);
      client->on_b = true;
      client->conn.target = &b_;
      Schedule(client, now);
      return;
    }
    if (was_joined) {
      ++lost_on_b_;  // B closed a moved client
    } else {
      ++retries_;  // the reconnect to B failed: again, after a delay
    }
    Schedule(client, now);
  }

  void Report() const;
  bool ok() const {
    return failed_a_ == 0 && joined_a_ == clients_.size() && joined_b_ == clients_.size() &&
           lost_on_b_ == 0 && lost_before_drain_ == 0;
  }

 private:
  enum class Phase { kConnecting, kSettling, kMoving, kClosing };

  void Count(std::vector<uint32_t>* timeline, int64_t now) {
    if (sigterm_ns_ == 0 || now < sigterm_ns_) return;
    const size_t bucket = static_cast<size_t>((now - sigterm_ns_) / kBucketNs);
    if (bucket < timeline->size()) ++(*timeline)[bucket];
  }

  void Schedule(Client* c, int64_t now) {
    const int64_t jitter_ns = static_cast<int64_t>(options_.jitter_ms * kMs);
    const int64_t delay =
        jitter_ns > 0 ? std::uniform_int_distribution<int64_t>(0, jitter_ns - 1)(rng_) : 0;
    due_.emplace(now + delay, c);
  }

  int64_t Tick(int64_t now) {
    switch (phase_) {
      case Phase::kConnecting: {
        while (in_flight_a_ < kInitialInFlight && next_ < clients_.size()) {
          Client* c = clients_[next_++].get();
          c->opened_ns = now;
          ++in_flight_a_;
          loop_.Open(&c->conn);
        }
        const bool settled = joined_a_ + failed_a_ == clients_.size();
        if (!settled && now < connect_deadline_) return now + kMs;
        if (failed_a_ > 0 || !settled) return Finish(now);
        Info(options_.common, absl::StrFormat("drain: %d clients joined %d rooms on %s",
                                              clients_.size(), rooms_, options_.common.url));
        phase_ = Phase::kSettling;
        settle_until_ = now + static_cast<int64_t>(options_.settle_s * kSec);
        return settle_until_;
      }
      case Phase::kSettling:
        if (now < settle_until_) return settle_until_;
        sigterm_ns_ = now;
        if (kill(options_.common.pid, SIGTERM) != 0) {
          std::perror("cursor-bench: kill --pid");
          return Finish(now);
        }
        Info(options_.common, absl::StrFormat("drain: SIGTERM to %d", options_.common.pid));
        phase_ = Phase::kMoving;
        move_deadline_ = now + static_cast<int64_t>(options_.move_timeout_s * kSec);
        [[fallthrough]];
      case Phase::kMoving: {
        while (!due_.empty() && due_.top().first <= now) {
          Client* c = due_.top().second;
          due_.pop();
          c->opened_ns = now;
          loop_.Open(&c->conn);
        }
        if (joined_b_ == clients_.size() || now >= move_deadline_) return Finish(now);
        const int64_t next = due_.empty() ? now + 10 * kMs : due_.top().first;
        return std::min(next, now + 10 * kMs);
      }
      case Phase::kClosing:
        if (loop_.live() == 0 || now >= close_deadline_) return -1;
        return now + 10 * kMs;
    }
    return -1;
  }

  int64_t Finish(int64_t now) {
    phase_ = Phase::kClosing;
    for (auto& c : clients_) {
      if (c->conn.open()) {
        loop_.Close(&c->conn);
      } else if (c->conn.state() != Connection::State::kIdle &&
                 c->conn.state() != Connection::State::kClosing) {
        loop_.Abort(&c->conn);
      }
    }
    close_deadline_ = now + 5 * kSec;
    return now + kMs;
  }

  const DrainOptions& options_;
  EventLoop loop_;
  Target b_;
  std::mt19937_64 rng_;
  int rooms_ = 0;
  std::vector<std::unique_ptr<Client>> clients_;
  // Reconnects waiting for their delay, the soonest first.
  std::priority_queue<std::pair<int64_t, Client*>, std::vector<std::pair<int64_t, Client*>>,
                      std::greater<>>
      due_;
  Phase phase_ = Phase::kConnecting;
  size_t next_ = 0;
  int in_flight_a_ = 0;
  int64_t connect_deadline_ = 0;
  int64_t settle_until_ = 0;
  int64_t move_deadline_ = 0;
  int64_t close_deadline_ = 0;
  int64_t sigterm_ns_ = 0;
  int64_t first_close_ns_ = 0;
  int64_t last_close_ns_ = 0;
  int64_t last_join_ns_ = 0;
  size_t joined_a_ = 0;
  size_t failed_a_ = 0;
  size_t closed_by_a_ = 0;
  size_t joined_b_ = 0;
  size_t retries_ = 0;
  size_t lost_on_b_ = 0;
  size_t lost_before_drain_ = 0;
  std::vector<uint32_t> joins_;   // per 10 ms since SIGTERM, on B
  std::vector<uint32_t> closes_;  // per 10 ms since SIGTERM, by A
  Histogram latency_;             // reconnect start to 01 from B

};

// The most events in any `window` consecutive buckets, per second.
double PeakPerSecond(const std::vector<uint32_t>& timeline, size_t window) {
  uint64_t sum = 0, best = 0;
  for (size_t i = 0; i < timeline.size(); ++i) {
    sum += timeline[i];
    if (i >= window) sum -= timeline[i - window];
    best = std::max(best, sum);
  }
  return static_cast<double>(best) * kSec / static_cast<double>(window * kBucketNs);
}

// Counts per 100 ms from SIGTERM up to `end` ("12,40,..."), for plots.
std::string Per100Ms(const std::vector<uint32_t>& timeline, size_t end) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < std::min(end, timeline.size()); i += 10) {
    uint32_t sum = 0;
    for (size_t j = i; j < std::min(i + 10, timeline.size()); ++j) sum += timeline[j];
    out.push_back(sum);
  }
  return absl::StrJoin(out, ",");
}

void DrainRun::Report() const {
  const auto since = [this](int64_t t) { return t == 0 ? -1.0 : (t - sigterm_ns_) / 1e9; };
  const bool all_back = joined_b_ == clients_.size();
  const size_t end_bucket =
      last_join_ns_ > sigterm_ns_ ? static_cast<size_t>((last_join_ns_ - sigterm_ns_) / kBucketNs) + 1
                                  : 0;
  JsonWriter json;
  json.Add("mode", "drain").Add("label", options_.common.label);
  json.Add("url", options_.common.url).Add("to", options_.to_url);
  json.Add("connections", static_cast<int64_t>(clients_.size()));
  json.Add("members", options_.members).Add("rooms", rooms_);
  json.Add("jitter_ms", options_.jitter_ms);
  json.Add("joined_a", static_cast<uint64_t>(joined_a_));
  json.Add("closed_by_a", static_cast<uint64_t>(closed_by_a_));
  json.Add("joined_b", static_cast<uint64_t>(joined_b_));
  json.Add("all_back", all_back);
  json.Add("reconnect_failures", static_cast<uint64_t>(retries_));
  json.Add("lost_on_b", static_cast<uint64_t>(lost_on_b_));
  json.Add("first_close_s", since(first_close_ns_));
  json.Add("last_close_s", since(last_close_ns_));
  json.Add("all_back_s", all_back ? since(last_join_ns_) : -1.0);
  json.Add("peak_joins_per_s_100ms", PeakPerSecond(joins_, 10));
  json.Add("peak_joins_per_s_1s", PeakPerSecond(joins_, 100));
  json.Add("peak_closes_per_s_100ms", PeakPerSecond(closes_, 10));
  AddLatency(&json, "join_latency", latency_);
  json.Add("joins_per_100ms", Per100Ms(joins_, end_bucket));
  json.Add("closes_per_100ms", Per100Ms(closes_, end_bucket));
  AddLoopCounters(&json, loop_.counters());
  json.Add("ok", ok());

  Info(options_.common,
       absl::StrFormat("drain: A closed %d (first %.2f s, last %.2f s after SIGTERM); "
                       "%d of %d back on B, the last %.2f s after SIGTERM; %d failed reconnects",
                       closed_by_a_, since(first_close_ns_), since(last_close_ns_), joined_b_,
                       clients_.size(), since(last_join_ns_), retries_));
  Info(options_.common,
       absl::StrFormat("drain: B's peak join rate %.0f/s over 100 ms, %.0f/s over 1 s",
                       PeakPerSecond(joins_, 10), PeakPerSecond(joins_, 100)));
  Info(options_.common, "drain: join latency on B " + LatencySummary(latency_));
  std::printf("%s\n", json.Finish().c_str());
  std::fflush(stdout);
}

}  // namespace

void SetupDrainCommand(CLI::App& app, DrainOptions* o, bool* selected) {
  CLI::App* cmd = app.add_subcommand(
      "drain", "clients on instance A (--url) move to instance B (--to) when A drains: "
               "cursor-bench SIGTERMs A (--pid) and measures B's join rate and latency");
  AddCommonOptions(cmd, &o->common);
  cmd->add_option("--to", o->to_url, "instance B, ws://HOST:PORT (same rooms, same Redis)")
      ->required();
  cmd->add_option("--connections", o->connections, "clients, all on A at first")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--members", o->members, "clients per room")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--jitter-ms", o->jitter_ms,
                  "a closed client reconnects after a delay uniform in [0, this) "
                  "(the browser SDK's first retry: 500)")
      ->capture_default_str();
  cmd->add_option("--settle", o->settle_s, "seconds between the last join on A and SIGTERM")
      ->capture_default_str();
  cmd->add_option("--move-timeout", o->move_timeout_s,
                  "seconds from SIGTERM allowed for every client to be back")
      ->capture_default_str();
  cmd->callback([selected] { *selected = true; });
}

int RunDrain(const DrainOptions& options) {
  if (options.common.pid <= 0) {
    std::fprintf(stderr, "cursor-bench: drain needs --pid, instance A's process\n");
    return 2;
  }
  // Every client is a descriptor, twice over during the move.
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  absl::StatusOr<EventLoop::Options> loop_options = MakeLoopOptions(options.common, 8);
  absl::StatusOr<Target> a = ParseTarget(options.common.url);
  absl::StatusOr<Target> b = ParseTarget(options.to_url);
  for (const absl::Status& status : {loop_options.status(), a.status(), b.status()}) {
    if (!status.ok()) {
      std::fprintf(stderr, "cursor-bench: %s\n", std::string(status.message()).c_str());
      return 2;
    }
  }
  // A reconnecting client waits for nobody: the move is not throttled by
  // the generator (the first joins are, by kInitialInFlight).
  loop_options->max_pending = static_cast<size_t>(options.connections) + 1;
  auto run = std::make_unique<DrainRun>(options, *loop_options, *a, *b);
  run->Run();
  run->Report();
  return run->ok() ? 0 : 1;
}

}  // namespace cursord::bench
