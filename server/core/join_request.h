// Parsing and validation of the URL a client joins with:
//   /rooms/{room}?user=...&name=...&color=%23rrggbb   or   /   (room "default")
// Pure code; the edge answers HTTP 400 with the returned message.
#ifndef CURSORD_CORE_JOIN_REQUEST_H_
#define CURSORD_CORE_JOIN_REQUEST_H_

#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace cursord::core {

inline constexpr size_t kMaxRoomIdLength = 128;
inline constexpr size_t kMaxUserIdLength = 128;
inline constexpr size_t kMaxNameLength = 64;  // bytes of UTF-8

// Who joins which room. Identity fields are "" when not given.
struct JoinRequest {
  std::string room;
  std::string user_id;
  std::string name;
  std::string color;  // "#rrggbb", lower case
};

// True for the characters a room id may hold: A-Z a-z 0-9 . _ ~ : @ -
bool IsRoomIdChar(char c);

// True for 1 to 128 characters of A-Z a-z 0-9 . _ ~ : @ -
bool IsValidRoomId(std::string_view room);

// The room named by a request path without its query: "/" gives "default",
// "/rooms/{room}" gives {room}. INVALID_ARGUMENT for a bad room id,
// NOT_FOUND for any other path.
absl::StatusOr<std::string> RoomFromPath(std::string_view path);

// Decodes %XX and '+' (form encoding, as browsers' URLSearchParams writes).
// INVALID_ARGUMENT, prefixed with `field`, for a truncated or invalid escape.
absl::StatusOr<std::string> PercentDecode(std::string_view in, std::string_view field);

// Calls `visit` with the key and the raw (still percent-encoded) value of
// each non-empty `key=value` pair of `query` (the target after '?'), in
// order; stops at and returns the first error.
absl::Status ForEachQueryParam(
    std::string_view query,
    absl::FunctionRef<absl::Status(std::string_view key, std::string_view raw_value)> visit);

// The identity rules, shared by the query string and join tokens. Each
// error is INVALID_ARGUMENT prefixed with `field` ("user", or a token's
// "sub").
// A user id: 1 to 128 bytes of printable ASCII without spaces.
absl::Status ValidateUserId(std::string_view field, std::string_view value);
// A display name: 1 to 64 bytes of printable UTF-8.
absl::Status ValidateName(std::string_view field, std::string_view value);
// A color "#rrggbb" (hex digits of either case), returned in lower case.
absl::StatusOr<std::string> NormalizeColor(std::string_view field, std::string_view value);

// Parses a whole request target (path and optional query). The query's
// `user`, `name` and `color` are percent-decoded and validated; other
// parameters are ignored. INVALID_ARGUMENT says what is wrong.
absl::StatusOr<JoinRequest> ParseJoinTarget(std::string_view target);

}  // namespace cursord::core

#endif  // CURSORD_CORE_JOIN_REQUEST_H_
