// Presence data and the control operations the edge offers to the control
// plane. Pure types and one abstract interface: the gRPC service depends on
// this header only, never on the edge's I/O classes.
#ifndef CURSORD_CORE_PRESENCE_H_
#define CURSORD_CORE_PRESENCE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace cursord::core {

// One member of a room as the control plane sees it.
struct MemberSnapshot {
  uint8_t id = 0;
  std::string user_id;         // `user=` from the join query string, or ""
  std::string name;            // `name=`, or ""
  std::string color;           // `color=` as "#rrggbb", or ""
  std::string remote_address;  // "ip:port" of the WebSocket peer
  absl::Time connected_at;
  absl::Time last_activity;  // last message received from the member
  bool has_position = false;
  uint16_t x = 0;
  uint16_t y = 0;
  bool clicking = false;
};

struct RoomSummary {
  std::string id;
  uint32_t member_count = 0;
  absl::Time created_at;
};

struct RoomSnapshot {
  std::string id;
  absl::Time created_at;
  std::vector<MemberSnapshot> members;  // ordered by member id
};

// Rooms are listed in byte order of their id. `start_after` is the last id
// of the previous page ("" for the first page).
struct ListRoomsQuery {
  std::string prefix;
  std::string start_after;
  size_t limit = 100;
};

struct ListRoomsResult {
  std::vector<RoomSummary> rooms;  // at most `limit`, ascending id
  bool more = false;               // rooms remain after the last one
};

// Server-wide figures. Counters are monotonic since start.
struct ServerInfo {
  std::string version;
  absl::Time started_at;
  std::vector<std::string> listen_addresses;  // the WebSocket edge
  uint64_t connections = 0;  // open WebSocket sessions now
  uint64_t rooms = 0;        // rooms with members now
  // Named counters, e.g. "messages_in", "messages_out", "cursor_coalesced",
  // "messages_ignored", "closes_1009", "closes_slow_consumer". Stable names,
  // listed in docs/OPERATIONS.md.
  std::map<std::string, uint64_t> counters;
};

enum class RoomEventKind {
  kJoined,         // member holds the full snapshot of the new member
  kLeft,           // member.id left (any reason, including a kick)
  kKicked,         // member.id is being closed by the control plane; `reason`
  kClickStarted,   // member.id
  kClickStopped,   // member.id
  kCursorMoved,    // member.id, member.x, member.y (only if asked for)
};

struct RoomEvent {
  RoomEventKind kind = RoomEventKind::kJoined;
  absl::Time time;
  MemberSnapshot member;
  std::string reason;
};

// Receives a room's events. Every call comes on the thread that owns the
// room, so an implementation must never block: it queues and returns.
class WatchSink {
 public:
  virtual ~WatchSink() = default;
  // First call: the room as it is when the watch starts. Events follow in
  // the order the room's members see them.
  virtual void OnSnapshot(const RoomSnapshot& snapshot) = 0;
  // Returns false to be detached at once (say, its buffer is full); the
  // owner then gets OnDetached.
  virtual bool OnEvent(const RoomEvent& event) = 0;
  // The watch ended from the server's side: the sink returned false
  // (RESOURCE_EXHAUSTED) or the server is shutting down (UNAVAILABLE).
  // No call follows. A watch outlives the room's members: if the room
  // empties and fills again, the watcher sees the new joins.
  virtual void OnDetached(const absl::Status& status) = 0;
};

// The operations of the control plane. Every `done` callback runs on one of
// the server's threads and must not block; it runs exactly once.
class ControlPlane {
 public:
  virtual ~ControlPlane() = default;

  virtual void ListRooms(ListRoomsQuery query,
                         std::function<void(ListRoomsResult)> done) = 0;
  // NOT_FOUND when the room has no members.
  virtual void GetRoom(std::string room_id,
                       std::function<void(absl::StatusOr<RoomSnapshot>)> done) = 0;
  // Closes one member with kCloseKicked and `reason`; the others see it
  // leave. NOT_FOUND for an unknown room or member.
  virtual void KickMember(std::string room_id, uint8_t member_id, std::string reason,
                          std::function<void(absl::Status)> done) = 0;
  // Kicks every connection that joined with `user=user_id`, in every room.
  // Returns how many were kicked; NOT_FOUND when none.
  virtual void KickUser(std::string user_id, std::string reason,
                        std::function<void(absl::StatusOr<int>)> done) = 0;
  // Closes every member of the room with kCloseRoomClosed and `reason`.
  // Returns how many were closed; NOT_FOUND for an unknown room.
  virtual void CloseRoom(std::string room_id, std::string reason,
                         std::function<void(absl::StatusOr<int>)> done) = 0;
  // Attaches `sink` to a room: OnSnapshot, then events. `started` gets OK
  // once attached, or NOT_FOUND (unknown room; the sink is not called).
  // With `cursor_moves`, kCursorMoved events are delivered too (every move:
  // rate limiting is the sink's business).
  virtual void Watch(std::string room_id, bool cursor_moves,
                     std::shared_ptr<WatchSink> sink,
                     std::function<void(absl::Status)> started) = 0;
  // Detaches a sink; no call reaches it after `done`. Safe if already gone.
  virtual void Unwatch(std::string room_id, WatchSink* sink,
                       std::function<void()> done) = 0;
  // Reads shared counters; callable from any thread, never blocks on a room.
  virtual ServerInfo GetServerInfo() = 0;
};

}  // namespace cursord::core

#endif  // CURSORD_CORE_PRESENCE_H_
