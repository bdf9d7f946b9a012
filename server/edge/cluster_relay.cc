#include "server/edge/cluster_relay.h"

#include <algorithm>

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
// How long a first joiner waits for another instance's state.
constexpr std::chrono::milliseconds kStateWait{500};
constexpr std::string_view kIdTaken = "member id taken after a backplane restart: reconnect";
// An instance watching a room announces itself this often; the others
// count it for kWatchTtl after its last announcement (a killed one stops
// costing them then).
constexpr std::chrono::seconds kWatchRefresh{3};
constexpr std::chrono::seconds kWatchTtl{10};
// How long a watch waits for the room's first roster (Redis away).
constexpr std::chrono::seconds kRosterWait{5};

absl::Status RoomNotFound(const std::string& room) {
  return absl::NotFoundError("room \"" + room + "\" not found");
}

// Every RoomMember of the edge is a WsSession.
WsSession& SessionOf(core::RoomMember* member) { return *static_cast<WsSession*>(member); }

}  // namespace

ClusterRelay::ClusterRelay(Shard& shard, backplane::Backplane& backplane,
                           absl::Duration flush_interval)
    : shard_(shard),
      backplane_(backplane),
      flush_interval_(flush_interval),
      batch_timer_(shard.io_context()),
      hold_timer_(shard.io_context()) {}

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
  const bool waiting = session != nullptr && session->awaiting_join();
  ShardCounters& counters = shard_.counters();
  if (!joined.ok()) {
    cluster->RemovePendingJoin();
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
  if (!waiting) {
    // It closed while Redis answered: free the id at once.
    cluster->RemovePendingJoin();
    backplane_.Leave(room_id, joined->id, joined->generation, LeaveReason::kClosed);
    shard_.ReleaseRoomIfEmpty(*room);
    return;
  }
  // The first member of this instance in the room waits for the state of
  // the other instances there (positions and presses), which they send
  // when they see its join: then its join sequence holds them, as on one
  // instance. Later joiners wait behind it, in order.
  Hold& hold = holds_[room_id];
  if (!cluster->had_local() && hold.joins.empty()) {
    cluster->StartAwaiting();
    if (cluster->awaiting()) hold.deadline = Clock::now() + kStateWait;
  }
  // Still counted as pending while held: the room stays.
  hold.joins.push_back(HeldJoin{std::move(session), joined->id, joined->generation,
                                std::move(identity)});
  if (cluster->awaiting()) {
    ArmHoldTimer();
    return;
  }
  ReleaseHeld(room_id);
}

void ClusterRelay::ReleaseHeld(const std::string& room_id) {
  auto it = holds_.find(room_id);
  if (it == holds_.end()) return;
  std::vector<HeldJoin> joins = std::move(it->second.joins);
  std::vector<HeldWatch> watches = std::move(it->second.watches);
  holds_.erase(it);
  // Watches first: the held joiners join after the snapshot, as events.
  for (HeldWatch& watch : watches) {
    core::Room* room = shard_.FindRoom(room_id);
    core::ClusterRoom* cluster = Find(room_id);
    if (room == nullptr || cluster == nullptr || !cluster->has_roster()) {
      watch.started(absl::UnavailableError("backplane unavailable"));
    } else if (room->member_count() == 0) {
      watch.started(RoomNotFound(room_id));  // every member left meanwhile
    } else {
      shard_.AttachWatcher(room_id, std::move(watch.sink), watch.cursor_moves);
      watch.started(absl::OkStatus());
    }
  }
  if (!watches.empty()) {
    Announce(room_id, /*hello=*/false, /*refresh=*/false);  // the refused ones
    if (core::Room* room = shard_.FindRoom(room_id)) shard_.ReleaseRoomIfEmpty(*room);
  }
  for (HeldJoin& held : joins) {
    core::Room* room = shard_.FindRoom(room_id);
    core::ClusterRoom* cluster = Find(room_id);
    if (room == nullptr || cluster == nullptr) {
      backplane_.Leave(room_id, held.id, held.generation, LeaveReason::kClosed);
      continue;
    }
    if (!held.session->awaiting_join()) {
      cluster->RemovePendingJoin();
      backplane_.Leave(room_id, held.id, held.generation, LeaveReason::kClosed);
      shard_.ReleaseRoomIfEmpty(*room);
      continue;
    }
    // Redis gave out the id, so whoever holds it here is gone from Redis: a
    // remote member whose leave is still on its way, or a local one that
    // the others reaped (this instance is about to find its lease gone).
    // The join is still pending, so closing that one leaves the room be.
    if (cluster->local(held.id)) {
      CloseLocal(*room, held.id, kLeaseLost);
    } else if (room->is_member(held.id)) {
      room->Leave(held.id, absl::Now());
      cluster->Remove(held.id);
    }
    cluster->RemovePendingJoin();
    if (!room->JoinAs(held.id, held.session.get(), std::move(held.identity), absl::Now())) {
      // More members here than --max-room-members: Redis and this instance
      // disagree on the limit (another instance's flag).
      backplane_.Leave(room_id, held.id, held.generation, LeaveReason::kClosed);
      held.session->JoinRefused(core::kCloseTryAgainLater,
                                "room full (" + std::to_string(room->member_count()) + " members)",
                                shard_.counters().closes_full);
      shard_.ReleaseRoomIfEmpty(*room);
      continue;
    }
    cluster->AddLocal(held.id, held.generation);
    held.session->JoinedCluster(*room, *cluster, held.id);
  }
}

void ClusterRelay::ArmHoldTimer() {
  std::optional<Clock::time_point> earliest;
  for (const auto& [room, hold] : holds_) {
    if (!earliest || hold.deadline < *earliest) earliest = hold.deadline;
  }
  if (!earliest) return;
  // A watch's roster wait is longer than a state wait that may follow it:
  // an earlier deadline re-arms the timer.
  if (hold_timer_armed_ && hold_armed_at_ <= *earliest) return;
  hold_timer_armed_ = true;
  hold_armed_at_ = *earliest;
  const uint64_t generation = ++hold_timer_generation_;
  hold_timer_.expires_at(*earliest);
  hold_timer_.async_wait([this, generation](const boost::system::error_code& ec) {
    if (generation != hold_timer_generation_) return;  // re-armed since
    hold_timer_armed_ = false;
    if (ec) return;
    // An instance that does not answer in time (it died, or is cut off):
    // the joins go ahead without its state, which arrives as it moves.
    const Clock::time_point now = Clock::now();
    std::vector<std::string> due;
    for (const auto& [room, hold] : holds_) {
      if (hold.deadline <= now) due.push_back(room);
    }
    for (const std::string& room : due) {
      if (core::ClusterRoom* cluster = Find(room)) cluster->StopAwaitingAll();
      ReleaseHeld(room);
    }
    ArmHoldTimer();
  });
}

bool ClusterRelay::CanRelease(const std::string& room) const {
  auto it = rooms_.find(room);
  if (it != rooms_.end() && it->second.pending_joins() != 0) return false;
  auto hold = holds_.find(room);
  return hold == holds_.end() || hold->second.watches.empty();
}

// --- Watches ---

void ClusterRelay::Watch(const std::string& room_id, std::shared_ptr<core::WatchSink> sink,
                         bool cursor_moves, std::function<void(absl::Status)> started) {
  core::Room* room = shard_.FindRoom(room_id);
  core::ClusterRoom* cluster = Find(room_id);
  auto held = holds_.find(room_id);
  const bool watches_held = held != holds_.end() && !held->second.watches.empty();
  if (room != nullptr && cluster != nullptr && cluster->has_roster() && !watches_held) {
    // Followed, and its traffic reaches this instance already: the room is
    // as complete here as a watch needs.
    if (room->member_count() == 0) return started(RoomNotFound(room_id));
    shard_.AttachWatcher(room_id, std::move(sink), cursor_moves);
    Announce(room_id, /*hello=*/false, /*refresh=*/false);
    return started(absl::OkStatus());
  }
  if (room == nullptr) room = shard_.FindOrCreateRoom(room_id);
  if (room == nullptr) {
    return started(absl::ResourceExhaustedError("room limit reached (--max-rooms)"));
  }
  // A watch-only room: followed as a first join would (subscribe, roster),
  // and the watch waits as a first joiner does (ApplyRoster).
  if (rooms_.try_emplace(room_id).second) backplane_.Follow(room_id);
  auto [it, created] = holds_.try_emplace(room_id);
  if (created) it->second.deadline = Clock::now() + kRosterWait;
  it->second.watches.push_back(HeldWatch{std::move(sink), cursor_moves, std::move(started)});
  ArmHoldTimer();
}

void ClusterRelay::Unwatch(const std::string& room_id, core::WatchSink* sink) {
  if (auto held = holds_.find(room_id); held != holds_.end()) {
    auto& watches = held->second.watches;
    watches.erase(std::remove_if(watches.begin(), watches.end(),
                                 [sink](const HeldWatch& w) { return w.sink.get() == sink; }),
                  watches.end());
    if (watches.empty() && held->second.joins.empty()) holds_.erase(held);
  }
  Announce(room_id, /*hello=*/false, /*refresh=*/false);
  if (core::Room* room = shard_.FindRoom(room_id)) shard_.ReleaseRoomIfEmpty(*room);
}

void ClusterRelay::Announce(const std::string& room_id, bool hello, bool refresh) {
  core::ClusterRoom* cluster = Find(room_id);
  if (cluster == nullptr) return;
  bool watched = false;
  bool cursor_moves = false;
  if (const core::WatcherList* list = shard_.watchers(room_id)) {
    watched = !list->empty();
    cursor_moves = list->any_cursor_watcher();
  }
  if (auto held = holds_.find(room_id); held != holds_.end()) {
    for (const HeldWatch& watch : held->second.watches) {
      watched = true;
      cursor_moves = cursor_moves || watch.cursor_moves;
    }
  }
  const std::optional<core::ClusterRoom::Announced>& announced = cluster->announced();
  const absl::Duration ttl = absl::FromChrono(kWatchTtl);
  if (!watched) {
    if (announced) backplane_.PublishWatch(room_id, false, false, /*off=*/true, ttl);
    cluster->set_announced(std::nullopt);
    return;
  }
  if (!hello && !refresh && announced && announced->cursor_moves == cursor_moves) return;
  backplane_.PublishWatch(room_id, cursor_moves, hello, /*off=*/false, ttl);
  cluster->set_announced(core::ClusterRoom::Announced{cursor_moves, Clock::now()});
}

void ClusterRelay::NameInstances(const std::string& room, core::RoomSnapshot& snapshot) {
  core::ClusterRoom* cluster = Find(room);
  if (cluster == nullptr) return;
  for (core::MemberSnapshot& member : snapshot.members) {
    if (member.remote) member.instance = cluster->instance(static_cast<uint8_t>(member.id));
  }
}

void ClusterRelay::Tick() {
  const Clock::time_point now = Clock::now();
  for (auto& [room, cluster] : rooms_) {
    cluster.ExpireRemoteWatchers(now);
    if (cluster.announced() && now - cluster.announced()->at >= kWatchRefresh) {
      Announce(room, /*hello=*/false, /*refresh=*/true);
    }
  }
}

void ClusterRelay::OnRoomReleased(const std::string& room) {
  if (rooms_.erase(room) == 0) return;
  batch_.erase(room);
  holds_.erase(room);
  backplane_.Unfollow(room);
}

// --- Local traffic out ---

void ClusterRelay::OnLocalClick(core::ClusterRoom& cluster, const std::string& room, uint8_t id,
                                bool down) {
  if (!cluster.publishes()) return;
  // Where the member was when it clicked goes first: positions wait for
  // the batch, a click does not, and it must not overtake them.
  if (cluster.has_moved() || cluster.has_state_changes()) PublishMoved(room);
  backplane_.PublishClick(room, backplane::ClickMessage{id, cluster.generation(id), down});
}

void ClusterRelay::OnLocalKick(const std::string& room, uint8_t id, uint16_t code,
                               const std::string& reason) {
  core::ClusterRoom* cluster = Find(room);
  if (cluster == nullptr || !cluster->publishes() || !cluster->local(id)) return;
  backplane_.PublishKick(room, backplane::KickMessage{id, cluster->generation(id), code, reason});
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
  if (!moved.empty()) {
    std::vector<backplane::PositionEntry> entries;
    entries.reserve(moved.size());
    const core::Position* positions = room->positions();
    for (uint8_t id : moved) {
      entries.push_back({id, cluster->generation(id), positions[id].x, positions[id].y});
    }
    backplane_.PublishPositions(room_id, std::move(entries));
  }
  const std::vector<uint8_t> changed = cluster->TakeStateChanged();
  if (!changed.empty()) PublishMemberStates(*cluster, *room, changed, std::string());
}

void ClusterRelay::PublishMemberStates(core::ClusterRoom& cluster, const core::Room& room,
                                       const std::vector<uint8_t>& ids, const std::string& to) {
  std::vector<backplane::MemberStateEntry> entries;
  entries.reserve(ids.size());
  for (uint8_t id : ids) entries.push_back({id, cluster.generation(id), room.state(id)});
  backplane_.PublishMemberStates(room.id(), to, std::move(entries));
}

void ClusterRelay::PublishState(const std::string& room_id, const std::string& to) {
  core::ClusterRoom* cluster = Find(room_id);
  core::Room* room = shard_.FindRoom(room_id);
  if (cluster == nullptr || room == nullptr) return;
  if (to.empty()) {
    // For everyone: unpublished moves and states are part of this state.
    cluster->TakeMoved();
    cluster->TakeStateChanged();
  } else if (cluster->has_moved() || cluster->has_state_changes()) {
    // For one newcomer only: the others still need the batch.
    PublishMoved(room_id);
  }
  std::vector<backplane::StateEntry> entries;
  std::vector<uint8_t> ids;
  for (const auto& [id, member] : room->members()) {
    const core::MemberSnapshot snapshot = room->SnapshotMember(id);
    entries.push_back({id, cluster->generation(id), snapshot.x, snapshot.y, snapshot.has_position,
                       snapshot.clicking});
    ids.push_back(id);
  }
  // Member states first: the newcomer's joiners wait for the state below,
  // and must find these applied by then. Empty ones too: a state cleared
  // while nothing was published (Redis away, or no other instance in the
  // room) must reach those that still hold the old one.
  if (!ids.empty()) PublishMemberStates(*cluster, *room, ids, to);
  // Sent even when empty: the newcomer waits for it.
  backplane_.PublishState(room_id, to, std::move(entries));
}

void ClusterRelay::Resync(const std::string& room_id) {
  core::ClusterRoom* cluster = Find(room_id);
  core::Room* room = shard_.FindRoom(room_id);
  if (cluster == nullptr || room == nullptr) return;
  // Our watchers may have missed presses in the gap, and after a Redis
  // restart the watchers hash is gone: announce again, asking for states.
  if (cluster->announced()) Announce(room_id, /*hello=*/true, /*refresh=*/true);
  if (room->empty() || !cluster->publishes()) return;
  PublishState(room_id, "");
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
  // Known (roster, then its message). The instance too: generations start
  // again after Redis restarted empty.
  if (cluster->IsRemote(id, record.generation) && cluster->instance(id) == record.instance) return;
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
  if (cluster->AddRemote(id, record.generation, record.instance)) {
    // A new instance in the room: our members' state, for its joiners
    // (who wait for it, so it goes even when there is nothing in it).
    PublishState(room_id, record.instance);
  }
}

void ClusterRelay::ApplyRoster(
    const std::string& room_id,
    const std::vector<std::pair<uint8_t, backplane::MemberRecord>>& remote) {
  core::ClusterRoom* cluster = Find(room_id);
  core::Room* room = shard_.FindRoom(room_id);
  if (cluster == nullptr || room == nullptr) return;
  absl::flat_hash_map<uint8_t, const backplane::MemberRecord*> in_roster;
  for (const auto& [id, record] : remote) in_roster[id] = &record;
  // Members the roster no longer has left while this instance was not
  // listening.
  for (uint8_t id : cluster->RemoteIds()) {
    auto it = in_roster.find(id);
    if (it == in_roster.end() || it->second->generation != cluster->generation(id) ||
        it->second->instance != cluster->instance(id)) {
      const std::string instance = cluster->instance(id);
      room->Leave(id, absl::Now());
      cluster->Remove(id);
      if (!cluster->HasInstance(instance)) cluster->StopAwaiting(instance);
    }
  }
  for (const auto& [id, record] : remote) ApplyJoin(room_id, id, record);
  cluster = Find(room_id);
  if (cluster == nullptr) return;
  const bool first = !cluster->has_roster();
  cluster->set_has_roster();
  auto held = holds_.find(room_id);
  if (first && held != holds_.end() && !held->second.watches.empty()) {
    room = shard_.FindRoom(room_id);
    if (room == nullptr || room->member_count() == 0) {
      // Nobody anywhere: NOT_FOUND, as a missing room on one instance.
      std::vector<HeldWatch> watches = std::move(held->second.watches);
      if (held->second.joins.empty()) holds_.erase(held);
      for (HeldWatch& watch : watches) watch.started(RoomNotFound(room_id));
      if (room != nullptr) shard_.ReleaseRoomIfEmpty(*room);
      return;
    }
    // The members' instances answer the hello with their state (positions,
    // presses) to this instance; the snapshot waits for it, as a first
    // joiner's sequence does.
    Announce(room_id, /*hello=*/true, /*refresh=*/true);
    cluster->StartAwaiting();
    if (cluster->awaiting()) {
      held->second.deadline = Clock::now() + kStateWait;
      ArmHoldTimer();
      return;
    }
  }
  // An instance waited for may have gone with the members it lost.
  if (cluster != nullptr && !cluster->awaiting() && holds_.contains(room_id)) {
    ReleaseHeld(room_id);
  }
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
      const std::string instance = cluster->instance(leave->id);
      room->Leave(leave->id, now);
      cluster->Remove(leave->id);
      if (!cluster->HasInstance(instance) && cluster->awaiting()) {
        cluster->StopAwaiting(instance);
        if (!cluster->awaiting()) ReleaseHeld(room_id);
      }
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
  } else if (const auto* state = std::get_if<backplane::StateMessage>(&message)) {
    // The other instance's members as they are now: latest positions, and
    // the press that may have begun or ended unseen.
    for (const backplane::StateEntry& entry : state->entries) {
      if (!cluster->IsRemote(entry.id, entry.generation)) continue;
      if (entry.has_position) room->Cursor(entry.id, entry.x, entry.y, now);
      if (room->clicking(entry.id) != entry.pressed) room->Click(entry.id, entry.pressed, now);
    }
    if (!state->to.empty()) {
      cluster->OnState(state->instance);
      if (!cluster->awaiting() && holds_.contains(room_id)) ReleaseHeld(room_id);
    } else if (!room->empty()) {
      // Its resync: it may have missed ours (it subscribed again after we
      // sent it, when Redis came back), so ours goes to it once more.
      PublishState(room_id, state->instance);
    }
  } else if (const auto* states = std::get_if<backplane::MemberStatesMessage>(&message)) {
    for (const backplane::MemberStateEntry& entry : states->entries) {
      if (cluster->IsRemote(entry.id, entry.generation)) room->SetState(entry.id, entry.state, now);
    }
  } else if (const auto* watch = std::get_if<backplane::WatchMessage>(&message)) {
    // Another instance's watchers: what this one publishes now counts them.
    if (watch->off) {
      cluster->RemoveRemoteWatcher(watch->instance);
    } else {
      cluster->SetRemoteWatcher(watch->instance, watch->cursor_moves, Clock::now() + kWatchTtl);
      if (watch->hello && !room->empty()) PublishState(room_id, watch->instance);
    }
  } else if (const auto* kick = std::get_if<backplane::KickMessage>(&message)) {
    // Its instance is closing it for the control plane; the leave follows.
    // (A kick of one of ours was ours: the cluster bus routes kicks to the
    // member's instance, which publishes this.)
    if (cluster->IsRemote(kick->id, kick->generation)) room->NotifyKicked(kick->id, kick->reason, now);
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

void BackplaneEvents::OnResync(const std::string& room) {
  Shard& shard = server_.ShardFor(room);
  net::post(shard.io_context(), [&shard, room] {
    if (ClusterRelay* relay = shard.relay()) relay->Resync(room);
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

void BackplaneEvents::OnControlRequest(const std::string& op, nlohmann::json args,
                                       ControlReply reply) {
  ClusterControl* control = server_.cluster_control();
  if (control == nullptr) return reply(absl::UnavailableError("starting"));
  control->Handle(op, std::move(args), std::move(reply));
}

}  // namespace cursord::edge
