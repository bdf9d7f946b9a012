// What an instance knows of a room that spans instances (docs/BACKPLANE.md,
// "An instance's view of a room"), beside the room's core::Room: the owner
// and generation of every member, which instances have members in the room,
// the local members whose positions moved since the last positions batch,
// and the joins still waiting for Redis. Pure logic, no I/O: the edge's
// ClusterRelay feeds it and acts on its answers.
//
// The generation is the relay filter: an entry relayed from Redis names
// (id, generation), and it is applied only when that is the member known
// here, so a reused id is never confused with its previous owner and
// nothing of a member arrives after its leave.
//
// Thread ownership: as the Room beside it (the room's shard thread).
#ifndef CURSORD_CORE_CLUSTER_ROOM_H_
#define CURSORD_CORE_CLUSTER_ROOM_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

namespace cursord::core {

class ClusterRoom {
 public:
  // Member `id` as known here: its generation (0: no member) and whether
  // its connection is on this instance.
  uint64_t generation(uint8_t id) const {
    const Member* m = Find(id);
    return m == nullptr ? 0 : m->generation;
  }
  bool known(uint8_t id) const { return Find(id) != nullptr; }
  // The instance of remote member `id` ("" for a local or unknown one).
  std::string instance(uint8_t id) const {
    const Member* m = Find(id);
    return m == nullptr ? std::string() : m->instance;
  }
  bool local(uint8_t id) const {
    const Member* m = Find(id);
    return m != nullptr && m->local;
  }
  // The relay filter: `id` is a member of another instance whose join
  // made `generation`.
  bool IsRemote(uint8_t id, uint64_t generation) const {
    const Member* m = Find(id);
    return m != nullptr && m->generation == generation && !m->local;
  }
  bool IsLocal(uint8_t id, uint64_t generation) const {
    const Member* m = Find(id);
    return m != nullptr && m->generation == generation && m->local;
  }

  // Records member `id` of this instance (generation >= 1), replacing
  // whatever was known of `id`.
  void AddLocal(uint8_t id, uint64_t generation);
  // Records member `id` of `instance`, replacing whatever was known of
  // `id`. True when `instance` had no member in the room before: the
  // members here then publish their positions and presses for it (a new
  // instance's members are late joiners that never saw them).
  bool AddRemote(uint8_t id, uint64_t generation, std::string_view instance);
  // Forgets member `id` (and its unpublished move). No-op when unknown.
  void Remove(uint8_t id);

  // Members of other instances.
  int remote_count() const { return remote_count_; }

  // Whether clicks and kicks of local members are published: while the
  // room has members or watchers on other instances. An instance alone in
  // a room that nobody watches elsewhere publishes nothing.
  bool publishes() const { return remote_count_ != 0 || !remote_watchers_.empty(); }
  // Whether positions and protocol v2 states are: remote members, or a
  // remote watcher that wants cursor moves. Checked per move.
  bool publishes_moves() const { return remote_count_ != 0 || cursor_watchers_ != 0; }

  // Other instances' WatchRoom streams on this room (their watch messages,
  // docs/BACKPLANE.md): `instance` watches until `expires` unless
  // refreshed. True when it was not known.
  using Clock = std::chrono::steady_clock;
  bool SetRemoteWatcher(std::string_view instance, bool cursor_moves, Clock::time_point expires);
  void RemoveRemoteWatcher(std::string_view instance);
  // Forgets the remote watchers that expired by `now` (a killed instance).
  void ExpireRemoteWatchers(Clock::time_point now);
  size_t remote_watchers() const { return remote_watchers_.size(); }

  // Whether a roster of the room was applied since it was followed here (a
  // watch's snapshot waits for it).
  bool has_roster() const { return has_roster_; }
  void set_has_roster() { has_roster_ = true; }

  // What this instance last announced of its own watchers (nullopt: that
  // it has none), and when.
  struct Announced {
    bool cursor_moves = false;
    Clock::time_point at;
  };
  const std::optional<Announced>& announced() const { return announced_; }
  void set_announced(std::optional<Announced> announced) { announced_ = announced; }
  // The ids of every member of another instance.
  std::vector<uint8_t> RemoteIds() const;

  // Local member `id` moved. True when it is the first move since the
  // last TakeMoved (the caller arms its batch timer then).
  bool MarkMoved(uint8_t id);
  bool has_moved() const { return moved_count_ != 0; }
  // The local members that moved since the last call, in id order; clears
  // the set.
  std::vector<uint8_t> TakeMoved();

  // Local member `id` set its state (protocol v2): batched like moves.
  // True when it is the first change since the last TakeStateChanged.
  bool MarkStateChanged(uint8_t id);
  bool has_state_changes() const { return state_changed_count_ != 0; }
  // The local members whose state changed since the last call, in id
  // order; clears the set.
  std::vector<uint8_t> TakeStateChanged();

  // Whether a member of this instance ever joined the room here (since it
  // was created on this shard).
  bool had_local() const { return had_local_; }
  // Whether `instance` has a member in the room.
  bool HasInstance(std::string_view instance) const {
    return members_per_instance_.contains(std::string(instance));
  }

  // States (backplane StateMessage) this instance waits for before its
  // first members join: the room's state lives with each instance, which
  // sends it when it sees this instance's first join. StartAwaiting waits
  // for every instance with members here now, except those whose state
  // came already; OnState(instance) notes one (before or during the wait);
  // StopAwaiting(instance) gives up on one (it left the room). awaiting()
  // is true while any is missing.
  void StartAwaiting();
  void OnState(std::string_view instance);
  void StopAwaiting(std::string_view instance) { awaiting_.erase(std::string(instance)); }
  void StopAwaitingAll() { awaiting_.clear(); }
  bool awaiting() const { return !awaiting_.empty(); }

  // Joins sent to Redis and not answered yet: the room stays while any is
  // pending, as its answer has to find it.
  int pending_joins() const { return pending_joins_; }
  void AddPendingJoin() { ++pending_joins_; }
  void RemovePendingJoin() { --pending_joins_; }

 private:
  struct Member {
    uint64_t generation = 0;
    bool local = false;
    bool moved = false;
    bool state_changed = false;
    std::string instance;  // of a remote member
  };

  // The ids whose `flag` is set, in id order, the flags cleared and
  // `count` zeroed.
  std::vector<uint8_t> TakeFlagged(bool Member::*flag, int& count);

  const Member* Find(uint8_t id) const {
    auto it = members_.find(id);
    return it == members_.end() ? nullptr : &it->second;
  }

  // Sparse: most rooms are small, and a server may follow many.
  absl::flat_hash_map<uint8_t, Member> members_;
  absl::flat_hash_map<std::string, int> members_per_instance_;  // remote instances
  absl::flat_hash_set<std::string> awaiting_;
  absl::flat_hash_set<std::string> states_received_;
  struct RemoteWatcher {
    bool cursor_moves = false;
    Clock::time_point expires;
  };
  absl::flat_hash_map<std::string, RemoteWatcher> remote_watchers_;
  int cursor_watchers_ = 0;  // remote watchers with cursor_moves
  std::optional<Announced> announced_;
  bool has_roster_ = false;
  bool had_local_ = false;
  int remote_count_ = 0;
  int moved_count_ = 0;
  int state_changed_count_ = 0;
  int pending_joins_ = 0;
};

}  // namespace cursord::core

#endif  // CURSORD_CORE_CLUSTER_ROOM_H_
