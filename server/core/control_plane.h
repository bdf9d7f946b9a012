// The operations the edge offers to the control plane: one abstract
// interface, so that the gRPC service depends on it and the presence types
// only, never on the edge's I/O classes (edge::ControlOps implements it).
#ifndef CURSORD_CORE_CONTROL_PLANE_H_
#define CURSORD_CORE_CONTROL_PLANE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/core/activity.h"
#include "server/core/presence.h"

namespace cursord::core {

// The operations of the control plane. Every `done` callback runs on one of
// the server's threads and must not block; it runs exactly once.
// The connection records as WatchActivity reads them (edge::ActivityLog):
// every method may be called from any thread.
class ActivitySource {
 public:
  virtual ~ActivitySource() = default;
  // The seq to read after to resume after `position` ("" = from now, "0" =
  // from the oldest held); `*missed` when records after it were dropped.
  // INVALID_ARGUMENT for a position no record could have.
  virtual absl::StatusOr<uint64_t> SeqAfter(std::string_view position, bool* missed) = 0;
  // At most `limit` records after seq `after` that `filter` matches;
  // `*next` is where to read on, `*missed` when records after `after` were
  // dropped.
  virtual std::vector<ActivityRecord> Read(uint64_t after, const ActivityFilter& filter,
                                           size_t limit, uint64_t* next, bool* missed) = 0;
  // `wake` runs after records were added (on the writer's thread; quick,
  // and not calling back into the source). The id is for RemoveWaker, after
  // which `wake` is not running and never runs again.
  virtual int AddWaker(std::function<void()> wake) = 0;
  virtual void RemoveWaker(int id) = 0;
};

class ControlPlane {
 public:
  virtual ~ControlPlane() = default;

  // The connection records, for WatchActivity (with --redis, the cluster's).
  virtual ActivitySource& activity() = 0;

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
