// The control API end to end: real gRPC calls to the real ControlServer over
// the real edge, with real WebSocket members in the rooms.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <grpc/grpc.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
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

  // A WatchRoom call and its stream.
  struct Watcher {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientReader<v1::WatchRoomResponse>> stream;
  };

  // Watches `room_id` (through `stub_override` if given) and reads the
  // first message: the snapshot when the watch is accepted. On refusal,
  // `status` gets the call's status.
  Watcher OpenWatch(const std::string& room_id, bool* accepted,
                    grpc::Status* status = nullptr,
                    v1::ControlService::Stub* stub_override = nullptr) {
    Watcher watcher;
    watcher.context = Call(absl::Seconds(60));
    watcher.stream = Watch(watcher.context.get(), room_id, false, 0, stub_override);
    v1::WatchRoomResponse message;
    *accepted = watcher.stream->Read(&message) && message.has_snapshot();
    if (!*accepted && status != nullptr) *status = watcher.stream->Finish();
    return watcher;
  }

  // Expects a watch of `room_id` to be refused at once with
  // RESOURCE_EXHAUSTED and `message`.
  void ExpectWatchRefused(const std::string& room_id, const std::string& message) {
    bool accepted = true;
    grpc::Status status;
    OpenWatch(room_id, &accepted, &status);
    EXPECT_FALSE(accepted) << room_id;
    EXPECT_EQ(status.error_code(), StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_EQ(status.error_message(), message);
  }

  // A stub on a channel whose HTTP/2 window cannot grow: once its client
  // stops reading, the server's writes stall after a few kilobytes.
  std::unique_ptr<v1::ControlService::Stub> StallingStub() const {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1024);
    return v1::ControlService::NewStub(NewChannel(args));
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
  // stops reading, the server's writes stall after a few kilobytes. The
  // watcher reads again only after the flood: a finish grace longer than
  // that lets it still read why it was dropped.
  Config config;
  config.watch_buffer = 32;
  config.watch_finish_grace = absl::Minutes(1);
  RestartControl(config);
  uint8_t a_id = 0;
  auto a = Join("/rooms/slow", &a_id);
  auto b = Join("/rooms/slow");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->Read().has_value());  // b's join

  auto slow_stub = StallingStub();
  bool accepted = false;
  Watcher slow = OpenWatch("slow", &accepted, nullptr, slow_stub.get());
  ASSERT_TRUE(accepted);
  // From here the watcher reads nothing.

  // Within one member's message burst (600), so the rate limit lets the
  // room relay them all at once.
  constexpr int kClicks = 500;
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
  v1::WatchRoomResponse message;
  while (slow.stream->Read(&message) && events < 10 * kClicks) ++events;
  const grpc::Status status = slow.stream->Finish();
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

TEST_F(ControlServerTest, WatchersPastTheLimitsAreRefusedAndCounted) {
  Config config;
  config.max_watchers = 3;
  config.max_watchers_per_room = 2;
  RestartControl(config);
  auto a = Join("/rooms/cap-a");
  auto b = Join("/rooms/cap-b");
  auto c = Join("/rooms/cap-c");
  ASSERT_TRUE(a && b && c);

  bool accepted = false;
  Watcher a1 = OpenWatch("cap-a", &accepted);
  ASSERT_TRUE(accepted);
  Watcher a2 = OpenWatch("cap-a", &accepted);
  ASSERT_TRUE(accepted);
  // A third on the room: past the room's limit.
  ExpectWatchRefused("cap-a",
                     "room \"cap-a\" already has 2 watchers, the limit per room "
                     "(--control-max-watchers-per-room); end a watch and try again");
  // Another room still has room, until the server is full.
  Watcher b1 = OpenWatch("cap-b", &accepted);
  ASSERT_TRUE(accepted);
  ExpectWatchRefused("cap-c",
                     "the server already has 3 watchers, its limit (--control-max-watchers); "
                     "end a watch and try again");

  v1::ServerInfo info = Info();
  EXPECT_EQ(info.watcher_count(), 3);
  EXPECT_EQ(info.counters().at("watchers_refused_room_limit"), 1u);
  EXPECT_EQ(info.counters().at("watchers_refused_server_limit"), 1u);

  // A watcher that cancels gives its place back as soon as the server has
  // seen the cancellation; then a new watch of the same room is accepted.
  a1.context->TryCancel();
  EXPECT_EQ(a1.stream->Finish().error_code(), StatusCode::CANCELLED);
  ASSERT_TRUE(Eventually([&] { return Info().watcher_count() == 2; }));
  Watcher a4 = OpenWatch("cap-a", &accepted);
  EXPECT_TRUE(accepted);
  // It sees the room live, like any watcher.
  auto joiner = Join("/rooms/cap-a");
  ASSERT_NE(joiner, nullptr);
  v1::WatchRoomResponse message;
  ASSERT_TRUE(a4.stream->Read(&message));
  EXPECT_TRUE(message.has_member_joined()) << message.DebugString();

  for (Watcher* open : {&a2, &b1, &a4}) {
    open->context->TryCancel();
    open->stream->Finish();
  }
  EXPECT_TRUE(Eventually([&] { return Info().watcher_count() == 0; }));
}

TEST_F(ControlServerTest, ADroppedWatcherThatNeverReadsIsReleased) {
  // A watcher whose client stops reading: once its HTTP/2 window is full
  // its writes stall, its buffer fills and the server drops it. Its last
  // write can never complete, so without a bound the stream (and its place
  // under the limits) would last as long as its connection.
  Config config;
  config.watch_buffer = 32;
  config.watch_finish_grace = absl::Milliseconds(200);
  config.max_watchers_per_room = 1;
  RestartControl(config);
  // Clicks from several members, each well within its message burst, and
  // a member that reads each before the next is sent: the watcher's writes
  // keep pace until its window is full, so they stall rather than the
  // buffer overflowing in one burst (which gRPC would still flush).
  std::vector<std::unique_ptr<WsTestClient>> senders;
  for (int i = 0; i < 10; ++i) {
    senders.push_back(Join("/rooms/gone"));
    ASSERT_NE(senders.back(), nullptr);
  }
  auto pacer = Join("/rooms/gone");
  ASSERT_NE(pacer, nullptr);

  auto stalling_stub = StallingStub();
  bool accepted = false;
  Watcher gone = OpenWatch("gone", &accepted, nullptr, stalling_stub.get());
  ASSERT_TRUE(accepted);
  // From here the watcher reads nothing.

  constexpr int kClicksEach = 500;
  for (int i = 0; i < kClicksEach; ++i) {
    for (auto& sender : senders) {
      sender->SendBinary(B({static_cast<uint8_t>(i % 2 == 0 ? 0x06 : 0x07)}));
      ASSERT_TRUE(pacer->Read().has_value()) << "click " << i;
    }
  }
  EXPECT_TRUE(Eventually([&] { return Info().watcher_count() == 0; }))
      << "the dropped watcher is still registered";
  // Its place is free again.
  Watcher next = OpenWatch("gone", &accepted);
  EXPECT_TRUE(accepted);
  next.context->TryCancel();
  next.stream->Finish();

  // The stalled client, reading at last, finds the stream ended.
  int events = 0;
  v1::WatchRoomResponse message;
  while (gone.stream->Read(&message) && events < 10 * kClicksEach) ++events;
  const grpc::Status status = gone.stream->Finish();
  EXPECT_TRUE(status.error_code() == StatusCode::CANCELLED ||
              status.error_code() == StatusCode::RESOURCE_EXHAUSTED)
      << status.error_code() << " " << status.error_message();
  EXPECT_LT(events, 10 * kClicksEach);
}

// A TCP relay between one client and the control server that can be
// frozen: it then moves no more bytes either way but keeps both
// connections open, which is how a client that vanished without closing
// (a crash of its host, a lost network) looks to the server.
class FreezableRelay {
 public:
  explicit FreezableRelay(int target_port) : target_port_(target_port) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address = Loopback(0);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    listen(listen_fd_, 1);
    socklen_t length = sizeof(address);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    if (pipe(wake_) != 0) wake_[0] = wake_[1] = -1;
    thread_ = std::thread([this] { Run(); });
  }

  ~FreezableRelay() {
    stop_.store(true);
    Wake();
    thread_.join();
    for (int fd : {listen_fd_, client_fd_, server_fd_, wake_[0], wake_[1]}) {
      if (fd >= 0) close(fd);
    }
  }

  int port() const { return port_; }

  // From now on nothing is relayed; nothing is closed either.
  void Freeze() {
    frozen_.store(true);
    Wake();
  }

 private:
  static sockaddr_in Loopback(int port) {
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port));
    return address;
  }

  void Wake() { [[maybe_unused]] ssize_t n = write(wake_[1], "x", 1); }

  // Accepts one client, connects it to the target, then relays until
  // frozen or stopped. Every wait is a poll that the wake pipe ends.
  void Run() {
    pollfd accept_fds[] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    while (!stop_.load()) {
      if (poll(accept_fds, 2, -1) < 0) return;
      if (accept_fds[0].revents & POLLIN) break;
      Drain();
    }
    if (stop_.load()) return;
    client_fd_ = accept(listen_fd_, nullptr, nullptr);
    server_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in target = Loopback(target_port_);
    if (connect(server_fd_, reinterpret_cast<sockaddr*>(&target), sizeof(target)) != 0) return;
    while (!stop_.load()) {
      const bool relaying = !frozen_.load();
      pollfd fds[] = {{wake_[0], POLLIN, 0},
                      {client_fd_, static_cast<short>(relaying ? POLLIN : 0), 0},
                      {server_fd_, static_cast<short>(relaying ? POLLIN : 0), 0}};
      if (poll(fds, 3, -1) < 0) return;
      if (fds[0].revents & POLLIN) Drain();
      if (!relaying || frozen_.load()) continue;
      if ((fds[1].revents & (POLLIN | POLLHUP)) && !Move(client_fd_, server_fd_)) return;
      if ((fds[2].revents & (POLLIN | POLLHUP)) && !Move(server_fd_, client_fd_)) return;
    }
  }

  void Drain() {
    char buffer[64];
    [[maybe_unused]] ssize_t n = read(wake_[0], buffer, sizeof(buffer));
  }

  // One read from `from`, all of it written to `to`; false at EOF or error.
  static bool Move(int from, int to) {
    char buffer[16384];
    const ssize_t n = read(from, buffer, sizeof(buffer));
    if (n <= 0) return false;
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = write(to, buffer + done, n - done);
      if (w <= 0) return false;
      done += w;
    }
    return true;
  }

  const int target_port_;
  int listen_fd_ = -1;
  int client_fd_ = -1;
  int server_fd_ = -1;
  int wake_[2] = {-1, -1};
  int port_ = 0;
  std::atomic<bool> frozen_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST_F(ControlServerTest, AWatcherThatVanishedIsReleasedByKeepalive) {
  // Keepalive scaled down from 30 s + 10 s so the test is quick.
  Config config;
  config.keepalive_time = absl::Milliseconds(200);
  config.keepalive_timeout = absl::Milliseconds(200);
  RestartControl(config);
  auto a = Join("/rooms/vanish");
  ASSERT_NE(a, nullptr);

  FreezableRelay relay(control_->port());
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", relay.port()),
                                     grpc::InsecureChannelCredentials());
  auto relayed_stub = v1::ControlService::NewStub(channel);
  bool accepted = false;
  Watcher watcher = OpenWatch("vanish", &accepted, nullptr, relayed_stub.get());
  ASSERT_TRUE(accepted);
  EXPECT_EQ(Info().watcher_count(), 1);

  // The client's side goes silent without a FIN or a RST. The room is
  // quiet, so no write ever fails: only the server's unanswered keepalive
  // ping shows the client is gone.
  relay.Freeze();
  EXPECT_TRUE(Eventually([&] { return Info().watcher_count() == 0; }))
      << "the vanished watcher is still registered";

  watcher.context->TryCancel();
  EXPECT_EQ(watcher.stream->Finish().error_code(), StatusCode::CANCELLED);
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

// A user with two tabs is one user; members without a user id are one
// user each, after the named ones.
TEST_F(ControlServerTest, GetRoomUsersGroupsTheMembersByUser) {
  auto a1 = Join("/rooms/users?user=u-a&name=Ann");
  auto anon = Join("/rooms/users");
  auto b = Join("/rooms/users?user=u-b");
  auto a2 = Join("/rooms/users?user=u-a&name=Ann%202");
  ASSERT_TRUE(a1 && anon && b && a2);
  v1::GetRoomUsersRequest request;
  request.set_room_id("users");
  v1::RoomUsers users;
  ASSERT_TRUE(stub().GetRoomUsers(Call().get(), request, &users).ok());
  EXPECT_EQ(users.room_id(), "users");
  ASSERT_EQ(users.users_size(), 3) << users.DebugString();
  const v1::RoomUser& ann = users.users(0);
  EXPECT_EQ(ann.user_id(), "u-a");
  EXPECT_EQ(ann.connection_count(), 2);
  EXPECT_EQ(std::vector<uint32_t>(ann.member_ids().begin(), ann.member_ids().end()),
            (std::vector<uint32_t>{0, 3}));
  EXPECT_EQ(std::vector<std::string>(ann.display_names().begin(), ann.display_names().end()),
            (std::vector<std::string>{"Ann", "Ann 2"}));
  EXPECT_TRUE(ann.has_first_connect_time());
  EXPECT_TRUE(ann.instance_ids().empty());
  EXPECT_EQ(users.users(1).user_id(), "u-b");
  EXPECT_EQ(users.users(1).connection_count(), 1);
  EXPECT_EQ(users.users(2).user_id(), "");
  EXPECT_EQ(users.users(2).member_ids(0), 1u);

  request.set_room_id("nobody");
  EXPECT_EQ(stub().GetRoomUsers(Call().get(), request, &users).error_code(),
            StatusCode::NOT_FOUND);
  request.set_room_id("a b");
  EXPECT_EQ(stub().GetRoomUsers(Call().get(), request, &users).error_code(),
            StatusCode::INVALID_ARGUMENT);
}

// Without --redis the server is the only instance: itself, unnamed.
TEST_F(ControlServerTest, ListInstancesWithoutRedisIsThisServerAlone) {
  auto a = Join("/rooms/alone");
  ASSERT_NE(a, nullptr);
  v1::ListInstancesResponse response;
  ASSERT_TRUE(stub().ListInstances(Call().get(), {}, &response).ok());
  EXPECT_EQ(response.self_instance_id(), "");
  ASSERT_EQ(response.instances_size(), 1);
  const v1::Instance& self = response.instances(0);
  EXPECT_TRUE(self.answered());
  EXPECT_EQ(self.version(), edge::Version());
  EXPECT_EQ(self.connection_count(), 1);
  EXPECT_EQ(self.room_count(), 1);
  EXPECT_TRUE(self.ready());
  EXPECT_FALSE(self.backplane_connected());
  ASSERT_EQ(self.listen_addresses_size(), 1);
  EXPECT_EQ(self.listen_addresses(0), edge_->listen_address());
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
  grpc::ClientContext instances_context;
  v1::ListInstancesResponse instances;
  EXPECT_EQ(stub().ListInstances(&instances_context, {}, &instances).error_code(),
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
  EXPECT_EQ(control::ControlServer::Start(options, edge_->control_plane()).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.listen = control_->address();  // taken
  EXPECT_EQ(control::ControlServer::Start(options, edge_->control_plane()).status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace cursord::testing
