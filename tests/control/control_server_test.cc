// The control API end to end: real gRPC calls to the real ControlServer over
// the real edge, with real WebSocket members in the rooms.
#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include <grpc/grpc.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/control/control_fixture.h"

namespace cursord::testing {
namespace {

using grpc::StatusCode;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

Bytes B(std::initializer_list<uint8_t> bytes) { return Bytes(bytes); }

absl::Time FromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

// Reads `client`'s messages until `wanted` arrives (bounded); false if it
// does not within the client's read timeout.
bool ReadUntil(WsTestClient& client, const Bytes& wanted, int max_messages = 1000) {
  for (int i = 0; i < max_messages; ++i) {
    std::optional<Bytes> message = client.Read();
    if (!message.has_value()) return false;
    if (*message == wanted) return true;
  }
  return false;
}

class ControlServerTest : public ControlTest {
 protected:
  grpc::Status GetRoom(const std::string& room_id, v1::Room* room) {
    v1::GetRoomRequest request;
    request.set_room_id(room_id);
    return stub().GetRoom(Call().get(), request, room);
  }

  grpc::Status ListRooms(int32_t page_size, const std::string& prefix,
                         const std::string& token, v1::ListRoomsResponse* response) {
    v1::ListRoomsRequest request;
    request.set_page_size(page_size);
    request.set_room_id_prefix(prefix);
    request.set_page_token(token);
    return stub().ListRooms(Call().get(), request, response);
  }

  grpc::Status Kick(const std::string& room_id, uint32_t member_id,
                    const std::string& reason) {
    v1::KickMemberRequest request;
    request.set_room_id(room_id);
    request.set_member_id(member_id);
    request.set_reason(reason);
    v1::KickMemberResponse response;
    return stub().KickMember(Call().get(), request, &response);
  }

  v1::ServerInfo Info() {
    v1::ServerInfo info;
    EXPECT_TRUE(stub().GetServerInfo(Call().get(), {}, &info).ok());
    return info;
  }

  // Starts a WatchRoom stream on `context`.
  std::unique_ptr<grpc::ClientReader<v1::WatchRoomResponse>> Watch(
      grpc::ClientContext* context, const std::string& room_id,
      bool cursor_moves = false, uint32_t rate = 0,
      v1::ControlService::Stub* stub_override = nullptr) {
    v1::WatchRoomRequest request;
    request.set_room_id(room_id);
    request.set_include_cursor_moves(cursor_moves);
    request.set_cursor_updates_per_second(rate);
    return (stub_override ? *stub_override : stub()).WatchRoom(context, request);
  }
};

// ---------------------------------------------------------------- ListRooms

TEST_F(ControlServerTest, ListRoomsWithNoRooms) {
  v1::ListRoomsResponse response;
  ASSERT_TRUE(ListRooms(0, "", "", &response).ok());
  EXPECT_EQ(response.rooms_size(), 0);
  EXPECT_EQ(response.next_page_token(), "");
}

TEST_F(ControlServerTest, ListRoomsPagesThroughMoreThanOneDefaultPage) {
  // 105 rooms of one member each: the default page (100) plus 5.
  std::vector<std::unique_ptr<WsTestClient>> members;
  for (int i = 0; i < 105; ++i) {
    members.push_back(Join(absl::StrFormat("/rooms/page-%03d", i)));
    ASSERT_NE(members.back(), nullptr);
  }
  std::vector<std::string> ids;
  std::string token;
  int pages = 0;
  do {
    v1::ListRoomsResponse response;
    ASSERT_TRUE(ListRooms(0, "", token, &response).ok());
    ASSERT_LE(++pages, 5);
    for (const v1::Room& room : response.rooms()) {
      ids.push_back(room.id());
      EXPECT_EQ(room.member_count(), 1);
      EXPECT_TRUE(room.has_create_time());
      EXPECT_EQ(room.members_size(), 0);  // the list view has no members
    }
    token = response.next_page_token();
  } while (!token.empty());
  EXPECT_EQ(pages, 2);
  ASSERT_EQ(ids.size(), 105u);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end());
  EXPECT_EQ(ids.front(), "page-000");
  EXPECT_EQ(ids.back(), "page-104");
}

TEST_F(ControlServerTest, ListRoomsByPrefixInSmallPages) {
  auto a = Join("/rooms/team-a");
  auto b1 = Join("/rooms/team-b");
  auto b2 = Join("/rooms/team-b");
  auto c = Join("/rooms/team-c");
  auto other = Join("/rooms/other");
  ASSERT_TRUE(a && b1 && b2 && c && other);

  v1::ListRoomsResponse first;
  ASSERT_TRUE(ListRooms(2, "team-", "", &first).ok());
  ASSERT_EQ(first.rooms_size(), 2);
  EXPECT_EQ(first.rooms(0).id(), "team-a");
  EXPECT_EQ(first.rooms(1).id(), "team-b");
  EXPECT_EQ(first.rooms(1).member_count(), 2);
  ASSERT_NE(first.next_page_token(), "");

  v1::ListRoomsResponse second;
  ASSERT_TRUE(ListRooms(2, "team-", first.next_page_token(), &second).ok());
  ASSERT_EQ(second.rooms_size(), 1);
  EXPECT_EQ(second.rooms(0).id(), "team-c");
  EXPECT_EQ(second.next_page_token(), "");

  // A token is bound to its prefix.
  v1::ListRoomsResponse mixed;
  const grpc::Status status = ListRooms(2, "", first.next_page_token(), &mixed);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
}

TEST_F(ControlServerTest, ListRoomsRejectsBadArguments) {
  v1::ListRoomsResponse response;
  EXPECT_EQ(ListRooms(-1, "", "", &response).error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ListRooms(0, "", "not-a-token", &response).error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ListRooms(0, "a b", "", &response).error_code(),
            StatusCode::INVALID_ARGUMENT);
  // Too big a page is clamped, not refused (AIP-158).
  EXPECT_TRUE(ListRooms(5000, "", "", &response).ok());
}

// ------------------------------------------------------------------ GetRoom

TEST_F(ControlServerTest, GetRoomShowsEveryMembersPresence) {
  uint8_t a_id = 0, b_id = 0;
  auto a = Join("/rooms/show?user=u-1&name=Alice&color=%23FF8800", &a_id);
  auto b = Join("/rooms/show", &b_id);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->Read(), B({0x03, b_id}));
  a->SendBinary(CursorMessage(1200, 340));
  a->SendBinary(B({0x06}));
  // Once b sees the click, the room has applied the move before it.
  ASSERT_TRUE(ReadUntil(*b, B({0x06, a_id})));

  v1::Room room;
  ASSERT_TRUE(GetRoom("show", &room).ok());
  EXPECT_EQ(room.id(), "show");
  EXPECT_EQ(room.member_count(), 2);
  EXPECT_TRUE(room.has_create_time());
  ASSERT_EQ(room.members_size(), 2);
  const v1::Member& alice = room.members(0).id() == a_id ? room.members(0) : room.members(1);
  const v1::Member& other = room.members(0).id() == a_id ? room.members(1) : room.members(0);
  EXPECT_LT(room.members(0).id(), room.members(1).id());  // ordered by id
  EXPECT_EQ(alice.id(), a_id);
  EXPECT_EQ(alice.user_id(), "u-1");
  EXPECT_EQ(alice.display_name(), "Alice");
  EXPECT_EQ(alice.color(), "#ff8800");
  EXPECT_EQ(alice.remote_address().rfind("127.0.0.1:", 0), 0u) << alice.remote_address();
  const absl::Time now = absl::Now();
  EXPECT_GT(FromProto(alice.connect_time()), now - absl::Minutes(1));
  EXPECT_LE(FromProto(alice.connect_time()), now);
  EXPECT_GE(FromProto(alice.last_activity_time()), FromProto(alice.connect_time()));
  ASSERT_TRUE(alice.has_cursor());
  EXPECT_EQ(alice.cursor().x(), 1200u);
  EXPECT_EQ(alice.cursor().y(), 340u);
  EXPECT_TRUE(alice.clicking());

  EXPECT_EQ(other.id(), b_id);
  EXPECT_EQ(other.user_id(), "");
  EXPECT_FALSE(other.has_cursor());
  EXPECT_FALSE(other.clicking());
}

TEST_F(ControlServerTest, GetRoomErrors) {
  v1::Room room;
  grpc::Status status = GetRoom("nope", &room);
  EXPECT_EQ(status.error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "room \"nope\" not found");
  EXPECT_EQ(GetRoom("", &room).error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(GetRoom("a b", &room).error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(GetRoom(std::string(129, 'r'), &room).error_code(),
            StatusCode::INVALID_ARGUMENT);
}

// ------------------------------------------------------------ Kick / Close

TEST_F(ControlServerTest, KickMemberIsSeenByTheKickedAndTheOthers) {
  uint8_t a_id = 0, b_id = 0, c_id = 0;
  auto a = Join("/rooms/kick", &a_id);
  auto b = Join("/rooms/kick", &b_id);
  auto c = Join("/rooms/kick", &c_id);
  ASSERT_TRUE(a && b && c);
  ASSERT_TRUE(ReadUntil(*a, B({0x03, c_id})));
  ASSERT_TRUE(ReadUntil(*b, B({0x03, c_id})));

  ASSERT_TRUE(Kick("kick", b_id, "bye now").ok());
  ASSERT_TRUE(b->WaitClosed());
  EXPECT_EQ(b->close_code(), 4000);
  EXPECT_EQ(b->close_reason(), "bye now");
  EXPECT_TRUE(ReadUntil(*a, B({0x04, b_id})));
  EXPECT_TRUE(ReadUntil(*c, B({0x04, b_id})));

  v1::Room room;
  ASSERT_TRUE(GetRoom("kick", &room).ok());
  EXPECT_EQ(room.member_count(), 2);
  const grpc::Status again = Kick("kick", b_id, "");
  EXPECT_EQ(again.error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(again.error_message(),
            absl::StrCat("member ", b_id, " not found in room \"kick\""));
}

TEST_F(ControlServerTest, KickMemberErrors) {
  uint8_t a_id = 0;
  auto a = Join("/rooms/kick-errors", &a_id);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(Kick("nope", 0, "").error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(Kick("kick-errors", 256, "").error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Kick("kick-errors", a_id, std::string(124, 'r')).error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Kick("a/b", a_id, "").error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_FALSE(a->WaitClosed(absl::Milliseconds(100)));  // nobody was kicked
}

TEST_F(ControlServerTest, KickUserClosesEveryConnectionOfTheUser) {
  uint8_t m1_id = 0;
  auto m1 = Join("/rooms/ku-1?user=mallory", &m1_id);
  auto m2 = Join("/rooms/ku-2?user=mallory");
  auto alice = Join("/rooms/ku-1?user=alice");
  ASSERT_TRUE(m1 && m2 && alice);

  v1::KickUserRequest request;
  request.set_user_id("mallory");
  request.set_reason("banned");
  v1::KickUserResponse response;
  ASSERT_TRUE(stub().KickUser(Call().get(), request, &response).ok());
  EXPECT_EQ(response.kicked_count(), 2);
  for (WsTestClient* kicked : {m1.get(), m2.get()}) {
    ASSERT_TRUE(kicked->WaitClosed());
    EXPECT_EQ(kicked->close_code(), 4000);
    EXPECT_EQ(kicked->close_reason(), "banned");
  }
  EXPECT_TRUE(ReadUntil(*alice, B({0x04, m1_id})));

  request.set_user_id("mallory");  // gone now
  grpc::Status status = stub().KickUser(Call().get(), request, &response);
  EXPECT_EQ(status.error_code(), StatusCode::NOT_FOUND);
  request.set_user_id("");
  status = stub().KickUser(Call().get(), request, &response);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
}

TEST_F(ControlServerTest, CloseRoomClosesEveryMember) {
  std::vector<std::unique_ptr<WsTestClient>> members;
  for (int i = 0; i < 3; ++i) {
    members.push_back(Join("/rooms/closing"));
    ASSERT_NE(members.back(), nullptr);
  }
  v1::CloseRoomRequest request;
  request.set_room_id("closing");
  request.set_reason("maintenance");
  v1::CloseRoomResponse response;
  ASSERT_TRUE(stub().CloseRoom(Call().get(), request, &response).ok());
  EXPECT_EQ(response.closed_count(), 3);
  for (auto& member : members) {
    ASSERT_TRUE(member->WaitClosed());
    EXPECT_EQ(member->close_code(), 4001);
    EXPECT_EQ(member->close_reason(), "maintenance");
  }
  EXPECT_TRUE(Eventually([&] {
    v1::Room room;
    return GetRoom("closing", &room).error_code() == StatusCode::NOT_FOUND;
  }));

  grpc::Status status = stub().CloseRoom(Call().get(), request, &response);
  EXPECT_EQ(status.error_code(), StatusCode::NOT_FOUND);
  request.set_room_id("a b");
  status = stub().CloseRoom(Call().get(), request, &response);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
}

// ---------------------------------------------------------------- WatchRoom

TEST_F(ControlServerTest, WatchRoomSendsTheSnapshotThenLiveEvents) {
  uint8_t a_id = 0;
  auto a = Join("/rooms/watched?user=u-1&name=Alice", &a_id);
  ASSERT_NE(a, nullptr);
  auto context = Call(absl::Seconds(30));
  auto stream = Watch(context.get(), "watched");
  v1::WatchRoomResponse message;

  ASSERT_TRUE(stream->Read(&message));
  ASSERT_TRUE(message.has_snapshot());
  EXPECT_EQ(message.snapshot().id(), "watched");
  ASSERT_EQ(message.snapshot().members_size(), 1);
  EXPECT_EQ(message.snapshot().members(0).display_name(), "Alice");
  EXPECT_TRUE(message.has_event_time());

  uint8_t b_id = 0;
  auto b = Join("/rooms/watched?name=Bob", &b_id);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(stream->Read(&message));
  ASSERT_TRUE(message.has_member_joined());
  EXPECT_EQ(message.member_joined().member().id(), b_id);
  EXPECT_EQ(message.member_joined().member().display_name(), "Bob");

  a->SendBinary(B({0x06}));
  ASSERT_TRUE(stream->Read(&message));
  ASSERT_TRUE(message.has_click_changed());
  EXPECT_EQ(message.click_changed().member_id(), a_id);
  EXPECT_TRUE(message.click_changed().clicking());

  // Cursor moves were not asked for: the next event is the release.
  a->SendBinary(CursorMessage(10, 20));
  a->SendBinary(B({0x07}));
  ASSERT_TRUE(stream->Read(&message));
  ASSERT_TRUE(message.has_click_changed()) << message.DebugString();
  EXPECT_FALSE(message.click_changed().clicking());

  ASSERT_TRUE(Kick("watched", b_id, "bye").ok());
  ASSERT_TRUE(stream->Read(&message));
  ASSERT_TRUE(message.has_member_kicked()) << message.DebugString();
  EXPECT_EQ(message.member_kicked().member_id(), b_id);
  EXPECT_EQ(message.member_kicked().reason(), "bye");
  ASSERT_TRUE(stream->Read(&message));
  ASSERT_TRUE(message.has_member_left()) << message.DebugString();
  EXPECT_EQ(message.member_left().member_id(), b_id);

  a->Close();
  ASSERT_TRUE(stream->Read(&message));
  ASSERT_TRUE(message.has_member_left());
  EXPECT_EQ(message.member_left().member_id(), a_id);

  // The watch outlives the room's members.
  auto c = Join("/rooms/watched?name=Carol");
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(stream->Read(&message));
  ASSERT_TRUE(message.has_member_joined());
  EXPECT_EQ(message.member_joined().member().display_name(), "Carol");

  EXPECT_EQ(Info().watcher_count(), 1);
  context->TryCancel();
  EXPECT_EQ(stream->Finish().error_code(), StatusCode::CANCELLED);
  // The server lets go of a cancelled watch.
  EXPECT_TRUE(Eventually([&] { return Info().watcher_count() == 0; }));
}

TEST_F(ControlServerTest, WatchRoomCoalescesAndRateLimitsCursorMoves) {
  uint8_t a_id = 0;
  auto a = Join("/rooms/moves", &a_id);
  ASSERT_NE(a, nullptr);
  auto context = Call(absl::Seconds(30));
  auto stream = Watch(context.get(), "moves", /*cursor_moves=*/true, /*rate=*/10);
  v1::WatchRoomResponse message;
  ASSERT_TRUE(stream->Read(&message));
  ASSERT_TRUE(message.has_snapshot());

  // A second of moves every 5 ms, then a click to mark the end.
  const absl::Time start = absl::Now();
  int sent = 0;
  while (absl::Now() - start < absl::Seconds(1)) {
    ++sent;
    a->SendBinary(CursorMessage(static_cast<uint16_t>(sent), 7));
    absl::SleepFor(absl::Milliseconds(5));
  }
  a->SendBinary(B({0x06}));

  int moves = 0;
  uint32_t last_x = 0;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(stream->Read(&message));
    if (message.has_click_changed()) break;
    ASSERT_TRUE(message.has_cursor_moved()) << message.DebugString();
    EXPECT_EQ(message.cursor_moved().member_id(), a_id);
    ++moves;
    last_x = message.cursor_moved().position().x();
  }
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  EXPECT_GT(sent, 20);
  // At most 10 per second of the watch, plus the first at once and the one
  // released before the click; far fewer than were sent. Bounds follow the
  // measured time, so a loaded machine cannot make the test fail.
  EXPECT_GE(moves, 1);
  EXPECT_LE(moves, static_cast<int>(elapsed * 10) + 3) << "in " << elapsed << " s";
  EXPECT_LT(moves, sent / 2);
  // Latest wins: the click comes after the final position.
  EXPECT_EQ(last_x, static_cast<uint32_t>(sent));
  context->TryCancel();
  stream->Finish();
}

TEST_F(ControlServerTest, WatchRoomErrors) {
  {
    auto context = Call();
    auto stream = Watch(context.get(), "nope");
    v1::WatchRoomResponse message;
    EXPECT_FALSE(stream->Read(&message));
    const grpc::Status status = stream->Finish();
    EXPECT_EQ(status.error_code(), StatusCode::NOT_FOUND);
    EXPECT_EQ(status.error_message(), "room \"nope\" not found");
  }
  {
    auto context = Call();
    auto stream = Watch(context.get(), "a b");
    v1::WatchRoomResponse message;
    EXPECT_FALSE(stream->Read(&message));
    EXPECT_EQ(stream->Finish().error_code(), StatusCode::INVALID_ARGUMENT);
  }
  EXPECT_TRUE(Eventually([&] { return Info().watcher_count() == 0; }));
}

TEST_F(ControlServerTest, SlowWatcherIsDroppedWithoutSlowingTheRoom) {
  // A small buffer, and a client whose HTTP/2 window cannot grow: once it
  // stops reading, the server's writes stall after a few kilobytes.
  RestartControl({/*token=*/"", /*watch_buffer=*/32});
  uint8_t a_id = 0;
  auto a = Join("/rooms/slow", &a_id);
  auto b = Join("/rooms/slow");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->Read().has_value());  // b's join

  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1024);
  auto slow_stub = v1::ControlService::NewStub(NewChannel(args));
  auto context = Call(absl::Seconds(60));
  auto stream = Watch(context.get(), "slow", false, 0, slow_stub.get());
  v1::WatchRoomResponse message;
  ASSERT_TRUE(stream->Read(&message));
  ASSERT_TRUE(message.has_snapshot());
  // From here the watcher reads nothing.

  constexpr int kClicks = 6000;
  const absl::Time start = absl::Now();
  for (int i = 0; i < kClicks; ++i) {
    a->SendBinary(B({static_cast<uint8_t>(i % 2 == 0 ? 0x06 : 0x07)}));
  }
  // b gets every click, in order, while the watcher is stuck.
  for (int i = 0; i < kClicks; ++i) {
    std::optional<Bytes> got = b->Read();
    ASSERT_TRUE(got.has_value()) << "click " << i;
    ASSERT_EQ(*got, B({static_cast<uint8_t>(i % 2 == 0 ? 0x06 : 0x07), a_id}));
  }
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_LT(elapsed, absl::Seconds(10));
  std::cerr << "room relayed " << kClicks << " clicks in " << elapsed
            << " with a stalled watcher\n";

  // The watcher, reading at last, finds it was dropped.
  int events = 0;
  while (stream->Read(&message) && events < 10 * kClicks) ++events;
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_EQ(status.error_message(),
            "watcher too slow: 32 events queued for room \"slow\"; watch again");
  EXPECT_LT(events, kClicks);
  EXPECT_TRUE(Eventually([&] { return Info().watcher_count() == 0; }));
}

TEST_F(ControlServerTest, ShutdownEndsWatchesPromptly) {
  auto a = Join("/rooms/bye");
  ASSERT_NE(a, nullptr);
  auto context = Call(absl::Seconds(30));
  auto stream = Watch(context.get(), "bye");
  v1::WatchRoomResponse message;
  ASSERT_TRUE(stream->Read(&message));
  const absl::Time start = absl::Now();
  control_->Shutdown();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1500));
  EXPECT_FALSE(stream->Read(&message));
  EXPECT_EQ(stream->Finish().error_code(), StatusCode::UNAVAILABLE);
}

// ------------------------------------------------------ ServerInfo, health

TEST_F(ControlServerTest, GetServerInfo) {
  auto a = Join("/rooms/info");
  auto b = Join("/rooms/info");
  ASSERT_TRUE(a && b);
  a->SendBinary(B({0x06}));
  ASSERT_TRUE(b->Read().has_value());
  const v1::ServerInfo info = Info();
  EXPECT_EQ(info.version(), edge::Version());
  ASSERT_EQ(info.listen_addresses_size(), 1);
  EXPECT_EQ(info.listen_addresses(0), edge_->listen_address());
  EXPECT_EQ(info.control_address(), control_->address());
  EXPECT_EQ(info.connection_count(), 2);
  EXPECT_EQ(info.room_count(), 1);
  EXPECT_EQ(info.watcher_count(), 0);
  EXPECT_TRUE(info.has_start_time());
  EXPECT_GE(info.uptime().seconds(), 0);
  EXPECT_LT(info.uptime().seconds(), 600);
  ASSERT_TRUE(info.counters().contains("messages_in"));
  EXPECT_GE(info.counters().at("messages_in"), 1u);
  EXPECT_TRUE(info.counters().contains("closes_4000_kicked"));
}

TEST_F(ControlServerTest, HealthService) {
  auto health = grpc::health::v1::Health::NewStub(channel_);
  HealthCheckRequest request;
  HealthCheckResponse response;
  ASSERT_TRUE(health->Check(Call().get(), request, &response).ok());
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  request.set_service("cursord.v1.ControlService");
  ASSERT_TRUE(health->Check(Call().get(), request, &response).ok());
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  request.set_service("no.such.Service");
  EXPECT_EQ(health->Check(Call().get(), request, &response).error_code(),
            StatusCode::NOT_FOUND);
}

// Asks the reflection service for its service list, with a hand-encoded
// ServerReflectionRequest{list_services: ""} (field 7): reflection's own
// protos are not part of the project.
absl::StatusOr<std::string> ListServicesByReflection(grpc::Channel& channel) {
  grpc::GenericStub generic(std::shared_ptr<grpc::Channel>(&channel, [](auto*) {}));
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  auto call = generic.PrepareCall(
      &context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  auto next = [&](intptr_t tag) {
    void* got = nullptr;
    bool ok = false;
    return cq.Next(&got, &ok) && ok && reinterpret_cast<intptr_t>(got) == tag;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  if (!next(1)) return absl::UnavailableError("start failed");
  const char kRequest[] = {0x3a, 0x00};
  grpc::Slice slice(kRequest, sizeof(kRequest));
  grpc::ByteBuffer request(&slice, 1);
  call->Write(request, reinterpret_cast<void*>(2));
  if (!next(2)) return absl::UnavailableError("write failed");
  grpc::ByteBuffer response;
  call->Read(&response, reinterpret_cast<void*>(3));
  if (!next(3)) return absl::UnavailableError("read failed");
  call->WritesDone(reinterpret_cast<void*>(4));
  next(4);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  next(5);
  cq.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (cq.Next(&tag, &ok)) {
  }
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return absl::InternalError("dump failed");
  std::string bytes;
  for (const auto& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return bytes;
}

TEST_F(ControlServerTest, ReflectionListsTheControlService) {
  absl::StatusOr<std::string> services = ListServicesByReflection(*channel_);
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_NE(services->find("cursord.v1.ControlService"), std::string::npos);
  EXPECT_NE(services->find("grpc.health.v1.Health"), std::string::npos);
}

// --------------------------------------------------------------------- auth

TEST_F(ControlServerTest, TokenIsRequiredWhenSet) {
  RestartControl({/*token=*/"s3cret"});
  auto a = Join("/rooms/auth");
  ASSERT_NE(a, nullptr);
  v1::ListRoomsResponse response;

  grpc::ClientContext none;
  grpc::Status status = stub().ListRooms(&none, {}, &response);
  EXPECT_EQ(status.error_code(), StatusCode::UNAUTHENTICATED);

  grpc::ClientContext wrong;
  wrong.AddMetadata("authorization", "Bearer guess");
  EXPECT_EQ(stub().ListRooms(&wrong, {}, &response).error_code(),
            StatusCode::UNAUTHENTICATED);

  grpc::ClientContext right;
  right.AddMetadata("authorization", "Bearer s3cret");
  ASSERT_TRUE(stub().ListRooms(&right, {}, &response).ok());
  EXPECT_EQ(response.rooms_size(), 1);

  // Every method checks, streams included.
  grpc::ClientContext info_context;
  v1::ServerInfo info;
  EXPECT_EQ(stub().GetServerInfo(&info_context, {}, &info).error_code(),
            StatusCode::UNAUTHENTICATED);
  v1::KickMemberRequest kick;
  kick.set_room_id("auth");
  v1::KickMemberResponse kicked;
  grpc::ClientContext kick_context;
  EXPECT_EQ(stub().KickMember(&kick_context, kick, &kicked).error_code(),
            StatusCode::UNAUTHENTICATED);
  EXPECT_FALSE(a->WaitClosed(absl::Milliseconds(100)));
  grpc::ClientContext watch_context;
  v1::WatchRoomRequest watch;
  watch.set_room_id("auth");
  auto stream = stub().WatchRoom(&watch_context, watch);
  v1::WatchRoomResponse message;
  EXPECT_FALSE(stream->Read(&message));
  EXPECT_EQ(stream->Finish().error_code(), StatusCode::UNAUTHENTICATED);

  // Health and reflection stay open for probes and grpcurl.
  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::ClientContext health_context;
  HealthCheckResponse health_response;
  ASSERT_TRUE(health->Check(&health_context, {}, &health_response).ok());
  EXPECT_EQ(health_response.status(), HealthCheckResponse::SERVING);
  EXPECT_TRUE(ListServicesByReflection(*channel_).ok());
}

// ------------------------------------------------------------------- start

TEST_F(ControlServerTest, StartErrors) {
  control::ControlServerOptions options;
  options.listen = "no-port";
  EXPECT_EQ(control::ControlServer::Start(options, *edge_).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.listen = control_->address();  // taken
  EXPECT_EQ(control::ControlServer::Start(options, *edge_).status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace cursord::testing
