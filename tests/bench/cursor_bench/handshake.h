// The HTTP/1.1 upgrade that opens a WebSocket (RFC 6455 section 4), done by
// hand: the load generator needs nothing else from HTTP.
#ifndef CURSORD_BENCH_HANDSHAKE_H_
#define CURSORD_BENCH_HANDSHAKE_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/status/statusor.h"
#include "server/core/ws_handshake.h"

namespace cursord::bench {

// A client key from 16 bytes of `nonce` (any bytes will do for a benchmark).
// The accept key it expects is core::AcceptKeyFor(key).
std::string ClientKeyFromNonce(uint64_t a, uint64_t b);

// The upgrade request for `path` on `host` (the Host header's value).
std::string BuildUpgradeRequest(absl::string_view host, absl::string_view path,
                                absl::string_view client_key);

// Checks the response head at the front of `data`. Returns its length
// (including the blank line) once complete, 0 while more bytes are needed,
// or an error if the server refused or answered with a wrong accept key.
// Bytes after the head are already WebSocket frames.
absl::StatusOr<size_t> ParseUpgradeResponse(absl::string_view data,
                                            absl::string_view expected_accept);

}  // namespace cursord::bench

#endif  // CURSORD_BENCH_HANDSHAKE_H_
