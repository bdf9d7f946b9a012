// Parsing and validation of the URL a client joins with:
//   /rooms/{room}?user=...&name=...&color=%23rrggbb   or   /   (room "default")
// Pure code; the edge answers HTTP 400 with the returned message.
#ifndef CURSORD_CORE_JOIN_REQUEST_H_
#define CURSORD_CORE_JOIN_REQUEST_H_

#include <string>
#include <string_view>

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

// True for 1 to 128 characters of A-Z a-z 0-9 . _ ~ : @ -
bool IsValidRoomId(std::string_view room);

// The room named by a request path without its query: "/" gives "default",
// "/rooms/{room}" gives {room}. INVALID_ARGUMENT for a bad room id,
// NOT_FOUND for any other path.
absl::StatusOr<std::string> RoomFromPath(std::string_view path);

// Parses a whole request target (path and optional query). The query's
// `user`, `name` and `color` are percent-decoded and validated; other
// parameters are ignored. INVALID_ARGUMENT says what is wrong.
absl::StatusOr<JoinRequest> ParseJoinTarget(std::string_view target);

}  // namespace cursord::core

#endif  // CURSORD_CORE_JOIN_REQUEST_H_
