// The server's side of the WebSocket opening handshake (RFC 6455 section
// 4.2): checking the client's handshake headers and building the 101
// response. Pure code; the edge reads the request with Beast and writes the
// response bytes ahead of the first frames, in the same write.
#ifndef CURSORD_CORE_WS_HANDSHAKE_H_
#define CURSORD_CORE_WS_HANDSHAKE_H_

#include <string>
#include <string_view>

namespace cursord::core {

// The 20-byte SHA-1 digest of `data` (FIPS 180-4). Only the accept key
// needs it; SHA-1's weaknesses do not matter there.
std::string Sha1(std::string_view data);

// The Sec-WebSocket-Accept value that answers `client_key`.
std::string AcceptKeyFor(std::string_view client_key);

// True when `key` is the base64 encoding of 16 bytes, as a client's
// Sec-WebSocket-Key must be.
bool IsValidClientKey(std::string_view key);

// What to answer an upgrade request whose method, HTTP version and
// Connection/Upgrade tokens are already known to be right.
struct HandshakeVerdict {
  // 101 to switch protocols; 400 for a bad request; 426 when the client
  // speaks another WebSocket version (answered with
  // "Sec-WebSocket-Version: 13").
  int status = 101;
  std::string accept_key;  // for 101
  std::string error;       // for 400 and 426
};

// Checks the Host, Sec-WebSocket-Key and Sec-WebSocket-Version headers
// (empty when absent).
HandshakeVerdict CheckHandshake(std::string_view host, std::string_view key,
                                std::string_view version);

// The subprotocols cursord speaks: v1 (the seed's protocol; also what no
// subprotocol means) and v2 (docs/PROTOCOL.md, "Protocol v2"). A client
// that offers subprotocols (e.g. to carry a join token) offers one of these
// for the server to select.
inline constexpr std::string_view kSubprotocolV1 = "cursord.v1";
inline constexpr std::string_view kSubprotocolV2 = "cursord.v2";

// The complete "101 Switching Protocols" response head, blank line included;
// with a Sec-WebSocket-Protocol line when `subprotocol` is not empty.
std::string SwitchingProtocolsResponse(std::string_view accept_key,
                                       std::string_view subprotocol = {});

}  // namespace cursord::core

#endif  // CURSORD_CORE_WS_HANDSHAKE_H_
