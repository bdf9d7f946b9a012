#include "server/control/validation.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace cursord::control {
namespace {

// Bumped if the token layout ever changes, so old tokens are refused
// rather than misread.
constexpr absl::string_view kTokenTag = "p1/";

absl::Status CheckRoomIdChars(absl::string_view field, absl::string_view value) {
  for (char c : value) {
    if (!IsRoomIdChar(c)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s \"%s\" holds '%s'; allowed are A-Z a-z 0-9 . _ ~ : @ -", field,
          absl::CHexEscape(value), absl::CHexEscape(absl::string_view(&c, 1))));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateRoomId(absl::string_view room_id) {
  if (room_id.empty()) return absl::InvalidArgumentError("room_id is empty");
  if (room_id.size() > kMaxRoomIdLength) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "room_id is %d characters long; at most %d", room_id.size(),
        kMaxRoomIdLength));
  }
  return CheckRoomIdChars("room_id", room_id);
}

absl::Status ValidateRoomIdPrefix(absl::string_view prefix) {
  if (prefix.size() > kMaxRoomIdLength) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "room_id_prefix is %d characters long; at most %d", prefix.size(),
        kMaxRoomIdLength));
  }
  return CheckRoomIdChars("room_id_prefix", prefix);
}

absl::StatusOr<uint8_t> ValidateMemberId(uint32_t member_id) {
  if (member_id > 255) {
    return absl::InvalidArgumentError(
        absl::StrFormat("member_id %d is out of range 0..255", member_id));
  }
  return static_cast<uint8_t>(member_id);
}

absl::Status ValidateReason(absl::string_view reason) {
  if (reason.size() > kMaxReasonBytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "reason is %d bytes long; a close frame carries at most %d",
        reason.size(), kMaxReasonBytes));
  }
  return absl::OkStatus();
}

absl::Status ValidateUserId(absl::string_view user_id) {
  // The rule a joining client's user id passed.
  return core::ValidateUserId("user_id", std::string_view(user_id.data(), user_id.size()));
}

absl::StatusOr<size_t> EffectivePageSize(int32_t page_size) {
  if (page_size < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("page_size %d is negative", page_size));
  }
  if (page_size == 0) return static_cast<size_t>(kDefaultPageSize);
  return static_cast<size_t>(std::min(page_size, kMaxPageSize));
}

std::string EncodePageToken(absl::string_view prefix,
                            absl::string_view last_room_id) {
  // '/' is outside the room id alphabet, so it separates unambiguously.
  return absl::WebSafeBase64Escape(
      absl::StrCat(kTokenTag, prefix, "/", last_room_id));
}

absl::StatusOr<std::string> DecodePageToken(absl::string_view token,
                                            absl::string_view prefix) {
  if (token.empty()) return std::string();
  const absl::Status bad =
      absl::InvalidArgumentError("page_token is not one this server issued");
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) return bad;
  absl::string_view rest = raw;
  if (!absl::ConsumePrefix(&rest, kTokenTag)) return bad;
  const size_t slash = rest.find('/');
  if (slash == absl::string_view::npos) return bad;
  const absl::string_view token_prefix = rest.substr(0, slash);
  const absl::string_view last_room_id = rest.substr(slash + 1);
  if (!ValidateRoomId(last_room_id).ok() ||
      !absl::StartsWith(last_room_id, token_prefix)) {
    return bad;
  }
  if (token_prefix != prefix) {
    return absl::InvalidArgumentError(
        "page_token was issued for another room_id_prefix; pass the same "
        "room_id_prefix as the first page");
  }
  return std::string(last_room_id);
}

namespace {
constexpr absl::string_view kSessionTokenTag = "s1\n";
}  // namespace

std::string EncodeSessionPageToken(absl::string_view room_id, absl::string_view user_id,
                                   const core::SessionCursor& last) {
  // Newlines are in neither id alphabet (room ids, printable user ids, and
  // session ids of hex digits and '-').
  return absl::WebSafeBase64Escape(absl::StrCat(kSessionTokenTag, room_id, "\n", user_id, "\n",
                                                absl::ToUnixNanos(last.started_at), "\n",
                                                last.session_id));
}

absl::StatusOr<std::optional<core::SessionCursor>> DecodeSessionPageToken(
    absl::string_view token, absl::string_view room_id, absl::string_view user_id) {
  if (token.empty()) return std::optional<core::SessionCursor>();
  const absl::Status bad = absl::InvalidArgumentError("page_token is not one this server issued");
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) return bad;
  absl::string_view rest = raw;
  if (!absl::ConsumePrefix(&rest, kSessionTokenTag)) return bad;
  const std::vector<absl::string_view> parts = absl::StrSplit(rest, '\n');
  int64_t nanos = 0;
  if (parts.size() != 4 || !absl::SimpleAtoi(parts[2], &nanos) || parts[3].empty()) return bad;
  if (parts[0] != room_id || parts[1] != user_id) {
    return absl::InvalidArgumentError(
        "page_token was issued for another room_id or user_id; pass the same filters as the "
        "first page");
  }
  return std::optional<core::SessionCursor>(
      core::SessionCursor{absl::FromUnixNanos(nanos), std::string(parts[3])});
}

}  // namespace cursord::control
