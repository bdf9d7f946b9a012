// WatchRoom from any instance of a cluster (docs/BACKPLANE.md, "Watching a
// room from any instance"): a watch on an instance that holds no member of
// the room sees the members of every other instance, their joins, leaves,
// clicks and kicks in the order the room's members see them, cursor moves
// only when asked, and the leaves of an instance killed with kill -9. An
// instance alone in a room that nobody watches still publishes nothing.
//
// Drives the control plane through gRPC: skipped by the ThreadSanitizer
// pass (tests/sanitize.sh), like ClusterControlTest.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cursord/v1/control.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/cluster/cluster_fixture.h"
#include "tests/testing/eventually.h"

namespace cursord::testing {
namespace {

class ClusterWatchTest : public ClusterTest {
 protected:
  std::unique_ptr<v1::ControlService::Stub> Stub(int i) {
    absl::StatusOr<std::string> address = instance(i).ControlAddress();
    EXPECT_TRUE(address.ok()) << address.status();
    return v1::ControlService::NewStub(
        grpc::CreateChannel(address.value_or("?"), grpc::InsecureChannelCredentials()));
  }

  // A watch of `room` on instance `i`, with its own stub and context.
  struct Watch {
    std::unique_ptr<v1::ControlService::Stub> stub;
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReader<v1::WatchRoomResponse>> stream;
    ~Watch() {
      if (stream == nullptr) return;
      context.TryCancel();
      stream->Finish();
    }
  };
  std::unique_ptr<Watch> StartWatch(int i, const std::string& room, bool cursor_moves) {
    auto watch = std::make_unique<Watch>();
    watch->stub = Stub(i);
    watch->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::WatchRoomRequest request;
    request.set_room_id(room);
    request.set_include_cursor_moves(cursor_moves);
    watch->stream = watch->stub->WatchRoom(&watch->context, request);
    return watch;
  }
};

// Reads `stream` until `last`, collecting every event (moves included);
// false if the stream ends first.
bool ReadEventsUntil(grpc::ClientReader<v1::WatchRoomResponse>& stream, const std::string& last,
                     std::vector<std::string>* events) {
  v1::WatchRoomResponse message;
  while (stream.Read(&message)) {
    std::string event;
    if (message.has_member_joined()) {
      event = absl::StrCat("joined ", message.member_joined().member().id());
    } else if (message.has_member_left()) {
      event = absl::StrCat("left ", message.member_left().member_id());
    } else if (message.has_member_kicked()) {
      event = absl::StrCat("kicked ", message.member_kicked().member_id(), " ",
                           message.member_kicked().reason());
    } else if (message.has_click_changed()) {
      event = absl::StrCat("click ", message.click_changed().member_id(), " ",
                           message.click_changed().clicking());
    } else if (message.has_cursor_moved()) {
      event = absl::StrCat("move ", message.cursor_moved().member_id(), " ",
                           message.cursor_moved().position().x(), ",",
                           message.cursor_moved().position().y());
    } else {
      continue;
    }
    events->push_back(event);
    if (event == last) return true;
  }
  return false;
}

// a@0 and b@1 in the room, the watch on i2, which holds nobody: its
// snapshot has both, with their instances and b's press; then c joins on
// i0, b and a press (each next event waits until the room has seen the
// previous one), c is kicked, b and a release. The watcher sees all of it
// in that order, a's move (without cursor moves) never; then i1 is killed
// and b's leave arrives when the reaper frees it.
TEST_F(ClusterWatchTest, AWatchOnAnInstanceWithoutMembersSeesEveryInstanceInOrder) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(3));
  JOIN(a, 0, "doc");
  JOIN(b, 1, "doc");
  ASSERT_TRUE(SeesExactly(*a, Ids({0, 1})));
  b->Press();
  ASSERT_TRUE(a->WaitForMessage(Pressed(1))) << a->Describe();

  auto watch = StartWatch(2, "doc", /*cursor_moves=*/false);
  v1::WatchRoomResponse message;
  ASSERT_TRUE(watch->stream->Read(&message));
  ASSERT_TRUE(message.has_snapshot()) << message.DebugString();
  ASSERT_EQ(message.snapshot().members_size(), 2) << message.DebugString();
  for (const v1::Member& m : message.snapshot().members()) {
    EXPECT_EQ(m.instance_id(), instance(static_cast<int>(m.id())).instance_id());
    EXPECT_TRUE(m.remote());
    EXPECT_EQ(m.clicking(), m.id() == 1) << m.DebugString();
  }

  JOIN(c, 0, "doc");
  ASSERT_TRUE(b->WaitForMessage(Joined(2))) << b->Describe();
  b->Release();
  ASSERT_TRUE(a->WaitForMessage(Released(1))) << a->Describe();
  a->Move(100, 200);  // no cursor moves asked: never seen
  a->Press();
  ASSERT_TRUE(b->WaitForMessage(Pressed(0))) << b->Describe();
  v1::KickMemberRequest kick;
  kick.set_room_id("doc");
  kick.set_member_id(2);
  kick.set_reason("out");
  v1::KickMemberResponse kicked;
  grpc::ClientContext kick_context;
  kick_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Status status = Stub(2)->KickMember(&kick_context, kick, &kicked);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(b->WaitForMessage(Left(2))) << b->Describe();
  b->Press();
  ASSERT_TRUE(a->WaitForMessage(Pressed(1))) << a->Describe();
  a->Release();  // the marker

  std::vector<std::string> events;
  ASSERT_TRUE(ReadEventsUntil(*watch->stream, "click 0 0", &events)) << absl::StrJoin(events, ", ");
  EXPECT_EQ(events, (std::vector<std::string>{"joined 2", "click 1 0", "click 0 1",
                                              "kicked 2 out", "left 2", "click 1 1",
                                              "click 0 0"}))
      << absl::StrJoin(events, ", ");

  // b's instance dies: its member is reaped, and the watch says so.
  instance(1).Kill();
  events.clear();
  ASSERT_TRUE(ReadEventsUntil(*watch->stream, "left 1", &events)) << absl::StrJoin(events, ", ");
  EXPECT_EQ(events, std::vector<std::string>{"left 1"});
  ASSERT_TRUE(a->WaitForMessage(Left(1))) << a->Describe();
  // And goes on: a's press from the one instance left.
  a->Press();
  events.clear();
  ASSERT_TRUE(ReadEventsUntil(*watch->stream, "click 0 1", &events)) << absl::StrJoin(events, ", ");
}

// Cursor moves reach a watcher elsewhere only when it asked: a is alone on
// i0; a watcher on i1 without moves gets a's press after the move, a second
// one with moves gets the move first.
TEST_F(ClusterWatchTest, CursorMovesReachAWatcherElsewhereOnlyWhenAsked) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2));
  JOIN(a, 0, "alone");
  ASSERT_TRUE(SeesExactly(*a, Ids({0})));
  auto quiet = StartWatch(1, "alone", /*cursor_moves=*/false);
  auto moving = StartWatch(1, "alone", /*cursor_moves=*/true);
  v1::WatchRoomResponse message;
  ASSERT_TRUE(quiet->stream->Read(&message));
  ASSERT_TRUE(message.has_snapshot());
  ASSERT_TRUE(moving->stream->Read(&message));
  ASSERT_TRUE(message.has_snapshot());
  EXPECT_EQ(message.snapshot().members_size(), 1);

  a->Move(10, 20);
  a->Press();
  std::vector<std::string> events;
  ASSERT_TRUE(ReadEventsUntil(*moving->stream, "click 0 1", &events)) << absl::StrJoin(events, ", ");
  EXPECT_EQ(events, (std::vector<std::string>{"move 0 10,20", "click 0 1"}));
  events.clear();
  ASSERT_TRUE(ReadEventsUntil(*quiet->stream, "click 0 1", &events)) << absl::StrJoin(events, ", ");
  EXPECT_EQ(events, std::vector<std::string>{"click 0 1"});
}

// A room with no member anywhere is NOT_FOUND from any instance, as a
// missing room is on one instance.
TEST_F(ClusterWatchTest, AWatchOfARoomWithNoMemberAnywhereIsNotFound) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2));
  JOIN(a, 0, "somewhere");
  ASSERT_TRUE(SeesExactly(*a, Ids({0})));
  auto watch = StartWatch(1, "nowhere", /*cursor_moves=*/false);
  v1::WatchRoomResponse message;
  EXPECT_FALSE(watch->stream->Read(&message));
  EXPECT_EQ(watch->stream->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  watch->stream.reset();
}

// An instance alone in a room that nobody watches publishes nothing per
// move or press: a on i0 moves and presses in "solo"; then a2 (i0) moves
// once in "shared" with b2 (i1), published in the same or a later batch.
// When b2 sees it, i0 has published exactly that one message.
TEST_F(ClusterWatchTest, AnInstanceAloneInAnUnwatchedRoomPublishesNothing) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2));
  JOIN(a2, 0, "shared");
  JOIN(b2, 1, "shared");
  ASSERT_TRUE(SeesExactly(*a2, Ids({0, 1})));
  ASSERT_TRUE(SeesExactly(*b2, Ids({0, 1})));
  JOIN(a, 0, "solo");
  ASSERT_TRUE(SeesExactly(*a, Ids({0})));
  const std::string kPublishes = "cursord_backplane_publishes_total";
  // The states the joins caused are counted once their replies are in.
  double before = -1;
  ASSERT_TRUE(Eventually([&] {
    const double now = instance(0).Metric(kPublishes).value_or(-1);
    const bool settled = now == before;
    before = now;
    return settled && now >= 0;
  }, absl::Seconds(5)));
  for (uint16_t i = 0; i < 20; ++i) a->Move(i, i);
  a->Press();
  a2->Move(7, 7);
  ASSERT_TRUE(b2->WaitForMessage(PositionOf(0, 7, 7))) << b2->Describe();
  ASSERT_TRUE(Eventually([&] { return instance(0).Metric(kPublishes).value_or(0) > before; }));
  EXPECT_EQ(instance(0).Metric(kPublishes).value_or(0), before + 1);
}

}  // namespace
}  // namespace cursord::testing
