// Who may join, end to end: origins, connection and room limits, client
// addresses behind trusted proxies, and join tokens, against the real
// server with real WebSocket clients.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/core/join_token.h"
#include "tests/edge/edge_fixture.h"
#include "tests/testing/ws_test_client.h"

namespace cursord::testing {
namespace {

constexpr char kSecret[] = "a-join-secret-of-at-least-32-bytes!!";

WsTestClient::Options WithHeaders(std::vector<std::pair<std::string, std::string>> headers) {
  WsTestClient::Options options;
  options.headers = std::move(headers);
  return options;
}

// The HTTP status of a refused upgrade ("HTTP 403: ..."), or 0.
int RefusedStatus(const absl::StatusOr<std::unique_ptr<WsTestClient>>& client) {
  if (client.ok()) return 0;
  const std::string message(client.status().message());
  if (message.rfind("HTTP ", 0) != 0) return -1;
  return std::stoi(std::string(message.substr(5, 3)));
}

TEST_F(EdgeTest, AnOriginOffTheListIsRefusedWith403AndCounted) {
  edge::ServerOptions options;
  options.allowed_origins = "https://app.example.com, https://*.example.org";
  StartServer(options);
  auto other = WsTestClient::Connect(port_, "/rooms/o",
                                     WithHeaders({{"Origin", "https://evil.example"}}));
  EXPECT_EQ(RefusedStatus(other), 403) << other.status();
  EXPECT_EQ(Counter("upgrades_refused_origin"), 1u);
  uint8_t id;
  EXPECT_TRUE(Join("/rooms/o", &id, WithHeaders({{"Origin", "https://app.example.com"}})));
  EXPECT_TRUE(Join("/rooms/o", &id, WithHeaders({{"Origin", "https://a.b.example.org"}})));
  // Not a browser: no Origin at all.
  EXPECT_TRUE(Join("/rooms/o", &id));
  EXPECT_EQ(Counter("upgrades_refused_origin"), 1u);
}

TEST_F(EdgeTest, TheServerConnectionLimitRefusesWith503UntilOneLeaves) {
  edge::ServerOptions options;
  options.max_connections = 2;
  StartServer(options);
  uint8_t a_id, b_id;
  auto a = Join("/rooms/cap", &a_id);
  auto b = Join("/rooms/cap", &b_id);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->Read(), B({0x03, b_id}));
  auto c = WsTestClient::Connect(port_, "/rooms/cap");
  EXPECT_EQ(RefusedStatus(c), 503) << c.status();
  EXPECT_NE(c.status().message().find("server at its connection limit"), std::string::npos);
  EXPECT_EQ(Counter("upgrades_refused_connection_limit"), 1u);
  b->Close();
  ASSERT_EQ(a->Read(), B({0x04, b_id}));
  // b's place is free once its session is gone.
  ASSERT_TRUE(Eventually([&] { return server_->GetServerInfo().connections == 1; }));
  uint8_t d_id;
  EXPECT_TRUE(Join("/rooms/cap", &d_id));
}

TEST_F(EdgeTest, TheRoomLimitClosesAJoinToANewRoomWith1013) {
  edge::ServerOptions options;
  options.max_rooms = 1;
  StartServer(options);
  uint8_t id;
  auto a = Join("/rooms/first", &id);
  ASSERT_TRUE(a);
  auto b = WsTestClient::Connect(port_, "/rooms/second");
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*b)->WaitClosed());
  EXPECT_EQ((*b)->close_code(), 1013);
  EXPECT_EQ((*b)->close_reason(), "too many rooms on this server");
  EXPECT_EQ(Counter("closes_1013_room_limit"), 1u);
  // The existing room takes more members; once it is gone, a new one may be made.
  EXPECT_TRUE(Join("/rooms/first", &id));
  a.reset();
  ASSERT_TRUE(Eventually([&] { return server_->GetServerInfo().rooms == 0; }));
  EXPECT_TRUE(Join("/rooms/second", &id));
}

// From a trusted proxy, X-Forwarded-For names the client: limits count it
// and the control plane shows it. From anyone else it is ignored.
TEST_F(EdgeTest, AForwardedAddressIsHonouredOnlyFromATrustedProxy) {
  edge::ServerOptions options;
  options.max_connections_per_ip = 1;
  options.trusted_proxies = "127.0.0.0/8";
  StartServer(options);
  uint8_t id;
  auto a = Join("/rooms/p", &id, WithHeaders({{"X-Forwarded-For", "198.51.100.7"}}));
  auto b = Join("/rooms/p", &id, WithHeaders({{"X-Forwarded-For", "1.2.3.4, 198.51.100.8"}}));
  ASSERT_TRUE(a && b);
  auto again = WsTestClient::Connect(port_, "/rooms/p",
                                     WithHeaders({{"X-Forwarded-For", "198.51.100.7"}}));
  EXPECT_EQ(RefusedStatus(again), 503) << again.status();
  EXPECT_EQ(Counter("upgrades_refused_address_limit"), 1u);
  absl::StatusOr<core::RoomSnapshot> room = Snapshot("p");
  ASSERT_TRUE(room.ok()) << room.status();
  ASSERT_EQ(room->members.size(), 2u);
  EXPECT_EQ(room->members[0].remote_address, "198.51.100.7");
  EXPECT_EQ(room->members[1].remote_address, "198.51.100.8");
}

// A proxy may add a line of its own instead of appending to the client's:
// every line counts, in order, read from the right.
TEST_F(EdgeTest, AForgedFirstForwardedLineDoesNotNameTheClient) {
  edge::ServerOptions options;
  options.trusted_proxies = "127.0.0.1";
  StartServer(options);
  absl::StatusOr<std::unique_ptr<RawWsConnection>> raw = RawWsConnection::Open(
      port_, "/rooms/lines",
      "X-Forwarded-For: 6.6.6.1\r\nX-Forwarded-For: 203.0.113.7\r\n");
  ASSERT_TRUE(raw.ok()) << raw.status();
  ASSERT_TRUE(Eventually([&] {
    absl::StatusOr<core::RoomSnapshot> room = Snapshot("lines");
    return room.ok() && room->members.size() == 1;
  }));
  EXPECT_EQ(Snapshot("lines")->members[0].remote_address, "203.0.113.7");
}

// Behind proxies that write Forwarded, a client's own X-Forwarded-For
// (passed through) is never read.
TEST_F(EdgeTest, OnlyTheConfiguredForwardedHeaderIsRead) {
  edge::ServerOptions options;
  options.trusted_proxies = "127.0.0.1";
  options.trusted_proxy_header = "forwarded";
  StartServer(options);
  uint8_t id;
  auto a = Join("/rooms/fwd", &id,
                WithHeaders({{"X-Forwarded-For", "6.6.6.1"}, {"Forwarded", "for=203.0.113.8"}}));
  ASSERT_TRUE(a);
  EXPECT_EQ(Snapshot("fwd")->members[0].remote_address, "203.0.113.8");
}

TEST_F(EdgeTest, AForwardedAddressFromAnUntrustedPeerIsIgnored) {
  edge::ServerOptions options;
  options.max_connections_per_ip = 1;
  options.trusted_proxies = "10.0.0.0/8";
  StartServer(options);
  uint8_t id;
  auto a = Join("/rooms/u", &id, WithHeaders({{"X-Forwarded-For", "198.51.100.7"}}));
  ASSERT_TRUE(a);
  // Another claimed address does not help: the peer, 127.0.0.1, is counted.
  auto b = WsTestClient::Connect(port_, "/rooms/u",
                                 WithHeaders({{"X-Forwarded-For", "198.51.100.9"}}));
  EXPECT_EQ(RefusedStatus(b), 503) << b.status();
  absl::StatusOr<core::RoomSnapshot> room = Snapshot("u");
  ASSERT_TRUE(room.ok());
  EXPECT_EQ(room->members[0].remote_address.rfind("127.0.0.1:", 0), 0u)
      << room->members[0].remote_address;
}

// A session still open when the server is destroyed (its client never
// answered the close) gives its connection slot back to a gate that is
// still there (AddressSanitizer, in CI, sees the use after free this was).
TEST_F(EdgeTest, ASessionOutlivingShutdownReleasesItsSlotSafely) {
  edge::ServerOptions options;
  options.max_connections = 10;
  options.max_connections_per_ip = 10;
  options.shutdown_grace = absl::Milliseconds(10);
  StartServer(options);
  absl::StatusOr<std::unique_ptr<RawWsConnection>> raw = RawWsConnection::Open(port_, "/rooms/z");
  ASSERT_TRUE(raw.ok()) << raw.status();
  server_->Shutdown();  // the client never answers the 1001
  server_.reset();
  absl::StatusOr<std::string> rest = (*raw)->ReadToEnd();
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_NE(rest->find("server shutting down"), std::string::npos);
}

class JoinTokenTest : public EdgeTest {
 protected:
  void SetUp() override {
    edge::ServerOptions options;
    options.join_secret = kSecret;
    StartServer(options);
  }

  static std::string Token(const std::string& room, absl::Duration ttl = absl::Minutes(5),
                           const std::string& secret = kSecret) {
    core::JoinTokenClaims claims;
    claims.sub = "user-42";
    claims.room = room;
    claims.expiry = absl::Now() + ttl;
    claims.name = "Ada";
    claims.color = "#FF8800";
    absl::StatusOr<core::JoinSigningKey> key = core::JoinSigningKey::FromSecret(secret);
    EXPECT_TRUE(key.ok()) << key.status();
    absl::StatusOr<std::string> token = core::SignJoinToken(claims, *key);
    EXPECT_TRUE(token.ok()) << token.status();
    return *token;
  }

  // Connects with `target` (and `options`), expecting the upgrade to be
  // accepted and closed with `code`.
  void ExpectRefused(const std::string& target, uint16_t code, const std::string& reason,
                     WsTestClient::Options options = {}) {
    auto client = WsTestClient::Connect(port_, target, options);
    ASSERT_TRUE(client.ok()) << client.status();
    ASSERT_TRUE((*client)->WaitClosed());
    EXPECT_EQ((*client)->close_code(), code) << target;
    EXPECT_EQ((*client)->close_reason(), reason) << target;
  }
};

TEST_F(JoinTokenTest, AValidTokenJoinsWithTheIdentityOfItsClaims) {
  uint8_t id;
  // The query string's identity is not believed over the token's.
  auto a = Join("/rooms/doc-1?user=mallory&name=Mallory&token=" + Token("doc-1"), &id);
  ASSERT_TRUE(a);
  absl::StatusOr<core::RoomSnapshot> room = Snapshot("doc-1");
  ASSERT_TRUE(room.ok());
  ASSERT_EQ(room->members.size(), 1u);
  EXPECT_EQ(room->members[0].user_id, "user-42");
  EXPECT_EQ(room->members[0].name, "Ada");
  EXPECT_EQ(room->members[0].color, "#ff8800");
  EXPECT_EQ(Counter("join_tokens_accepted"), 1u);
}

TEST_F(JoinTokenTest, ATokenInTheSubprotocolHeaderJoinsAndV1IsSelected) {
  WsTestClient::Options options = WithHeaders(
      {{"Sec-WebSocket-Protocol", "cursord.v1, cursord.token." + Token("lobby-*")}});
  auto client = WsTestClient::Connect(port_, "/rooms/lobby-7", options);
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_TRUE((*client)->ReadJoin().ok());
  EXPECT_EQ((*client)->subprotocol(), "cursord.v1");
}

TEST_F(JoinTokenTest, EveryRefusalIsAClosedUpgradeWithItsCode) {
  ExpectRefused("/rooms/doc-1", 4401, "token missing");
  ExpectRefused("/rooms/doc-1?token=not.a.token", 4400, "token malformed");
  ExpectRefused("/rooms/doc-2?token=" + Token("doc-1"), 4403, "token not valid for this room");
  ExpectRefused("/rooms/doc-1?token=" + Token("doc-1", absl::Minutes(-5)), 4406,
                "token expired");
  ExpectRefused("/rooms/doc-1?token=" + Token("doc-1", absl::Minutes(5),
                                              "another-secret-that-is-32-bytes-long"),
                4402, "token signature invalid");
  EXPECT_EQ(Counter("join_tokens_refused_missing"), 1u);
  EXPECT_EQ(Counter("join_tokens_refused_malformed"), 1u);
  EXPECT_EQ(Counter("join_tokens_refused_wrong_room"), 1u);
  EXPECT_EQ(Counter("join_tokens_refused_expired"), 1u);
  EXPECT_EQ(Counter("join_tokens_refused_bad_signature"), 1u);
  // Nobody joined, and no room was made for them.
  EXPECT_EQ(server_->GetServerInfo().rooms, 0u);
}

}  // namespace
}  // namespace cursord::testing
