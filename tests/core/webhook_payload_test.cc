#include "server/core/webhook_payload.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace cursord::core {
namespace {

TEST(ParseWebhookUrlTest, HttpUrlsWithHostPortAndTarget) {
  absl::StatusOr<WebhookUrl> url = ParseWebhookUrl("http://hooks.example.com/cursord?x=1");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "hooks.example.com");
  EXPECT_EQ(url->port, 80);
  EXPECT_EQ(url->host_header, "hooks.example.com");
  EXPECT_EQ(url->target, "/cursord?x=1");

  url = ParseWebhookUrl("http://127.0.0.1:8081");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->port, 8081);
  EXPECT_EQ(url->target, "/");
  EXPECT_EQ(url->host_header, "127.0.0.1:8081");

  url = ParseWebhookUrl("HTTP://[::1]:9000/h");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->host_header, "[::1]:9000");

  url = ParseWebhookUrl("http://[::1]?q");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->port, 80);
  EXPECT_EQ(url->target, "/?q");
}

TEST(ParseWebhookUrlTest, OtherUrlsAreRefusedSayingWhy) {
  struct Case {
    const char* url;
    const char* why;
  };
  for (const Case& c : {Case{"https://hooks.example.com/", "local TLS proxy"},
                        Case{"ftp://x/", "http:// URL expected"},
                        Case{"hooks.example.com", "http:// URL expected"},
                        Case{"http://", "no host"},
                        Case{"http:///path", "no host"},
                        Case{"http://user:pw@host/", "user info"},
                        Case{"http://host/#frag", "fragment"},
                        Case{"http://host:0/", "port"},
                        Case{"http://host:99999/", "port"},
                        Case{"http://host/a b", "spaces"}}) {
    absl::StatusOr<WebhookUrl> url = ParseWebhookUrl(c.url);
    ASSERT_FALSE(url.ok()) << c.url;
    EXPECT_EQ(url.status().code(), absl::StatusCode::kInvalidArgument) << c.url;
    EXPECT_NE(url.status().message().find(c.why), std::string_view::npos)
        << c.url << ": " << url.status().message();
  }
}

TEST(WebhookBodyTest, EventsInOrderWithTheirFields) {
  PresenceEvent occupied;
  occupied.kind = PresenceEventKind::kRoomOccupied;
  occupied.room = "doc-42";
  occupied.instance = "i1";
  occupied.session_id = "s1";
  occupied.time = absl::FromUnixMillis(1700000000123);
  PresenceEvent entered = occupied;
  entered.kind = PresenceEventKind::kUserEntered;
  entered.user_id = "u-1";
  entered.name = "Ada \"A\"";
  entered.color = "#102030";
  const std::string body = WebhookBody({occupied, entered}, absl::FromUnixMillis(1700000000999));
  const nlohmann::json json = nlohmann::json::parse(body);
  EXPECT_EQ(json["time_ms"], 1700000000999);
  ASSERT_EQ(json["events"].size(), 2u);
  const nlohmann::json& e0 = json["events"][0];
  EXPECT_EQ(e0["name"], "room_occupied");
  EXPECT_EQ(e0["id"], "s1.room_occupied");
  EXPECT_EQ(e0["room"], "doc-42");
  EXPECT_FALSE(e0.contains("user_id"));
  EXPECT_EQ(e0["time_ms"], 1700000000123);
  const nlohmann::json& e1 = json["events"][1];
  EXPECT_EQ(e1["name"], "user_entered");
  EXPECT_EQ(e1["user_id"], "u-1");
  EXPECT_EQ(e1["user_name"], "Ada \"A\"");
  EXPECT_EQ(e1["user_color"], "#102030");
  EXPECT_EQ(e1["instance"], "i1");
  EXPECT_EQ(e1["session_id"], "s1");
}

TEST(WebhookSignatureTest, IsTheHexHmacSha256OfTheBody) {
  // RFC 4231, test case 2.
  EXPECT_EQ(WebhookSignature("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

}  // namespace
}  // namespace cursord::core
