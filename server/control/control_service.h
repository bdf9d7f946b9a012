// The cursord.v1.ControlService implementation: validates requests, checks
// the bearer token, calls core::ControlPlane, converts the answers. Every
// method is asynchronous (gRPC's callback API): a unary call finishes from
// the plane's `done` callback, on a server thread, so no gRPC thread ever
// waits on a room.
#ifndef CURSORD_CONTROL_CONTROL_SERVICE_H_
#define CURSORD_CONTROL_CONTROL_SERVICE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cursord/v1/control.grpc.pb.h"
#include "absl/container/flat_hash_set.h"
#include "server/control/activity_feed.h"
#include "server/control/watch_session.h"
#include "server/control/watcher_registry.h"
#include "server/core/control_plane.h"

namespace cursord::control {

struct ControlServiceOptions {
  // Empty: no authentication.
  std::string token;
  // Per WatchRoom stream: how many messages may wait for a slow client
  // before it is dropped.
  size_t watch_buffer = 1024;
  // Open WatchRoom streams allowed on the server and on one room.
  WatcherRegistry::Limits watch_limits;
  // How long a stream the server ended may take to deliver its last
  // messages and status before the call is cancelled (see WatchSession).
  absl::Duration watch_finish_grace = absl::Seconds(10);
};

class ControlService final : public v1::ControlService::CallbackService {
 public:
  // `plane` must outlive the service's gRPC server.
  ControlService(ControlServiceOptions options, core::ControlPlane& plane);
  ~ControlService() override;

  // Reported by GetServerInfo; set once the server is bound.
  void set_control_address(std::string address) ABSL_LOCKS_EXCLUDED(mu_);

  // Ends every WatchRoom and WatchActivity stream with UNAVAILABLE and
  // refuses new ones, so
  // that the gRPC server's shutdown does not wait on endless streams.
  void BeginShutdown() ABSL_LOCKS_EXCLUDED(mu_);

  // Open WatchRoom streams.
  int64_t watcher_count() const ABSL_LOCKS_EXCLUDED(mu_);

  grpc::ServerUnaryReactor* ListRooms(grpc::CallbackServerContext* context,
                                      const v1::ListRoomsRequest* request,
                                      v1::ListRoomsResponse* response) override;
  grpc::ServerUnaryReactor* GetRoomUsers(grpc::CallbackServerContext* context,
                                         const v1::GetRoomUsersRequest* request,
                                         v1::RoomUsers* response) override;
  grpc::ServerUnaryReactor* GetRoom(grpc::CallbackServerContext* context,
                                    const v1::GetRoomRequest* request,
                                    v1::Room* response) override;
  grpc::ServerUnaryReactor* KickMember(grpc::CallbackServerContext* context,
                                       const v1::KickMemberRequest* request,
                                       v1::KickMemberResponse* response) override;
  grpc::ServerUnaryReactor* KickUser(grpc::CallbackServerContext* context,
                                     const v1::KickUserRequest* request,
                                     v1::KickUserResponse* response) override;
  grpc::ServerUnaryReactor* CloseRoom(grpc::CallbackServerContext* context,
                                      const v1::CloseRoomRequest* request,
                                      v1::CloseRoomResponse* response) override;
  grpc::ServerWriteReactor<v1::WatchRoomResponse>* WatchRoom(
      grpc::CallbackServerContext* context,
      const v1::WatchRoomRequest* request) override;
  grpc::ServerUnaryReactor* ListInstances(grpc::CallbackServerContext* context,
                                          const v1::ListInstancesRequest* request,
                                          v1::ListInstancesResponse* response) override;
  grpc::ServerUnaryReactor* ListSessions(grpc::CallbackServerContext* context,
                                         const v1::ListSessionsRequest* request,
                                         v1::ListSessionsResponse* response) override;
  grpc::ServerWriteReactor<v1::ActivityEvent>* WatchActivity(
      grpc::CallbackServerContext* context, const v1::WatchActivityRequest* request) override;
  grpc::ServerUnaryReactor* GetServerInfo(grpc::CallbackServerContext* context,
                                          const v1::GetServerInfoRequest* request,
                                          v1::ServerInfo* response) override;

 private:
  class WatchReactor;

  // UNAUTHENTICATED unless the call carries the token (when one is set).
  absl::Status Authenticate(const grpc::CallbackServerContext& context) const;

  // Registers a new stream: UNAVAILABLE once shutting down,
  // RESOURCE_EXHAUSTED past a watcher limit.
  absl::Status AddWatch(const std::shared_ptr<WatchSession>& session)
      ABSL_LOCKS_EXCLUDED(mu_);
  // True for the one call that found the stream registered.
  bool RemoveWatch(const std::shared_ptr<WatchSession>& session)
      ABSL_LOCKS_EXCLUDED(mu_);

  const ControlServiceOptions options_;
  core::ControlPlane& plane_;

  mutable absl::Mutex mu_;
  std::string control_address_ ABSL_GUARDED_BY(mu_);
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  WatcherRegistry watchers_ ABSL_GUARDED_BY(mu_);
  // Open WatchActivity streams (each removes itself in its OnDone).
  absl::flat_hash_set<ActivityFeed*> feeds_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cursord::control

#endif  // CURSORD_CONTROL_CONTROL_SERVICE_H_
