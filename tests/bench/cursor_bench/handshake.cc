#include "handshake.h"

#include <cstdint>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace cursord::bench {
namespace {

// A response head larger than this is not a WebSocket server talking.
constexpr size_t kMaxResponseHead = 16 * 1024;

}  // namespace

std::string ClientKeyFromNonce(uint64_t a, uint64_t b) {
  char raw[16];
  std::memcpy(raw, &a, 8);
  std::memcpy(raw + 8, &b, 8);
  return absl::Base64Escape(absl::string_view(raw, 16));
}

std::string BuildUpgradeRequest(absl::string_view host, absl::string_view path,
                                absl::string_view client_key) {
  return absl::StrCat("GET ", path,
                      " HTTP/1.1\r\n"
                      "Host: ",
                      host,
                      "\r\n"
                      "Upgrade: websocket\r\n"
                      "Connection: Upgrade\r\n"
                      "Sec-WebSocket-Key: ",
                      client_key,
                      "\r\n"
                      "Sec-WebSocket-Version: 13\r\n"
                      "\r\n");
}

absl::StatusOr<size_t> ParseUpgradeResponse(absl::string_view data,
                                            absl::string_view expected_accept) {
  const size_t end = data.find("\r\n\r\n");
  if (end == absl::string_view::npos) {
    if (data.size() > kMaxResponseHead) {
      return absl::InvalidArgumentError("response head too large");
    }
    return 0;
  }
  const absl::string_view head = data.substr(0, end);
  std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
  const absl::string_view status = lines.front();
  // "HTTP/1.1 101 Switching Protocols": only the code matters.
  std::vector<absl::string_view> parts =
      absl::StrSplit(status, absl::MaxSplits(' ', 2));
  if (parts.size() < 2 || !absl::StartsWith(parts[0], "HTTP/1.") ||
      parts[1] != "101") {
    return absl::FailedPreconditionError(
        absl::StrCat("upgrade refused: ", status));
  }
  bool upgrade = false, connection = false, accept = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos) continue;
    const absl::string_view name = absl::StripAsciiWhitespace(lines[i].substr(0, colon));
    const absl::string_view value =
        absl::StripAsciiWhitespace(lines[i].substr(colon + 1));
    if (absl::EqualsIgnoreCase(name, "upgrade")) {
      upgrade = absl::EqualsIgnoreCase(value, "websocket");
    } else if (absl::EqualsIgnoreCase(name, "connection")) {
      // A token list, e.g. "keep-alive, Upgrade".
      for (absl::string_view token : absl::StrSplit(value, ',')) {
        if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(token), "upgrade")) {
          connection = true;
        }
      }
    } else if (absl::EqualsIgnoreCase(name, "sec-websocket-accept")) {
      accept = value == expected_accept;
    }
  }
  if (!upgrade || !connection) {
    return absl::InvalidArgumentError("missing Upgrade/Connection headers");
  }
  if (!accept) return absl::InvalidArgumentError("wrong Sec-WebSocket-Accept");
  return end + 4;
}

}  // namespace cursord::bench
