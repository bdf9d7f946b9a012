// Protocol v2 end to end (docs/PROTOCOL.md, "Protocol v2"): the real server
// in-process, real WebSocket clients offering cursord.v2 or nothing.
#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "server/core/member_color.h"
#include "server/core/wire.h"
#include "tests/edge/edge_fixture.h"
#include "tests/testing/ws_test_client.h"

namespace cursord::testing {
namespace {

WsTestClient::Options Offering(const std::string& subprotocols) {
  WsTestClient::Options options;
  options.headers.emplace_back("Sec-WebSocket-Protocol", subprotocols);
  return options;
}
WsTestClient::Options V2() { return Offering("cursord.v2"); }

Bytes Info(uint8_t id, core::Rgb color, const std::string& user, const std::string& name) {
  return MemberInfoMessage(id, {color.r, color.g, color.b}, user, name);
}
Bytes State(uint8_t id, const std::string& state) { return MemberStateMessage(id, state); }
std::string Text(const Bytes& bytes, size_t from) {
  return std::string(bytes.begin() + static_cast<long>(from), bytes.end());
}

class ProtocolV2Test : public EdgeTest {
 protected:
  // Joins speaking v2: reads 01, 02 and the 08 of every member of the 02.
  std::unique_ptr<WsTestClient> JoinV2(const std::string& target, uint8_t* id) {
    auto client = WsTestClient::Connect(port_, target, V2());
    EXPECT_TRUE(client.ok()) << client.status();
    if (!client.ok()) return nullptr;
    std::vector<uint8_t> members;
    auto joined = (*client)->ReadJoin(&members);
    EXPECT_TRUE(joined.ok()) << joined.status();
    if (!joined.ok()) return nullptr;
    *id = *joined;
    for (uint8_t member : members) {
      std::optional<Bytes> info = (*client)->Read();
      EXPECT_TRUE(info && info->size() >= 2 && (*info)[0] == 0x08 && (*info)[1] == member);
    }
    return std::move(*client);
  }
  // Reads the `03 id` and `08 id ...` a v2 member gets for a join.
  static void ReadJoinedV2(WsTestClient& client, uint8_t id) {
    EXPECT_EQ(client.Read(), B({0x03, id}));
    std::optional<Bytes> info = client.Read();
    EXPECT_TRUE(info && info->size() >= 2 && (*info)[0] == 0x08 && (*info)[1] == id);
  }
};

TEST_F(ProtocolV2Test, TheSubprotocolIsEchoedOnlyWhenAsked) {
  StartServer();
  struct Case {
    std::string offered;  // "" = no header
    std::string selected;
  };
  for (const Case& c : std::vector<Case>{{"", ""},
                                         {"cursord.v1", "cursord.v1"},
                                         {"cursord.v2", "cursord.v2"},
                                         {"cursord.v1, cursord.v2", "cursord.v2"},
                                         {"cursord.v2, cursord.v1", "cursord.v2"},
                                         {"chat, cursord.v1", "cursord.v1"}}) {
    auto client = WsTestClient::Connect(port_, "/rooms/echo",
                                        c.offered.empty() ? WsTestClient::Options{}
                                                          : Offering(c.offered));
    ASSERT_TRUE(client.ok()) << c.offered << ": " << client.status();
    EXPECT_EQ((*client)->subprotocol(), c.selected) << c.offered;
    ASSERT_TRUE((*client)->ReadJoin().ok());
  }
}

TEST_F(ProtocolV2Test, V1AndV2MembersShareARoomAndOnlyV2LearnsWhoIsWho) {
  StartServer();
  uint8_t a_id, b_id, c_id;
  auto a = Join("/rooms/mixed?user=u-ann&name=Ann&color=%23112233", &a_id);  // v1
  ASSERT_TRUE(a);
  auto b = WsTestClient::Connect(port_, "/rooms/mixed?user=bob&name=Bob", V2());
  ASSERT_TRUE(b.ok());
  std::vector<uint8_t> members;
  auto b_joined = (*b)->ReadJoin(&members);
  ASSERT_TRUE(b_joined.ok());
  b_id = *b_joined;
  EXPECT_EQ(members, std::vector<uint8_t>({a_id, b_id}));
  // Who everyone is, in id order, the newcomer included; a derived colour
  // for Bob, who gave none.
  EXPECT_EQ((*b)->Read(), Info(a_id, core::Rgb{0x11, 0x22, 0x33}, "u-ann", "Ann"));
  const core::Rgb bob = core::MemberColor("", "bob", "Bob", b_id);
  EXPECT_EQ((*b)->Read(), Info(b_id, bob, "bob", "Bob"));
  // a (v1) hears 03 and nothing more: its next message is b's move.
  EXPECT_EQ(a->Read(), B({0x03, b_id}));
  (*b)->SendBinary(CursorMessage(1, 2));
  EXPECT_EQ(a->Read(), B({0x05, b_id, 0, 1, 0, 2}));

  // A join reaches b as 03 then 08; a gets the v1 bytes only.
  auto c = Join("/rooms/mixed?name=Cy", &c_id, V2());
  ASSERT_TRUE(c);
  EXPECT_EQ((*b)->Read(), B({0x03, c_id}));
  EXPECT_EQ((*b)->Read(), Info(c_id, core::MemberColor("", "", "Cy", c_id), "", "Cy"));
  EXPECT_EQ(a->Read(), B({0x03, c_id}));
  (*b)->SendBinary(CursorMessage(3, 4));
  EXPECT_EQ(a->Read(), B({0x05, b_id, 0, 3, 0, 4}));
  // The same colour on a reconnect (stable, not per connection).
  (*b)->Close();
  auto b2 = WsTestClient::Connect(port_, "/rooms/mixed?user=bob&name=Bob", V2());
  ASSERT_TRUE(b2.ok());
  auto b2_id = (*b2)->ReadJoin();
  ASSERT_TRUE(b2_id.ok());
  // The 08s in id order: b2 took b's id back, between a's and c's.
  ASSERT_EQ(*b2_id, b_id);
  ASSERT_TRUE((*b2)->Read());  // a's
  EXPECT_EQ((*b2)->Read(), Info(*b2_id, bob, "bob", "Bob"));
}

TEST_F(ProtocolV2Test, StateReachesV2MembersAndLateJoinersAndGoesWithTheLeave) {
  StartServer();
  uint8_t a_id, b_id, v1_id;
  auto a = JoinV2("/rooms/state", &a_id);
  auto b = JoinV2("/rooms/state", &b_id);
  auto v1 = Join("/rooms/state", &v1_id);
  ASSERT_TRUE(a && b && v1);
  ReadJoinedV2(*a, b_id);
  ReadJoinedV2(*a, v1_id);
  ReadJoinedV2(*b, v1_id);

  a->SendBinary(SetStateMessage("{\"sel\":[3,9]}"));
  EXPECT_EQ(b->Read(), State(a_id, "{\"sel\":[3,9]}"));
  // The v1 member gets none of it: a's move is the next thing it hears.
  a->SendBinary(CursorMessage(5, 5));
  EXPECT_EQ(v1->Read(), B({0x05, a_id, 0, 5, 0, 5}));
  EXPECT_EQ(b->Read(), B({0x05, a_id, 0, 5, 0, 5}));
  // Never echoed: a's next message is b's.
  b->SendBinary(CursorMessage(6, 6));
  EXPECT_EQ(a->Read(), B({0x05, b_id, 0, 6, 0, 6}));

  // The control plane shows it.
  absl::StatusOr<core::RoomSnapshot> snapshot = Snapshot("state");
  ASSERT_TRUE(snapshot.ok());
  EXPECT_EQ(snapshot->members[a_id].state, "{\"sel\":[3,9]}");
  EXPECT_EQ(snapshot->members[b_id].state, "");

  // A late v2 joiner gets it after a's position.
  uint8_t late_id;
  auto late = JoinV2("/rooms/state", &late_id);
  ASSERT_TRUE(late);
  EXPECT_EQ(late->Read(), B({0x05, a_id, 0, 5, 0, 5}));
  EXPECT_EQ(late->Read(), State(a_id, "{\"sel\":[3,9]}"));
  EXPECT_EQ(late->Read(), B({0x05, b_id, 0, 6, 0, 6}));

  // An empty state clears it.
  a->SendBinary(SetStateMessage(""));
  EXPECT_EQ(late->Read(), State(a_id, ""));

  // Set again, then a leaves: its state goes, and the next owner of its id
  // starts without one.
  a->SendBinary(SetStateMessage("typing"));
  EXPECT_EQ(late->Read(), State(a_id, "typing"));
  a->Close();
  EXPECT_EQ(late->Read(), B({0x04, a_id}));
  uint8_t next_id;
  auto next = JoinV2("/rooms/state", &next_id);
  ASSERT_TRUE(next);
  EXPECT_EQ(next_id, a_id);
  // Its sequence after the 08s: b's position, and no 09.
  EXPECT_EQ(next->Read(), B({0x05, b_id, 0, 6, 0, 6}));
  b->SendBinary(CursorMessage(7, 7));
  EXPECT_EQ(next->Read(), B({0x05, b_id, 0, 7, 0, 7}));
}

TEST_F(ProtocolV2Test, AStateSetBeforeAClickArrivesBeforeIt) {
  StartServer();
  uint8_t a_id, b_id;
  auto a = JoinV2("/rooms/order", &a_id);
  auto b = JoinV2("/rooms/order", &b_id);
  ASSERT_TRUE(a && b);
  a->SendBinary(SetStateMessage("s1"));
  a->SendBinary(B({0x06}));
  EXPECT_EQ(b->Read(), State(a_id, "s1"));
  EXPECT_EQ(b->Read(), B({0x06, a_id}));
}

TEST_F(ProtocolV2Test, OverTheRateLimitAStateSetBeforeAClickStillArrivesBeforeIt) {
  edge::ServerOptions options;
  options.max_message_rate = 1;
  options.message_burst = 2;
  StartServer(options);
  uint8_t a_id, b_id;
  auto a = JoinV2("/rooms/limited", &a_id);
  auto b = JoinV2("/rooms/limited", &b_id);
  ASSERT_TRUE(a && b);
  a->SendBinary(CursorMessage(1, 1));  // the burst
  a->SendBinary(CursorMessage(2, 2));
  a->SendBinary(SetStateMessage("s1"));  // kept aside
  a->SendBinary(B({0x06}));              // kept aside
  // Within a second a token frees them, in order.
  std::vector<Bytes> seen;
  while (seen.empty() || seen.back() != B({0x06, a_id})) {
    std::optional<Bytes> message = b->Read();
    ASSERT_TRUE(message.has_value());
    seen.push_back(*message);
  }
  const auto at = [&](const Bytes& wanted) {
    return std::find(seen.begin(), seen.end(), wanted) - seen.begin();
  };
  EXPECT_LT(at(State(a_id, "s1")), at(B({0x06, a_id})));
}

TEST_F(ProtocolV2Test, AFloodOfStatesIsCoalescedLatestWins) {
  edge::ServerOptions options;
  options.max_message_rate = 0;  // the flood is the point
  StartServer(options);
  WsTestClient::Options small = V2();
  small.receive_buffer = 4 * 1024;
  uint8_t reader_id, writer_id;
  auto reader = Join("/rooms/flood", &reader_id, small);  // its own 08 is read below
  auto writer = JoinV2("/rooms/flood", &writer_id);
  ASSERT_TRUE(reader && writer);
  // 8000 states of 200 bytes (1.6 MB) while the reader does not read: a
  // queue per message would hold them all; coalescing keeps the newest.
  constexpr int kStates = 8000;
  const uint64_t coalesced_before = Counter("state_coalesced");
  std::thread writing([&] {
    for (int i = 0; i < kStates; ++i) {
      std::string state = std::to_string(i);
      state.resize(200, '.');
      writer->SendBinary(SetStateMessage(state));
      if (i % 256 == 0) {
        while (writer->Read(absl::ZeroDuration())) {
        }
      }
    }
    // The marker: a press, an event, takes the writer's pending state
    // along ahead of it.
    writer->SendBinary(B({0x06}));
  });
  writing.join();
  EXPECT_GT(Counter("state_coalesced") - coalesced_before, uint64_t{2000});
  // The reader catches up: states in order, the newest last, then the marker.
  int received = 0;
  int last = -1;
  for (;;) {
    std::optional<Bytes> message = reader->Read();
    ASSERT_TRUE(message.has_value()) << "after " << received << " states";
    if ((*message)[0] == 0x08 || (*message)[0] == 0x03) continue;  // joins
    if ((*message)[0] == 0x06) break;
    ASSERT_EQ((*message)[0], 0x09);
    ASSERT_EQ((*message)[1], writer_id);
    const int index = std::stoi(Text(*message, 2));
    EXPECT_GT(index, last);
    last = index;
    ++received;
  }
  EXPECT_EQ(last, kStates - 1);
  EXPECT_LT(received, kStates);
}

TEST_F(ProtocolV2Test, AnOversizeStateCloses1009AndTheRoomGoesOn) {
  edge::ServerOptions options;
  options.max_state_bytes = 32;
  StartServer(options);
  uint8_t a_id, b_id;
  auto a = JoinV2("/rooms/big", &a_id);
  auto b = JoinV2("/rooms/big", &b_id);
  ASSERT_TRUE(a && b);
  ReadJoinedV2(*a, b_id);
  b->SendBinary(SetStateMessage(std::string(32, 'x')));  // at the limit: fine
  EXPECT_EQ(a->Read(), State(b_id, std::string(32, 'x')));
  b->SendBinary(SetStateMessage(std::string(33, 'x')));
  ASSERT_TRUE(b->WaitClosed());
  EXPECT_EQ(b->close_code(), 1009);
  EXPECT_EQ(b->close_reason(), "state too large");
  EXPECT_EQ(Counter("closes_1009_too_big"), 1u);
  // The oversize state never reached anyone: a hears the leave next.
  EXPECT_EQ(a->Read(), B({0x04, b_id}));
}

TEST_F(ProtocolV2Test, AV1ClientsStateMessageIsIgnoredAndCounted) {
  StartServer();
  uint8_t a_id, b_id;
  auto a = Join("/rooms/v1state", &a_id);
  auto b = JoinV2("/rooms/v1state", &b_id);
  ASSERT_TRUE(a && b);
  a->SendBinary(SetStateMessage("nope"));
  a->SendBinary(CursorMessage(1, 1));
  // b (v2) hears a's move, and no state.
  EXPECT_EQ(b->Read(), B({0x05, a_id, 0, 1, 0, 1}));
  EXPECT_EQ(Counter("messages_ignored_unknown"), 1u);
}

}  // namespace
}  // namespace cursord::testing
