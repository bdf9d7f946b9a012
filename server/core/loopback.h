// Whether an address keeps its traffic on this host. The control plane's
// rule "a token never crosses in clear" allows plaintext only there: cursord
// listening with --control-token, and cursorctl sending --token, both ask
// this one function.
#ifndef CURSORD_CORE_LOOPBACK_H_
#define CURSORD_CORE_LOOPBACK_H_

#include <string_view>

namespace cursord::core {

// True for "localhost" (any case, a trailing dot allowed), 127.0.0.0/8,
// ::1 and ::ffff:127.0.0.0/104, with or without brackets. Anything else,
// 0.0.0.0 and :: included (they listen on every interface), is false.
bool IsLoopbackHost(std::string_view host);

// `address` as gRPC takes it, for a listener or a channel: "host:port",
// "[v6]:port", a bare host, or a target URI: "dns:[//authority/]host:port",
// "ipv4:a:port,b:port" and "ipv6:[a]:port,..." (loopback only if every
// address is), "unix:..." and "unix-abstract:..." (local sockets: true).
// False for any other scheme or anything unparsable: where it cannot tell,
// it says the traffic may leave the host.
bool IsLoopbackAddress(std::string_view address);

}  // namespace cursord::core

#endif  // CURSORD_CORE_LOOPBACK_H_
