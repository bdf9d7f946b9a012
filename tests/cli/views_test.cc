#include "cli/views.h"

#include <string>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace cursord::cli {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1714564803 + 312);

ViewContext Context() {
  ViewContext context;
  context.now = kNow;
  context.zone = absl::UTCTimeZone();
  return context;
}

google::protobuf::Timestamp At(int64_t seconds, int32_t nanos = 0) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  ts.set_nanos(nanos);
  return ts;
}

void ExpectFits(const std::string& text) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    EXPECT_LE(DisplayWidth(line), kTerminalWidth) << line;
  }
}

v1::Member Member(uint32_t id) {
  v1::Member member;
  member.set_id(id);
  member.set_user_id("u-1");
  member.set_display_name("Alice");
  member.set_color("#ff8800");
  member.set_remote_address("127.0.0.1:51234");
  *member.mutable_connect_time() = At(1714564803);
  *member.mutable_last_activity_time() = At(1714564803 + 309);
  member.mutable_cursor()->set_x(1200);
  member.mutable_cursor()->set_y(340);
  member.set_clicking(true);
  return member;
}

TEST(ViewsTest, RoomList) {
  v1::Room lobby;
  lobby.set_id("lobby");
  lobby.set_member_count(2);
  *lobby.mutable_create_time() = At(1714564803);
  v1::Room long_one;
  long_one.set_id(std::string(128, 'r'));
  long_one.set_member_count(1);
  const std::string out = RoomListView({lobby, long_one}, Context());
  ExpectFits(out);
  EXPECT_NE(out.find("ROOM"), std::string::npos);
  EXPECT_NE(out.find("lobby"), std::string::npos);
  EXPECT_NE(out.find("5m12s"), std::string::npos);
  EXPECT_NE(out.find("2024-05-01 12:00:03 UTC"), std::string::npos);
  EXPECT_NE(out.find("…"), std::string::npos);  // the long id, cut
}

TEST(ViewsTest, RoomWithMembers) {
  v1::Room room;
  room.set_id("lobby");
  room.set_member_count(2);
  *room.mutable_create_time() = At(1714564803);
  *room.add_members() = Member(0);
  v1::Member quiet;
  quiet.set_id(1);
  *quiet.mutable_connect_time() = At(1714564803 + 300);
  *room.add_members() = quiet;
  const std::string out = RoomView(room, Context());
  ExpectFits(out);
  EXPECT_EQ(out,
            "Room:     lobby\n"
            "Members:  2\n"
            "Created:  2024-05-01 12:00:03 UTC (5m12s ago)\n"
            "\n"
            "ID  USER  NAME   COLOR    CURSOR    CLICK  ONLINE  IDLE  ADDRESS\n"
            " 0  u-1   Alice  #ff8800  1200,340  down   5m12s   3s    127.0.0.1:51234\n"
            " 1  -     -      -        -         -      12s     -     -\n");
}

TEST(ViewsTest, AStateColumnWhenAMemberHasAState) {
  v1::Room room;
  room.set_id("lobby");
  room.set_member_count(2);
  *room.mutable_create_time() = At(1714564803);
  v1::Member editor = Member(0);
  editor.set_state("{\"sel\":[3,9]}");
  *room.add_members() = editor;
  v1::Member quiet;
  quiet.set_id(1);
  *quiet.mutable_connect_time() = At(1714564803 + 300);
  *room.add_members() = quiet;
  const std::string out = RoomView(room, Context());
  ExpectFits(out);
  EXPECT_NE(out.find("ID  USER  NAME   COLOR    CURSOR    CLICK  STATE  ONLINE  IDLE  ADDRESS\n"
                     " 0  u-1   Alice  #ff8800  1200,340  down    13 B  5m12s   3s    127.0.0.1:51234\n"
                     " 1  -     -      -        -         -          -  12s     -     -\n"),
            std::string::npos)
      << out;
}

TEST(ViewsTest, RoomWithLongNamesStillFits) {
  v1::Room room;
  room.set_id("lobby");
  v1::Member member = Member(200);
  member.set_user_id(std::string(128, 'u'));
  member.set_display_name("Жанна " + std::string(58, 'n'));
  member.set_remote_address("[2001:db8:85a3::8a2e:370:7334]:65535");
  *room.add_members() = member;
  ExpectFits(RoomView(room, Context()));
  room.set_id(std::string(128, 'r'));
  ExpectFits(RoomView(room, Context()));
}

TEST(ViewsTest, ServerInfo) {
  v1::ServerInfo info;
  info.set_version("0.1.0");
  *info.mutable_start_time() = At(1714564803);
  info.mutable_uptime()->set_seconds(312);
  info.add_listen_addresses("0.0.0.0:8080");
  info.set_control_address("127.0.0.1:50051");
  info.set_connection_count(12);
  info.set_room_count(3);
  (*info.mutable_counters())["messages_in"] = 1234;
  (*info.mutable_counters())["closes_4000"] = 1;
  const std::string out = ServerInfoView(info, "SERVING", Context());
  ExpectFits(out);
  EXPECT_EQ(out,
            "Version:      0.1.0\n"
            "Health:       SERVING\n"
            "Uptime:       5m12s (since 2024-05-01 12:00:03 UTC)\n"
            "WebSocket:    0.0.0.0:8080\n"
            "Control:      127.0.0.1:50051\n"
            "Connections:  12\n"
            "Rooms:        3\n"
            "Watchers:     0\n"
            "Cluster:      - (alone, in memory)\n"
            "\n"
            "COUNTER      VALUE\n"
            "closes_4000      1\n"
            "messages_in   1234\n");
}

TEST(ViewsTest, ServerInfoOfAnInstanceOfACluster) {
  v1::ServerInfo info;
  info.set_version("0.1.0");
  info.mutable_cluster()->set_instance_id("edge-7");
  info.mutable_cluster()->set_backplane_connected(false);
  info.mutable_cluster()->set_rooms_followed(4);
  const std::string out = ServerInfoView(info, "SERVING", Context());
  EXPECT_NE(out.find("Cluster:      instance edge-7, backplane DEGRADED, 4 rooms followed\n"),
            std::string::npos)
      << out;
}

TEST(ViewsTest, WatchEvents) {
  v1::WatchRoomResponse message;
  *message.mutable_event_time() = At(1714564803, 250000000);
  message.mutable_click_changed()->set_member_id(3);
  message.mutable_click_changed()->set_clicking(true);
  EXPECT_EQ(WatchEventView(message, Context()), "12:00:03.250  click      3  down\n");

  message.mutable_cursor_moved()->set_member_id(3);
  message.mutable_cursor_moved()->mutable_position()->set_x(10);
  message.mutable_cursor_moved()->mutable_position()->set_y(20);
  EXPECT_EQ(WatchEventView(message, Context()), "12:00:03.250  move       3  10,20\n");

  message.mutable_member_left()->set_member_id(3);
  EXPECT_EQ(WatchEventView(message, Context()), "12:00:03.250  left       3\n");

  message.mutable_state_changed()->set_member_id(3);
  message.mutable_state_changed()->set_state(std::string("sel\x01", 4));
  EXPECT_EQ(WatchEventView(message, Context()),
            "12:00:03.250  state      3  4 bytes \"sel\\x01\"\n");
  message.mutable_state_changed()->set_state(std::string(200, 'x'));
  ExpectFits(WatchEventView(message, Context()));

  message.mutable_member_kicked()->set_member_id(3);
  message.mutable_member_kicked()->set_reason("spam");
  EXPECT_EQ(WatchEventView(message, Context()),
            "12:00:03.250  kicked     3  reason=\"spam\"\n");

  *message.mutable_member_joined()->mutable_member() = Member(4);
  EXPECT_EQ(WatchEventView(message, Context()),
            "12:00:03.250  joined     4  Alice user=u-1 #ff8800 127.0.0.1:51234\n");

  v1::Member verbose = Member(5);
  verbose.set_display_name(std::string(64, 'n'));
  verbose.set_user_id(std::string(128, 'u'));
  *message.mutable_member_joined()->mutable_member() = verbose;
  ExpectFits(WatchEventView(message, Context()));
  message.mutable_member_kicked()->set_reason(std::string(123, 'r'));
  ExpectFits(WatchEventView(message, Context()));

  message.mutable_snapshot()->set_id("lobby");
  const std::string snapshot = WatchEventView(message, Context());
  EXPECT_EQ(snapshot.rfind("12:00:03.250  snapshot\nRoom:     lobby\n", 0), 0u)
      << snapshot;
}

}  // namespace
}  // namespace cursord::cli
