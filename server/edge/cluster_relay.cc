#include "server/edge/cluster_relay.h"

#include <boost/asio/post.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/time/clock.h"
#include "server/common/logging.h"
#include "server/core/ws_frame.h"
#include "server/edge/server.h"
#include "server/edge/shard.h"
#include "server/edge/ws_session.h"

namespace cursord::edge {
namespace {

namespace net = boost::asio;
using backplane::LeaveReason;

constexpr std::string_view kLeaseLost = "instance lease lost: reconnect";
constexpr std::string_view kIdTaken = "member id taken after a backplane restart: reconnect";

// Every RoomMember of the edge is a WsSession.
WsSession& SessionOf(core::RoomMember* member) { return *static_cast<WsSession*>(member); }

}  // namespace

ClusterRelay::ClusterRelay(Shard& shard, backplane::Backplane& backplane,
                           absl::Duration flush_interval)
    : shard_(shard),
      backplane_(backplane),
      flush_interval_(flush_interval),
      batch_timer_(shard.io_context()) {}

core::ClusterRoom* ClusterRelay::Find(const std::string& room) {
  auto it = rooms_.find(room);
  return it == rooms_.end() ? nullptr : &it->second;
}

// --- Joins ---

void ClusterRelay::BeginJoin(std::shared_ptr<WsSession> session, core::Room& room,
                             core::MemberIdentity identity) {
  auto [it, created] = rooms_.try_emplace(room.id());
  // Subscribe first, then read the roster: the backplane runs the join
  // after that roster, so the member's 02 holds everyone who came before.
  if (created) backplane_.Follow(room.id());
  it->second.AddPendingJoin();

  backplane::MemberRecord record;
  record.user_id = identity.user_id;
  record.name = identity.name;
  record.color = identity.color;
  record.remote_address = identity.remote_address;
  record.connected_at_ms = absl::ToUnixMillis(absl::Now());
  // The session waits here (nothing else holds it while it does not read),
  // on this thread: the backplane's callback carries only its number.
  const uint64_t ticket = ++last_ticket_;
  waiting_.emplace(ticket, std::move(session));
  backplane_.Join(
      room.id(), std::move(record), shard_.options().max_room_members,
      [this, ticket, room_id = room.id(),
       identity = std::move(identity)](absl::StatusOr<backplane::RoomStore::Joined> joined) mutable {
        // On the backplane's thread: the rest on the room's.
        net::post(shard_.io_context(), [this, ticket, room_id = std::move(room_id),
                                        identity = std::move(identity),
                                        joined = std::move(joined)]() mutable {
          FinishJoin(ticket, room_id, std::move(identity), joined);
        });
      });
}

void ClusterRelay::FinishJoin(uint64_t ticket, const std::string& room_id,
                              core::MemberIdentity identity,
                              const absl::StatusOr<backplane::RoomStore::Joined>& joined) {
  std::shared_ptr<WsSession> session;
  if (auto it = waiting_.find(ticket); it != waiting_.end()) {
    session = std::move(it->second);
    waiting_.erase(it);
  }
  core::Room* room = shard_.FindRoom(room_id);
  core::ClusterRoom* cluster = Find(room_id);
  if (room == nullptr || cluster == nullptr) {
    // Not possible while the join is pending (CanRelease); but an id
    // nobody will use must not stay taken.
    if (joined.ok()) {
      backplane_.Leave(room_id, joined->id, joined->generation, LeaveReason::kClosed);
    }
    return;
  }
  cluster->RemovePendingJoin();
  const bool waiting = session != nullptr && session->awaiting_join();
  ShardCounters& counters = shard_.counters();
  if (!joined.ok()) {
    if (waiting) {
      if (absl::IsResourceExhausted(joined.status())) {
        CURSORD_CLIENT_LOG(shard_, kInfo) << "room full: room=" << room_id;
        session->JoinRefused(
            core::kCloseTryAgainLater,
            "room full (" + std::to_string(shard_.options().max_room_members) + " members)",
            counters.closes_full);
      } else {
        CURSORD_CLIENT_LOG(shard_, kWarning)
            << "join refused: room=" << room_id << ": " << joined.status().message();
        session->JoinRefused(core::kCloseTryAgainLater, "backplane unavailable",
                             counters.closes_backplane);
      }
    }
    shard_.ReleaseRoomIfEmpty(*room);
    return;
  }
  const uint8_t id = joined->id;
  if (!waiting) {
    // It closed while Redis answered: free the id at once.
    backplane_.Leave(room_id, id, joined->generation, LeaveReason::kClosed);
    shard_.ReleaseRoomIfEmpty(*room);
    return;
  }
  // Redis gave out `id`, so whoever holds it here is gone from Redis: a
  // remote member whose leave is still on its way, or a local one that the
  // others reaped (this instance is about to find its lease gone).
  if (cluster->known(id) || room->member(id) != nullptr) {
    if (cluster->local(id)) {
      CloseLocal(*room, id, kLeaseLost);
    } else {
      room->Leave(id, absl::Now());
      cluster->Remove(id);
    }
  }
  if (!room->JoinAs(id, session.get(), std::move(identity), absl::Now())) {
    // The room holds more members here than --max-room-members: Redis and
    // this instance disagree on the limit (another instance's flag).
    backplane_.Leave(room_id, id, joined->generation, LeaveReason::kClosed);
    session->JoinRefused(core::kCloseTryAgainLater,
                         "room full (" + std::to_string(room->member_count()) + " members)",
                         counters.closes_full);
    shard_.ReleaseRoomIfEmpty(*room);
    return;
  }
  cluster->AddLocal(id, joined->generation);
  session->JoinedCluster(*room, *cluster, id);
}

bool ClusterRelay::CanRelease(const std::string& room) const {
  auto it = rooms_.find(room);
  return it == rooms_.end() || it->second.pending_joins() == 0;
}

void ClusterRelay::OnRoomReleased(const std::string& room) {
  if (rooms_.erase(room) == 0) return;
  batch_.erase(room);
  backplane_.Unfollow(room);
}

// --- Local traffic out ---

void ClusterRelay::OnLocalClick(core::ClusterRoom& cluster, const std::string& room, uint8_t id,
                                bool down) {
  if (cluster.remote_count() == 0) return;
  // Where the member was when it clicked goes first: positions wait for
  // the batch, a click does not, and it must not overtake them.
  if (cluster.has_moved()) PublishMoved(room);
  backplane_.PublishClick(room, backplane::ClickMessage{id, cluster.generation(id), down});
}

void ClusterRelay::OnLocalLeave(core::ClusterRoom& cluster, const std::string& room, uint8_t id,
                                LeaveReason reason) {
  const uint64_t generation = cluster.generation(id);
  cluster.Remove(id);
  if (generation != 0) backplane_.Leave(room, id, generation, reason);
}

void ClusterRelay::ScheduleBatch(const std::string& room) {
  batch_.insert(room);
  if (batch_armed_) return;
  batch_armed_ = true;
  batch_timer_.expires_after(absl::ToChronoNanoseconds(flush_interval_));
  batch_timer_.async_wait([this](const boost::system::error_code& ec) {
    batch_armed_ = false;
    if (ec) return;
    absl::flat_hash_set<std::string> rooms;
    rooms.swap(batch_);
    for (const std::string& room : rooms) PublishMoved(room);
  });
}

void ClusterRelay::PublishMoved(const std::string& room_id) {
  core::ClusterRoom* cluster = Find(room_id);
  core::Room* room = shard_.FindRoom(room_id);
  if (cluster == nullptr || room == nullptr) return;
  const std::vector<uint8_t> moved = cluster->TakeMoved();
  if (moved.empty()) return;
  std::vector<backplane::PositionEntry> entries;
  entries.reserve(moved.size());
  const core::Position* positions = room->positions();
  for (uint8_t id : moved) {
    entries.push_back({id, cluster->generation(id), positions[id].x, positions[id].y});
  }
  backplane_.PublishPositions(room_id, std::move(entries));
}

void ClusterRelay::PublishState(const std::string& room_id) {
  core::ClusterRoom* cluster = Find(room_id);
  core::Room* room = shard_.FindRoom(room_id);
  if (cluster == nullptr || room == nullptr) return;
  // Unpublished moves are part of this state.
  cluster->TakeMoved();
  std::vector<backplane::PositionEntry> entries;
  std::vector<uint8_t> pressing;
  for (const auto& [id, member] : room->members()) {
    const core::MemberSnapshot snapshot = room->SnapshotMember(id);
    if (snapshot.has_position) {
      entries.push_back({id, cluster->generation(id), snapshot.x, snapshot.y});
    }
    if (snapshot.clicking) pressing.push_back(id);
  }
  if (!entries.empty()) backplane_.PublishPositions(room_id, std::move(entries));
  for (uint8_t id : pressing) {
    backplane_.PublishClick(room_id, backplane::ClickMessage{id, cluster->generation(id), true});
  }
}

// --- Other instances' traffic in ---

void ClusterRelay::CloseLocal(core::Room& room, uint8_t id, std::string_view reason) {
  core::RoomMember* member = room.member(id);
  if (member == nullptr) return;
  CURSORD_LOG(kWarning) << "closing member " << int{id} << " of room " << room.id()
                        << " (1012): " << reason;
  SessionOf(member).Close(core::kCloseServiceRestart, reason, shard_.counters().closes_fenced);
}

void ClusterRelay::ApplyJoin(const std::string& room_id, uint8_t id,
                             const backplane::MemberRecord& record) {
  core::ClusterRoom* cluster = Find(room_id);
  core::Room* room = shard_.FindRoom(room_id);
  if (cluster == nullptr || room == nullptr) return;
  if (cluster->IsRemote(id, record.generation)) return;  // known (roster, then its message)
  if (cluster->local(id)) {
    // Redis gave our member's id to someone else: it was reaped.
    CloseLocal(*room, id, kLeaseLost);
    room = shard_.FindRoom(room_id);
    cluster = Find(room_id);
    if (cluster == nullptr || room == nullptr) return;
  } else if (cluster->known(id)) {
    // Its previous owner's leave has not arrived: it is gone all the same.
    room->Leave(id, absl::Now());
    cluster->Remove(id);
  }
  absl::Time connected_at = absl::FromUnixMillis(record.connected_at_ms);
  if (!room->JoinRemote(id, core::MemberIdentity{record.user_id, record.name, record.color,
                                                 record.remote_address},
                        connected_at)) {
    return;
  }
  if (cluster->AddRemote(id, record.generation, record.instance)) PublishState(room_id);
}

void ClusterRelay::ApplyRoster(
    const std::string& room_id,
    const std::vector<std::pair<uint8_t, backplane::MemberRecord>>& remote) {
  core::ClusterRoom* cluster = Find(room_id);
  core::Room* room = shard_.FindRoom(room_id);
  if (cluster == nullptr || room == nullptr) return;
  absl::flat_hash_map<uint8_t, uint64_t> in_roster;
  for (const auto& [id, record] : remote) in_roster[id] = record.generation;
  // Members the roster no longer has left while this instance was not
  // listening.
  for (uint8_t id : cluster->RemoteIds()) {
    auto it = in_roster.find(id);
    if (it == in_roster.end() || it->second != cluster->generation(id)) {
      room->Leave(id, absl::Now());
      cluster->Remove(id);
    }
  }
  for (const auto& [id, record] : remote) ApplyJoin(room_id, id, record);
}

void ClusterRelay::ApplyMessage(const std::string& room_id, const backplane::RoomMessage& message) {
  core::ClusterRoom* cluster = Find(room_id);
  core::Room* room = shard_.FindRoom(room_id);
  if (cluster == nullptr || room == nullptr) return;
  const absl::Time now = absl::Now();
  if (const auto* join = std::get_if<backplane::JoinMessage>(&message)) {
    ApplyJoin(room_id, join->id, join->record);
  } else if (const auto* leave = std::get_if<backplane::LeaveMessage>(&message)) {
    if (cluster->IsRemote(leave->id, leave->generation)) {
      room->Leave(leave->id, now);
      cluster->Remove(leave->id);
    } else if (cluster->IsLocal(leave->id, leave->generation)) {
      // Another instance freed our member: it reaped this instance.
      CloseLocal(*room, leave->id, kLeaseLost);
    }
  } else if (const auto* click = std::get_if<backplane::ClickMessage>(&message)) {
    if (cluster->IsRemote(click->id, click->generation) &&
        room->clicking(click->id) != click->pressed) {
      room->Click(click->id, click->pressed, now);
    }
  } else if (const auto* positions = std::get_if<backplane::PositionsMessage>(&message)) {
    for (const backplane::PositionEntry& entry : positions->entries) {
      if (cluster->IsRemote(entry.id, entry.generation)) {
        room->Cursor(entry.id, entry.x, entry.y, now);
      }
    }
  } else if (const auto* kick = std::get_if<backplane::KickMessage>(&message)) {
    if (cluster->IsLocal(kick->id, kick->generation)) {
      if (core::RoomMember* member = room->member(kick->id)) member->Kick(kick->code, kick->reason);
    }
  }
}

void ClusterRelay::CloseLostMember(const std::string& room_id, uint8_t id, uint64_t generation) {
  core::ClusterRoom* cluster = Find(room_id);
  core::Room* room = shard_.FindRoom(room_id);
  if (cluster == nullptr || room == nullptr || !cluster->IsLocal(id, generation)) return;
  CloseLocal(*room, id, kIdTaken);
}

void ClusterRelay::Fence() {
  // Copy: closing a session unregisters it.
  std::vector<WsSession*> sessions(shard_.sessions().begin(), shard_.sessions().end());
  for (WsSession* session : sessions) {
    session->Close(core::kCloseServiceRestart, kLeaseLost, shard_.counters().closes_fenced);
  }
}

// --- BackplaneEvents: the backplane's thread ---

void BackplaneEvents::OnRoster(const std::string& room,
                               std::vector<std::pair<uint8_t, backplane::MemberRecord>> remote) {
  Shard& shard = server_.ShardFor(room);
  net::post(shard.io_context(), [&shard, room, remote = std::move(remote)] {
    if (ClusterRelay* relay = shard.relay()) relay->ApplyRoster(room, remote);
  });
}

void BackplaneEvents::OnRoomMessage(const std::string& room, backplane::RoomMessage message) {
  Shard& shard = server_.ShardFor(room);
  net::post(shard.io_context(), [&shard, room, message = std::move(message)] {
    if (ClusterRelay* relay = shard.relay()) relay->ApplyMessage(room, message);
  });
}

void BackplaneEvents::OnMemberLost(const std::string& room, uint8_t id, uint64_t generation) {
  Shard& shard = server_.ShardFor(room);
  net::post(shard.io_context(), [&shard, room, id, generation] {
    if (ClusterRelay* relay = shard.relay()) relay->CloseLostMember(room, id, generation);
  });
}

void BackplaneEvents::OnFenced() {
  for (auto& shard : server_.shards()) {
    Shard* s = shard.get();
    net::post(s->io_context(), [s] {
      if (ClusterRelay* relay = s->relay()) relay->Fence();
    });
  }
}

}  // namespace cursord::edge
