// Where a room's traffic goes when it spans instances (docs/BACKPLANE.md):
// one ClusterRelay per shard, with --redis only. It joins local members
// through Redis (the id comes from there), publishes their clicks and
// batched positions while other instances have members in the room, and
// applies what the other instances did (rosters, joins, leaves, clicks,
// positions, kicks) to the shard's rooms, through the generation filter of
// each room's core::ClusterRoom.
//
// Without --redis a shard has no relay, and nothing of this is on the
// per-message path.
//
// Thread ownership: the shard's thread, except BackplaneEvents, which the
// backplane calls on its thread and which posts to the room's shard.
#ifndef CURSORD_EDGE_CLUSTER_RELAY_H_
#define CURSORD_EDGE_CLUSTER_RELAY_H_

#include <cstdint>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/backplane/backplane.h"
#include "server/core/cluster_room.h"
#include "server/core/room.h"

namespace cursord::edge {

class Server;
class Shard;
class WsSession;

class ClusterRelay {
 public:
  ClusterRelay(Shard& shard, backplane::Backplane& backplane, absl::Duration flush_interval);
  ClusterRelay(const ClusterRelay&) = delete;
  ClusterRelay& operator=(const ClusterRelay&) = delete;

  // Asks Redis for an id for `session` in `room` (created by the shard for
  // this join); the answer joins it (WsSession::JoinedCluster) or refuses
  // it (WsSession::JoinRefused: 1013).
  void BeginJoin(std::shared_ptr<WsSession> session, core::Room& room,
                 core::MemberIdentity identity);

  // Local member `id` of `room` moved / pressed or released / left.
  void OnLocalMove(core::ClusterRoom& cluster, const std::string& room, uint8_t id) {
    // Alone in the room, and no cursor watcher elsewhere: nothing to tell.
    if (!cluster.publishes_moves()) return;
    if (cluster.MarkMoved(id)) ScheduleBatch(room);
  }
  // Local member `id` of `room` set its state (protocol v2): batched like
  // moves.
  void OnLocalState(core::ClusterRoom& cluster, const std::string& room, uint8_t id) {
    if (!cluster.publishes_moves()) return;
    if (cluster.MarkStateChanged(id)) ScheduleBatch(room);
  }
  void OnLocalClick(core::ClusterRoom& cluster, const std::string& room, uint8_t id, bool down);
  void OnLocalLeave(core::ClusterRoom& cluster, const std::string& room, uint8_t id,
                    backplane::LeaveReason reason);
  // The control plane is closing local member `id` of `room` with `code`
  // and `reason` (before its leave): the other instances' watchers see it.
  void OnLocalKick(const std::string& room, uint8_t id, uint16_t code, const std::string& reason);

  // A watch of `room` (Shard::AddWatcher; docs/BACKPLANE.md, "Watching a
  // room from any instance"): attached at once when the room is followed
  // and its roster is in; else the room is created watch-only and
  // followed, and the watch waits for its roster and the members'
  // instances' states. `started` gets OK once the sink had its snapshot,
  // NOT_FOUND when the room has no member anywhere, UNAVAILABLE when
  // Redis does not answer, RESOURCE_EXHAUSTED past --max-rooms.
  void Watch(const std::string& room, std::shared_ptr<core::WatchSink> sink, bool cursor_moves,
             std::function<void(absl::Status)> started);
  // A watch of `room` ended (attached or still waiting): says so to the
  // others when it was the last, and releases a room left with no one.
  void Unwatch(const std::string& room, core::WatchSink* sink);
  // Names the instance of each remote member of `snapshot` (of `room`).
  void NameInstances(const std::string& room, core::RoomSnapshot& snapshot);
  // Every second (the shard's tick): refreshes this instance's
  // announcements, forgets other instances' expired ones.
  void Tick();

  // Whether the shard may destroy `room` now that no local member is in it
  // (not while a join or a watch for it waits for Redis).
  bool CanRelease(const std::string& room) const;
  // The shard destroyed `room`: stop following it.
  void OnRoomReleased(const std::string& room);

  // From the backplane (posted to this shard).
  void ApplyRoster(const std::string& room,
                   const std::vector<std::pair<uint8_t, backplane::MemberRecord>>& remote);
  void ApplyMessage(const std::string& room, const backplane::RoomMessage& message);
  void CloseLostMember(const std::string& room, uint8_t id, uint64_t generation);
  // Publishes the state of this instance's members in `room` to every
  // instance (after a gap in what they heard of it).
  void Resync(const std::string& room);
  void Fence();

 private:
  void FinishJoin(uint64_t ticket, const std::string& room_id,
                  core::MemberIdentity identity,
                  const absl::StatusOr<backplane::RoomStore::Joined>& joined);
  // Adds remote member `id` (evicting whoever held the id here).
  void ApplyJoin(const std::string& room_id, uint8_t id, const backplane::MemberRecord& record);
  // Closes local member `id` of `room` with 1012; the room may be gone
  // afterwards.
  void CloseLocal(core::Room& room, uint8_t id, std::string_view reason);
  // Publishes `room`'s moved members' positions, then its changed member
  // states, now.
  void PublishMoved(const std::string& room);
  // Member states of local members `ids` (protocol v2), for `to` or
  // everyone ("").
  void PublishMemberStates(core::ClusterRoom& cluster, const core::Room& room,
                           const std::vector<uint8_t>& ids, const std::string& to);
  // Every local member's position, press and state, for `to` (an instance new in
  // the room) or everyone ("").
  void PublishState(const std::string& room, const std::string& to);
  // Joins the held joins of `room`, in order, and attaches its held
  // watches.
  void ReleaseHeld(const std::string& room);
  // Announces this instance's watchers of `room` (or their end) when what
  // it announced changed, `hello` asking the members' instances for their
  // state, `refresh` announcing again all the same.
  void Announce(const std::string& room, bool hello, bool refresh);
  void ArmHoldTimer();
  void ScheduleBatch(const std::string& room);
  core::ClusterRoom* Find(const std::string& room);

  Shard& shard_;
  backplane::Backplane& backplane_;
  const absl::Duration flush_interval_;
  // Beside each of the shard's rooms that spans instances. Node map: the
  // sessions keep pointers to their room's ClusterRoom.
  absl::node_hash_map<std::string, core::ClusterRoom> rooms_;
  // Rooms with positions waiting for the batch timer.
  absl::flat_hash_set<std::string> batch_;
  boost::asio::steady_timer batch_timer_;
  bool batch_armed_ = false;
  using Clock = std::chrono::steady_clock;
  // Joins answered by Redis that wait for the other instances' state.
  struct HeldJoin {
    std::shared_ptr<WsSession> session;
    uint8_t id;
    uint64_t generation;
    core::MemberIdentity identity;
  };
  // Watches of a room not followed before, waiting for its roster and
  // then for the states of its members' instances (as a first joiner).
  struct HeldWatch {
    std::shared_ptr<core::WatchSink> sink;
    bool cursor_moves;
    std::function<void(absl::Status)> started;
  };
  struct Hold {
    Clock::time_point deadline;
    std::vector<HeldJoin> joins;
    std::vector<HeldWatch> watches;
  };
  absl::flat_hash_map<std::string, Hold> holds_;
  boost::asio::steady_timer hold_timer_;
  bool hold_timer_armed_ = false;
  Clock::time_point hold_armed_at_;
  uint64_t hold_timer_generation_ = 0;  // a wait re-armed earlier is ignored
  // Sessions whose join waits for Redis, by ticket.
  absl::flat_hash_map<uint64_t, std::shared_ptr<WsSession>> waiting_;
  uint64_t last_ticket_ = 0;
};

// The backplane's listener: routes each event to the shard that owns its
// room (or to every shard), posting it there.
class BackplaneEvents final : public backplane::BackplaneListener {
 public:
  explicit BackplaneEvents(Server& server) : server_(server) {}
  void OnRoster(const std::string& room,
                std::vector<std::pair<uint8_t, backplane::MemberRecord>> remote) override;
  void OnRoomMessage(const std::string& room, backplane::RoomMessage message) override;
  void OnMemberLost(const std::string& room, uint8_t id, uint64_t generation) override;
  void OnResync(const std::string& room) override;
  void OnFenced() override;
  void OnControlRequest(const std::string& op, nlohmann::json args,
                        ControlReply reply) override;

 private:
  Server& server_;
};

}  // namespace cursord::edge

#endif  // CURSORD_EDGE_CLUSTER_RELAY_H_
