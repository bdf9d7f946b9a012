// How cursorctl reaches a cursord control API: in plaintext, or over TLS
// with which CAs and which client certificate; and the rule that a token
// never crosses the network in clear. Decided, and every file read and
// checked, before a channel exists: a refusal never opens a connection.
#ifndef CURSORD_CLI_CHANNEL_SECURITY_H_
#define CURSORD_CLI_CHANNEL_SECURITY_H_

#include <memory>
#include <string>

#include <grpcpp/security/credentials.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cli/command.h"

namespace cursord::cli {

struct ChannelSecurity {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  bool tls = false;
  // Non-empty: the name the server's certificate must carry, instead of
  // the --server host (GRPC_SSL_TARGET_NAME_OVERRIDE_ARG).
  std::string server_name;
};

// TLS when --tls, --ca, --cert, --key or --tls-server-name is given; the
// system's CAs unless --ca names others; a client certificate when --cert
// and --key are given. INVALID_ARGUMENT (a usage error: exit 2) when a
// token would go in clear to an address that is not loopback
// (core::IsLoopbackAddress; loopback stays allowed so the quick start needs
// no certificates), when --cert comes without --key or the reverse, or when
// a file cannot be read, is not valid PEM, or (--cert) has expired at
// `now`. Every message names the flag.
absl::StatusOr<ChannelSecurity> ResolveChannelSecurity(const GlobalOptions& options,
                                                       absl::Time now);

// What to check when a connection failed with gRPC's `grpc_message`
// ("...: Ssl handshake failed: ...: certificate verify failed"), for a
// channel with (`tls`) or without TLS: "; " and a sentence, or "" when the
// message suggests nothing about TLS (e.g. connection refused).
std::string ConnectionHint(bool tls, absl::string_view grpc_message);

}  // namespace cursord::cli

#endif  // CURSORD_CLI_CHANNEL_SECURITY_H_
