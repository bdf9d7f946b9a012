// Request checks of the control API: room ids, member ids, reasons, page
// sizes and page tokens. Pure functions, no I/O; every failure is an
// INVALID_ARGUMENT status whose message names the field and the rule.
#ifndef CURSORD_CONTROL_VALIDATION_H_
#define CURSORD_CONTROL_VALIDATION_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/core/activity.h"
#include "absl/strings/string_view.h"
#include "server/core/join_request.h"
#include "server/core/ws_frame.h"

namespace cursord::control {

// The rules of room ids, user ids and close reasons are the edge's, defined
// once in server/core; the control plane checks requests against them.
using core::IsRoomIdChar;
using core::kMaxRoomIdLength;
inline constexpr size_t kMaxReasonBytes = core::kMaxCloseReasonBytes;
inline constexpr int32_t kDefaultPageSize = 100;
inline constexpr int32_t kMaxPageSize = 1000;

// OK for 1 to 128 room id characters.
absl::Status ValidateRoomId(absl::string_view room_id);

// OK for 0 to 128 room id characters.
absl::Status ValidateRoomIdPrefix(absl::string_view prefix);

// The member id as the core takes it; INVALID_ARGUMENT above 255.
absl::StatusOr<uint8_t> ValidateMemberId(uint32_t member_id);

// OK for at most kMaxReasonBytes bytes.
absl::Status ValidateReason(absl::string_view reason);

// OK for a user id a client can join with: 1 to 128 bytes of printable
// ASCII without spaces (core::ValidateUserId).
absl::Status ValidateUserId(absl::string_view user_id);

// The page size to use: 0 means kDefaultPageSize, values above kMaxPageSize
// are clamped (AIP-158), negative values are INVALID_ARGUMENT.
absl::StatusOr<size_t> EffectivePageSize(int32_t page_size);

// A page token is opaque to clients: web-safe base64 of a version tag, the
// prefix it was issued for, and the last room id of its page. Binding the
// prefix lets a token reused with another prefix fail loudly instead of
// silently returning a wrong page.
std::string EncodePageToken(absl::string_view prefix,
                            absl::string_view last_room_id);

// The room id to list after ("" for an empty token). INVALID_ARGUMENT when
// the token is malformed or was issued for another prefix.
absl::StatusOr<std::string> DecodePageToken(absl::string_view token,
                                            absl::string_view prefix);

// ListSessions' page token: web-safe base64 of a version tag, the filters
// it was issued for, and the last session of its page (start time in Unix
// nanoseconds and session id).
std::string EncodeSessionPageToken(absl::string_view room_id, absl::string_view user_id,
                                   const core::SessionCursor& last);

// The cursor to list after (nullopt for an empty token). INVALID_ARGUMENT
// when malformed or issued for other filters.
absl::StatusOr<std::optional<core::SessionCursor>> DecodeSessionPageToken(
    absl::string_view token, absl::string_view room_id, absl::string_view user_id);

}  // namespace cursord::control

#endif  // CURSORD_CONTROL_VALIDATION_H_
