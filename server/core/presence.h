// Presence data: snapshots of rooms and members, room events, and the sink
// a watch delivers them to. Pure types, shared by the edge and the control
// plane (the operations are in control_plane.h).
#ifndef CURSORD_CORE_PRESENCE_H_
#define CURSORD_CORE_PRESENCE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
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
  std::string state;    // protocol v2's per-member state; empty: none
  bool remote = false;  // connected to another instance of the cluster
  // With --redis: the id of the instance it is connected to.
  std::string instance;
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
  // A cluster-wide answer: live instances that did not answer in time
  // (their members are missing from `members`).
  std::vector<std::string> unanswered;
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
  std::vector<std::string> unanswered;  // as in RoomSnapshot
};

// What a KickUser or CloseRoom closed.
struct CloseResult {
  int closed = 0;
  std::vector<std::string> unanswered;  // as in RoomSnapshot
};

// One instance of a cluster, as it describes itself (ListInstances).
struct InstanceInfo {
  std::string instance_id;
  bool answered = false;  // false: live in Redis, but no answer in time
  std::string version;
  absl::Time started_at;
  std::vector<std::string> listen_addresses;
  uint64_t connections = 0;
  uint64_t rooms = 0;
  bool ready = false;  // accepting joins (its /readyz)
  bool backplane_connected = false;
};

struct InstancesResult {
  std::string self;                      // the answering instance's id
  std::vector<InstanceInfo> instances;   // by id
};

// Server-wide figures. Counters are monotonic since start.
// An instance of a cluster (--redis): who it is, and its backplane's
// figures (docs/BACKPLANE.md).
struct ClusterInfo {
  std::string instance_id;
  bool backplane_connected = false;  // every Redis server reachable, lease held
  uint64_t publishes = 0;            // clicks and position batches published
  uint64_t publish_failures = 0;
  uint64_t messages_received = 0;  // from other instances, on room channels
  uint64_t bad_messages = 0;
  uint64_t reconnects = 0;
  uint64_t reaped_members = 0;  // members of dead instances freed by this one
  uint64_t fences = 0;          // times this instance found its lease expired
  uint64_t reasserted_members = 0;
  uint64_t publish_latency_us_sum = 0;  // over `publishes`
  uint64_t publish_latency_us_max = 0;
  uint64_t rooms_followed = 0;
};

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
  // Set when the server is an instance of a cluster (--redis).
  std::optional<ClusterInfo> cluster;
};

enum class RoomEventKind {
  kJoined,         // member holds the full snapshot of the new member
  kLeft,           // member.id left (any reason, including a kick)
  kKicked,         // member.id is being closed by the control plane; `reason`
  kClickStarted,   // member.id
  kClickStopped,   // member.id
  kCursorMoved,    // member.id, member.x, member.y (only if asked for)
  kStateChanged,   // member.id, member.state (only if asked for, with moves)
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

}  // namespace cursord::core

#endif  // CURSORD_CORE_PRESENCE_H_
