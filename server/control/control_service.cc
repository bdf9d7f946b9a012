#include "server/control/control_service.h"

#include <initializer_list>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "server/core/cluster_view.h"
#include "server/control/auth.h"
#include "server/control/convert.h"
#include "server/control/validation.h"

namespace cursord::control {
namespace {

// Finishes a unary call that failed before reaching the plane.
grpc::ServerUnaryReactor* Reject(grpc::ServerUnaryReactor* reactor,
                                 const absl::Status& status) {
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

// The first failure among checks run in order, or OK.
absl::Status FirstError(std::initializer_list<absl::Status> statuses) {
  for (const absl::Status& status : statuses) {
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Duration CursorInterval(uint32_t updates_per_second) {
  constexpr uint32_t kDefault = 10;
  constexpr uint32_t kMax = 60;
  if (updates_per_second == 0) updates_per_second = kDefault;
  if (updates_per_second > kMax) updates_per_second = kMax;
  return absl::Seconds(1) / updates_per_second;
}

}  // namespace

// A WatchRoom stream. gRPC owns it and it deletes itself in OnDone; the
// shared WatchSession holds the stream's state and outlives it as long as
// the core still has it.
//
// A stream is registered with the service (and so counts against the
// watcher limits) exactly while it watches its room: Start registers it
// and then watches; Release, from OnCancel or OnDone, whichever comes
// first, unregisters it and unwatches. A client that goes away is released
// at its cancellation, not when its last write has drained.
class ControlService::WatchReactor final
    : public grpc::ServerWriteReactor<v1::WatchRoomResponse> {
 public:
  WatchReactor(ControlService& service, grpc::CallbackServerContext* context,
               std::shared_ptr<WatchSession> session)
      : service_(service), session_(std::move(session)) {
    session_->Attach(this, context);
  }

  // Attaches the session to the room, unless a limit or shutdown refuses.
  void Start(bool cursor_moves) {
    if (absl::Status status = service_.AddWatch(session_); !status.ok()) {
      session_->End(status);
      return;
    }
    service_.plane_.Watch(session_->room_id(), cursor_moves, session_,
                          [session = session_](absl::Status status) {
                            if (!status.ok()) session->End(status);
                          });
  }

  // Ends the stream before it was attached (bad request, no auth).
  void Fail(const absl::Status& status) { session_->End(status); }

  void OnWriteDone(bool ok) override { session_->OnWriteDone(ok); }

  void OnCancel() override {
    // End drops whatever is queued; Release frees the limits' slot and
    // detaches the room now, however long gRPC takes to reach OnDone.
    session_->End(absl::CancelledError("watch cancelled by the client"));
    Release();
  }

  void OnDone() override {
    session_->Detach();
    Release();
    delete this;
  }

 private:
  void Release() {
    if (!service_.RemoveWatch(session_)) return;  // never watched, or done
    // Unwatch is a no-op if the core already dropped the session. The
    // callback keeps the session alive until the core lets go of it.
    service_.plane_.Unwatch(session_->room_id(), session_.get(),
                            [session = session_] {});
  }

  ControlService& service_;
  const std::shared_ptr<WatchSession> session_;
};

ControlService::ControlService(ControlServiceOptions options,
                               core::ControlPlane& plane)
    : options_(std::move(options)),
      plane_(plane),
      watchers_(options_.watch_limits) {}

ControlService::~ControlService() = default;

void ControlService::set_control_address(std::string address) {
  absl::MutexLock lock(&mu_);
  control_address_ = std::move(address);
}

void ControlService::BeginShutdown() {
  std::vector<std::shared_ptr<WatchSession>> sessions;
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
    sessions = watchers_.All();
    // Under mu_: a feed's OnDone waits for it before the feed is deleted.
    for (ActivityFeed* feed : feeds_) {
      feed->End(absl::UnavailableError("the control server is shutting down"));
    }
  }
  // Outside mu_: End takes the session's lock, and OnDone (which takes
  // mu_) may run for a stream meanwhile.
  for (const auto& session : sessions) {
    session->End(absl::UnavailableError("the control server is shutting down"));
  }
}

int64_t ControlService::watcher_count() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(watchers_.size());
}

absl::Status ControlService::AddWatch(
    const std::shared_ptr<WatchSession>& session) {
  absl::MutexLock lock(&mu_);
  if (shutting_down_) {
    return absl::UnavailableError("the control server is shutting down");
  }
  return watchers_.Add(session);
}

bool ControlService::RemoveWatch(const std::shared_ptr<WatchSession>& session) {
  absl::MutexLock lock(&mu_);
  return watchers_.Remove(session);
}

absl::Status ControlService::Authenticate(
    const grpc::CallbackServerContext& context) const {
  if (options_.token.empty()) return absl::OkStatus();
  std::optional<absl::string_view> header;
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    header = absl::string_view(it->second.data(), it->second.size());
  }
  return CheckBearerToken(options_.token, header);
}

grpc::ServerUnaryReactor* ControlService::ListRooms(
    grpc::CallbackServerContext* context, const v1::ListRoomsRequest* request,
    v1::ListRoomsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status status = Authenticate(*context); !status.ok()) {
    return Reject(reactor, status);
  }
  absl::StatusOr<size_t> limit = EffectivePageSize(request->page_size());
  if (!limit.ok()) return Reject(reactor, limit.status());
  if (absl::Status status = ValidateRoomIdPrefix(request->room_id_prefix());
      !status.ok()) {
    return Reject(reactor, status);
  }
  absl::StatusOr<std::string> start_after =
      DecodePageToken(request->page_token(), request->room_id_prefix());
  if (!start_after.ok()) return Reject(reactor, start_after.status());

  core::ListRoomsQuery query;
  query.prefix = request->room_id_prefix();
  query.start_after = *std::move(start_after);
  query.limit = *limit;
  plane_.ListRooms(
      std::move(query),
      [reactor, response, prefix = request->room_id_prefix()](
          absl::StatusOr<core::ListRoomsResult> result) {
        if (!result.ok()) {
          reactor->Finish(ToGrpcStatus(result.status()));
          return;
        }
        for (const std::string& instance : result->unanswered) {
          response->add_unanswered_instances(instance);
        }
        for (const core::RoomSummary& room : result->rooms) {
          ToProto(room, response->add_rooms());
        }
        if (result->more && !result->rooms.empty()) {
          response->set_next_page_token(
              EncodePageToken(prefix, result->rooms.back().id));
        }
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

grpc::ServerUnaryReactor* ControlService::GetRoom(
    grpc::CallbackServerContext* context, const v1::GetRoomRequest* request,
    v1::Room* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status status = FirstError(
          {Authenticate(*context), ValidateRoomId(request->room_id())});
      !status.ok()) {
    return Reject(reactor, status);
  }
  plane_.GetRoom(request->room_id(),
                 [reactor, response](absl::StatusOr<core::RoomSnapshot> room) {
                   if (room.ok()) ToProto(*room, response);
                   reactor->Finish(ToGrpcStatus(room.status()));
                 });
  return reactor;
}

grpc::ServerUnaryReactor* ControlService::GetRoomUsers(
    grpc::CallbackServerContext* context, const v1::GetRoomUsersRequest* request,
    v1::RoomUsers* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status status = FirstError(
          {Authenticate(*context), ValidateRoomId(request->room_id())});
      !status.ok()) {
    return Reject(reactor, status);
  }
  // The room as GetRoom answers it (cluster-wide with --redis), grouped.
  plane_.GetRoom(request->room_id(),
                 [reactor, response](absl::StatusOr<core::RoomSnapshot> room) {
                   if (room.ok()) ToProto(*room, core::GroupByUser(*room), response);
                   reactor->Finish(ToGrpcStatus(room.status()));
                 });
  return reactor;
}

grpc::ServerUnaryReactor* ControlService::KickMember(
    grpc::CallbackServerContext* context, const v1::KickMemberRequest* request,
    v1::KickMemberResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status status = FirstError({Authenticate(*context),
                                        ValidateRoomId(request->room_id()),
                                        ValidateReason(request->reason())});
      !status.ok()) {
    return Reject(reactor, status);
  }
  absl::StatusOr<uint8_t> member_id = ValidateMemberId(request->member_id());
  if (!member_id.ok()) return Reject(reactor, member_id.status());
  plane_.KickMember(request->room_id(), *member_id, request->reason(),
                    [reactor](absl::Status status) {
                      reactor->Finish(ToGrpcStatus(status));
                    });
  return reactor;
}

grpc::ServerUnaryReactor* ControlService::KickUser(
    grpc::CallbackServerContext* context, const v1::KickUserRequest* request,
    v1::KickUserResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status status = FirstError({Authenticate(*context),
                                        ValidateUserId(request->user_id()),
                                        ValidateReason(request->reason())});
      !status.ok()) {
    return Reject(reactor, status);
  }
  plane_.KickUser(request->user_id(), request->reason(),
                  [reactor, response](absl::StatusOr<core::CloseResult> kicked) {
                    if (kicked.ok()) {
                      response->set_kicked_count(kicked->closed);
                      for (const std::string& instance : kicked->unanswered) {
                        response->add_unanswered_instances(instance);
                      }
                    }
                    reactor->Finish(ToGrpcStatus(kicked.status()));
                  });
  return reactor;
}

grpc::ServerUnaryReactor* ControlService::CloseRoom(
    grpc::CallbackServerContext* context, const v1::CloseRoomRequest* request,
    v1::CloseRoomResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status status = FirstError({Authenticate(*context),
                                        ValidateRoomId(request->room_id()),
                                        ValidateReason(request->reason())});
      !status.ok()) {
    return Reject(reactor, status);
  }
  plane_.CloseRoom(request->room_id(), request->reason(),
                   [reactor, response](absl::StatusOr<core::CloseResult> closed) {
                     if (closed.ok()) {
                       response->set_closed_count(closed->closed);
                       for (const std::string& instance : closed->unanswered) {
                         response->add_unanswered_instances(instance);
                       }
                     }
                     reactor->Finish(ToGrpcStatus(closed.status()));
                   });
  return reactor;
}

grpc::ServerWriteReactor<v1::WatchRoomResponse>* ControlService::WatchRoom(
    grpc::CallbackServerContext* context, const v1::WatchRoomRequest* request) {
  WatchBuffer::Options buffer_options;
  buffer_options.capacity = options_.watch_buffer;
  buffer_options.cursor_interval =
      CursorInterval(request->cursor_updates_per_second());
  auto* reactor = new WatchReactor(
      *this, context,
      std::make_shared<WatchSession>(request->room_id(), buffer_options,
                                     options_.watch_finish_grace));
  if (absl::Status status = FirstError(
          {Authenticate(*context), ValidateRoomId(request->room_id())});
      !status.ok()) {
    reactor->Fail(status);
    return reactor;
  }
  reactor->Start(request->include_cursor_moves());
  return reactor;
}

grpc::ServerWriteReactor<v1::ActivityEvent>* ControlService::WatchActivity(
    grpc::CallbackServerContext* context, const v1::WatchActivityRequest* request) {
  auto* feed = new ActivityFeed(plane_.activity(), [this](ActivityFeed* done) {
    absl::MutexLock lock(&mu_);
    feeds_.erase(done);
  });
  absl::Status status = Authenticate(*context);
  if (status.ok() && !request->room_prefix().empty()) {
    status = ValidateRoomIdPrefix(request->room_prefix());
  }
  if (status.ok()) {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) {
      status = absl::UnavailableError("the control server is shutting down");
    } else {
      feeds_.insert(feed);
    }
  }
  if (!status.ok()) {
    feed->End(status);
    return feed;
  }
  feed->Start(*request);
  return feed;
}

grpc::ServerUnaryReactor* ControlService::ListInstances(
    grpc::CallbackServerContext* context,
    const v1::ListInstancesRequest* request,
    v1::ListInstancesResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status status = Authenticate(*context); !status.ok()) {
    return Reject(reactor, status);
  }
  plane_.ListInstances(
      [reactor, response](absl::StatusOr<core::InstancesResult> result) {
        if (result.ok()) {
          response->set_self_instance_id(result->self);
          for (const core::InstanceInfo& instance : result->instances) {
            ToProto(instance, response->add_instances());
          }
        }
        reactor->Finish(ToGrpcStatus(result.status()));
      });
  return reactor;
}

grpc::ServerUnaryReactor* ControlService::ListSessions(
    grpc::CallbackServerContext* context, const v1::ListSessionsRequest* request,
    v1::ListSessionsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status status = Authenticate(*context); !status.ok()) {
    return Reject(reactor, status);
  }
  if (!request->room_id().empty()) {
    if (absl::Status status = ValidateRoomId(request->room_id()); !status.ok()) {
      return Reject(reactor, status);
    }
  }
  if (!request->user_id().empty()) {
    if (absl::Status status = ValidateUserId(request->user_id()); !status.ok()) {
      return Reject(reactor, status);
    }
  }
  absl::StatusOr<size_t> limit = EffectivePageSize(request->page_size());
  if (!limit.ok()) return Reject(reactor, limit.status());
  absl::StatusOr<std::optional<core::SessionCursor>> after =
      DecodeSessionPageToken(request->page_token(), request->room_id(), request->user_id());
  if (!after.ok()) return Reject(reactor, after.status());

  core::SessionQuery query;
  query.room = request->room_id();
  query.user_id = request->user_id();
  query.limit = *limit;
  query.after = *std::move(after);
  plane_.ListSessions(
      std::move(query),
      [reactor, response, room = request->room_id(),
       user = request->user_id()](absl::StatusOr<core::SessionPage> page) {
        if (!page.ok()) {
          reactor->Finish(ToGrpcStatus(page.status()));
          return;
        }
        const absl::Time now = absl::Now();
        for (const core::SessionRecord& session : page->sessions) {
          ToProto(session, now, response->add_sessions());
        }
        for (const std::string& instance : page->unanswered) {
          response->add_unanswered_instances(instance);
        }
        if (page->more && !page->sessions.empty()) {
          const core::SessionRecord& last = page->sessions.back();
          response->set_next_page_token(EncodeSessionPageToken(
              room, user, core::SessionCursor{last.started_at, last.session_id}));
        }
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

grpc::ServerUnaryReactor* ControlService::GetServerInfo(
    grpc::CallbackServerContext* context,
    const v1::GetServerInfoRequest* request, v1::ServerInfo* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status status = Authenticate(*context); !status.ok()) {
    return Reject(reactor, status);
  }
  // The plane reads shared counters without touching a room, so this one
  // is answered inline.
  ToProto(plane_.GetServerInfo(), absl::Now(), response);
  {
    absl::MutexLock lock(&mu_);
    response->set_control_address(control_address_);
    response->set_watcher_count(static_cast<int64_t>(watchers_.size()));
    // The control plane's own counters, next to the edge's.
    auto& counters = *response->mutable_counters();
    counters["watchers_refused_server_limit"] = watchers_.refused_server_limit();
    counters["watchers_refused_room_limit"] = watchers_.refused_room_limit();
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace cursord::control
