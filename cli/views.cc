#include "cli/views.h"

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "server/common/escape.h"

namespace cursord::cli {
namespace {

using Align = Table::Align;

std::string CursorText(const v1::Member& member) {
  if (!member.has_cursor()) return "-";
  return absl::StrCat(member.cursor().x(), ",", member.cursor().y());
}

// "Key:  value" lines with the values aligned, cut to `width`, their
// control characters escaped.
std::string Facts(const std::vector<std::pair<std::string, std::string>>& facts,
                  size_t width) {
  size_t key_width = 0;
  for (const auto& [key, value] : facts) {
    key_width = std::max(key_width, DisplayWidth(key) + 1);
  }
  const size_t value_width = width > key_width + 2 ? width - key_width - 2 : 1;
  std::string out;
  for (const auto& [key, value] : facts) {
    absl::StrAppend(&out, key, ":",
                    std::string(key_width - DisplayWidth(key) - 1 + 2, ' '),
                    Truncate(EscapeControl(value), value_width), "\n");
  }
  return out;
}

// "Alice user=u-1 #ff8800 127.0.0.1:51234", leaving out what is unknown.
std::string MemberDescription(const v1::Member& member) {
  std::vector<std::string> parts;
  if (!member.display_name().empty()) parts.push_back(member.display_name());
  if (!member.user_id().empty()) {
    parts.push_back(absl::StrCat("user=", member.user_id()));
  }
  if (!member.color().empty()) parts.push_back(member.color());
  if (!member.remote_address().empty()) parts.push_back(member.remote_address());
  return absl::StrJoin(parts, " ");
}

}  // namespace

absl::Time FromProto(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) +
         absl::Nanoseconds(timestamp.nanos());
}

std::string RoomListView(const std::vector<v1::Room>& rooms,
                         const ViewContext& context) {
  Table table({{"ROOM", Align::kLeft, /*shrinkable=*/true, 12},
               {"MEMBERS", Align::kRight},
               {"AGE", Align::kLeft},
               {"CREATED", Align::kLeft}});
  for (const v1::Room& room : rooms) {
    const absl::Time created = FromProto(room.create_time());
    table.AddRow({room.id(), absl::StrCat(room.member_count()),
                  FormatAge(created, context.now),
                  FormatTimestamp(created, context.zone)});
  }
  return table.Render(context.width);
}

std::string RoomView(const v1::Room& room, const ViewContext& context) {
  const absl::Time created = FromProto(room.create_time());
  std::string out = Facts({
      {"Room", room.id()},
      {"Members", absl::StrCat(room.member_count())},
      {"Created", created == absl::UnixEpoch()
                      ? "-"
                      : absl::StrCat(FormatTimestamp(created, context.zone),
                                     " (", FormatAge(created, context.now),
                                     " ago)")},
  }, context.width);
  out += "\n";
  if (room.unanswered_instances_size() > 0) {
    out += absl::StrCat("Not answered in time (their members are missing): ",
                        absl::StrJoin(room.unanswered_instances(), ", "), "\n\n");
  }
  if (room.members_size() == 0) {
    out += "No members.\n";
    return out;
  }
  // With --redis every member names its instance.
  bool cluster = false;
  // Protocol v2 state: a column only when some member has one.
  bool state = false;
  for (const v1::Member& member : room.members()) {
    cluster = cluster || !member.instance_id().empty();
    state = state || !member.state().empty();
  }
  std::vector<Table::Column> columns = {{"ID", Align::kRight},
               {"USER", Align::kLeft, /*shrinkable=*/true, 6},
               {"NAME", Align::kLeft, /*shrinkable=*/true, 6},
               {"COLOR", Align::kLeft},
               {"CURSOR", Align::kLeft},
               {"CLICK", Align::kLeft},
               {"ONLINE", Align::kLeft},
               {"IDLE", Align::kLeft},
               {"ADDRESS", Align::kLeft, /*shrinkable=*/true, 12}};
  if (state) columns.insert(columns.begin() + 6, {"STATE", Align::kRight});
  if (cluster) columns.push_back({"INSTANCE", Align::kLeft, /*shrinkable=*/true, 8});
  Table table(std::move(columns));
  for (const v1::Member& member : room.members()) {
    std::vector<std::string> row = {
        absl::StrCat(member.id()), OrDash(member.user_id()),
        OrDash(member.display_name()), OrDash(member.color()),
        CursorText(member), member.clicking() ? "down" : "-",
        FormatAge(FromProto(member.connect_time()), context.now),
        FormatAge(FromProto(member.last_activity_time()), context.now),
        OrDash(member.remote_address())};
    if (state) {
      row.insert(row.begin() + 6,
                 member.state().empty() ? "-" : absl::StrCat(member.state().size(), " B"));
    }
    if (cluster) row.push_back(member.instance_id());
    table.AddRow(std::move(row));
  }
  out += table.Render(context.width);
  return out;
}

std::string RoomUsersView(const v1::RoomUsers& users, const ViewContext& context) {
  if (users.users_size() == 0) return "No users.\n";
  // With --redis every user names its instances.
  bool cluster = false;
  for (const v1::RoomUser& user : users.users()) cluster = cluster || user.instance_ids_size() > 0;
  std::vector<Table::Column> columns = {{"USER", Align::kLeft, /*shrinkable=*/true, 8},
                                        {"CONNS", Align::kRight},
                                        {"MEMBERS", Align::kLeft},
                                        {"NAMES", Align::kLeft, /*shrinkable=*/true, 6},
                                        {"ONLINE", Align::kLeft},
                                        {"IDLE", Align::kLeft}};
  if (cluster) columns.push_back({"INSTANCES", Align::kLeft, /*shrinkable=*/true, 8});
  Table table(std::move(columns));
  for (const v1::RoomUser& user : users.users()) {
    std::vector<std::string> row = {
        user.user_id().empty() ? "(anonymous)" : user.user_id(),
        absl::StrCat(user.connection_count()),
        absl::StrJoin(user.member_ids(), ","),
        user.display_names().empty() ? "-" : absl::StrJoin(user.display_names(), ", "),
        FormatAge(FromProto(user.first_connect_time()), context.now),
        FormatAge(FromProto(user.last_activity_time()), context.now)};
    if (cluster) row.push_back(absl::StrJoin(user.instance_ids(), ", "));
    table.AddRow(std::move(row));
  }
  return table.Render(context.width);
}

std::string SessionsView(const std::vector<v1::Session>& sessions, const ViewContext& context) {
  if (sessions.empty()) return "No sessions.\n";
  bool cluster = false;
  for (const v1::Session& session : sessions) cluster = cluster || !session.instance_id().empty();
  std::vector<Table::Column> columns = {{"STARTED", Align::kLeft},
                                        {"DURATION", Align::kLeft},
                                        {"ROOM", Align::kLeft, /*shrinkable=*/true, 8},
                                        {"ID", Align::kRight},
                                        {"USER", Align::kLeft, /*shrinkable=*/true, 6},
                                        {"NAME", Align::kLeft, /*shrinkable=*/true, 6},
                                        {"END", Align::kLeft}};
  if (cluster) columns.push_back({"INSTANCE", Align::kLeft, /*shrinkable=*/true, 8});
  columns.push_back({"ADDRESS", Align::kLeft, /*shrinkable=*/true, 12});
  Table table(std::move(columns));
  for (const v1::Session& session : sessions) {
    std::vector<std::string> row = {
        absl::StrCat(FormatAge(FromProto(session.start_time()), context.now), " ago"),
        CompactDuration(absl::Seconds(session.duration().seconds()) +
                        absl::Nanoseconds(session.duration().nanos())),
        session.room_id(),
        absl::StrCat(session.member_id()),
        OrDash(session.user_id()),
        OrDash(session.display_name()),
        session.end_reason().empty()
            ? "open"
            : absl::StrCat(session.end_reason(), " (", session.close_code(), ")")};
    if (cluster) row.push_back(session.instance_id());
    row.push_back(OrDash(session.remote_address()));
    table.AddRow(std::move(row));
  }
  return table.Render(context.width);
}

std::string InstancesView(const v1::ListInstancesResponse& response,
                          const ViewContext& context) {
  Table table({{"INSTANCE", Align::kLeft, /*shrinkable=*/true, 12},
               {"STATE", Align::kLeft},
               {"CONNS", Align::kRight},
               {"ROOMS", Align::kRight},
               {"UPTIME", Align::kLeft},
               {"VERSION", Align::kLeft},
               {"WEBSOCKET", Align::kLeft, /*shrinkable=*/true, 12}});
  for (const v1::Instance& instance : response.instances()) {
    // The instance that answered the call is marked.
    std::string id = instance.instance_id().empty() ? "(alone, in memory)"
                                                    : instance.instance_id();
    if (instance.instance_id() == response.self_instance_id()) id += " *";
    if (!instance.answered()) {
      table.AddRow({id, "NO ANSWER", "-", "-", "-", "-", "-"});
      continue;
    }
    const std::string state = !instance.ready() ? (instance.backplane_connected()
                                                       ? "not ready"
                                                       : "DEGRADED")
                                                : "ready";
    table.AddRow({id, state, absl::StrCat(instance.connection_count()),
                  absl::StrCat(instance.room_count()),
                  FormatAge(FromProto(instance.start_time()), context.now),
                  OrDash(instance.version()),
                  instance.listen_addresses().empty()
                      ? "-"
                      : absl::StrJoin(instance.listen_addresses(), ", ")});
  }
  return table.Render(context.width);
}

std::string ServerInfoView(const v1::ServerInfo& info, absl::string_view health,
                           const ViewContext& context) {
  const absl::Time started = FromProto(info.start_time());
  const absl::Duration uptime = absl::Seconds(info.uptime().seconds()) +
                                absl::Nanoseconds(info.uptime().nanos());
  std::string out = Facts({
      {"Version", OrDash(info.version())},
      {"Health", OrDash(health)},
      {"Uptime", absl::StrCat(CompactDuration(uptime), " (since ",
                              FormatTimestamp(started, context.zone), ")")},
      {"WebSocket", info.listen_addresses().empty()
                        ? "-"
                        : absl::StrJoin(info.listen_addresses(), ", ")},
      {"Control", OrDash(info.control_address())},
      {"Connections", absl::StrCat(info.connection_count())},
      {"Rooms", absl::StrCat(info.room_count())},
      {"Watchers", absl::StrCat(info.watcher_count())},
      {"Cluster", info.has_cluster()
                      ? absl::StrCat("instance ", info.cluster().instance_id(), ", backplane ",
                                     info.cluster().backplane_connected() ? "connected"
                                                                          : "DEGRADED",
                                     ", ", info.cluster().rooms_followed(), " rooms followed")
                      : "- (alone, in memory)"},
  }, context.width);
  if (!info.counters().empty()) {
    out += "\n";
    // Proto maps have no order; sort for stable output.
    const std::map<std::string, uint64_t> sorted(info.counters().begin(),
                                                 info.counters().end());
    Table table({{"COUNTER", Align::kLeft, /*shrinkable=*/true, 16},
                 {"VALUE", Align::kRight}});
    for (const auto& [name, value] : sorted) {
      table.AddRow({name, absl::StrCat(value)});
    }
    out += table.Render(context.width);
  }
  return out;
}

std::string WatchEventView(const v1::WatchRoomResponse& message,
                           const ViewContext& context) {
  const std::string when = absl::FormatTime(
      "%H:%M:%E3S", FromProto(message.event_time()), context.zone);
  auto line = [&](absl::string_view what, uint32_t member_id,
                  absl::string_view detail) {
    std::string text = absl::StrFormat("%s  %-8s %3d  ", when, what, member_id);
    // Names and reasons are the clients' and operators' text: escaped, so a
    // newline or an escape sequence shows as such. Long ones are cut to the
    // width; -o json has them whole (JSON escapes control characters).
    const size_t used = DisplayWidth(text);
    text += Truncate(EscapeControl(detail),
                     context.width > used ? context.width - used : 0);
    text.erase(text.find_last_not_of(' ') + 1);
    return absl::StrCat(text, "\n");
  };
  switch (message.event_case()) {
    case v1::WatchRoomResponse::kSnapshot:
      return absl::StrCat(when, "  snapshot\n", RoomView(message.snapshot(), context),
                          "\n");
    case v1::WatchRoomResponse::kMemberJoined:
      return line("joined", message.member_joined().member().id(),
                  MemberDescription(message.member_joined().member()));
    case v1::WatchRoomResponse::kMemberLeft:
      return line("left", message.member_left().member_id(), "");
    case v1::WatchRoomResponse::kMemberKicked:
      return line("kicked", message.member_kicked().member_id(),
                  absl::StrCat("reason=\"", message.member_kicked().reason(),
                               "\""));
    case v1::WatchRoomResponse::kClickChanged:
      return line("click", message.click_changed().member_id(),
                  message.click_changed().clicking() ? "down" : "up");
    case v1::WatchRoomResponse::kCursorMoved:
      return line("move", message.cursor_moved().member_id(),
                  absl::StrCat(message.cursor_moved().position().x(), ",",
                               message.cursor_moved().position().y()));
    case v1::WatchRoomResponse::kStateChanged: {
      // Opaque bytes: their size, then as text (escaped and cut to the
      // width like names; a JSON state reads as such).
      const std::string& state = message.state_changed().state();
      return line("state", message.state_changed().member_id(),
                  absl::StrCat(state.size(), " bytes \"", state, "\""));
    }
    case v1::WatchRoomResponse::EVENT_NOT_SET:
      break;
  }
  // A newer server's event this build does not know: say so, don't hide it.
  return absl::StrCat(when, "  (unknown event)\n");
}

}  // namespace cursord::cli
