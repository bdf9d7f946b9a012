// The control plane's operations on this server's rooms (core::ControlPlane):
// list and snapshot rooms, kick members and users, close rooms, watch.
//
// Each operation runs on the thread of the shard that owns the room (posted
// there), or on every shard with the answers gathered; `done` runs on the
// last of those threads. Kicks go through one path (KickMembers): watchers
// are told first, then each member is closed with its code.
#ifndef CURSORD_EDGE_CONTROL_OPS_H_
#define CURSORD_EDGE_CONTROL_OPS_H_

#include <functional>
#include <memory>
#include <string>

#include "server/core/control_plane.h"

namespace cursord::edge {

class Server;

class ControlOps final : public core::ControlPlane {
 public:
  explicit ControlOps(Server& server) : server_(server) {}

  void ListRooms(core::ListRoomsQuery query,
                 std::function<void(absl::StatusOr<core::ListRoomsResult>)> done) override;
  void GetRoom(std::string room_id,
               std::function<void(absl::StatusOr<core::RoomSnapshot>)> done) override;
  void KickMember(std::string room_id, uint8_t member_id, std::string reason,
                  std::function<void(absl::Status)> done) override;
  void KickUser(std::string user_id, std::string reason,
                std::function<void(absl::StatusOr<core::CloseResult>)> done) override;
  void CloseRoom(std::string room_id, std::string reason,
                 std::function<void(absl::StatusOr<core::CloseResult>)> done) override;
  void ListInstances(std::function<void(absl::StatusOr<core::InstancesResult>)> done) override;
  void ListSessions(core::SessionQuery query,
                    std::function<void(absl::StatusOr<core::SessionPage>)> done) override;
  void Watch(std::string room_id, bool cursor_moves, std::shared_ptr<core::WatchSink> sink,
             std::function<void(absl::Status)> started) override;
  void Unwatch(std::string room_id, core::WatchSink* sink, std::function<void()> done) override;
  core::ServerInfo GetServerInfo() override;
  core::ActivitySource& activity() override;

  // This instance's part of a cluster-wide answer (ClusterControl): its
  // own members only. Rooms with members here, counted by those members;
  // a room's members here (NOT_FOUND when none).
  void ListLocalRooms(core::ListRoomsQuery query,
                      std::function<void(core::ListRoomsResult)> done);
  void GetLocalRoom(std::string room_id,
                    std::function<void(absl::StatusOr<core::RoomSnapshot>)> done);
  // This server, as ListInstances describes it.
  core::InstanceInfo DescribeSelf();

 private:
  void ListRoomsIn(core::ListRoomsQuery query, bool local_only,
                   std::function<void(core::ListRoomsResult)> done);

  Server& server_;
};

}  // namespace cursord::edge

#endif  // CURSORD_EDGE_CONTROL_OPS_H_
