// The join URL: core::ParseJoinTarget, RoomFromPath, ForEachQueryParam and
// PercentDecode (server/core/join_request.h).
//
// Input: the request target, as an HTTP request line carries it
// ("/rooms/lobby?user=ann&name=Ann&color=%23FF0000").
//
// Checks:
//  - an accepted join obeys the rules the edge relies on: a valid room id
//    ("default" for "/"), and user, name and color either absent or valid
//    (color in lower case);
//  - ParseJoinTarget takes its room from RoomFromPath of the path part, and
//    refuses only with INVALID_ARGUMENT or NOT_FOUND (400 and 404);
//  - ForEachQueryParam visits non-empty pairs whose key and value hold no
//    '&' and whose key holds no '=';
//  - PercentDecode never grows its input, and decodes any string written
//    as %XX escapes back to itself.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "server/core/join_request.h"
#include "tests/fuzz/fuzz_check.h"

namespace cursord::fuzz {
namespace {

bool IsLowerHexColor(std::string_view color) {
  if (color.size() != 7 || color[0] != '#') return false;
  for (char c : color.substr(1)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string PercentEncodeAll(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    out += '%';
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  }
  return out;
}

void CheckJoin(std::string_view target) {
  const absl::StatusOr<core::JoinRequest> join = core::ParseJoinTarget(target);
  const std::string_view path = target.substr(0, target.find('?'));
  const absl::StatusOr<std::string> room = core::RoomFromPath(path);
  if (!join.ok()) {
    FUZZ_CHECK(join.status().code() == absl::StatusCode::kInvalidArgument ||
               join.status().code() == absl::StatusCode::kNotFound);
    FUZZ_CHECK(!join.status().message().empty());
    return;
  }
  FUZZ_CHECK(room.ok() && *room == join->room);
  FUZZ_CHECK(core::IsValidRoomId(join->room));
  FUZZ_CHECK(path != "/" || join->room == "default");
  FUZZ_CHECK(join->user_id.empty() || core::ValidateUserId("user", join->user_id).ok());
  FUZZ_CHECK(join->name.empty() || core::ValidateName("name", join->name).ok());
  FUZZ_CHECK(join->color.empty() || IsLowerHexColor(join->color));
}

void CheckRoomFromPath(std::string_view path) {
  const absl::StatusOr<std::string> room = core::RoomFromPath(path);
  if (room.ok()) {
    FUZZ_CHECK(core::IsValidRoomId(*room));
    FUZZ_CHECK(path == "/" || path == "/rooms/" + *room);
  } else {
    FUZZ_CHECK(room.status().code() == absl::StatusCode::kInvalidArgument ||
               room.status().code() == absl::StatusCode::kNotFound);
  }
}

void CheckQuery(std::string_view query) {
  size_t visits = 0;
  const absl::Status status = core::ForEachQueryParam(
      query, [&visits](std::string_view key, std::string_view value) -> absl::Status {
        ++visits;
        FUZZ_CHECK(key.find('&') == std::string_view::npos);
        FUZZ_CHECK(key.find('=') == std::string_view::npos);
        FUZZ_CHECK(value.find('&') == std::string_view::npos);
        return absl::OkStatus();
      });
  FUZZ_CHECK(status.ok());  // the visitor never fails, so neither may the walk
  // One visit per non-empty '&'-separated pair at most.
  FUZZ_CHECK(visits <= static_cast<size_t>(std::count(query.begin(), query.end(), '&')) + 1);
  FUZZ_CHECK(query.empty() || visits > 0 || query.find_first_not_of('&') == std::string_view::npos);
}

void CheckPercentDecode(std::string_view text) {
  const absl::StatusOr<std::string> decoded = core::PercentDecode(text, "field");
  if (decoded.ok()) {
    FUZZ_CHECK(decoded->size() <= text.size());
  } else {
    FUZZ_CHECK(decoded.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(decoded.status().message().substr(0, 5) == "field");
  }
  const absl::StatusOr<std::string> round_trip =
      core::PercentDecode(PercentEncodeAll(text), "field");
  FUZZ_CHECK(round_trip.ok() && *round_trip == text);
}

}  // namespace
}  // namespace cursord::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cursord::fuzz;
  const std::string_view target = AsText(data, size);
  CheckJoin(target);
  CheckRoomFromPath(target);
  const size_t q = target.find('?');
  CheckQuery(q == std::string_view::npos ? target : target.substr(q + 1));
  CheckPercentDecode(target);
  return 0;
}
