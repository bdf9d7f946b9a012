#include "server/core/ws_handshake.h"

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace cursord::core {
namespace {

TEST(Sha1, KnownVectors) {
  EXPECT_EQ(absl::Base64Escape(Sha1("")), "2jmj7l5rSw0yVb/vlWAYkK/YBwk=");
  EXPECT_EQ(absl::Base64Escape(Sha1("abc")), "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
  // 56 bytes: the padding spills into a second block.
  EXPECT_EQ(absl::Base64Escape(Sha1(
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "hJg+RBw70m66rkqh+VEp5eVGcPE=");
}

// The accept key is abseil's base64, which must keep RFC 4648's padding.
TEST(Base64Escape, Padding) {
  EXPECT_EQ(absl::Base64Escape(""), "");
  EXPECT_EQ(absl::Base64Escape("f"), "Zg==");
  EXPECT_EQ(absl::Base64Escape("fo"), "Zm8=");
  EXPECT_EQ(absl::Base64Escape("foo"), "Zm9v");
  EXPECT_EQ(absl::Base64Escape("foobar"), "Zm9vYmFy");
}

TEST(AcceptKeyFor, Rfc6455Example) {
  EXPECT_EQ(AcceptKeyFor("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(IsValidClientKey, SixteenBytesOfBase64Only) {
  EXPECT_TRUE(IsValidClientKey("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_FALSE(IsValidClientKey(""));
  EXPECT_FALSE(IsValidClientKey("dGhlIHNhbXBsZSBub25jZQ"));      // no padding
  EXPECT_FALSE(IsValidClientKey("dGhlIHNhbXBsZSBub25jZQ==="));   // too long
  EXPECT_FALSE(IsValidClientKey("dGhlIHNhbXBsZSBub25jZ*=="));   // not base64
  EXPECT_FALSE(IsValidClientKey("dGhlIHNhbXBsZSBub25jZQ=A"));   // 17 bytes' worth
}

TEST(CheckHandshake, AcceptsAValidRequest) {
  const HandshakeVerdict v = CheckHandshake("example.com", "dGhlIHNhbXBsZSBub25jZQ==", "13");
  EXPECT_EQ(v.status, 101);
  EXPECT_EQ(v.accept_key, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_TRUE(v.error.empty());
}

TEST(CheckHandshake, RefusesWhatRfc6455Forbids) {
  EXPECT_EQ(CheckHandshake("", "dGhlIHNhbXBsZSBub25jZQ==", "13").status, 400);
  EXPECT_EQ(CheckHandshake("h", "", "13").status, 400);
  EXPECT_EQ(CheckHandshake("h", "short", "13").status, 400);
  EXPECT_EQ(CheckHandshake("h", "dGhlIHNhbXBsZSBub25jZQ==", "").status, 400);
  // Another version: 426, so the client can retry with 13.
  const HandshakeVerdict v = CheckHandshake("h", "dGhlIHNhbXBsZSBub25jZQ==", "8");
  EXPECT_EQ(v.status, 426);
  EXPECT_NE(v.error.find("13"), std::string::npos);
  EXPECT_TRUE(v.accept_key.empty());
}

TEST(SwitchingProtocolsResponse, NamesTheSelectedSubprotocol) {
  const std::string head = SwitchingProtocolsResponse("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "cursord.v1");
  EXPECT_NE(head.find("\r\nSec-WebSocket-Protocol: cursord.v1\r\n"), std::string::npos);
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");
  EXPECT_EQ(SwitchingProtocolsResponse("x").find("Sec-WebSocket-Protocol"), std::string::npos);
}

TEST(SwitchingProtocolsResponse, IsACompleteHead) {
  const std::string head = SwitchingProtocolsResponse("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(head.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u);
  EXPECT_NE(head.find("\r\nUpgrade: websocket\r\n"), std::string::npos);
  EXPECT_NE(head.find("\r\nConnection: Upgrade\r\n"), std::string::npos);
  EXPECT_NE(head.find("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
            std::string::npos);
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");
  EXPECT_EQ(head.find("\r\n\r\n"), head.size() - 4);
}

}  // namespace
}  // namespace cursord::core
