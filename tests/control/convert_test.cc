#include "server/control/convert.h"

#include "gtest/gtest.h"

namespace cursord::control {
namespace {

const absl::Time kT0 = absl::FromUnixMillis(1714564803250);  // .250 s

core::MemberSnapshot Alice() {
  core::MemberSnapshot member;
  member.id = 7;
  member.user_id = "u-1";
  member.name = "Alice";
  member.color = "#ff8800";
  member.remote_address = "127.0.0.1:5555";
  member.connected_at = kT0;
  member.last_activity = kT0 + absl::Seconds(3);
  member.has_position = true;
  member.x = 1200;
  member.y = 340;
  member.clicking = true;
  return member;
}

TEST(ConvertTest, StatusKeepsCodeAndMessage) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  const grpc::Status status = ToGrpcStatus(absl::NotFoundError("room \"x\" not found"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "room \"x\" not found");
  // Every canonical code maps to the same number.
  for (int code = 1; code <= 16; ++code) {
    EXPECT_EQ(static_cast<int>(
                  ToGrpcStatus(absl::Status(static_cast<absl::StatusCode>(code), "m"))
                      .error_code()),
              code);
  }
}

TEST(ConvertTest, TimestampsAndDurations) {
  google::protobuf::Timestamp ts;
  ToProto(kT0, &ts);
  EXPECT_EQ(ts.seconds(), 1714564803);
  EXPECT_EQ(ts.nanos(), 250000000);
  // Before 1970 the nanos stay positive, as the proto requires.
  ToProto(absl::FromUnixMillis(-1500), &ts);
  EXPECT_EQ(ts.seconds(), -2);
  EXPECT_EQ(ts.nanos(), 500000000);
  // An unset absl::Time leaves the field unset.
  ToProto(absl::Time(), &ts);
  EXPECT_EQ(ts.seconds(), 0);
  EXPECT_EQ(ts.nanos(), 0);

  google::protobuf::Duration d;
  ToProto(absl::Milliseconds(61500), &d);
  EXPECT_EQ(d.seconds(), 61);
  EXPECT_EQ(d.nanos(), 500000000);
}

TEST(ConvertTest, Member) {
  v1::Member out;
  ToProto(Alice(), &out);
  EXPECT_EQ(out.id(), 7u);
  EXPECT_EQ(out.user_id(), "u-1");
  EXPECT_EQ(out.display_name(), "Alice");
  EXPECT_EQ(out.color(), "#ff8800");
  EXPECT_EQ(out.remote_address(), "127.0.0.1:5555");
  EXPECT_EQ(out.connect_time().seconds(), 1714564803);
  EXPECT_EQ(out.last_activity_time().seconds(), 1714564806);
  ASSERT_TRUE(out.has_cursor());
  EXPECT_EQ(out.cursor().x(), 1200u);
  EXPECT_EQ(out.cursor().y(), 340u);
  EXPECT_TRUE(out.clicking());

  core::MemberSnapshot quiet = Alice();
  quiet.has_position = false;
  ToProto(quiet, &out);
  EXPECT_FALSE(out.has_cursor());
}

TEST(ConvertTest, RoomSummaryAndSnapshot) {
  v1::Room room;
  ToProto(core::RoomSummary{"lobby", 3, kT0}, &room);
  EXPECT_EQ(room.id(), "lobby");
  EXPECT_EQ(room.member_count(), 3);
  EXPECT_EQ(room.members_size(), 0);

  core::RoomSnapshot snapshot{"lobby", kT0, {Alice(), Alice()}, {}};
  snapshot.members[1].id = 9;
  ToProto(snapshot, &room);
  EXPECT_EQ(room.member_count(), 2);
  ASSERT_EQ(room.members_size(), 2);
  EXPECT_EQ(room.members(1).id(), 9u);
}

TEST(ConvertTest, ServerInfo) {
  core::ServerInfo info;
  info.version = "0.1.0";
  info.started_at = kT0;
  info.listen_addresses = {"0.0.0.0:8080"};
  info.connections = 12;
  info.rooms = 3;
  info.counters = {{"messages_in", 100}, {"closes_4000", 2}};
  v1::ServerInfo out;
  ToProto(info, kT0 + absl::Minutes(2), &out);
  EXPECT_EQ(out.version(), "0.1.0");
  EXPECT_EQ(out.uptime().seconds(), 120);
  EXPECT_EQ(out.listen_addresses(0), "0.0.0.0:8080");
  EXPECT_EQ(out.connection_count(), 12);
  EXPECT_EQ(out.room_count(), 3);
  EXPECT_EQ(out.counters().at("messages_in"), 100u);
  EXPECT_EQ(out.counters().at("closes_4000"), 2u);
}

TEST(ConvertTest, EveryEventKind) {
  core::RoomEvent event;
  event.time = kT0;
  event.member = Alice();
  v1::WatchRoomResponse out;

  event.kind = core::RoomEventKind::kJoined;
  ToProto(event, &out);
  ASSERT_TRUE(out.has_member_joined());
  EXPECT_EQ(out.member_joined().member().display_name(), "Alice");
  EXPECT_EQ(out.event_time().seconds(), 1714564803);

  event.kind = core::RoomEventKind::kLeft;
  ToProto(event, &out);
  ASSERT_TRUE(out.has_member_left());
  EXPECT_EQ(out.member_left().member_id(), 7u);

  event.kind = core::RoomEventKind::kKicked;
  event.reason = "spam";
  ToProto(event, &out);
  ASSERT_TRUE(out.has_member_kicked());
  EXPECT_EQ(out.member_kicked().reason(), "spam");

  event.kind = core::RoomEventKind::kClickStarted;
  ToProto(event, &out);
  ASSERT_TRUE(out.has_click_changed());
  EXPECT_TRUE(out.click_changed().clicking());
  event.kind = core::RoomEventKind::kClickStopped;
  ToProto(event, &out);
  EXPECT_FALSE(out.click_changed().clicking());

  event.kind = core::RoomEventKind::kCursorMoved;
  ToProto(event, &out);
  ASSERT_TRUE(out.has_cursor_moved());
  EXPECT_EQ(out.cursor_moved().position().x(), 1200u);
  EXPECT_EQ(out.cursor_moved().position().y(), 340u);

  ToProto(core::RoomSnapshot{"lobby", kT0, {Alice()}, {}}, kT0, &out);
  ASSERT_TRUE(out.has_snapshot());
  EXPECT_EQ(out.snapshot().members_size(), 1);
}

}  // namespace
}  // namespace cursord::control
