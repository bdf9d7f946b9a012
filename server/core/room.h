// One room: its members, their ids and newest state, and the fan-out of
// their messages into each other's outboxes. Pure logic, no I/O: the edge
// owns the sockets and flushes outboxes; tests drive a Room directly.
//
// Thread ownership: a Room and every RoomMember in it belong to one thread
// (the shard that owns the room); nothing here locks.
#ifndef CURSORD_CORE_ROOM_H_
#define CURSORD_CORE_ROOM_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "server/core/counter.h"
#include "server/core/flush_scheduler.h"
#include "server/core/id_allocator.h"
#include "server/core/outbox.h"
#include "server/core/presence.h"
#include "server/core/room_watchers.h"
#include "server/core/wire.h"

namespace cursord::core {

// A connection as a room sees it: an outbox, and ways to ask for a flush.
// When the flush happens is the shard's FlushScheduler's decision; it keeps
// its flags in flush_slot(), so that asking again within a round costs one
// test and no call.
class RoomMember {
 public:
  virtual ~RoomMember() = default;
  // Asks the scheduler for a flush in the current round.
  virtual void ScheduleFlush() = 0;
  // Asks the scheduler for a flush that may wait a short, bounded delay, so
  // that a burst of joins and leaves leaves in one write instead of one each.
  virtual void ScheduleBatchedFlush() = 0;
  // The control plane closes this member with `code` (4000 kicked, 4001
  // room closed) and `reason`; it leaves its room.
  virtual void Kick(uint16_t code, std::string_view reason) = 0;

  // The outbox got something to send: flush in this round, once however
  // many messages arrive in it.
  void Wake() {
    if (!flush_slot_.scheduled()) ScheduleFlush();
  }

  // The outbox got joins or leaves of others: the flush may be batched. A
  // Wake before it comes takes them along, in order.
  void WakeSoon() {
    if (!flush_slot_.scheduled() && !flush_slot_.batched()) ScheduleBatchedFlush();
  }

  FlushSlot& flush_slot() { return flush_slot_; }

  // The protocol the member's session speaks: a v2 member also receives
  // the others' info (08) and state (09). Set before it joins.
  void set_protocol(ProtocolVersion protocol) { v2_ = protocol == ProtocolVersion::kV2; }
  bool v2() const { return v2_; }

  Outbox outbox;

 private:
  FlushSlot flush_slot_;
  bool v2_ = false;
};

// Who a member is, as given at join time.
struct MemberIdentity {
  std::string user_id;
  std::string name;
  std::string color;
  std::string remote_address;
};

class Room {
 public:
  // `coalesced` counts cursor updates superseded before they were sent,
  // `state_coalesced` (if not null) member states.
  Room(std::string id, int max_members, absl::Time now, Counter* coalesced,
       Counter* state_coalesced = nullptr);
  ~Room();
  Room(const Room&) = delete;
  Room& operator=(const Room&) = delete;

  const std::string& id() const { return id_; }
  absl::Time created_at() const { return created_at_; }
  // Members connected here (the fan-out's receivers).
  size_t size() const { return active_.size(); }
  // No member is connected here (remote members may remain).
  bool empty() const { return active_.empty(); }
  // Members in all, remote ones (on other instances) included.
  size_t member_count() const { return static_cast<size_t>(ids_.size()); }
  bool full() const { return ids_.size() >= ids_.capacity(); }

  // Adds `member`. It is sent `01 id`, `02 ids`, then `05` (and `06` when
  // clicking) for every member with a known position (Wake); the others
  // are sent `03 id` (WakeSoon). Returns nullopt, changing nothing, when the
  // room is full.
  std::optional<uint8_t> Join(RoomMember* member, MemberIdentity identity, absl::Time now);

  // Join, under an id decided elsewhere (with a backplane, Redis hands out
  // ids across instances). Returns false, changing nothing, when `id` is
  // taken here or the room is full.
  bool JoinAs(uint8_t id, RoomMember* member, MemberIdentity identity, absl::Time now);

  // A member connected to another instance (a backplane's join): in every
  // roster and late joiner's sequence, announced with `03 id`, its moves
  // and clicks (Cursor, Click with its id) relayed to the members here,
  // removed with Leave. It has no outbox here. False when `id` is taken.
  bool JoinRemote(uint8_t id, MemberIdentity identity, absl::Time now);

  // Removes member `id`: the others drop its pending position and are sent
  // `04 id` (WakeSoon). The id is free for the next join. The member's own outbox
  // loses its pending positions (they point into this room).
  void Leave(uint8_t id, absl::Time now);

  // A cursor update from `from`: newest position kept, every other member
  // marked to receive it (latest wins).
  void Cursor(uint8_t from, uint16_t x, uint16_t y, absl::Time now);

  // A click start (`down`) or stop from `from`: an event to every other member.
  void Click(uint8_t from, bool down, absl::Time now);

  // Member `from`'s new state (protocol v2): kept (for late joiners and the
  // control plane), every other v2 member marked to receive it (latest
  // wins, like positions). An empty state clears it. `from` may be a remote
  // member.
  void SetState(uint8_t from, std::string_view state, absl::Time now);

  // Tells watchers that `id` is being closed by the control plane.
  void NotifyKicked(uint8_t id, const std::string& reason, absl::Time now);

  // The member with `id`, or null (also for a remote member).
  RoomMember* member(uint8_t id) const;
  // Whether `id` is a member, local or remote.
  bool is_member(uint8_t id) const { return id < records_.size() && records_[id] != nullptr; }
  // Whether member `id` (a member) is pressing.
  bool clicking(uint8_t id) const { return records_[id]->clicking; }
  const Position* positions() const { return positions_.data(); }
  // Member `id`'s state (empty: none); `id` must be a member.
  const std::string& state(uint8_t id) const { return states_[id]; }
  // What the members' outboxes read at flush time.
  RoomTables tables() const { return RoomTables{positions_.data(), states_.data()}; }

  // Every member's id and RoomMember, in no particular order.
  const std::vector<std::pair<uint8_t, RoomMember*>>& members() const { return active_; }

  RoomSnapshot Snapshot() const;
  RoomSummary Summary() const;
  // Member `id`'s snapshot; `id` must be a member.
  MemberSnapshot SnapshotMember(uint8_t id) const;

  // The room's watchers (owned by the shard's RoomWatchers), or null when
  // nobody watches it. The room publishes its events there.
  void set_watchers(WatcherList* watchers) { watchers_ = watchers; }

 private:
  struct Record {
    RoomMember* member = nullptr;
    MemberIdentity identity;
    // The member's v2 info message (08), encoded once at join.
    std::string info_frame;
    absl::Time connected_at;
    absl::Time last_activity;
    bool has_position = false;
    bool clicking = false;
  };

  bool watched() const { return watchers_ != nullptr && !watchers_->empty(); }
  // Adds `member` under `id`, already marked in use in ids_.
  void Admit(uint8_t id, RoomMember* member, MemberIdentity identity, absl::Time now);
  // Queues the newcomer `id`'s join sequence (01, 02, positions, presses).
  void SendJoinSequence(RoomMember* member, uint8_t id);

  std::string id_;
  absl::Time created_at_;
  Counter* coalesced_;
  Counter* state_coalesced_;
  IdAllocator ids_;
  // Indexed by member id; sized to the highest id in use + 1, so a small
  // room costs little however large the id space.
  std::vector<std::unique_ptr<Record>> records_;
  std::vector<Position> positions_;
  std::vector<std::string> states_;
  // Dense list for the fan-out loop.
  std::vector<std::pair<uint8_t, RoomMember*>> active_;
  WatcherList* watchers_ = nullptr;
};

}  // namespace cursord::core

#endif  // CURSORD_CORE_ROOM_H_
