// Protocol v2 across instances (docs/PROTOCOL.md, "Protocol v2"; docs/
// BACKPLANE.md, "member states"): who each member is and its state reach
// v2 members on every instance, latest-wins, kept for late joiners on an
// instance new to the room, and gone with the leave.
#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/cluster/cluster_fixture.h"
#include "tests/testing/ws_test_client.h"

namespace cursord::testing {
namespace {

using ClusterProtocolV2Test = ClusterTest;

// Joins speaking v2: reads 01, 02 and the 08 of every member of the 02
// (into `infos`).
std::unique_ptr<WsTestClient> JoinV2(int port, const std::string& target, uint8_t* id,
                                     std::vector<Bytes>* infos = nullptr) {
  WsTestClient::Options options;
  options.headers.emplace_back("Sec-WebSocket-Protocol", "cursord.v2");
  auto client = WsTestClient::Connect(port, target, options);
  EXPECT_TRUE(client.ok()) << client.status();
  if (!client.ok()) return nullptr;
  EXPECT_EQ((*client)->subprotocol(), "cursord.v2");
  std::vector<uint8_t> members;
  auto joined = (*client)->ReadJoin(&members);
  EXPECT_TRUE(joined.ok()) << joined.status();
  if (!joined.ok()) return nullptr;
  *id = *joined;
  for (size_t i = 0; i < members.size(); ++i) {
    std::optional<Bytes> info = (*client)->Read();
    EXPECT_TRUE(info.has_value());
    if (!info) return nullptr;
    if (infos != nullptr) infos->push_back(*info);
  }
  return std::move(*client);
}

// Reads `client` until `wanted` arrives; false if the connection closes or
// nothing arrives for 5 s first.
bool ReadUntil(WsTestClient& client, const Bytes& wanted) {
  for (;;) {
    std::optional<Bytes> message = client.Read();
    if (!message) return false;
    if (*message == wanted) return true;
  }
}

TEST_F(ClusterProtocolV2Test, InfoAndStateCrossInstancesAndReachLateJoinersOnANewInstance) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(3));
  uint8_t a_id, b_id;
  auto a = JoinV2(instance(0).port(), "/rooms/v2room?user=ann&name=Ann&color=%23102030", &a_id);
  ASSERT_TRUE(a);
  std::vector<Bytes> b_infos;
  auto b = JoinV2(instance(1).port(), "/rooms/v2room?user=bob&name=Bob", &b_id, &b_infos);
  ASSERT_TRUE(b);
  // b, on another instance, learns who a is from the backplane's join.
  // bob's colour is derived from its user id: FNV-1a-32("bob") mod 360 =
  // hue 284 at 70 %, 45 % is #9822c3 (docs/PROTOCOL.md, "Colour").
  const Bytes bob_color = {0x98, 0x22, 0xc3};
  EXPECT_EQ(b_infos, std::vector<Bytes>({MemberInfoMessage(a_id, {0x10, 0x20, 0x30}, "ann", "Ann"),
                                          MemberInfoMessage(b_id, bob_color, "bob", "Bob")}));
  EXPECT_EQ(a->Read(), Bytes({0x03, b_id}));
  EXPECT_EQ(a->Read(), MemberInfoMessage(b_id, bob_color, "bob", "Bob"));

  // a's state reaches b on the other instance; a later one supersedes it.
  a->SendBinary(SetStateMessage("sel:1-4"));
  EXPECT_TRUE(ReadUntil(*b, MemberStateMessage(a_id, "sel:1-4")));
  a->SendBinary(SetStateMessage("sel:2-9"));
  EXPECT_TRUE(ReadUntil(*b, MemberStateMessage(a_id, "sel:2-9")));
  b->SendBinary(SetStateMessage("typing"));
  EXPECT_TRUE(ReadUntil(*a, MemberStateMessage(b_id, "typing")));

  // The control plane of the instance that holds neither shows both
  // states (base64 in JSON: "sel:2-9" and "typing").
  const RunResult show = Ctl(2, {"-o", "json", "rooms", "show", "v2room"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("\"state\":\"c2VsOjItOQ==\""), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("\"state\":\"dHlwaW5n\""), std::string::npos) << show.out;

  // A late joiner on the third instance (new to the room) gets both states
  // in its join sequence's wake, as the other instances publish them.
  uint8_t c_id;
  auto c = JoinV2(instance(2).port(), "/rooms/v2room", &c_id);
  ASSERT_TRUE(c);
  bool seen_a = false, seen_b = false;
  while (!(seen_a && seen_b)) {
    std::optional<Bytes> message = c->Read();
    ASSERT_TRUE(message.has_value()) << "a's: " << seen_a << ", b's: " << seen_b;
    seen_a = seen_a || *message == MemberStateMessage(a_id, "sel:2-9");
    seen_b = seen_b || *message == MemberStateMessage(b_id, "typing");
  }

  // a leaves: its state goes with it; the next owner of its id has none.
  a->Close();
  EXPECT_TRUE(ReadUntil(*c, Bytes({0x04, a_id})));
  uint8_t d_id;
  auto d = JoinV2(instance(1).port(), "/rooms/v2room", &d_id);
  ASSERT_TRUE(d);
  EXPECT_EQ(d_id, a_id);
  // The marker: c's state, set after d joined, arrives at d with nothing of
  // a's before it.
  c->SendBinary(SetStateMessage("marker"));
  for (;;) {
    std::optional<Bytes> message = d->Read();
    ASSERT_TRUE(message.has_value());
    ASSERT_NE(*message, MemberStateMessage(a_id, "sel:2-9"));
    if (*message == MemberStateMessage(c_id, "marker")) break;
  }
}

// A state cleared while Redis was away is cleared on the other instances
// by the resync after it (member states go out whole then, empty ones
// too), and a later joiner there never gets the stale one.
TEST_F(ClusterProtocolV2Test, AStateClearedWhileRedisWasAwayIsClearedEverywhereAfter) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2));
  uint8_t a_id, a2_id, b_id;
  auto a = JoinV2(instance(0).port(), "/rooms/gap?user=ann", &a_id);
  ASSERT_TRUE(a);
  auto a2 = JoinV2(instance(0).port(), "/rooms/gap?user=al", &a2_id);
  ASSERT_TRUE(a2);
  auto b = JoinV2(instance(1).port(), "/rooms/gap?user=bob", &b_id);
  ASSERT_TRUE(b);
  a->SendBinary(CursorMessage(5, 5));
  a->SendBinary(SetStateMessage("sel"));
  ASSERT_TRUE(ReadUntil(*b, MemberStateMessage(a_id, "sel")));
  ASSERT_TRUE(ReadUntil(*a2, MemberStateMessage(a_id, "sel")));

  redis().Stop(SIGKILL);
  ASSERT_TRUE(AllHealth("degraded"));
  a->SendBinary(SetStateMessage(""));  // cleared while Redis is away
  ASSERT_TRUE(ReadUntil(*a2, MemberStateMessage(a_id, "")));  // applied on instance 0
  ASSERT_TRUE(redis().Restart().ok());
  ASSERT_TRUE(AllHealth("ok", absl::Seconds(10)));
  // Instance 1 resynchronises: instance 0's member states reach it again,
  // the empty one included (whichever instance subscribed again first).
  EXPECT_TRUE(ReadUntil(*b, MemberStateMessage(a_id, ""))) << "b still holds a's old state";
  // A joiner on instance 1 gets no stale state: a's next one (the marker)
  // is the first of a's it sees.
  uint8_t c_id;
  auto c = JoinV2(instance(1).port(), "/rooms/gap?user=cy", &c_id);
  ASSERT_TRUE(c);
  ASSERT_TRUE(ReadUntil(*a, Bytes({0x03, c_id})));
  a->SendBinary(SetStateMessage("marker"));
  for (;;) {
    std::optional<Bytes> m = c->Read();
    ASSERT_TRUE(m.has_value());
    ASSERT_NE(*m, MemberStateMessage(a_id, "sel")) << "the joiner got a's stale state";
    if (*m == MemberStateMessage(a_id, "marker")) break;
  }
}

}  // namespace
}  // namespace cursord::testing
