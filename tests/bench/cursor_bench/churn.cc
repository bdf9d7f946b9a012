#include "churn.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_format.h"
#include "cursor_protocol.h"

namespace cursord::bench {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1'000'000'000;

struct ChurnRoom;

struct Client {
  Connection conn;
  ChurnRoom* room = nullptr;
  bool observer = false;
  bool joined = false;  // got its id in the current session
  int64_t opened_ns = 0;
};

struct ChurnRoom {
  std::string path;
  std::vector<Client*> observers;
  int observers_joined = 0;
  uint64_t joins = 0;   // churner sessions that got their id while running
  uint64_t leaves = 0;  // of those, closed cleanly
  uint64_t joins_seen = 0;   // 03 received by observers while running
  uint64_t leaves_seen = 0;  // 04 received by observers while running
};

struct ChurnStats {
  uint64_t observers = 0;
  uint64_t observers_joined = 0;
  uint64_t joins = 0;
  uint64_t leaves = 0;
  uint64_t unclean = 0;
  uint64_t expected_seen = 0;  // sum over rooms of joins * observers
  uint64_t joins_seen = 0;
  uint64_t leaves_seen = 0;
  uint64_t observers_lost = 0;
  Histogram join_latency;
  Histogram cycle;
  EventLoop::Counters loop;

  void Merge(const ChurnStats& o) {
    observers += o.observers;
    observers_joined += o.observers_joined;
    joins += o.joins;
    leaves += o.leaves;
    unclean += o.unclean;
    expected_seen += o.expected_seen;
    joins_seen += o.joins_seen;
    leaves_seen += o.leaves_seen;
    observers_lost += o.observers_lost;
    join_latency.Merge(o.join_latency);
    cycle.Merge(o.cycle);
    MergeCounters(o.loop, &loop);
  }
};

class ChurnWorker final : public ConnectionHandler {
 public:
  ChurnWorker(const ChurnOptions& options, EventLoop::Options loop_options,
              std::vector<size_t> room_indices, StartGate* gate,
              CpuMeter* meter)
      : options_(options), loop_(std::move(loop_options)), gate_(gate),
        meter_(meter) {
    const Target target = ParseTarget(options.common.url).value();
    for (size_t r : room_indices) {
      auto room = std::make_unique<ChurnRoom>();
      room->path = RoomPath(target, options.common, r);
      for (int i = 0; i < options.observers + options.concurrency; ++i) {
        auto c = std::make_unique<Client>();
        c->room = room.get();
        c->observer = i < options.observers;
        c->conn.handler = this;
        c->conn.path = room->path;
        c->conn.tag = clients_.size();
        if (c->observer) {
          room->observers.push_back(c.get());
        } else {
          churners_.push_back(c.get());
        }
        clients_.push_back(std::move(c));
      }
      rooms_.push_back(std::move(room));
    }
  }

  void Run() {
    const int64_t now = NowNs();
    connect_deadline_ =
        now + static_cast<int64_t>(options_.common.connect_timeout_s * kSec);
    for (auto& room : rooms_) {
      for (Client* o : room->observers) loop_.Open(&o->conn);
      stats_.observers += room->observers.size();
    }
    const int64_t hard_end =
        now + static_cast<int64_t>((options_.common.connect_timeout_s +
                                    options_.common.duration_s +
                                    options_.drain_s + 10) *
                                   kSec);
    loop_.Run(hard_end, [this](int64_t t) { return Tick(t); });
    for (auto& room : rooms_) {
      stats_.joins += room->joins;
      stats_.leaves += room->leaves;
      stats_.expected_seen += room->joins * room->observers.size();
      stats_.joins_seen += room->joins_seen;
      stats_.leaves_seen += room->leaves_seen;
    }
    stats_.loop = loop_.counters();
  }

  const ChurnStats& stats() const { return stats_; }
  double run_seconds() const { return (stop_ns_ - start_ns_) / 1e9; }
  double busy_fraction() const { return busy_fraction_; }

  void OnOpen(Connection* c, int64_t) override {}

  void OnBinary(Connection* c, const uint8_t* data, size_t size,
                int64_t now) override {
    if (size == 0) return;
    Client* client = clients_[c->tag].get();
    ChurnRoom* room = client->room;
    const bool counting = phase_ == Phase::kRunning || phase_ == Phase::kDraining;
    if (client->observer) {
      if (data[0] == kMsgYourId && !client->joined) {
        client->joined = true;
        ++room->observers_joined;
        ++stats_.observers_joined;
      } else if (counting && data[0] == kMsgJoined) {
        ++room->joins_seen;
      } else if (counting && data[0] == kMsgLeft) {
        ++room->leaves_seen;
      }
      return;
    }
    if (data[0] == kMsgYourId && !client->joined) {
      client->joined = true;
      ++room->joins;
      stats_.join_latency.Record(static_cast<uint64_t>(now - client->opened_ns));
      // Leave at once: the point is the join/leave rate, not the stay.
      loop_.Close(c);
    }
  }

  void OnClosed(Connection* c, bool clean, int64_t now) override {
    Client* client = clients_[c->tag].get();
    if (client->observer) {
      if (client->joined && phase_ != Phase::kClosing) ++stats_.observers_lost;
      if (client->joined) --client->room->observers_joined;
      client->joined = false;
      if (phase_ == Phase::kConnecting) ++failed_;
      return;
    }
    if (client->joined) {
      if (clean) {
        ++client->room->leaves;
        stats_.cycle.Record(static_cast<uint64_t>(now - client->opened_ns));
      } else {
        // A member whose close did not complete still left the room.
        ++client->room->leaves;
        ++stats_.unclean;
      }
    }
    client->joined = false;
    if (phase_ == Phase::kRunning) Reopen(client, now);
  }

 private:
  enum class Phase { kConnecting, kWaiting, kRunning, kDraining, kClosing };

  void Reopen(Client* c, int64_t now) {
    c->opened_ns = now;
    loop_.Open(&c->conn);
  }

  uint64_t ExpectedSeen() const {
    uint64_t n = 0;
    for (auto& room : rooms_) n += room->joins * room->observers.size();
    return n;
  }
  uint64_t JoinsSeen() const {
    uint64_t n = 0;
    for (auto& room : rooms_) n += room->joins_seen;
    return n;
  }
  uint64_t LeavesSeen() const {
    uint64_t n = 0;
    for (auto& room : rooms_) n += room->leaves_seen;
    return n;
  }

  bool ChurnersIdle() const {
    for (Client* c : churners_) {
      if (c->conn.state() != Connection::State::kIdle) return false;
    }
    return true;
  }

  int64_t Tick(int64_t now) {
    switch (phase_) {
      case Phase::kConnecting: {
        const size_t settled =
            static_cast<size_t>(stats_.observers_joined) + failed_;
        if (settled < stats_.observers && now < connect_deadline_) {
          return now + kMs;
        }
        gate_->Arrive(now, 100 * kMs);
        phase_ = Phase::kWaiting;
        [[fallthrough]];
      }
      case Phase::kWaiting: {
        const int64_t start = gate_->start_ns();
        if (start == 0) return now + kMs;
        if (now < start) return start;
        start_ns_ = now;
        end_ns_ = now + static_cast<int64_t>(options_.common.duration_s * kSec);
        if (meter_ != nullptr) meter_->Start(now);
        idle_at_start_ = loop_.counters().idle_ns;
        for (Client* c : churners_) Reopen(c, now);
        phase_ = Phase::kRunning;
        return now;
      }
      case Phase::kRunning:
        if (now < end_ns_) return end_ns_;
        stop_ns_ = now;
        if (meter_ != nullptr) meter_->Stop(now);
        busy_fraction_ =
            1.0 - static_cast<double>(loop_.counters().idle_ns - idle_at_start_) /
                      static_cast<double>(std::max<int64_t>(1, now - start_ns_));
        // Sessions already started finish (and count); no new ones start.
        for (Client* c : churners_) {
          if (c->conn.state() == Connection::State::kQueued) loop_.Abort(&c->conn);
        }
        phase_ = Phase::kDraining;
        drain_deadline_ = now + static_cast<int64_t>(options_.drain_s * kSec);
        return now + kMs;
      case Phase::kDraining: {
        const uint64_t expected = ExpectedSeen();
        const bool settled = ChurnersIdle() && JoinsSeen() >= expected &&
                             LeavesSeen() >= expected;
        if (!settled && now < drain_deadline_) return now + 5 * kMs;
        phase_ = Phase::kClosing;
        for (auto& room : rooms_) {
          for (Client* o : room->observers) loop_.Close(&o->conn);
        }
        for (Client* c : churners_) loop_.Abort(&c->conn);
        close_deadline_ = now + 3 * kSec;
        return now + kMs;
      }
      case Phase::kClosing:
        if (loop_.live() == 0 || now >= close_deadline_) return -1;
        return now + 10 * kMs;
    }
    return -1;
  }

  const ChurnOptions& options_;
  EventLoop loop_;
  StartGate* gate_;
  CpuMeter* meter_;
  std::vector<std::unique_ptr<ChurnRoom>> rooms_;
  std::vector<std::unique_ptr<Client>> clients_;
  std::vector<Client*> churners_;
  Phase phase_ = Phase::kConnecting;
  size_t failed_ = 0;
  int64_t connect_deadline_ = 0;
  int64_t start_ns_ = 0;
  int64_t end_ns_ = 0;
  int64_t stop_ns_ = 0;
  int64_t drain_deadline_ = 0;
  int64_t close_deadline_ = 0;
  int64_t idle_at_start_ = 0;
  double busy_fraction_ = 0;
  ChurnStats stats_;
};

}  // namespace

void SetupChurnCommand(CLI::App& app, ChurnOptions* o, bool* selected) {
  CLI::App* cmd = app.add_subcommand(
      "churn", "members join and leave as fast as the server allows; "
               "observers check every join and leave is announced");
  AddCommonOptions(cmd, &o->common);
  cmd->add_option("--rooms", o->rooms, "rooms")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--observers", o->observers, "steady members per room")
      ->capture_default_str()
      ->check(CLI::Range(1, 200));
  cmd->add_option("--concurrency", o->concurrency,
                  "churning connections per room at any moment")
      ->capture_default_str()
      ->check(CLI::Range(1, 50));
  cmd->add_option("--drain", o->drain_s,
                  "seconds allowed for the last announcements")
      ->capture_default_str();
  cmd->add_flag("--recycle,!--no-recycle", o->recycle,
               "after a complete closing handshake, end the connection with "
               "shutdown() and connect the same socket again (the server sees "
               "the same segments; the generator saves a socket per session)")
      ->capture_default_str();
  cmd->callback([selected] { *selected = true; });
}

int RunChurn(const ChurnOptions& options) {
  // Every session takes a fresh port; several source addresses keep a long
  // run clear of the ~28k ephemeral ports of one address.
  absl::StatusOr<EventLoop::Options> loop_options =
      MakeLoopOptions(options.common, 8);
  if (!loop_options.ok()) {
    std::fprintf(stderr, "cursor-bench: %s\n",
                 std::string(loop_options.status().message()).c_str());
    return 2;
  }
  // Observers' sockets are recycled too when they close at the end; the
  // loop closes spares that no session takes up.
  loop_options->recycle_sockets = options.recycle;
  const int threads = std::min(options.common.threads, options.rooms);
  Info(options.common,
       absl::StrFormat("churn: %d rooms, %d observers + %d churners each, "
                       "%d thread(s), %s",
                       options.rooms, options.observers, options.concurrency,
                       threads, options.common.url));
  StartGate gate(threads);
  CpuMeter meter(options.common.pid);
  std::vector<std::unique_ptr<ChurnWorker>> workers;
  for (int t = 0; t < threads; ++t) {
    std::vector<size_t> rooms;
    for (int r = t; r < options.rooms; r += threads) rooms.push_back(r);
    workers.push_back(std::make_unique<ChurnWorker>(
        options, *loop_options, std::move(rooms), &gate,
        t == 0 ? &meter : nullptr));
  }
  RunWorkers(workers);

  ChurnStats s;
  double busiest = 0;
  for (auto& w : workers) {
    s.Merge(w->stats());
    busiest = std::max(busiest, w->busy_fraction());
  }
  const double secs = workers[0]->run_seconds();
  const bool all_seen = s.joins_seen == s.expected_seen &&
                        s.leaves_seen == s.expected_seen;
  JsonWriter json;
  json.Add("mode", "churn").Add("label", options.common.label);
  json.Add("url", options.common.url);
  json.Add("rooms", options.rooms).Add("observers", options.observers);
  json.Add("concurrency", options.concurrency).Add("recycle", options.recycle);
  json.Add("duration_s", secs).Add("threads", threads);
  json.Add("observers_joined", s.observers_joined);
  json.Add("joins", s.joins).Add("joins_per_s", secs > 0 ? s.joins / secs : 0);
  json.Add("leaves", s.leaves).Add("leaves_per_s", secs > 0 ? s.leaves / secs : 0);
  json.Add("unclean_leaves", s.unclean);
  json.Add("expected_seen", s.expected_seen);
  json.Add("joins_seen", s.joins_seen).Add("leaves_seen", s.leaves_seen);
  json.Add("all_seen", all_seen);
  json.Add("observers_lost", s.observers_lost);
  AddLatency(&json, "join_latency", s.join_latency);
  AddLatency(&json, "session", s.cycle);
  std::string warning = AddCpu(&json, meter, threads,
                               options.common.busy_poll ? busiest : -1.0);
  AddLoopCounters(&json, s.loop);
  if (warning.empty()) {
    json.AddNull("warning");
  } else {
    json.Add("warning", warning);
  }
  const bool ok = s.observers_joined == s.observers && s.joins > 0 && all_seen;
  json.Add("ok", ok);

  Info(options.common,
       absl::StrFormat("joins %d (%.0f/s), leaves %d (%.0f/s); observers saw "
                       "%d joins and %d leaves of %d expected each",
                       s.joins, secs > 0 ? s.joins / secs : 0, s.leaves,
                       secs > 0 ? s.leaves / secs : 0, s.joins_seen,
                       s.leaves_seen, s.expected_seen));
  Info(options.common, "join latency " + LatencySummary(s.join_latency));
  Info(options.common, absl::StrFormat("cpu self %.2f cores, server %.2f cores",
                                       meter.SelfCores(), meter.ServerCores()));
  if (!warning.empty()) Info(options.common, "WARNING: " + warning);
  std::printf("%s\n", json.Finish().c_str());
  std::fflush(stdout);
  return ok ? 0 : 1;
}

}  // namespace cursord::bench
