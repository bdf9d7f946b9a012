// Transport security of the control plane: TLS, optionally mutual, and the
// rule that a bearer token never crosses the network in clear.
//
// The certificate files are read once, at start: a restart (one instance
// after another, for a fleet) picks up renewed ones. gRPC 1.51's
// certificate providers that reload files are experimental; they are not
// used.
#ifndef CURSORD_CONTROL_CONTROL_TLS_H_
#define CURSORD_CONTROL_CONTROL_TLS_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace grpc {
class ServerCredentials;
}  // namespace grpc

namespace cursord::control {

// PEM files; all empty: plaintext.
struct ControlTlsOptions {
  // --control-tls-cert: the server's certificate, or its chain leaf first.
  std::string cert_file;
  // --control-tls-key: its unencrypted private key.
  std::string key_file;
  // --control-tls-client-ca: when set, mutual TLS: every client must
  // present a certificate that one of these CAs signed, or its handshake
  // fails (health checks and reflection included: they share the port).
  std::string client_ca_file;

  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
  bool mutual() const { return !client_ca_file.empty(); }
};

// The combinations the options may come in, checked before any file is
// read or port bound: certificate and key together, a client CA only with
// them, and a token (`token` non-empty) on an address that is not loopback
// (core::IsLoopbackAddress) only over TLS. INVALID_ARGUMENT naming the
// flags otherwise.
absl::Status CheckControlTransport(absl::string_view listen, absl::string_view token,
                                   const ControlTlsOptions& tls);

// The listener's credentials: plaintext when TLS is off; otherwise the
// files read and checked (core::CheckPemKeyPair and CheckPemCertificates at
// `now`), so that a missing, unreadable or invalid file, a key that is not
// the certificate's or an expired certificate is an INVALID_ARGUMENT
// naming the flag and the file, not a failed handshake later.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ControlServerCredentials(
    const ControlTlsOptions& tls, absl::Time now);

}  // namespace cursord::control

#endif  // CURSORD_CONTROL_CONTROL_TLS_H_
