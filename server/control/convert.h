// Conversions between the core's presence types and the cursord.v1 protos,
// and the one conversion of absl::Status to grpc::Status. Pure functions:
// the RPC boundary calls them and nothing else converts.
#ifndef CURSORD_CONTROL_CONVERT_H_
#define CURSORD_CONTROL_CONVERT_H_

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "cursord/v1/control.pb.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/support/status.h"
#include "server/core/activity.h"
#include "server/core/cluster_view.h"
#include "server/core/presence.h"

namespace cursord::control {

// Same code number (gRPC and absl share the canonical codes) and message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Sets `out` to `time`. absl::UnixEpoch() is what a default-constructed
// absl::Time holds, so it is taken as "unknown" and leaves `out` unset.
void ToProto(absl::Time time, google::protobuf::Timestamp* out);
void ToProto(absl::Duration duration, google::protobuf::Duration* out);

void ToProto(const core::MemberSnapshot& member, v1::Member* out);
// A list entry: id, create_time, member_count; no members.
void ToProto(const core::RoomSummary& room, v1::Room* out);
// The full view, with members.
void ToProto(const core::RoomSnapshot& room, v1::Room* out);
// GetRoomUsers: `room`'s id and unanswered instances, and its `users`.
void ToProto(const core::RoomSnapshot& room, const std::vector<core::RoomUser>& users,
             v1::RoomUsers* out);
// One instance of ListInstances; only id and `answered` when it did not.
void ToProto(const core::InstanceInfo& instance, v1::Instance* out);
// A session of ListSessions; an open one lasts until `now`.
void ToProto(const core::SessionRecord& session, absl::Time now, v1::Session* out);
// The fields the core knows; control_address and watcher_count are the
// control server's and set by the caller. `now` gives the uptime.
void ToProto(const core::ServerInfo& info, absl::Time now, v1::ServerInfo* out);

// One WatchRoom message.
void ToProto(const core::RoomSnapshot& snapshot, absl::Time taken,
             v1::WatchRoomResponse* out);
void ToProto(const core::RoomEvent& event, v1::WatchRoomResponse* out);

}  // namespace cursord::control

#endif  // CURSORD_CONTROL_CONVERT_H_
