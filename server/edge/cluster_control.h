// The control plane of an instance of a cluster (--redis): every operation
// answers for the whole cluster (docs/CONTROL_API.md, "Clusters"). It asks
// every live instance over the cluster bus (backplane::Backplane::Survey),
// each answers for its own members through ControlOps, and the answers are
// put together (core/cluster_view.h). An instance that does not answer
// within the timeout (--cluster-timeout) is named in the answer (`unanswered`) instead of
// being waited for.
//
// Watch is answered by this instance (ControlOps) from the room's channel,
// not over the bus: the relay follows the room for it, also when no member
// is here (ClusterRelay::Watch), and sees every instance's events in the
// order Redis executed them.
#ifndef CURSORD_EDGE_CLUSTER_CONTROL_H_
#define CURSORD_EDGE_CLUSTER_CONTROL_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "server/backplane/backplane.h"
#include "server/core/control_plane.h"
#include "server/edge/control_ops.h"

namespace cursord::edge {

class ClusterControl final : public core::ControlPlane {
 public:
  // `timeout`: how long an operation waits for the other instances.
  ClusterControl(ControlOps& local, backplane::Backplane& backplane, absl::Duration timeout)
      : local_(local), backplane_(backplane), timeout_(timeout) {}

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
             std::function<void(absl::Status)> started) override {
    local_.Watch(std::move(room_id), cursor_moves, std::move(sink), std::move(started));
  }
  void Unwatch(std::string room_id, core::WatchSink* sink, std::function<void()> done) override {
    local_.Unwatch(std::move(room_id), sink, std::move(done));
  }
  core::ServerInfo GetServerInfo() override { return local_.GetServerInfo(); }
  // Every instance holds the cluster's records (activity_log.h).
  core::ActivitySource& activity() override { return local_.activity(); }

  // A request of the cluster bus (BackplaneEvents): this instance's part,
  // through ControlOps. Bad arguments: INVALID_ARGUMENT.
  void Handle(const std::string& op, nlohmann::json args,
              backplane::BackplaneListener::ControlReply reply);

 private:
  // Kicks and room closes: the sum of what each instance closed.
  void Close(std::string op, nlohmann::json args,
             std::function<void(absl::StatusOr<core::CloseResult>, bool found)> done);

  ControlOps& local_;
  backplane::Backplane& backplane_;
  const absl::Duration timeout_;
};

}  // namespace cursord::edge

#endif  // CURSORD_EDGE_CLUSTER_CONTROL_H_
