#include "server/control/convert.h"

#include <algorithm>
#include <cstdint>
#include <string>

namespace cursord::control {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

void ToProto(absl::Time time, google::protobuf::Timestamp* out) {
  if (time == absl::UnixEpoch()) {
    out->Clear();
    return;
  }
  const int64_t seconds = absl::ToUnixSeconds(time);
  out->set_seconds(seconds);
  // ToUnixSeconds floors, so the remainder is in [0, 1s) as the proto wants.
  out->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(seconds))));
}

void ToProto(absl::Duration duration, google::protobuf::Duration* out) {
  // Truncation towards zero gives seconds and nanos of the same sign, as
  // google.protobuf.Duration requires.
  const int64_t seconds = absl::ToInt64Seconds(duration);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(duration - absl::Seconds(seconds))));
}

void ToProto(const core::MemberSnapshot& member, v1::Member* out) {
  out->set_id(member.id);
  out->set_user_id(member.user_id);
  out->set_display_name(member.name);
  out->set_color(member.color);
  out->set_remote_address(member.remote_address);
  ToProto(member.connected_at, out->mutable_connect_time());
  ToProto(member.last_activity, out->mutable_last_activity_time());
  if (member.has_position) {
    out->mutable_cursor()->set_x(member.x);
    out->mutable_cursor()->set_y(member.y);
  } else {
    out->clear_cursor();
  }
  out->set_clicking(member.clicking);
  out->set_remote(member.remote);
  out->set_instance_id(member.instance);
  out->set_state(member.state);
}

void ToProto(const core::RoomSummary& room, v1::Room* out) {
  out->set_id(room.id);
  ToProto(room.created_at, out->mutable_create_time());
  out->set_member_count(static_cast<int32_t>(room.member_count));
}

void ToProto(const core::RoomSnapshot& room, v1::Room* out) {
  out->set_id(room.id);
  ToProto(room.created_at, out->mutable_create_time());
  out->set_member_count(static_cast<int32_t>(room.members.size()));
  out->clear_members();
  for (const core::MemberSnapshot& member : room.members) {
    ToProto(member, out->add_members());
  }
  out->clear_unanswered_instances();
  for (const std::string& instance : room.unanswered) out->add_unanswered_instances(instance);
}

void ToProto(const core::RoomSnapshot& room, const std::vector<core::RoomUser>& users,
             v1::RoomUsers* out) {
  out->set_room_id(room.id);
  for (const core::RoomUser& user : users) {
    v1::RoomUser* u = out->add_users();
    u->set_user_id(user.user_id);
    for (uint8_t id : user.member_ids) u->add_member_ids(id);
    u->set_connection_count(static_cast<int32_t>(user.member_ids.size()));
    for (const std::string& name : user.names) u->add_display_names(name);
    ToProto(user.first_connected, u->mutable_first_connect_time());
    ToProto(user.last_activity, u->mutable_last_activity_time());
    for (const std::string& instance : user.instances) u->add_instance_ids(instance);
  }
  for (const std::string& instance : room.unanswered) out->add_unanswered_instances(instance);
}

void ToProto(const core::InstanceInfo& instance, v1::Instance* out) {
  out->set_instance_id(instance.instance_id);
  out->set_answered(instance.answered);
  if (!instance.answered) return;
  out->set_version(instance.version);
  ToProto(instance.started_at, out->mutable_start_time());
  for (const std::string& address : instance.listen_addresses) {
    out->add_listen_addresses(address);
  }
  out->set_connection_count(static_cast<int64_t>(instance.connections));
  out->set_room_count(static_cast<int64_t>(instance.rooms));
  out->set_ready(instance.ready);
  out->set_backplane_connected(instance.backplane_connected);
}

void ToProto(const core::ServerInfo& info, absl::Time now, v1::ServerInfo* out) {
  out->set_version(info.version);
  ToProto(info.started_at, out->mutable_start_time());
  ToProto(now - info.started_at, out->mutable_uptime());
  out->clear_listen_addresses();
  for (const std::string& address : info.listen_addresses) {
    out->add_listen_addresses(address);
  }
  out->set_connection_count(static_cast<int64_t>(info.connections));
  out->set_room_count(static_cast<int64_t>(info.rooms));
  auto& counters = *out->mutable_counters();
  counters.clear();
  for (const auto& [name, value] : info.counters) counters[name] = value;
  if (info.cluster) {
    const core::ClusterInfo& c = *info.cluster;
    v1::ClusterStatus* cluster = out->mutable_cluster();
    cluster->set_instance_id(c.instance_id);
    cluster->set_backplane_connected(c.backplane_connected);
    cluster->set_rooms_followed(static_cast<int64_t>(c.rooms_followed));
    auto& bc = *cluster->mutable_counters();
    bc["publishes"] = c.publishes;
    bc["publish_failures"] = c.publish_failures;
    bc["messages_received"] = c.messages_received;
    bc["bad_messages"] = c.bad_messages;
    bc["reconnects"] = c.reconnects;
    bc["reaped_members"] = c.reaped_members;
    bc["fences"] = c.fences;
    bc["reasserted_members"] = c.reasserted_members;
    const absl::Duration mean =
        c.publishes == 0 ? absl::ZeroDuration()
                         : absl::Microseconds(static_cast<int64_t>(c.publish_latency_us_sum /
                                                                   c.publishes));
    ToProto(mean, cluster->mutable_publish_latency_mean());
    ToProto(absl::Microseconds(static_cast<int64_t>(c.publish_latency_us_max)),
            cluster->mutable_publish_latency_max());
  }
}

void ToProto(const core::RoomSnapshot& snapshot, absl::Time taken,
             v1::WatchRoomResponse* out) {
  out->Clear();
  ToProto(taken, out->mutable_event_time());
  ToProto(snapshot, out->mutable_snapshot());
}

void ToProto(const core::RoomEvent& event, v1::WatchRoomResponse* out) {
  out->Clear();
  ToProto(event.time, out->mutable_event_time());
  const uint32_t id = event.member.id;
  switch (event.kind) {
    case core::RoomEventKind::kJoined:
      ToProto(event.member, out->mutable_member_joined()->mutable_member());
      break;
    case core::RoomEventKind::kLeft:
      out->mutable_member_left()->set_member_id(id);
      break;
    case core::RoomEventKind::kKicked:
      out->mutable_member_kicked()->set_member_id(id);
      out->mutable_member_kicked()->set_reason(event.reason);
      break;
    case core::RoomEventKind::kClickStarted:
    case core::RoomEventKind::kClickStopped:
      out->mutable_click_changed()->set_member_id(id);
      out->mutable_click_changed()->set_clicking(
          event.kind == core::RoomEventKind::kClickStarted);
      break;
    case core::RoomEventKind::kStateChanged:
      out->mutable_state_changed()->set_member_id(id);
      out->mutable_state_changed()->set_state(event.member.state);
      break;
    case core::RoomEventKind::kCursorMoved:
      out->mutable_cursor_moved()->set_member_id(id);
      out->mutable_cursor_moved()->mutable_position()->set_x(event.member.x);
      out->mutable_cursor_moved()->mutable_position()->set_y(event.member.y);
      break;
  }
}

void ToProto(const core::SessionRecord& session, absl::Time now, v1::Session* out) {
  out->set_session_id(session.session_id);
  out->set_room_id(session.room);
  out->set_member_id(session.member_id);
  out->set_user_id(session.user_id);
  out->set_display_name(session.name);
  out->set_color(session.color);
  out->set_instance_id(session.instance);
  out->set_remote_address(session.remote_address);
  ToProto(session.started_at, out->mutable_start_time());
  const absl::Time end = session.ended_at.value_or(now);
  if (session.ended_at) {
    ToProto(*session.ended_at, out->mutable_end_time());
    out->set_end_reason(std::string(core::EndReasonName(session.reason)));
    out->set_close_code(session.close_code);
  }
  ToProto(std::max(end - session.started_at, absl::ZeroDuration()), out->mutable_duration());
}

}  // namespace cursord::control
