// Bearer-token checks for the control API. Pure functions so the rules
// (scheme, constant-time comparison, messages) are unit-tested without gRPC.
#ifndef CURSORD_CONTROL_AUTH_H_
#define CURSORD_CONTROL_AUTH_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cursord::control {

// Compares in time that depends only on `expected`'s length, never on where
// (or whether) `given` differs, so a client cannot find the token byte by
// byte by timing refusals.
bool ConstantTimeEquals(absl::string_view given, absl::string_view expected);

// Checks an `authorization` metadata value against the server's token.
// `header` is nullopt when the metadata is absent. OK when `token` is empty
// (auth disabled) or the header is "Bearer <token>" (the scheme is
// case-insensitive, RFC 6750); UNAUTHENTICATED otherwise. The message never
// echoes the presented credential.
absl::Status CheckBearerToken(absl::string_view token,
                              std::optional<absl::string_view> header);

}  // namespace cursord::control

#endif  // CURSORD_CONTROL_AUTH_H_
