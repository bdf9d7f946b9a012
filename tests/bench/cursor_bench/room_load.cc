#include "room_load.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "cursor_protocol.h"
#include "scheduler.h"

namespace cursord::bench {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1'000'000'000;
// Staleness is sampled this often for every (receiver, sender) pair.
constexpr int64_t kStalenessIntervalNs = 50 * kMs;
// Saturate mode remembers this many send times per sender; older updates
// arriving later are counted as too old instead of timed.
constexpr uint32_t kSendRingSize = 1 << 14;
// A saturating sender whose window has not moved for this long is reset,
// so a lost update cannot stall it for the rest of the run. Long enough
// that a merely slow server (seconds of backlog) is not mistaken for loss.
constexpr int64_t kStallNs = 5 * kSec;

struct Room;

struct Member {
  Connection conn;
  Room* room = nullptr;
  int index = 0;        // position in the room
  int instance = 0;     // which of the --url servers it is connected to
  int sender_slot = -1;  // index among the room's senders, -1 if none
  int id = -1;          // assigned by the server
  // Sender side.
  size_t schedule_index = 0;  // rate: position in the worker's schedule
  uint32_t next_seq = 0;      // updates issued (sent or skipped)
  std::vector<int64_t> send_times;  // saturate: ring indexed by seq
  Member* probe = nullptr;          // saturate: receiver confirming progress
  int64_t last_progress_ns = 0;
  uint32_t last_probe_seen = 0;
  uint64_t received = 0;  // cursor updates this member received in the run
  // Updates below this count as confirmed even if the probe never saw them
  // (set when a stalled window is written off).
  uint32_t written_off = 0;
};

struct Room {
  std::string path;
  std::vector<Member*> members;
  std::vector<Member*> senders;
  std::array<Member*, 256> by_id{};
  int joined = 0;
  // Newest seq + 1 that receiver r has seen from sender slot s, at
  // [r * senders + s]; 0 = nothing yet.
  std::vector<uint32_t> seen;

  uint32_t& Seen(int receiver, int sender_slot) {
    return seen[static_cast<size_t>(receiver) * senders.size() + sender_slot];
  }
};

struct Stats {
  uint64_t members = 0;
  uint64_t joined = 0;
  uint64_t senders = 0;
  uint64_t sent = 0;
  uint64_t skipped_blocked = 0;
  uint64_t skipped_closed = 0;
  uint64_t expected = 0;
  uint64_t delivered = 0;
  uint64_t delivered_in_window = 0;  // received before the end of the run
  uint64_t unknown_sender = 0;
  uint64_t out_of_order = 0;
  uint64_t too_old = 0;
  uint64_t stalls = 0;
  uint64_t left_during_run = 0;
  uint64_t final_pairs = 0;         // (receiver, sender) pairs at the end
  uint64_t final_pairs_current = 0;  // ... that saw the sender's last update
  // Fairness: the fewest and most updates any one receiver got.
  uint64_t receiver_min = UINT64_MAX;
  uint64_t receiver_max = 0;
  Histogram latency;
  // With several servers: deliveries whose sender is connected to another
  // server than the receiver (they crossed the backplane), and the rest.
  uint64_t delivered_cross_in_window = 0;
  Histogram latency_cross;
  Histogram latency_local;
  Histogram staleness;
  Histogram send_lag;
  EventLoop::Counters loop;

  void Merge(const Stats& o) {
    members += o.members;
    joined += o.joined;
    senders += o.senders;
    sent += o.sent;
    skipped_blocked += o.skipped_blocked;
    skipped_closed += o.skipped_closed;
    expected += o.expected;
    delivered += o.delivered;
    delivered_in_window += o.delivered_in_window;
    unknown_sender += o.unknown_sender;
    out_of_order += o.out_of_order;
    too_old += o.too_old;
    stalls += o.stalls;
    left_during_run += o.left_during_run;
    final_pairs += o.final_pairs;
    final_pairs_current += o.final_pairs_current;
    receiver_min = std::min(receiver_min, o.receiver_min);
    receiver_max = std::max(receiver_max, o.receiver_max);
    latency.Merge(o.latency);
    delivered_cross_in_window += o.delivered_cross_in_window;
    latency_cross.Merge(o.latency_cross);
    latency_local.Merge(o.latency_local);
    staleness.Merge(o.staleness);
    send_lag.Merge(o.send_lag);
    MergeCounters(o.loop, &loop);
  }
};

// One thread's share of the rooms. Everything here is owned by that thread;
// only the StartGate and the CpuMeter (thread 0) cross threads.
class Worker final : public ConnectionHandler {
 public:
  // `targets` are the servers, one or more; the members of room r go to
  // them round-robin starting at r % targets, so that in rooms with fewer
  // senders than members the senders still spread over the servers.
  Worker(const RoomLoadOptions& options, RoomLoadMode mode,
         EventLoop::Options loop_options, const std::vector<Target>* targets,
         std::vector<size_t> room_indices, StartGate* gate, CpuMeter* meter)
      : options_(options),
        mode_(mode),
        loop_(std::move(loop_options)),
        gate_(gate),
        meter_(meter) {
    const int senders_per_room =
        options.senders < 0 ? options.members
                            : std::min(options.senders, options.members);
    const size_t n_targets = targets->size();
    for (size_t r : room_indices) {
      auto room = std::make_unique<Room>();
      room->path = RoomPath(targets->front(), options.common, r);
      for (int m = 0; m < options.members; ++m) {
        auto member = std::make_unique<Member>();
        member->room = room.get();
        member->index = m;
        member->instance = static_cast<int>((r + m) % n_targets);
        member->conn.handler = this;
        member->conn.path = room->path;
        member->conn.tag = members_.size();
        if (n_targets > 1) member->conn.target = &(*targets)[member->instance];
        if (m < senders_per_room) {
          member->sender_slot = m;
          room->senders.push_back(member.get());
        }
        room->members.push_back(member.get());
        members_.push_back(std::move(member));
      }
      room->seen.assign(room->members.size() * room->senders.size(), 0);
      rooms_.push_back(std::move(room));
    }
    // Interleave rooms in the schedule so each room's senders are spread
    // over the whole period instead of firing back to back.
    for (int s = 0; s < senders_per_room; ++s) {
      for (auto& room : rooms_) {
        Member* m = room->senders[s];
        m->schedule_index = schedule_order_.size();
        schedule_order_.push_back(m);
      }
    }
    for (auto& room : rooms_) {
      const size_t n = room->members.size();
      for (Member* s : room->senders) {
        if (mode_ == RoomLoadMode::kSaturate) {
          s->send_times.assign(kSendRingSize, 0);
          s->probe = room->members[(s->index + 1) % n];
        }
      }
    }
    stats_.members = members_.size();
    stats_.senders = schedule_order_.size();
  }

  void Run() {
    const int64_t now = NowNs();
    connect_deadline_ = now + static_cast<int64_t>(
                                  options_.common.connect_timeout_s * kSec);
    for (auto& m : members_) loop_.Open(&m->conn);
    const int64_t hard_end =
        now + static_cast<int64_t>((options_.common.connect_timeout_s +
                                    options_.common.duration_s +
                                    options_.drain_s + options_.linger_s + 10) *
                                   kSec);
    loop_.Run(hard_end, [this](int64_t t) { return Tick(t); });
    stats_.loop = loop_.counters();
  }

  const Stats& stats() const { return stats_; }
  double busy_fraction() const { return busy_fraction_; }
  int64_t start_ns() const { return start_ns_; }
  int64_t end_ns() const { return end_ns_; }

  // ConnectionHandler.
  void OnOpen(Connection*, int64_t) override {}

  void OnBinary(Connection* c, const uint8_t* data, size_t size,
                int64_t now) override {
    if (size == 0) return;
    Member* m = members_[c->tag].get();
    Room* room = m->room;
    switch (data[0]) {
      case kMsgCursor:
        OnCursor(m, data, size, now);
        return;
      case kMsgYourId:
        if (size >= 2 && m->id < 0) {
          m->id = data[1];
          room->by_id[m->id] = m;
          ++room->joined;
          ++stats_.joined;
        }
        return;
      case kMsgLeft:
        if (phase_ == Phase::kRunning) ++stats_.left_during_run;
        return;
      default:
        return;  // member lists, joins and clicks do not matter here
    }
  }

  void OnClosed(Connection* c, bool, int64_t) override {
    Member* m = members_[c->tag].get();
    if (m->id >= 0) {
      if (m->room->by_id[m->id] == m) m->room->by_id[m->id] = nullptr;
      --m->room->joined;
      m->id = -1;
    } else if (phase_ == Phase::kConnecting) {
      ++failed_;
    }
  }

 private:
  enum class Phase { kConnecting, kWaiting, kRunning, kDraining, kLingering, kClosing };

  void OnCursor(Member* receiver, const uint8_t* data, size_t size,
                int64_t now) {
    CursorBroadcast msg;
    if (!DecodeCursorBroadcast(data, size, &msg)) return;
    if (phase_ != Phase::kRunning && phase_ != Phase::kDraining) return;
    Room* room = receiver->room;
    Member* sender = room->by_id[msg.id];
    if (sender == nullptr || sender->sender_slot < 0 ||
        msg.seq >= sender->next_seq) {
      ++stats_.unknown_sender;
      return;
    }
    ++stats_.delivered;
    ++receiver->received;
    const bool cross = sender->instance != receiver->instance;
    if (phase_ == Phase::kRunning) {
      ++stats_.delivered_in_window;
      if (cross) ++stats_.delivered_cross_in_window;
    }
    uint32_t& seen = room->Seen(receiver->index, sender->sender_slot);
    if (msg.seq + 1 > seen) {
      seen = msg.seq + 1;
    } else {
      ++stats_.out_of_order;
    }
    if (mode_ == RoomLoadMode::kRate) {
      const int64_t intended =
          schedule_->IntendedTime(sender->schedule_index, msg.seq);
      RecordLatency(cross, now - intended);
    } else if (sender->next_seq - msg.seq <= kSendRingSize) {
      const int64_t sent = sender->send_times[msg.seq & (kSendRingSize - 1)];
      RecordLatency(cross, now - sent);
    } else {
      ++stats_.too_old;
    }
  }

  void RecordLatency(bool cross, int64_t ns) {
    const uint64_t v = static_cast<uint64_t>(std::max<int64_t>(0, ns));
    stats_.latency.Record(v);
    (cross ? stats_.latency_cross : stats_.latency_local).Record(v);
  }

  int64_t Tick(int64_t now) {
    switch (phase_) {
      case Phase::kConnecting: {
        const size_t settled = static_cast<size_t>(stats_.joined) + failed_;
        if (settled < members_.size() && now < connect_deadline_) {
          return now + kMs;
        }
        gate_->Arrive(now, 200 * kMs);
        phase_ = Phase::kWaiting;
        [[fallthrough]];
      }
      case Phase::kWaiting: {
        const int64_t start = gate_->start_ns();
        if (start == 0) return now + kMs;
        if (start_ns_ == 0) BeginRun(start);
        if (now < start_ns_) return start_ns_;
        if (meter_ != nullptr && !meter_started_) {
          meter_->Start(now);
          meter_started_ = true;
          // run.sh samples Redis' counters when it sees these two lines.
          Info(options_.common, "window start");
        }
        idle_at_start_ = loop_.counters().idle_ns;
        phase_ = Phase::kRunning;
        [[fallthrough]];
      }
      case Phase::kRunning: {
        if (now >= end_ns_) {
          if (meter_ != nullptr) {
            meter_->Stop(now);
            Info(options_.common, "window end");
          }
          if (now > start_ns_) {
            busy_fraction_ =
                1.0 - static_cast<double>(loop_.counters().idle_ns - idle_at_start_) /
                          static_cast<double>(now - start_ns_);
          }
          phase_ = Phase::kDraining;
          drain_deadline_ = now + static_cast<int64_t>(options_.drain_s * kSec);
          last_delivered_ = stats_.delivered;
          last_change_ns_ = now;
          return now;
        }
        int64_t next = end_ns_;
        if (mode_ == RoomLoadMode::kRate) {
          next = std::min(next, schedule_->RunDue(now, [&](size_t i, uint64_t seq,
                                                           int64_t intended) {
            SendScheduled(schedule_order_[i], static_cast<uint32_t>(seq),
                          intended, now);
          }));
        } else {
          PumpSaturate(now);
          next = std::min(next, now + 10 * kMs);
        }
        if (now >= next_staleness_ns_) {
          SampleStaleness(now);
          next_staleness_ns_ = now + kStalenessIntervalNs;
        }
        return std::min(next, next_staleness_ns_);
      }
      case Phase::kDraining: {
        if (stats_.delivered != last_delivered_) {
          last_delivered_ = stats_.delivered;
          last_change_ns_ = now;
        }
        // Done when every receiver has every sender's last update, or
        // nothing arrived for a while, or the drain time is up.
        const bool quiet = now - last_change_ns_ > 500 * kMs;
        if (now >= next_check_ns_ || quiet || now >= drain_deadline_) {
          next_check_ns_ = now + 50 * kMs;
          if (AllCurrent() || quiet || now >= drain_deadline_) {
            CountFinalPairs();
            phase_ = Phase::kLingering;
            linger_deadline_ = now + static_cast<int64_t>(options_.linger_s * kSec);
            return now;
          }
        }
        return now + 5 * kMs;
      }
      case Phase::kLingering:
        if (now < linger_deadline_) return linger_deadline_;
        for (auto& m : members_) loop_.Close(&m->conn);
        phase_ = Phase::kClosing;
        close_deadline_ = now + 3 * kSec;
        return now;
      case Phase::kClosing:
        if (loop_.live() == 0 || now >= close_deadline_) return -1;
        return now + 10 * kMs;
    }
    return -1;
  }

  void BeginRun(int64_t start) {
    start_ns_ = start;
    end_ns_ = start + static_cast<int64_t>(options_.common.duration_s * kSec);
    const int64_t period =
        static_cast<int64_t>(std::llround(1e9 / std::max(options_.hz, 1e-3)));
    schedule_.emplace(start, period, end_ns_, schedule_order_.size());
    next_staleness_ns_ = start + kStalenessIntervalNs;
  }

  void SendScheduled(Member* m, uint32_t seq, int64_t intended, int64_t now) {
    m->next_seq = seq + 1;
    if (!m->conn.open() || m->id < 0) {
      ++stats_.skipped_closed;
      return;
    }
    uint8_t update[kCursorUpdateSize];
    EncodeCursorUpdate(seq, update);
    if (!loop_.SendBinary(&m->conn, update, sizeof update)) {
      ++stats_.skipped_blocked;
      return;
    }
    ++stats_.sent;
    stats_.expected += static_cast<uint64_t>(std::max(0, m->room->joined - 1));
    stats_.send_lag.Record(static_cast<uint64_t>(std::max<int64_t>(0, now - intended)));
  }

  void PumpSaturate(int64_t now) {
    uint8_t update[kCursorUpdateSize];
    for (Member* m : schedule_order_) {
      if (!m->conn.open() || m->id < 0) continue;
      const uint32_t confirmed =
          std::max(m->room->Seen(m->probe->index, m->sender_slot), m->written_off);
      if (confirmed != m->last_probe_seen) {
        m->last_probe_seen = confirmed;
        m->last_progress_ns = now;
      } else if (m->next_seq != confirmed &&
                 now - m->last_progress_ns > kStallNs) {
        // Write the window off rather than stop sending for good.
        ++stats_.stalls;
        m->last_progress_ns = now;
        m->written_off = m->next_seq;
        m->last_probe_seen = m->next_seq;
      }
      uint32_t outstanding = m->next_seq - m->last_probe_seen;
      if (outstanding >= static_cast<uint32_t>(options_.window)) continue;
      if (outstanding == 0) m->last_progress_ns = now;
      bool queued = false;
      const uint64_t receivers =
          static_cast<uint64_t>(std::max(0, m->room->joined - 1));
      while (outstanding < static_cast<uint32_t>(options_.window)) {
        EncodeCursorUpdate(m->next_seq, update);
        if (!loop_.QueueBinary(&m->conn, update, sizeof update)) {
          ++stats_.skipped_blocked;
          break;
        }
        m->send_times[m->next_seq & (kSendRingSize - 1)] = now;
        ++m->next_seq;
        ++outstanding;
        ++stats_.sent;
        stats_.expected += receivers;
        queued = true;
      }
      // One write per sender per pass: the whole window in one syscall.
      if (queued) loop_.Flush(&m->conn);
    }
  }

  void SampleStaleness(int64_t now) {
    for (auto& room : rooms_) {
      for (Member* s : room->senders) {
        if (s->next_seq == 0) continue;
        for (Member* r : room->members) {
          if (r == s || r->id < 0) continue;
          const uint32_t seen = room->Seen(r->index, s->sender_slot);
          if (seen >= s->next_seq) {
            stats_.staleness.Record(0);
            continue;
          }
          // The receiver lacks update `seen` (and any later ones): it has
          // been stale since that update was due (rate) or sent (saturate).
          const int64_t since =
              mode_ == RoomLoadMode::kRate
                  ? schedule_->IntendedTime(s->schedule_index, seen)
                  : (s->next_seq - seen <= kSendRingSize
                         ? s->send_times[seen & (kSendRingSize - 1)]
                         : start_ns_);
          stats_.staleness.Record(static_cast<uint64_t>(std::max<int64_t>(0, now - since)));
        }
      }
    }
  }

  bool AllCurrent() {
    for (auto& room : rooms_) {
      for (Member* s : room->senders) {
        if (s->next_seq == 0) continue;
        for (Member* r : room->members) {
          if (r == s || r->id < 0) continue;
          if (room->Seen(r->index, s->sender_slot) < s->next_seq) return false;
        }
      }
    }
    return true;
  }

  void CountFinalPairs() {
    for (auto& m : members_) {
      stats_.receiver_min = std::min(stats_.receiver_min, m->received);
      stats_.receiver_max = std::max(stats_.receiver_max, m->received);
    }
    for (auto& room : rooms_) {
      for (Member* s : room->senders) {
        if (s->next_seq == 0) continue;
        for (Member* r : room->members) {
          if (r == s || r->id < 0) continue;
          ++stats_.final_pairs;
          if (room->Seen(r->index, s->sender_slot) >= s->next_seq) {
            ++stats_.final_pairs_current;
          }
        }
      }
    }
  }

  const RoomLoadOptions& options_;
  const RoomLoadMode mode_;
  EventLoop loop_;
  StartGate* gate_;
  CpuMeter* meter_;  // only thread 0 has one
  bool meter_started_ = false;
  std::vector<std::unique_ptr<Room>> rooms_;
  std::vector<std::unique_ptr<Member>> members_;
  std::vector<Member*> schedule_order_;
  std::optional<OpenLoopSchedule> schedule_;
  Phase phase_ = Phase::kConnecting;
  size_t failed_ = 0;
  int64_t connect_deadline_ = 0;
  int64_t start_ns_ = 0;
  int64_t end_ns_ = 0;
  int64_t drain_deadline_ = 0;
  int64_t close_deadline_ = 0;
  int64_t linger_deadline_ = 0;
  int64_t next_staleness_ns_ = 0;
  int64_t next_check_ns_ = 0;
  int64_t last_change_ns_ = 0;
  uint64_t last_delivered_ = 0;
  int64_t idle_at_start_ = 0;
  double busy_fraction_ = 0;
  Stats stats_;
};

void AddRoomOptions(CLI::App* cmd, RoomLoadOptions* o) {
  AddCommonOptions(cmd, &o->common);
  cmd->add_option("--rooms", o->rooms, "rooms")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--members", o->members, "members per room")
      ->capture_default_str()
      ->check(CLI::Range(2, 256));
  cmd->add_option("--senders", o->senders,
                  "senders per room (-1: every member)")
      ->capture_default_str();
  cmd->add_option("--linger", o->linger_s,
                  "seconds to stay connected after the drain, before closing")
      ->capture_default_str();
  cmd->add_option("--drain", o->drain_s,
                  "seconds to wait for late deliveries after the run")
      ->capture_default_str();
}

}  // namespace

void SetupRateCommand(CLI::App& app, RoomLoadOptions* options,
                      RoomLoadMode* mode) {
  CLI::App* cmd = app.add_subcommand(
      "rate", "rooms of members sending cursor updates at a fixed rate "
              "(open loop); latency from each update's intended send time");
  AddRoomOptions(cmd, options);
  cmd->add_option("--hz", options->hz, "updates per second per sender")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->callback([mode] { *mode = RoomLoadMode::kRate; });
}

void SetupSaturateCommand(CLI::App& app, RoomLoadOptions* options,
                          RoomLoadMode* mode) {
  CLI::App* cmd = app.add_subcommand(
      "saturate", "senders as fast as a bounded window allows; the most "
                  "cursor updates per second the server delivers");
  AddRoomOptions(cmd, options);
  cmd->add_option("--window", options->window,
                  "unconfirmed updates per sender")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  cmd->callback([mode] { *mode = RoomLoadMode::kSaturate; });
}

int RunRoomLoad(const RoomLoadOptions& options, RoomLoadMode mode) {
  const char* mode_name = mode == RoomLoadMode::kRate ? "rate" : "saturate";
  const size_t total = static_cast<size_t>(options.rooms) * options.members;
  // --url may list several servers (a cluster sharing rooms); the loop's
  // own target is the first, the members carry theirs.
  std::vector<Target> targets;
  for (absl::string_view url : absl::StrSplit(options.common.url, ',')) {
    absl::StatusOr<Target> target = ParseTarget(std::string(url));
    if (!target.ok()) {
      std::fprintf(stderr, "cursor-bench: %s\n",
                   std::string(target.status().message()).c_str());
      return 2;
    }
    targets.push_back(*std::move(target));
  }
  CommonOptions first = options.common;
  first.url = std::string(absl::string_view(options.common.url)
                              .substr(0, options.common.url.find(',')));
  // One source address per ~20k connections keeps clear of port limits.
  absl::StatusOr<EventLoop::Options> loop_options =
      MakeLoopOptions(first, static_cast<int>(total / 20000 + 1));
  CpuMeter meter(options.common.pid);
  absl::Status watching = WatchProcesses(options.common, &meter);
  if (!loop_options.ok() || !watching.ok()) {
    std::fprintf(stderr, "cursor-bench: %s\n",
                 std::string(loop_options.ok() ? watching.message()
                                               : loop_options.status().message())
                     .c_str());
    return 2;
  }
  const int threads = std::min<int>(options.common.threads, options.rooms);
  Info(options.common,
       absl::StrFormat("%s: %d rooms x %d members, %d thread(s), %s", mode_name,
                       options.rooms, options.members, threads,
                       options.common.url));
  StartGate gate(threads);
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < threads; ++t) {
    std::vector<size_t> rooms;
    for (int r = t; r < options.rooms; r += threads) rooms.push_back(r);
    workers.push_back(std::make_unique<Worker>(options, mode, *loop_options,
                                               &targets, std::move(rooms), &gate,
                                               t == 0 ? &meter : nullptr));
  }
  RunWorkers(workers);

  Stats s;
  double busiest = 0;
  for (auto& w : workers) {
    s.Merge(w->stats());
    busiest = std::max(busiest, w->busy_fraction());
  }
  const double secs = options.common.duration_s;
  JsonWriter json;
  json.Add("mode", mode_name).Add("label", options.common.label);
  json.Add("url", options.common.url);
  json.Add("rooms", options.rooms).Add("members", options.members);
  json.Add("senders_per_room",
           options.senders < 0 ? options.members
                               : std::min(options.senders, options.members));
  if (mode == RoomLoadMode::kRate) {
    json.Add("hz", options.hz);
  } else {
    json.Add("window", options.window);
  }
  json.Add("duration_s", secs).Add("threads", threads);
  json.Add("connections", s.members).Add("joined", s.joined);
  json.Add("sent", s.sent).Add("sent_per_s", s.sent / secs);
  json.Add("expected", s.expected);
  // Rates count what arrived inside the measured window; late deliveries
  // during the drain only count towards the totals.
  json.Add("delivered", s.delivered);
  json.Add("delivered_in_window", s.delivered_in_window);
  json.Add("delivered_per_s", s.delivered_in_window / secs);
  json.Add("delivery_ratio",
           s.expected ? static_cast<double>(s.delivered) / s.expected : 0.0);
  json.Add("skipped_blocked", s.skipped_blocked);
  json.Add("skipped_closed", s.skipped_closed);
  json.Add("out_of_order", s.out_of_order);
  json.Add("unknown_sender", s.unknown_sender);
  json.Add("left_during_run", s.left_during_run);
  if (mode == RoomLoadMode::kSaturate) {
    json.Add("too_old", s.too_old).Add("stalls", s.stalls);
  }
  json.Add("final_pairs", s.final_pairs);
  json.Add("final_pairs_current", s.final_pairs_current);
  json.Add("receiver_delivered_min", s.receiver_min == UINT64_MAX ? 0 : s.receiver_min);
  json.Add("receiver_delivered_max", s.receiver_max);
  AddLatency(&json, "latency", s.latency);
  if (targets.size() > 1) {
    json.Add("servers", static_cast<int>(targets.size()));
    json.Add("delivered_cross_per_s", s.delivered_cross_in_window / secs);
    AddLatency(&json, "latency_cross", s.latency_cross);
    AddLatency(&json, "latency_local", s.latency_local);
  }
  AddLatency(&json, "staleness", s.staleness);
  if (mode == RoomLoadMode::kRate) AddLatency(&json, "send_lag", s.send_lag);
  std::string warning = AddCpu(&json, meter, threads,
                               options.common.busy_poll ? busiest : -1.0);
  // Sending late means the generator could not keep the schedule; the
  // lateness is part of the measured latency, so say so.
  if (mode == RoomLoadMode::kRate && s.send_lag.Percentile(99) > 1 * kMs) {
    if (!warning.empty()) warning += "; ";
    warning += absl::StrFormat(
        "the generator sent late (p99 %.2f ms after the intended time)",
        s.send_lag.Percentile(99) / 1e6);
  }
  if (options.common.pid > 0) {
    std::optional<uint64_t> rss = ReadProcessRss(options.common.pid);
    if (rss) json.Add("server_rss_bytes", *rss);
  }
  AddLoopCounters(&json, s.loop);
  if (warning.empty()) {
    json.AddNull("warning");
  } else {
    json.Add("warning", warning);
  }
  const bool ok = s.joined == s.members && s.delivered > 0;
  json.Add("ok", ok);

  Info(options.common,
       absl::StrFormat("joined %d/%d; sent %d (%.0f/s), delivered %d (%.0f/s in "
                       "the window) of %d expected (%.1f%%); skipped %d "
                       "blocked, %d closed",
                       s.joined, s.members, s.sent, s.sent / secs, s.delivered,
                       s.delivered_in_window / secs, s.expected,
                       s.expected ? 100.0 * s.delivered / s.expected : 0.0,
                       s.skipped_blocked, s.skipped_closed));
  Info(options.common, "latency   " + LatencySummary(s.latency));
  if (targets.size() > 1) {
    Info(options.common, "  across servers " + LatencySummary(s.latency_cross));
    Info(options.common, "  same server    " + LatencySummary(s.latency_local));
  }
  Info(options.common, "staleness " + LatencySummary(s.staleness));
  Info(options.common,
       absl::StrFormat("final positions current: %d of %d pairs; cpu self "
                       "%.2f cores (busy %.0f%%), server %.2f cores",
                       s.final_pairs_current, s.final_pairs, meter.SelfCores(),
                       options.common.busy_poll ? 100 * busiest : 100 * meter.SelfCores() / threads,
                       meter.ServerCores()));
  if (!warning.empty()) Info(options.common, "WARNING: " + warning);
  std::printf("%s\n", json.Finish().c_str());
  std::fflush(stdout);
  return ok ? 0 : 1;
}

}  // namespace cursord::bench
