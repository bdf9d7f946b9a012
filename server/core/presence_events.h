// The presence events of the webhook sink (docs/CONTROL_API.md,
// "Webhooks"): user entered / left a room, room occupied / vacated,
// computed from connection records. Pure code: records in, events out.
//
// Cluster-wide, every instance sees every instance's records in the same
// order (the cluster's activity stream), so every instance computes the
// same state; each one announces only the events of the records it wrote
// itself (ShouldAnnounce), so that each event is sent once.
//
// Thread ownership: none; the edge feeds it from the activity log's
// observer, under the log's lock.
#ifndef CURSORD_CORE_PRESENCE_EVENTS_H_
#define CURSORD_CORE_PRESENCE_EVENTS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "server/core/activity.h"

namespace cursord::core {

enum class PresenceEventKind : uint8_t {
  kRoomOccupied = 1,  // the room's first open session (of anyone)
  kUserEntered,       // a user's first open session in the room
  kUserLeft,          // a user's last session in the room ended
  kRoomVacated,       // the room's last session ended
};

// "room_occupied", "user_entered", "user_left", "room_vacated": the API's
// names.
std::string_view PresenceEventName(PresenceEventKind kind);

struct PresenceEvent {
  PresenceEventKind kind = PresenceEventKind::kRoomOccupied;
  std::string room;
  // User events: the user id. Room events: "".
  std::string user_id;
  // User events: the name and colour of the session that caused the event
  // (its join, or for user_left its leave). Room events: "".
  std::string name;
  std::string color;
  // The instance the causing session is connected to ("" without --redis).
  std::string instance;
  // The session whose join or leave caused the event. With the kind, a key
  // unique across the cluster and restarts: a session causes each kind at
  // most once (see PresenceEventId).
  std::string session_id;
  absl::Time time;  // the record's
};

// "<session_id>.<name>": the event's id, unique, the same in every retry,
// for receivers that drop duplicates (delivery is at least once).
std::string PresenceEventId(const PresenceEvent& event);

// Whether the events of `record` are this instance's to announce: a live
// record (not history read at start) that this instance wrote itself
// (`self` is the log's instance: "" without --redis, as the records').
bool ShouldAnnounce(const ActivityRecord& record, bool live, std::string_view self);

// Per room: open sessions, and open sessions per user id. State is kept
// only for open sessions, so memory is bounded by them, not by history.
// Anonymous sessions (no user id) count toward occupied and vacated but
// cause no user events.
class PresenceTracker {
 public:
  // Feeds `record` (in the log's order) and appends the events it causes
  // to `*out`: for a join, room_occupied then user_entered; for a leave,
  // user_left then room_vacated. A join of a session already open and a
  // leave of a session not open (a duplicate leave, e.g. instance_died
  // written by a reaper and then the session's own; or a leave whose join
  // was before this tracker started) cause nothing. As the activity log
  // does, a join under the member id (instance, room, id) of a session
  // still open supersedes that session, whose leave was lost: the same
  // user's session takes its place silently; another user's closes it
  // first (user_left if that was its user's last session; the room stays
  // occupied).
  void Apply(const ActivityRecord& record, std::vector<PresenceEvent>* out);

  size_t open_sessions() const { return sessions_.size(); }
  size_t occupied_rooms() const { return rooms_.size(); }

 private:
  struct Session {
    std::string room;
    std::string user_id;
    std::string member_key;
    // Its join, for the user_left of a session superseded by another's
    // join (the event is this session's, not the one that took its place).
    ActivityRecord join;
  };
  // Closes `session` (found in sessions_) in the counts, appending
  // user_left (caused by `cause`) when it was its user's last session in
  // the room; returns whether the room is left empty (its state is then
  // erased).
  bool Close(absl::flat_hash_map<std::string, Session>::iterator session,
             const ActivityRecord& cause, std::vector<PresenceEvent>* out);
  struct RoomState {
    size_t sessions = 0;
    absl::flat_hash_map<std::string, size_t> users;  // user id -> open sessions
  };
  absl::flat_hash_map<std::string, Session> sessions_;  // by session id
  absl::flat_hash_map<std::string, RoomState> rooms_;   // rooms with open sessions
  absl::flat_hash_map<std::string, std::string> by_member_;  // member key -> session id
};

}  // namespace cursord::core

#endif  // CURSORD_CORE_PRESENCE_EVENTS_H_
