#include "server/core/join_request.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"
#include "server/core/utf8.h"

namespace cursord::core {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

absl::Status ApplyParam(std::string_view key, std::string_view raw, JoinRequest* request) {
  if (key != "user" && key != "name" && key != "color") return absl::OkStatus();
  CURSORD_ASSIGN_OR_RETURN(std::string v, PercentDecode(raw, key));
  if (key == "user") {
    CURSORD_RETURN_IF_ERROR(ValidateUserId(key, v));
    request->user_id = std::move(v);
  } else if (key == "name") {
    CURSORD_RETURN_IF_ERROR(ValidateName(key, v));
    request->name = std::move(v);
  } else {
    CURSORD_ASSIGN_OR_RETURN(request->color, NormalizeColor(key, v));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> PercentDecode(std::string_view in, std::string_view field) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= in.size()) {
        return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": truncated %-escape"));
      }
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) {
        return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": invalid %-escape"));
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

absl::Status ForEachQueryParam(
    std::string_view query,
    absl::FunctionRef<absl::Status(std::string_view key, std::string_view raw_value)> visit) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? "" : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    CURSORD_RETURN_IF_ERROR(visit(key, value));
  }
  return absl::OkStatus();
}

absl::Status ValidateUserId(std::string_view field, std::string_view value) {
  if (value.empty() || value.size() > kMaxUserIdLength) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": 1 to 128 bytes expected"));
  }
  for (char c : value) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7F) {
      return absl::InvalidArgumentError(
          absl::StrCat(std::string(field), ": printable ASCII without spaces expected"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateName(std::string_view field, std::string_view value) {
  if (value.empty() || value.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": 1 to 64 bytes of UTF-8 expected"));
  }
  if (!IsPrintableUtf8(value)) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": printable UTF-8 expected"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> NormalizeColor(std::string_view field, std::string_view value) {
  if (value.size() != 7 || value[0] != '#') {
    return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": #rrggbb expected"));
  }
  for (size_t i = 1; i < 7; ++i) {
    if (HexValue(value[i]) < 0) {
      return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": #rrggbb expected"));
    }
  }
  return absl::AsciiStrToLower(std::string(value));
}

bool IsRoomIdChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
         c == '~' || c == ':' || c == '@' || c == '-';
}

bool IsValidRoomId(std::string_view room) {
  if (room.empty() || room.size() > kMaxRoomIdLength) return false;
  for (char c : room) {
    if (!IsRoomIdChar(c)) return false;
  }
  return true;
}

absl::StatusOr<std::string> RoomFromPath(std::string_view path) {
  if (path == "/") return std::string("default");
  constexpr std::string_view kPrefix = "/rooms/";
  if (path.substr(0, kPrefix.size()) != kPrefix) {
    return absl::NotFoundError("no such path; rooms are at /rooms/{room}");
  }
  std::string_view room = path.substr(kPrefix.size());
  if (!IsValidRoomId(room)) {
    return absl::InvalidArgumentError(
        "invalid room id: 1 to 128 characters of A-Z a-z 0-9 . _ ~ : @ - expected");
  }
  return std::string(room);
}

absl::StatusOr<JoinRequest> ParseJoinTarget(std::string_view target) {
  const size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? "" : target.substr(q + 1);
  JoinRequest request;
  CURSORD_ASSIGN_OR_RETURN(request.room, RoomFromPath(path));
  CURSORD_RETURN_IF_ERROR(ForEachQueryParam(
      query, [&](std::string_view key, std::string_view value) {
        return ApplyParam(key, value, &request);
      }));
  return request;
}

}  // namespace cursord::core
