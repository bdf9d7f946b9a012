// A shard: one event-loop thread and the rooms it owns.
//
// Rooms are assigned to shards by a hash of their id; every connection is
// handed to its room's shard right after the HTTP upgrade request is read,
// so all of a room's traffic runs on one thread without locks, and the
// per-message path never touches another shard. Cross-shard work (the
// control plane) is posted to the shard's io_context.
#ifndef CURSORD_EDGE_SHARD_H_
#define CURSORD_EDGE_SHARD_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/container/btree_map.h"
#include "server/common/logging.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "server/backplane/backplane.h"
#include "server/core/drain_schedule.h"
#include "server/core/flush_scheduler.h"
#include "server/core/join_request.h"
#include "server/core/room.h"
#include "server/core/admission.h"
#include "server/core/log_throttle.h"
#include "server/edge/activity_log.h"
#include "server/edge/join_gate.h"
#include "server/edge/options.h"
#include "server/edge/shard_counters.h"

// CURSORD_CLIENT_LOG(shard, kInfo) << ...: a line that a client can cause
// (a refusal, a bad frame, a flood), bounded by the shard's LogThrottle so
// that no client can flood the log. The first line written after some were
// held back says how many.
#define CURSORD_CLIENT_LOG(shard, level)                                                   \
  if (uint64_t cursord_held_back = 0; !(shard).client_log().Allow(                         \
          ::cursord::core::LogThrottle::Clock::now(), &cursord_held_back)) {              \
  } else                                                                                   \
    CURSORD_LOG(level) << ::cursord::core::HeldBackNote(cursord_held_back)

namespace cursord::edge {

class ClusterRelay;
class WsSession;

class Shard {
 public:
  // `activity`: the server's connection records (outlives the shard).
  Shard(int index, const ServerOptions& options, ActivityLog& activity);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  int index() const { return index_; }
  boost::asio::io_context& io_context() { return ioc_; }
  const ServerOptions& options() const { return options_; }
  ShardCounters& counters() { return counters_; }
  ActivityLog& activity() { return activity_; }

  // With --redis: rooms span instances through `backplane` (see
  // ClusterRelay). Before Start.
  void AttachBackplane(backplane::Backplane& backplane, absl::Duration flush_interval);
  // The relay of rooms that span instances, or null without --redis.
  ClusterRelay* relay() { return relay_.get(); }

  // Starts the shard's thread. `admission` counts rooms across shards.
  void Start(core::Admission* admission);
  // A drain (Server::BeginDrain): from now on takes no new sessions (they
  // are accepted and closed with 1001) nor watches; at plan.first_close
  // closes the sessions open then with 1001, one after another over
  // plan.spread, as core::DrainSchedule says. `refusing` runs on the
  // shard's thread once it refuses new sessions. Any thread; once.
  void BeginDrain(const core::DrainPlan& plan, std::function<void()> refusing);
  // Closes every session left with 1001 at once and stops taking new ones
  // (ends a drain early). Any thread.
  void BeginShutdown();
  // Stops the event loop and joins the thread. Any thread but this shard's.
  void Stop();

  // --- Everything below runs on this shard's thread only. ---

  // Starts the WebSocket session of `socket` (already on this shard's
  // io_context), whose upgrade request was checked: the 101 response with
  // `accept_key` leaves in one write with the join frames.
  void AcceptWebSocket(boost::asio::ip::tcp::socket socket, AdmittedJoin join);

  // The room, created if needed; null when creating it would pass
  // --max-rooms.
  core::Room* FindOrCreateRoom(const std::string& id);
  // The room, or null.
  core::Room* FindRoom(const std::string& id);
  // Destroys `room` if it has no members (its watchers stay, in watchers_;
  // with --redis a watched room stays, followed for its watchers).
  void ReleaseRoomIfEmpty(core::Room& room);

  // Adds `session` to the next flush round.
  void ScheduleFlush(std::shared_ptr<WsSession> session);
  // Adds `session` to the next batched flush round, at most
  // options().presence_batch from now.
  void ScheduleBatchedFlush(std::shared_ptr<WsSession> session);

  // Session registry, for ticks, shutdown and KickUser.
  void AddSession(WsSession* session);
  void RemoveSession(WsSession* session);

  // A read buffer shared by every session of the shard: reads happen one
  // at a time on this thread, so idle sessions hold no read buffer.
  uint8_t* read_buffer() { return read_buffer_.data(); }
  size_t read_buffer_size() const { return read_buffer_.size(); }

  // Takes no new sessions or watches: draining or shutting down.
  bool stopping() const { return phase_ != Phase::kServing; }

  // Bounds the log lines clients can cause on this shard (see
  // core::LogThrottle). This thread only.
  core::LogThrottle& client_log() { return client_log_; }

  const absl::btree_map<std::string, std::unique_ptr<core::Room>>& rooms() const {
    return rooms_;
  }
  const absl::flat_hash_set<WsSession*>& sessions() const { return sessions_; }

  // Watches of a room (see core::ControlPlane::Watch): the sink gets the
  // room's snapshot, then its events; the watch outlives the room's
  // members (core::RoomWatchers). `started` gets NOT_FOUND when the room
  // has no members. With --redis the room may be one that no member here is
  // in: the relay follows it for the watch (ClusterRelay::Watch), and
  // `started` runs once its roster is in.
  void AddWatcher(const std::string& room_id, std::shared_ptr<core::WatchSink> sink,
                  bool cursor_moves, std::function<void(absl::Status)> started);
  void RemoveWatcher(const std::string& room_id, core::WatchSink* sink);
  // Sends `sink` the snapshot of `room_id` (which exists) and adds it to
  // the room's watchers.
  void AttachWatcher(const std::string& room_id, std::shared_ptr<core::WatchSink> sink,
                     bool cursor_moves);
  // The watchers of `room_id`, or null when nobody watches it.
  const core::WatcherList* watchers(const std::string& room_id) {
    return watchers_.Find(room_id);
  }

 private:
  using FlushScheduler = core::FlushScheduler<std::shared_ptr<WsSession>>;

  // Does what the flush scheduler asks: post a round, arm the batch timer.
  void Arrange(const FlushScheduler::Arrange& arrange);
  void RunFlushRound();
  void DoTick();
  // The drain's closes: the sessions open at plan.first_close, in the
  // order their schedule hands them out.
  void StartDrainCloses(const core::DrainPlan& plan);
  void DoDrainStep();

  const int index_;
  ActivityLog& activity_;
  const ServerOptions& options_;
  boost::asio::io_context ioc_{1};
  std::thread thread_;
  ShardCounters counters_;

  // All of the below: owned by this shard's thread.
  // Ordered, so that listing rooms by id and paging is a range scan.
  absl::btree_map<std::string, std::unique_ptr<core::Room>> rooms_;
  core::RoomWatchers watchers_;  // of rooms that exist or not
  absl::flat_hash_set<WsSession*> sessions_;
  // When each session is written (the one owner of that decision), and
  // the timers it asks for.
  FlushScheduler flusher_;
  boost::asio::steady_timer paced_timer_;
  boost::asio::steady_timer batch_timer_;
  // The shard's life: serving, draining (no new sessions, the open ones
  // closed on schedule), stopping (everything closed at once).
  enum class Phase { kServing, kDraining, kStopping };
  Phase phase_ = Phase::kServing;
  // While draining: the sessions open when the closes began, and when each
  // is closed. Weak: a session that ends meanwhile is skipped.
  std::vector<std::weak_ptr<WsSession>> drain_order_;
  std::optional<core::DrainSchedule> drain_;
  boost::asio::steady_timer drain_timer_;
  core::Admission* admission_ = nullptr;  // the server's; outlives the shard's thread
  core::LogThrottle client_log_;
  std::vector<uint8_t> read_buffer_;
  boost::asio::steady_timer tick_timer_;
  std::unique_ptr<ClusterRelay> relay_;  // with --redis only
};

}  // namespace cursord::edge

#endif  // CURSORD_EDGE_SHARD_H_
