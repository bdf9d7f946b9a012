#include "server/control/auth.h"

#include <cstddef>

#include "absl/strings/match.h"

namespace cursord::control {

bool ConstantTimeEquals(absl::string_view given, absl::string_view expected) {
  // Walk `expected` in full whatever `given` holds; a length mismatch is
  // folded into the same accumulator instead of returning early.
  unsigned int diff = given.size() == expected.size() ? 0u : 1u;
  for (size_t i = 0; i < expected.size(); ++i) {
    const unsigned char g =
        given.empty() ? 0 : static_cast<unsigned char>(given[i % given.size()]);
    diff |= g ^ static_cast<unsigned char>(expected[i]);
  }
  // The volatile read keeps the compiler from turning the loop into an
  // early-exit comparison.
  volatile unsigned int result = diff;
  return result == 0;
}

absl::Status CheckBearerToken(absl::string_view token,
                              std::optional<absl::string_view> header) {
  if (token.empty()) return absl::OkStatus();
  if (!header.has_value()) {
    return absl::UnauthenticatedError(
        "missing \"authorization: Bearer <token>\" metadata");
  }
  absl::string_view value = *header;
  constexpr absl::string_view kScheme = "bearer ";
  if (value.size() < kScheme.size() ||
      !absl::EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme)) {
    return absl::UnauthenticatedError(
        "authorization metadata is not \"Bearer <token>\"");
  }
  value.remove_prefix(kScheme.size());
  if (!ConstantTimeEquals(value, token)) {
    return absl::UnauthenticatedError("invalid control token");
  }
  return absl::OkStatus();
}

}  // namespace cursord::control
