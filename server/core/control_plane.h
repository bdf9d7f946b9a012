// The operations the edge offers to the control plane: one abstract
// interface, so that the gRPC service depends on it and the presence types
// only, never on the edge's I/O classes (edge::ControlOps implements it).
#ifndef CURSORD_CORE_CONTROL_PLANE_H_
#define CURSORD_CORE_CONTROL_PLANE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/core/activity.h"
#include "server/core/presence.h"

namespace cursord::core {

// The operations of the control plane. Every `done` callback runs on one of
// the server's threads and must not block; it runs exactly once.
class ControlPlane {
 public:
  virtual ~ControlPlane() = default;

  // With --redis every operation but Watch answers for the whole cluster
  // (edge::ClusterControl), and fails with UNAVAILABLE when the cluster
  // cannot be asked (Redis unreachable).
  virtual void ListRooms(ListRoomsQuery query,
                         std::function<void(absl::StatusOr<ListRoomsResult>)> done) = 0;
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
                        std::function<void(absl::StatusOr<CloseResult>)> done) = 0;
  // Closes every member of the room with kCloseRoomClosed and `reason`.
  // Returns how many were closed; NOT_FOUND for an unknown room.
  virtual void CloseRoom(std::string room_id, std::string reason,
                         std::function<void(absl::StatusOr<CloseResult>)> done) = 0;
  // The instances of the cluster; without --redis, this server alone
  // (instance_id "").
  virtual void ListInstances(std::function<void(absl::StatusOr<InstancesResult>)> done) = 0;
  // Recent sessions from the connection records (core/activity.h), newest
  // first, filtered and paged; with --redis every instance's.
  virtual void ListSessions(SessionQuery query,
                            std::function<void(absl::StatusOr<SessionPage>)> done) = 0;
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

#endif  // CURSORD_CORE_CONTROL_PLANE_H_
