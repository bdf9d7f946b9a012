// The control plane of a cluster (docs/CONTROL_API.md, "Clusters";
// docs/BACKPLANE.md, "The cluster bus"): every RPC asked of any instance
// answers for the whole cluster, also from an instance that holds none of
// the room's members; kicks and closes reach the members where they are
// connected; an instance that does not answer is named in the answer, not
// waited for. Through gRPC and through the real cursorctl.
#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "cursord/v1/control.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/cluster/cluster_fixture.h"
#include "tests/testing/eventually.h"
#include "tests/testing/subprocess.h"

namespace cursord::testing {
namespace {

class ClusterControlTest : public ClusterTest {
 protected:
  // A ControlService stub on instance `i`.
  std::unique_ptr<v1::ControlService::Stub> Stub(int i) {
    absl::StatusOr<std::string> address = instance(i).ControlAddress();
    EXPECT_TRUE(address.ok()) << address.status();
    return v1::ControlService::NewStub(
        grpc::CreateChannel(address.value_or("?"), grpc::InsecureChannelCredentials()));
  }

  // A context with a deadline, so that no call can hang the test.
  static std::unique_ptr<grpc::ClientContext> Call() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }

  // Three instances with a short --cluster-timeout, so that every call
  // fits in a stopped instance's lease (2 to 3 s left at the stop): past it, the instance is dead
  // to the cluster and no longer asked (then its members are reaped, as
  // failure_test checks). Members a@0, b@1 and c@2 of "stuck", then
  // instance 1 stopped (SIGSTOP; resumed by the test).
  void StartWithInstance1Stopped(Member** a, Member** c) {
    ASSERT_NO_FATAL_FAILURE(StartCluster(3, {"--cluster-timeout", "300ms"}));
    ASSERT_NO_FATAL_FAILURE(Join(0, "stuck", "a", a));
    JOIN(b, 1, "stuck");
    ASSERT_NO_FATAL_FAILURE(Join(2, "stuck", "c", c));
    for (Member* m : {*a, b, *c}) ASSERT_TRUE(SeesExactly(*m, Ids({0, 1, 2})));
    instance(1).Pause();
  }

  grpc::Status GetRoom(int i, const std::string& room, v1::Room* out) {
    v1::GetRoomRequest request;
    request.set_room_id(room);
    return Stub(i)->GetRoom(Call().get(), request, out);
  }
};

// The member of `room` with `id`, or null.
const v1::Member* FindMember(const v1::Room& room, uint32_t id) {
  for (const v1::Member& m : room.members()) {
    if (m.id() == id) return &m;
  }
  return nullptr;
}

std::vector<std::string> Unanswered(const google::protobuf::RepeatedPtrField<std::string>& ids) {
  return std::vector<std::string>(ids.begin(), ids.end());
}

// Members on i0 and i1; i2 holds none of them and answers every RPC for
// the whole room: GetRoom with each member's instance, position and press;
// ListRooms with the cluster-wide count; a kick of a member of i1; a
// CloseRoom of everyone left.
TEST_F(ClusterControlTest, EveryRpcOfAnInstanceWithoutMembersAnswersForTheCluster) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(3));
  JOIN(a, 0, "doc?user=alice&name=Alice");
  JOIN(b, 1, "doc?user=bob");
  JOIN(c, 1, "doc");
  for (Member* m : {a, b, c}) ASSERT_TRUE(SeesExactly(*m, Ids({0, 1, 2})));
  b->Move(300, 400);
  b->Press();
  // The marker: once a has b's press, b's instance has its move and press.
  ASSERT_TRUE(a->WaitForMessage(Pressed(1))) << a->Describe();

  v1::Room room;
  grpc::Status status = GetRoom(2, "doc", &room);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(room.member_count(), 3);
  EXPECT_TRUE(room.unanswered_instances().empty());
  const v1::Member* alice = FindMember(room, 0);
  const v1::Member* bob = FindMember(room, 1);
  ASSERT_TRUE(alice != nullptr && bob != nullptr && FindMember(room, 2) != nullptr)
      << room.DebugString();
  EXPECT_EQ(alice->user_id(), "alice");
  EXPECT_EQ(alice->display_name(), "Alice");
  EXPECT_EQ(alice->instance_id(), instance(0).instance_id());
  EXPECT_EQ(bob->instance_id(), instance(1).instance_id());
  EXPECT_EQ(FindMember(room, 2)->instance_id(), instance(1).instance_id());
  EXPECT_TRUE(alice->remote() && bob->remote()) << "i2 has no member of its own here";
  EXPECT_EQ(bob->cursor().x(), 300u);
  EXPECT_EQ(bob->cursor().y(), 400u);
  EXPECT_TRUE(bob->clicking());
  EXPECT_FALSE(bob->remote_address().empty());

  v1::ListRoomsRequest list;
  v1::ListRoomsResponse rooms;
  status = Stub(2)->ListRooms(Call().get(), list, &rooms);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(rooms.rooms_size(), 1) << rooms.DebugString();
  EXPECT_EQ(rooms.rooms(0).id(), "doc");
  EXPECT_EQ(rooms.rooms(0).member_count(), 3);

  // The kick goes to b's instance; b sees 4000, the others its leave.
  v1::KickMemberRequest kick;
  kick.set_room_id("doc");
  kick.set_member_id(1);
  kick.set_reason("from i2");
  v1::KickMemberResponse kicked;
  status = Stub(2)->KickMember(Call().get(), kick, &kicked);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(b->WaitClosed()) << b->Describe();
  EXPECT_EQ(b->close_code(), 4000);
  EXPECT_EQ(b->close_reason(), "from i2");
  for (Member* m : {a, c}) EXPECT_TRUE(m->WaitForMessage(Left(1))) << m->Describe();
  // A member that is not there: NOT_FOUND from every instance's answer.
  status = Stub(2)->KickMember(Call().get(), kick, &kicked);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();

  v1::CloseRoomRequest close;
  close.set_room_id("doc");
  close.set_reason("closing");
  v1::CloseRoomResponse closed;
  status = Stub(2)->CloseRoom(Call().get(), close, &closed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(closed.closed_count(), 2);
  EXPECT_TRUE(closed.unanswered_instances().empty());
  for (Member* m : {a, c}) {
    ASSERT_TRUE(m->WaitClosed()) << m->Describe();
    EXPECT_EQ(m->close_code(), 4001) << m->Describe();
  }
  // Gone everywhere: the room is not found from any instance.
  ASSERT_TRUE(Eventually([&] {
    v1::Room gone;
    return GetRoom(0, "doc", &gone).error_code() == grpc::StatusCode::NOT_FOUND;
  })) << "the room outlived its members";
}

// KickUser closes the user's connections on every instance, in every room.
TEST_F(ClusterControlTest, KickUserClosesTheUsersConnectionsOnEveryInstance) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2));
  JOIN(u0, 0, "one?user=carol");
  JOIN(u1, 1, "two?user=carol");
  JOIN(other, 1, "one?user=dave");
  ASSERT_TRUE(SeesExactly(*other, Ids({0, 1})));

  v1::KickUserRequest request;
  request.set_user_id("carol");
  request.set_reason("suspended");
  v1::KickUserResponse response;
  grpc::Status status = Stub(0)->KickUser(Call().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.kicked_count(), 2);
  for (Member* m : {u0, u1}) {
    ASSERT_TRUE(m->WaitClosed()) << m->Describe();
    EXPECT_EQ(m->close_code(), 4000) << m->Describe();
  }
  EXPECT_TRUE(other->WaitForMessage(Left(0))) << other->Describe();
  EXPECT_FALSE(other->closed());
  status = Stub(1)->KickUser(Call().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
}

// ListRooms pages over rooms spread across instances: every room once, in
// byte order, with its cluster-wide count, at every page size.
TEST_F(ClusterControlTest, ListRoomsPagesOverRoomsSpreadAcrossInstances) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2));
  // r1, r3, r5 only on i0; r2, r6 only on i1; r4 and r7 on both.
  std::vector<std::pair<std::string, int>> expected = {
      {"r1", 1}, {"r2", 1}, {"r3", 1}, {"r4", 2}, {"r5", 1}, {"r6", 1}, {"r7", 3}};
  for (const char* room : {"r1", "r3", "r4", "r5", "r7", "r7"}) {
    JOIN(m, 0, room);
  }
  for (const char* room : {"r2", "r4", "r6", "r7"}) {
    JOIN(m, 1, room);
  }
  JOIN(noise, 1, "other");
  for (int page_size : {1, 2, 3, 7, 100}) {
    std::vector<std::pair<std::string, int>> seen;
    std::string token;
    for (int pages = 0; pages < 20; ++pages) {
      v1::ListRoomsRequest request;
      request.set_page_size(page_size);
      request.set_page_token(token);
      request.set_room_id_prefix("r");
      v1::ListRoomsResponse response;
      grpc::Status status = Stub(pages % 2)->ListRooms(Call().get(), request, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      EXPECT_LE(response.rooms_size(), page_size);
      EXPECT_TRUE(response.unanswered_instances().empty());
      for (const v1::Room& r : response.rooms()) seen.emplace_back(r.id(), r.member_count());
      token = response.next_page_token();
      if (token.empty()) break;
    }
    EXPECT_EQ(seen, expected) << "page size " << page_size;
  }
}

// An instance that cannot answer (stopped) is named in the answer after
// --cluster-timeout, and the others' part is there: GetRoom shows their
// members; cursorctl says which instance did not answer and exits 1.
TEST_F(ClusterControlTest, AnInstanceThatDoesNotAnswerIsNamedInGetRoom) {
  Member* a = nullptr;
  Member* c = nullptr;
  ASSERT_NO_FATAL_FAILURE(StartWithInstance1Stopped(&a, &c));

  v1::Room room;
  grpc::Status status = GetRoom(0, "stuck", &room);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(Unanswered(room.unanswered_instances()),
            std::vector<std::string>{instance(1).instance_id()});
  EXPECT_TRUE(FindMember(room, 0) != nullptr && FindMember(room, 2) != nullptr &&
              FindMember(room, 1) == nullptr)
      << room.DebugString();

  const RunResult show = Ctl(0, {"rooms", "show", "stuck"});
  EXPECT_EQ(show.exit_code, 1) << show.out << show.err;
  EXPECT_TRUE(absl::StrContains(show.err, instance(1).instance_id())) << show.err;
  EXPECT_TRUE(absl::StrContains(show.out, "Not answered in time")) << show.out;
  instance(1).Resume();
}

// The same for CloseRoom: the answering instances' members are closed and
// counted, the stopped one is named; `cursorctl instances` shows it as
// NO ANSWER and exits 1.
TEST_F(ClusterControlTest, AnInstanceThatDoesNotAnswerIsNamedInCloseRoom) {
  Member* a = nullptr;
  Member* c = nullptr;
  ASSERT_NO_FATAL_FAILURE(StartWithInstance1Stopped(&a, &c));

  v1::CloseRoomRequest close;
  close.set_room_id("stuck");
  v1::CloseRoomResponse closed;
  grpc::Status status = Stub(2)->CloseRoom(Call().get(), close, &closed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(closed.closed_count(), 2);
  EXPECT_EQ(Unanswered(closed.unanswered_instances()),
            std::vector<std::string>{instance(1).instance_id()});

  const RunResult instances = Ctl(0, {"instances"});
  EXPECT_EQ(instances.exit_code, 1) << instances.out << instances.err;
  EXPECT_TRUE(absl::StrContains(LineStartingWith(instances.out, instance(1).instance_id()),
                                "NO ANSWER"))
      << instances.out;
  instance(1).Resume();
  for (Member* m : {a, c}) {
    ASSERT_TRUE(m->WaitClosed()) << m->Describe();
    EXPECT_EQ(m->close_code(), 4001);
  }
}

// Killed just before a CloseRoom, while its lease still holds: the call
// returns after --cluster-timeout (it does not hang), closes what the live
// instances hold, and names the dead instance.
TEST_F(ClusterControlTest, AnInstanceKilledDuringACloseRoomDoesNotHangIt) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2));
  JOIN(a, 0, "kill");
  JOIN(b, 1, "kill");
  ASSERT_TRUE(SeesExactly(*a, Ids({0, 1})));
  instance(1).Kill();
  v1::CloseRoomRequest close;
  close.set_room_id("kill");
  v1::CloseRoomResponse closed;
  grpc::Status status = Stub(0)->CloseRoom(Call().get(), close, &closed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(closed.closed_count(), 1);
  // Its lease outlives it by 2 to 3 s (a heartbeat every second): asked at
  // once, it is still live in Redis, so it is asked and named.
  EXPECT_EQ(Unanswered(closed.unanswered_instances()),
            std::vector<std::string>{instance(1).instance_id()});
  ASSERT_TRUE(a->WaitClosed()) << a->Describe();
  EXPECT_EQ(a->close_code(), 4001);
}

// Reads `stream` until `last` (as Describe names it), collecting the
// events; false if the stream ends first.
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
    } else {
      continue;
    }
    events->push_back(event);
    if (event == last) return true;
  }
  return false;
}

// A watch on an instance with a member in the room sees the events of the
// members of every instance in the room's order, kicks included: c's join
// on i1, b's press, then b kicked (asked of i1, b's instance):
// member_kicked before member_left, then a's press as the marker.
TEST_F(ClusterControlTest, AWatchSeesTheEventsOfEveryInstancesMembersInOrderKicksIncluded) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2));
  JOIN(a, 0, "watched");
  JOIN(b, 1, "watched");
  ASSERT_TRUE(SeesExactly(*a, Ids({0, 1})));

  auto stub = Stub(0);
  grpc::ClientContext watch_context;
  watch_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  v1::WatchRoomRequest watch;
  watch.set_room_id("watched");
  auto stream = stub->WatchRoom(&watch_context, watch);
  v1::WatchRoomResponse message;
  ASSERT_TRUE(stream->Read(&message));
  ASSERT_TRUE(message.has_snapshot()) << message.DebugString();
  EXPECT_EQ(message.snapshot().member_count(), 2);

  JOIN(c, 1, "watched");
  b->Press();
  ASSERT_TRUE(c->WaitForMessage(Pressed(1))) << c->Describe();
  v1::KickMemberRequest kick;
  kick.set_room_id("watched");
  kick.set_member_id(1);
  kick.set_reason("out");
  v1::KickMemberResponse kicked;
  grpc::Status status = Stub(1)->KickMember(Call().get(), kick, &kicked);
  ASSERT_TRUE(status.ok()) << status.error_message();
  // The marker: a's press after all of it.
  ASSERT_TRUE(a->WaitForMessage(Left(1))) << a->Describe();
  a->Press();

  std::vector<std::string> events;
  ASSERT_TRUE(ReadEventsUntil(*stream, "click 0 1", &events)) << absl::StrJoin(events, ", ");
  EXPECT_EQ(events, (std::vector<std::string>{"joined 2", "click 1 1", "kicked 1 out", "left 1",
                                              "click 0 1"}));
  watch_context.TryCancel();
  stream->Finish();
}

// The live set is renewed with every heartbeat: deleted (or evicted) while
// the leases live, it holds every instance again within a beat, and until
// then an instance missing from it is simply not asked.
TEST_F(ClusterControlTest, TheLiveSetIsRepairedWithinAHeartbeat) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2));
  ASSERT_EQ(redis().Query({"DEL", "cursord:live"}).value_or(""), "1");
  ASSERT_TRUE(Eventually([&] {
    v1::ListInstancesResponse response;
    grpc::Status status = Stub(0)->ListInstances(Call().get(), {}, &response);
    return status.ok() && response.instances_size() == 2 && response.instances(0).answered() &&
           response.instances(1).answered();
  })) << "the live set was not repaired";
}

// `cursorctl instances` lists every instance with its figures, the one
// asked marked, in a table and in JSON; `rooms show` names each member's
// instance.
TEST_F(ClusterControlTest, CursorctlListsTheInstancesAndEachMembersInstance) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2));
  JOIN(a, 0, "show");
  JOIN(b, 1, "show");
  JOIN(c, 1, "show");
  ASSERT_TRUE(SeesExactly(*a, Ids({0, 1, 2})));

  const RunResult table = Ctl(1, {"instances"});
  ASSERT_EQ(table.exit_code, 0) << table.out << table.err;
  std::vector<std::string> rows;
  for (absl::string_view line : absl::StrSplit(table.out, '\n', absl::SkipEmpty())) {
    rows.emplace_back(line);
  }
  ASSERT_EQ(rows.size(), 3u) << table.out;  // header and two instances
  // By id; each row: id [*] ready connections rooms ...
  for (int i : {0, 1}) {
    const std::string& row = rows[1 + (instance(0).instance_id() < instance(1).instance_id()
                                           ? i
                                           : 1 - i)];
    std::vector<std::string> fields = absl::StrSplit(row, ' ', absl::SkipEmpty());
    ASSERT_GE(fields.size(), 5u) << row;
    EXPECT_EQ(fields[0], instance(i).instance_id()) << table.out;
    const size_t at = i == 1 ? 2 : 1;  // the asked instance has its "*"
    if (i == 1) {
      EXPECT_EQ(fields[1], "*") << row;
    }
    EXPECT_EQ(fields[at], "ready") << row;
    EXPECT_EQ(fields[at + 1], i == 0 ? "1" : "2") << row;  // connections
    EXPECT_EQ(fields[at + 2], "1") << row;                  // rooms
  }
  const RunResult json = Ctl(0, {"-o", "json", "instances"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_TRUE(absl::StrContains(json.out, absl::StrCat("\"selfInstanceId\":\"",
                                                       instance(0).instance_id(), "\"")))
      << json.out;
  for (int i : {0, 1}) {
    EXPECT_TRUE(absl::StrContains(json.out, absl::StrCat("\"instanceId\":\"",
                                                         instance(i).instance_id(), "\"")))
        << json.out;
  }

  // Users: the room's members grouped, across instances.
  JOIN(d, 0, "show?user=dee");
  JOIN(e, 1, "show?user=dee");
  ASSERT_TRUE(SeesExactly(*a, Ids({0, 1, 2, 3, 4})));
  const RunResult users = Ctl(1, {"rooms", "users", "show"});
  ASSERT_EQ(users.exit_code, 0) << users.err;
  const std::string dee = LineStartingWith(users.out, "dee");
  EXPECT_TRUE(absl::StrContains(dee, " 2 ")) << users.out;  // two connections
  EXPECT_TRUE(absl::StrContains(dee, "3,4")) << users.out;
  EXPECT_TRUE(absl::StrContains(dee, instance(0).instance_id()) &&
              absl::StrContains(dee, instance(1).instance_id()))
      << users.out;
  const RunResult users_json = Ctl(0, {"-o", "json", "rooms", "users", "show"});
  ASSERT_EQ(users_json.exit_code, 0) << users_json.err;
  EXPECT_TRUE(absl::StrContains(users_json.out, "\"userId\":\"dee\",\"memberIds\":[3,4],"
                                                "\"connectionCount\":2"))
      << users_json.out;

  const RunResult show = Ctl(0, {"rooms", "show", "show"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  for (const auto& [id, owner] :
       std::vector<std::pair<std::string, int>>{{"0", 0}, {"1", 1}, {"2", 1}}) {
    EXPECT_TRUE(absl::StrContains(LineStartingWith(show.out, id), instance(owner).instance_id()))
        << show.out;
  }
}

// Connection records from every instance, asked of one that holds none of
// them: merged newest first, paged across instances, each session naming
// its instance; a leave shows how it ended.
TEST_F(ClusterControlTest, SessionsOfEveryInstanceFromAnyInstance) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(3));
  JOIN(a, 0, "rec?user=ann");
  JOIN(b, 1, "rec?user=bob");
  JOIN(c, 0, "rec2?user=ann");
  JOIN(d, 1, "rec2?user=dee");
  b->Leave();
  ASSERT_TRUE(a->WaitForMessage(Left(1))) << a->Describe();

  // From instance 2, which holds none: all four, newest first, once its
  // copy of the cluster's records has bob's leave (it reads the stream
  // every 50 ms).
  RunResult all;
  ASSERT_TRUE(Eventually([&] {
    all = Ctl(2, {"-o", "json", "sessions", "--limit", "0"});
    return all.exit_code == 0 && absl::StrContains(all.out, "\"endReason\":\"left\"");
  })) << all.out << all.err;
  const std::vector<std::string> lines = absl::StrSplit(all.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u) << all.out;
  const std::vector<std::string> order = {"dee", "ann", "bob", "ann"};
  const std::vector<int> owners = {1, 0, 1, 0};
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_TRUE(absl::StrContains(lines[i], absl::StrCat("\"userId\":\"", order[i], "\"")))
        << i << ": " << all.out;
    EXPECT_TRUE(absl::StrContains(
        lines[i], absl::StrCat("\"instanceId\":\"", instance(owners[i]).instance_id(), "\"")))
        << i << ": " << all.out;
  }
  EXPECT_TRUE(absl::StrContains(lines[2], "\"endReason\":\"left\"")) << all.out;

  // Pages of one through the gRPC API: the same order, no repeats.
  auto stub = Stub(2);
  std::vector<std::string> paged;
  std::string token;
  for (int page = 0; page < 10; ++page) {
    v1::ListSessionsRequest request;
    request.set_page_size(1);
    request.set_page_token(token);
    v1::ListSessionsResponse response;
    ASSERT_TRUE(stub->ListSessions(Call().get(), request, &response).ok());
    ASSERT_EQ(response.unanswered_instances_size(), 0);
    for (const v1::Session& session : response.sessions()) paged.push_back(session.user_id());
    token = response.next_page_token();
    if (token.empty()) break;
  }
  EXPECT_EQ(paged, order);

  // Filters: a room, a user.
  const RunResult ann = Ctl(1, {"sessions", "--user", "ann"});
  ASSERT_EQ(ann.exit_code, 0) << ann.err;
  EXPECT_EQ(std::vector<std::string>(absl::StrSplit(ann.out, '\n', absl::SkipEmpty())).size(),
            3u)  // the header and two sessions
      << ann.out;
  EXPECT_TRUE(absl::StrContains(ann.out, "INSTANCE")) << ann.out;
  const RunResult rec2 = Ctl(0, {"-o", "json", "sessions", "--room", "rec2"});
  ASSERT_EQ(rec2.exit_code, 0) << rec2.err;
  EXPECT_EQ(std::vector<std::string>(absl::StrSplit(rec2.out, '\n', absl::SkipEmpty())).size(),
            2u)
      << rec2.out;

  // A kick from the instance that holds none, routed to dee's: her session
  // ends "kicked" (4000) in every instance's records.
  const RunResult kick = Ctl(2, {"kick", "rec2", std::to_string(d->id())});
  ASSERT_EQ(kick.exit_code, 0) << kick.out << kick.err;
  ASSERT_TRUE(d->WaitClosed()) << d->Describe();
  for (int i : {0, 2}) {
    RunResult dee;
    ASSERT_TRUE(Eventually([&] {
      dee = Ctl(i, {"-o", "json", "sessions", "--user", "dee"});
      return dee.exit_code == 0 && absl::StrContains(dee.out, "\"endReason\":\"kicked\"");
    })) << i << ": " << dee.out << dee.err;
    EXPECT_TRUE(absl::StrContains(dee.out, "\"closeCode\":4000")) << dee.out;
  }
}

// The records are the cluster's (a Redis stream every instance reads):
// the sessions of an instance killed with kill -9 are still listed, those
// it held then end with "instance_died" (written by the reaper), and every
// instance lists the same.
TEST_F(ClusterControlTest, SessionsOfAKilledInstanceOutliveItAndEndWithInstanceDied) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(3));
  JOIN(a, 0, "died?user=ann");
  JOIN(gone, 1, "died?user=gus");
  JOIN(kim, 1, "died?user=kim");
  gone->Leave();
  ASSERT_TRUE(a->WaitForMessage(Left(1))) << a->Describe();
  const std::string killed = instance(1).instance_id();
  instance(1).Kill();
  // The reaper frees kim within lease + heartbeat.
  ASSERT_TRUE(a->WaitForMessage(Left(2))) << a->Describe();

  for (int i : {0, 2}) {
    RunResult kims;
    ASSERT_TRUE(Eventually([&] {
      kims = Ctl(i, {"-o", "json", "sessions", "--user", "kim"});
      return kims.exit_code == 0 && absl::StrContains(kims.out, "instance_died");
    })) << i << ": " << kims.out << kims.err;
    EXPECT_TRUE(absl::StrContains(kims.out, "\"endReason\":\"instance_died\"")) << kims.out;
    EXPECT_TRUE(absl::StrContains(kims.out, "\"closeCode\":1006")) << kims.out;
    EXPECT_TRUE(absl::StrContains(kims.out, absl::StrCat("\"instanceId\":\"", killed, "\"")))
        << kims.out;
    const RunResult gus = Ctl(i, {"-o", "json", "sessions", "--user", "gus"});
    ASSERT_EQ(gus.exit_code, 0) << gus.err;
    EXPECT_TRUE(absl::StrContains(gus.out, "\"endReason\":\"left\"")) << gus.out;
    // ann's session is open: no end.
    const RunResult ann = Ctl(i, {"-o", "json", "sessions", "--user", "ann"});
    ASSERT_EQ(ann.exit_code, 0) << ann.err;
    EXPECT_FALSE(absl::StrContains(ann.out, "endTime")) << ann.out;
    EXPECT_TRUE(absl::StrContains(ann.out, "\"endReason\":\"\"")) << ann.out;
    EXPECT_TRUE(absl::StrContains(ann.out, "\"userId\":\"ann\"")) << ann.out;
  }
  // One leave per session: the reaper's and no other.
  const RunResult room = Ctl(2, {"-o", "json", "sessions", "--room", "died"});
  ASSERT_EQ(room.exit_code, 0) << room.err;
  EXPECT_EQ(std::vector<std::string>(absl::StrSplit(room.out, '\n', absl::SkipEmpty())).size(),
            3u)
      << room.out;
}

// WatchActivity from an instance that holds none of the sessions: joins and
// leaves of every instance in the stream's order, each with the position
// the same records have on every instance; a consumer that reconnects
// after its last position misses nothing and sees nothing twice.
TEST_F(ClusterControlTest, ActivityFeedOfTheClusterResumesWithoutGaps) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(3));
  auto stub = Stub(2);
  v1::WatchActivityRequest request;
  request.set_room_prefix("feed");
  request.set_after("0");  // from the oldest: the stream may start after the joins
  auto call = Call();
  auto reader = stub->WatchActivity(call.get(), request);
  JOIN(a, 0, "feed-1?user=ann");
  JOIN(b, 1, "feed-1?user=bob");
  JOIN(other, 1, "elsewhere?user=oz");  // not under the prefix
  b->Leave();
  ASSERT_TRUE(a->WaitForMessage(Left(1))) << a->Describe();
  std::vector<v1::ActivityEvent> seen;
  v1::ActivityEvent event;
  while (seen.size() < 3 && reader->Read(&event)) seen.push_back(event);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].kind(), v1::ActivityEvent::JOINED);
  EXPECT_EQ(seen[0].session().user_id(), "ann");
  EXPECT_EQ(seen[0].session().instance_id(), instance(0).instance_id());
  EXPECT_EQ(seen[1].session().user_id(), "bob");
  EXPECT_EQ(seen[1].session().instance_id(), instance(1).instance_id());
  EXPECT_EQ(seen[2].kind(), v1::ActivityEvent::LEFT);
  EXPECT_EQ(seen[2].session().user_id(), "bob");
  EXPECT_EQ(seen[2].session().end_reason(), "left");
  EXPECT_EQ(seen[2].session().session_id(), seen[1].session().session_id());
  for (const auto& e : seen) EXPECT_FALSE(e.missed());
  call->TryCancel();
  while (reader->Read(&event)) {
  }
  reader->Finish();

  // Away: two more sessions come and one goes.
  JOIN(c, 0, "feed-2?user=cy");
  JOIN(d, 1, "feed-1?user=dee");
  a->Leave();
  ASSERT_TRUE(d->WaitForMessage(Left(0))) << d->Describe();

  // Back, on another instance, after the last position seen: exactly the
  // three records since, then a marker session joined after resuming.
  request.set_after(seen.back().position());
  auto call2 = Call();
  auto resumed = Stub(0)->WatchActivity(call2.get(), request);
  JOIN(marker, 2, "feed-marker");
  std::vector<std::string> after;
  while (resumed->Read(&event)) {
    after.push_back(absl::StrCat(event.kind() == v1::ActivityEvent::JOINED ? "+" : "-",
                                 event.session().room_id(), "/", event.session().user_id(),
                                 event.missed() ? " missed" : ""));
    if (event.session().room_id() == "feed-marker") break;
  }
  // The records of instance 0 (cy's join, ann's leave) and of instance 1
  // (dee's join) race to the stream: any order, but each once, and the
  // marker (joined after resuming) last.
  ASSERT_EQ(after.size(), 4u) << ::testing::PrintToString(after);
  EXPECT_EQ(after.back(), "+feed-marker/");
  std::sort(after.begin(), after.end() - 1);
  EXPECT_EQ(after, (std::vector<std::string>{"+feed-1/dee", "+feed-2/cy", "-feed-1/ann",
                                             "+feed-marker/"}));
  call2->TryCancel();
  while (resumed->Read(&event)) {
  }
  resumed->Finish();

  // A position no server gives.
  request.set_after("soon");
  auto call3 = Call();
  auto bad = Stub(1)->WatchActivity(call3.get(), request);
  EXPECT_FALSE(bad->Read(&event));
  EXPECT_EQ(bad->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace cursord::testing
