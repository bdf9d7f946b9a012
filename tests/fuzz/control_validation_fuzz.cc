// The control plane's request checks and page tokens
// (server/control/validation.h) and its bearer-token check
// (server/control/auth.h): pure functions, no gRPC.
//
// Input: two lines, `a` and `b` (a page token and a prefix, a header and
// a token, ...); every check runs on both. The first bytes also make the
// page size and member id tried.
//
// Checks:
//  - one rule, one definition: the control plane's room id rule is the
//    edge's (core::IsValidRoomId), and every user id the edge admits the
//    control plane admits;
//  - prefixes, reasons, page sizes and member ids are refused exactly
//    outside their documented ranges;
//  - DecodePageToken accepts only what EncodePageToken wrote for the same
//    prefix: an accepted token names a valid room id under its prefix;
//    every valid (prefix, room) pair round-trips, and fails loudly with
//    another prefix;
//  - ConstantTimeEquals is equality, and CheckBearerToken accepts exactly
//    "Bearer <token>" (scheme in any case) or anything when no token is set.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/control/auth.h"
#include "server/control/validation.h"
#include "server/core/join_request.h"
#include "tests/fuzz/fuzz_check.h"

namespace cursord::fuzz {
namespace {

absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

bool AllRoomIdChars(std::string_view s) {
  for (char c : s) {
    if (!control::IsRoomIdChar(c)) return false;
  }
  return true;
}

void CheckRules(std::string_view s) {
  const bool room_ok = control::ValidateRoomId(Sv(s)).ok();
  FUZZ_CHECK(room_ok == core::IsValidRoomId(s));
  FUZZ_CHECK(control::ValidateRoomIdPrefix(Sv(s)).ok() ==
             (s.size() <= control::kMaxRoomIdLength && AllRoomIdChars(s)));
  FUZZ_CHECK(control::ValidateReason(Sv(s)).ok() == (s.size() <= control::kMaxReasonBytes));
  if (core::ValidateUserId("user", s).ok()) FUZZ_CHECK(control::ValidateUserId(Sv(s)).ok());
  for (const absl::Status& status :
       {control::ValidateRoomId(Sv(s)), control::ValidateRoomIdPrefix(Sv(s)),
        control::ValidateReason(Sv(s)), control::ValidateUserId(Sv(s))}) {
    FUZZ_CHECK(status.ok() || status.code() == absl::StatusCode::kInvalidArgument);
  }
}

void CheckNumbers(const uint8_t* data, size_t size) {
  uint32_t n = 0;
  std::memcpy(&n, data, size < sizeof(n) ? size : sizeof(n));
  const absl::StatusOr<uint8_t> member = control::ValidateMemberId(n);
  FUZZ_CHECK(member.ok() == (n <= 255));
  if (member.ok()) FUZZ_CHECK(*member == n);

  const int32_t page_size = static_cast<int32_t>(n);
  const absl::StatusOr<size_t> effective = control::EffectivePageSize(page_size);
  FUZZ_CHECK(effective.ok() == (page_size >= 0));
  if (effective.ok()) {
    FUZZ_CHECK(*effective >= 1 && *effective <= static_cast<size_t>(control::kMaxPageSize));
    if (page_size == 0) FUZZ_CHECK(*effective == static_cast<size_t>(control::kDefaultPageSize));
    if (page_size > 0 && page_size <= control::kMaxPageSize) {
      FUZZ_CHECK(*effective == static_cast<size_t>(page_size));
    }
  }
}

void CheckPageToken(std::string_view token, std::string_view prefix) {
  const absl::StatusOr<std::string> after = control::DecodePageToken(Sv(token), Sv(prefix));
  if (!after.ok()) {
    FUZZ_CHECK(after.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(!token.empty());
  } else if (token.empty()) {
    FUZZ_CHECK(after->empty());
  } else {
    FUZZ_CHECK(core::IsValidRoomId(*after));
    FUZZ_CHECK(absl::StartsWith(*after, Sv(prefix)));
    // Decoding is lenient (padding, stray low bits) and need not be
    // canonical: the token is a cursor, not a credential. What it names
    // must come back the same through a token of our own.
    const absl::StatusOr<std::string> again =
        control::DecodePageToken(control::EncodePageToken(Sv(prefix), *after), Sv(prefix));
    FUZZ_CHECK(again.ok() && *again == *after);
  }
}

void CheckPageTokenRoundTrip(std::string_view prefix, std::string_view last_room_id) {
  if (!control::ValidateRoomIdPrefix(Sv(prefix)).ok() ||
      !control::ValidateRoomId(Sv(last_room_id)).ok() ||
      !absl::StartsWith(Sv(last_room_id), Sv(prefix))) {
    return;
  }
  const std::string token = control::EncodePageToken(Sv(prefix), Sv(last_room_id));
  const absl::StatusOr<std::string> after = control::DecodePageToken(token, Sv(prefix));
  FUZZ_CHECK(after.ok() && *after == last_room_id);
  // The same token with a prefix one character shorter or longer.
  if (!prefix.empty()) {
    FUZZ_CHECK(!control::DecodePageToken(token, Sv(prefix.substr(1))).ok());
  }
  FUZZ_CHECK(!control::DecodePageToken(token, absl::StrCat(Sv(prefix), "x")).ok());
}

void CheckBearer(std::string_view header, std::string_view token) {
  FUZZ_CHECK(control::ConstantTimeEquals(Sv(header), Sv(token)) == (header == token));
  FUZZ_CHECK(control::CheckBearerToken("", std::nullopt).ok());
  FUZZ_CHECK(control::CheckBearerToken("", Sv(header)).ok());
  if (token.empty()) return;
  FUZZ_CHECK(!control::CheckBearerToken(Sv(token), std::nullopt).ok());
  const absl::Status status = control::CheckBearerToken(Sv(token), Sv(header));
  FUZZ_CHECK(status.ok() || status.code() == absl::StatusCode::kUnauthenticated);
  FUZZ_CHECK(status.ok() == (header.size() == token.size() + 7 &&
                             absl::EqualsIgnoreCase(Sv(header.substr(0, 7)), "bearer ") &&
                             header.substr(7) == token));
  const std::string exact = absl::StrCat("Bearer ", Sv(token));
  FUZZ_CHECK(control::CheckBearerToken(Sv(token), exact).ok());
  FUZZ_CHECK(!control::CheckBearerToken(Sv(token), absl::StrCat(exact, "x")).ok());
}

}  // namespace
}  // namespace cursord::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cursord::fuzz;
  const std::vector<std::string_view> fields = SplitFields(AsText(data, size), 2);
  const std::string_view a = fields[0], b = fields[1];
  CheckRules(a);
  CheckRules(b);
  CheckNumbers(data, size);
  CheckPageToken(a, b);
  CheckPageTokenRoundTrip(a, b);
  CheckPageTokenRoundTrip(b, a);
  CheckBearer(a, b);
  return 0;
}
