#include "server/edge/shard.h"

#include <boost/asio/post.hpp>

#include "server/common/logging.h"
#include "server/core/ws_handshake.h"
#include "server/edge/cluster_relay.h"
#include "server/edge/ws_session.h"

namespace cursord::edge {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr size_t kReadBufferSize = 64 * 1024;
constexpr std::chrono::seconds kTickInterval{1};
// Log lines that clients can cause, per shard: enough to see what happens,
// too few to fill a disk.
constexpr double kClientLogLinesPerSecond = 20;
constexpr double kClientLogBurst = 100;

}  // namespace

Shard::Shard(int index, const ServerOptions& options, ActivityLog& activity)
    : index_(index),
      activity_(activity),
      options_(options),
      flusher_(absl::ToChronoNanoseconds(options.presence_batch)),
      paced_timer_(ioc_),
      batch_timer_(ioc_),
      drain_timer_(ioc_),
      client_log_(kClientLogLinesPerSecond, kClientLogBurst, core::LogThrottle::Clock::now()),
      read_buffer_(kReadBufferSize),
      tick_timer_(ioc_) {}

Shard::~Shard() { Stop(); }

void Shard::AttachBackplane(backplane::Backplane& backplane, absl::Duration flush_interval) {
  relay_ = std::make_unique<ClusterRelay>(*this, backplane, flush_interval);
}

void Shard::Start(core::Admission* admission) {
  admission_ = admission;
  DoTick();
  thread_ = std::thread([this] {
    // The loop runs until Stop(); the tick timer keeps it from running dry.
    ioc_.run();
  });
}

void Shard::BeginDrain(const core::DrainPlan& plan, std::function<void()> refusing) {
  net::post(ioc_, [this, plan, refusing = std::move(refusing)] {
    if (phase_ == Phase::kServing) phase_ = Phase::kDraining;
    refusing();
    if (phase_ != Phase::kDraining) return;
    drain_timer_.expires_at(plan.first_close);
    drain_timer_.async_wait([this, plan](const boost::system::error_code& ec) {
      if (ec) return;
      StartDrainCloses(plan);
    });
  });
}

void Shard::StartDrainCloses(const core::DrainPlan& plan) {
  if (phase_ != Phase::kDraining) return;
  // Every shard spreads its own sessions over the same window: together
  // they close at the server's rate, and no shard waits for another.
  drain_order_.clear();
  drain_order_.reserve(sessions_.size());
  for (WsSession* session : sessions_) drain_order_.push_back(session->weak_from_this());
  drain_.emplace(drain_order_.size(), plan.first_close, plan.spread);
  CURSORD_LOG(kDebug) << "shard " << index_ << ": closing " << drain_order_.size()
                      << " sessions over " << absl::FromChrono(plan.spread);
  DoDrainStep();
}

void Shard::DoDrainStep() {
  if (phase_ != Phase::kDraining) return;
  const size_t from = drain_->taken();
  const size_t due = drain_->TakeDue(core::DrainSchedule::Clock::now());
  for (size_t i = from; i < from + due; ++i) {
    // Gone already, or closing for another reason: its turn passes.
    if (std::shared_ptr<WsSession> session = drain_order_[i].lock()) {
      session->Close(core::kCloseGoingAway, "server shutting down", counters_.closes_shutdown);
    }
    drain_order_[i].reset();
  }
  const std::optional<core::DrainSchedule::Clock::time_point> next = drain_->next();
  if (!next) return;
  drain_timer_.expires_at(*next);
  drain_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    DoDrainStep();
  });
}

void Shard::BeginShutdown() {
  net::post(ioc_, [this] {
    phase_ = Phase::kStopping;
    drain_timer_.cancel();
    // Copy: closing a session may unregister it.
    std::vector<WsSession*> sessions(sessions_.begin(), sessions_.end());
    for (WsSession* session : sessions) {
      session->Close(core::kCloseGoingAway, "server shutting down", counters_.closes_shutdown);
    }
    // The rooms forget their lists before the lists go.
    for (auto& [id, room] : rooms_) room->set_watchers(nullptr);
    watchers_.DetachAll(absl::UnavailableError("server shutting down"));
  });
}

void Shard::Stop() {
  if (!thread_.joinable()) return;
  ioc_.stop();
  thread_.join();
}

void Shard::AcceptWebSocket(tcp::socket socket, AdmittedJoin join) {
  const std::string head = core::SwitchingProtocolsResponse(join.accept_key, join.subprotocol);
  const std::optional<core::JoinTokenRefusal> refusal = join.token_refusal;
  if (join.token_verified) counters_.tokens_accepted.Add();
  auto session = std::make_shared<WsSession>(*this, std::move(socket), std::move(join));
  session->Start(head, refusal);
}

core::Room* Shard::FindOrCreateRoom(const std::string& id) {
  auto it = rooms_.find(id);
  if (it != rooms_.end()) return it->second.get();
  if (admission_ != nullptr && !admission_->AcquireRoom()) return nullptr;
  auto room = std::make_unique<core::Room>(id, options_.max_room_members, absl::Now(),
                                           &counters_.cursor_coalesced,
                                           &counters_.state_coalesced);
  room->set_watchers(watchers_.Find(id));
  counters_.rooms.Add();
  return rooms_.emplace(id, std::move(room)).first->second.get();
}

core::Room* Shard::FindRoom(const std::string& id) {
  auto it = rooms_.find(id);
  return it == rooms_.end() ? nullptr : it->second.get();
}

void Shard::ReleaseRoomIfEmpty(core::Room& room) {
  if (!room.empty()) return;
  // Not while a join or a watch waits for Redis: its answer needs the
  // room. Nor while watched: other instances' members are seen through it.
  if (relay_ != nullptr &&
      (!relay_->CanRelease(room.id()) || watchers_.Find(room.id()) != nullptr)) {
    return;
  }
  // A copy: erasing destroys the room, and with it room.id().
  const std::string id = room.id();
  rooms_.erase(id);
  counters_.rooms.Sub();
  if (admission_ != nullptr) admission_->ReleaseRoom();
  if (relay_ != nullptr) relay_->OnRoomReleased(id);
}

void Shard::ScheduleFlush(std::shared_ptr<WsSession> session) {
  Arrange(flusher_.RequestFlush(std::move(session)));
}

void Shard::ScheduleBatchedFlush(std::shared_ptr<WsSession> session) {
  Arrange(flusher_.RequestBatchedFlush(std::move(session), FlushScheduler::Clock::now()));
}

void Shard::Arrange(const FlushScheduler::Arrange& arrange) {
  if (arrange.post_round) {
    // Posted behind the completions already queued: everything they add
    // goes out in the same round, one write per session.
    net::post(ioc_, [this] { RunFlushRound(); });
  }
  if (arrange.batch_at) {
    batch_timer_.expires_at(*arrange.batch_at);
    batch_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      Arrange(flusher_.BatchDue(
          [](const std::shared_ptr<WsSession>& session) { return !session->outbox.empty(); }));
    });
  }
}

void Shard::RunFlushRound() {
  using Clock = FlushScheduler::Clock;
  const std::optional<Clock::time_point> paced_until = flusher_.RunRound(
      Clock::now(), [](const std::shared_ptr<WsSession>& session) { session->Flush(); },
      [] { return Clock::now(); });
  if (!paced_until) return;
  paced_timer_.expires_at(*paced_until);
  paced_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    // Their pause is over: they go in a round now, like any other session.
    flusher_.PauseOver();
    RunFlushRound();
  });
}

void Shard::AddSession(WsSession* session) { sessions_.insert(session); }

void Shard::RemoveSession(WsSession* session) { sessions_.erase(session); }

void Shard::DoTick() {
  tick_timer_.expires_after(kTickInterval);
  tick_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    const auto now = WsSession::Clock::now();
    std::vector<std::shared_ptr<WsSession>> sessions;
    sessions.reserve(sessions_.size());
    for (WsSession* session : sessions_) sessions.push_back(session->shared_from_this());
    for (auto& session : sessions) session->Tick(now);
    if (relay_ != nullptr) relay_->Tick();
    DoTick();
  });
}

void Shard::AddWatcher(const std::string& room_id, std::shared_ptr<core::WatchSink> sink,
                       bool cursor_moves, std::function<void(absl::Status)> started) {
  if (relay_ != nullptr) {
    relay_->Watch(room_id, std::move(sink), cursor_moves, std::move(started));
    return;
  }
  if (FindRoom(room_id) == nullptr) {
    started(absl::NotFoundError("room \"" + room_id + "\" not found"));
    return;
  }
  AttachWatcher(room_id, std::move(sink), cursor_moves);
  started(absl::OkStatus());
}

void Shard::AttachWatcher(const std::string& room_id, std::shared_ptr<core::WatchSink> sink,
                          bool cursor_moves) {
  core::Room* room = FindRoom(room_id);
  core::RoomSnapshot snapshot = room->Snapshot();
  if (relay_ != nullptr) relay_->NameInstances(room_id, snapshot);
  sink->OnSnapshot(snapshot);
  room->set_watchers(&watchers_.Add(room_id, std::move(sink), cursor_moves));
}

void Shard::RemoveWatcher(const std::string& room_id, core::WatchSink* sink) {
  // The list is gone when this was its last watcher.
  if (watchers_.Remove(room_id, sink)) {
    if (core::Room* room = FindRoom(room_id)) room->set_watchers(nullptr);
  }
  // Also a watch still waiting for its roster; a room kept for its
  // watchers alone goes with the last.
  if (relay_ != nullptr) relay_->Unwatch(room_id, sink);
}

}  // namespace cursord::edge
