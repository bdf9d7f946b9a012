#include "handshake.h"

#include "gtest/gtest.h"

namespace cursord::bench {
namespace {

TEST(ClientKeyFromNonce, SixteenBytesEncoded) {
  EXPECT_EQ(ClientKeyFromNonce(1, 2).size(), 24u);
  EXPECT_NE(ClientKeyFromNonce(1, 2), ClientKeyFromNonce(1, 3));
}

TEST(BuildUpgradeRequest, HasTheRequiredHeaders) {
  const std::string req =
      BuildUpgradeRequest("127.0.0.1:9000", "/rooms/a", "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(req.rfind("GET /rooms/a HTTP/1.1\r\n", 0), 0u);
  EXPECT_NE(req.find("Host: 127.0.0.1:9000\r\n"), std::string::npos);
  EXPECT_NE(req.find("Upgrade: websocket\r\n"), std::string::npos);
  EXPECT_NE(req.find("Sec-WebSocket-Version: 13\r\n"), std::string::npos);
  EXPECT_EQ(req.substr(req.size() - 4), "\r\n\r\n");
}

constexpr char kAccept[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

TEST(ParseUpgradeResponse, AcceptsAndReportsHeadLength) {
  const std::string head =
      "HTTP/1.1 101 Switching Protocols\r\n"
      "upgrade: WebSocket\r\n"
      "Connection: keep-alive, Upgrade\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
      "\r\n";
  // A frame already behind the head stays for the frame decoder.
  absl::StatusOr<size_t> n =
      ParseUpgradeResponse(head + std::string("\x82\x02\x01\x00", 4), kAccept);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, head.size());
}

TEST(ParseUpgradeResponse, IncompleteNeedsMore) {
  absl::StatusOr<size_t> n =
      ParseUpgradeResponse("HTTP/1.1 101 Switching Protocols\r\nUpg", kAccept);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

TEST(ParseUpgradeResponse, RejectsRefusalAndWrongKey) {
  EXPECT_FALSE(ParseUpgradeResponse("HTTP/1.1 404 Not Found\r\n\r\n", kAccept).ok());
  EXPECT_FALSE(ParseUpgradeResponse(
                   "HTTP/1.1 101 Switching Protocols\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Accept: AAAA\r\n\r\n",
                   kAccept)
                   .ok());
  EXPECT_FALSE(ParseUpgradeResponse(std::string(20000, 'x'), kAccept).ok());
}

}  // namespace
}  // namespace cursord::bench
