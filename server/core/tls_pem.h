// Checks on PEM text for TLS (the control plane's certificates, keys and
// CAs) before it is handed to gRPC. gRPC takes any string and fails later,
// at each handshake, with a message that names neither the file nor the
// problem; these checks let cursord refuse to start, and cursorctl refuse
// to connect, with one that does. `name` (the file, as the operator gave
// it) is in every message. Pure: the caller reads the files.
#ifndef CURSORD_CORE_TLS_PEM_H_
#define CURSORD_CORE_TLS_PEM_H_

#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace cursord::core {

// OK when `pem` holds at least one certificate and nothing unparsable
// between them (a CA file, or a bundle of them); INVALID_ARGUMENT otherwise.
absl::Status CheckPemCertificates(std::string_view pem, std::string_view name);

// OK when `cert_pem` is a certificate chain (leaf first), `key_pem` an
// unencrypted private key, the key belongs to the leaf, and the leaf has
// not expired at `now`; INVALID_ARGUMENT naming the file at fault
// otherwise. Not-yet-valid certificates pass: a clock a little behind the
// issuer's must not keep a server from starting.
absl::Status CheckPemKeyPair(std::string_view cert_pem, std::string_view cert_name,
                             std::string_view key_pem, std::string_view key_name,
                             absl::Time now);

}  // namespace cursord::core

#endif  // CURSORD_CORE_TLS_PEM_H_
