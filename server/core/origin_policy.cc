#include "server/core/origin_policy.h"

#include <algorithm>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace cursord::core {
namespace {

struct Origin {
  std::string scheme;
  std::string host;
  std::string port;
};

bool IsHostChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ||
         c == '[' || c == ']' || c == ':';
}

// "scheme://host[:port]" in lower case, or nullopt. A path, query or
// user-info makes it no origin.
std::optional<Origin> SplitOrigin(absl::string_view text) {
  const size_t sep = text.find("://");
  if (sep == absl::string_view::npos || sep == 0) return std::nullopt;
  Origin origin;
  origin.scheme = absl::AsciiStrToLower(text.substr(0, sep));
  for (char c : origin.scheme) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' &&
        c != '.') {
      return std::nullopt;
    }
  }
  absl::string_view authority = text.substr(sep + 3);
  if (authority.empty()) return std::nullopt;
  for (char c : authority) {
    if (!IsHostChar(c) && c != '*') return std::nullopt;
  }
  // The port follows the last ':' outside an IPv6 literal's brackets.
  const size_t bracket = authority.rfind(']');
  const size_t colon = authority.rfind(':');
  if (colon != absl::string_view::npos && (bracket == absl::string_view::npos || colon > bracket)) {
    origin.port = std::string(authority.substr(colon + 1));
    authority = authority.substr(0, colon);
    if (origin.port.empty() || !std::all_of(origin.port.begin(), origin.port.end(), [](char c) {
          return absl::ascii_isdigit(static_cast<unsigned char>(c));
        })) {
      return std::nullopt;
    }
  }
  if (authority.empty()) return std::nullopt;
  origin.host = absl::AsciiStrToLower(authority);
  return origin;
}

}  // namespace

absl::StatusOr<OriginPolicy> OriginPolicy::Parse(std::string_view std_list) {
  const absl::string_view list(std_list.data(), std_list.size());
  OriginPolicy policy;
  for (absl::string_view item : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    std::optional<Origin> origin = SplitOrigin(item);
    if (!origin) {
      return absl::InvalidArgumentError(
          absl::StrCat("allowed origin \"", item, "\": scheme://host[:port] expected"));
    }
    Entry entry;
    entry.scheme = origin->scheme;
    entry.port = origin->port;
    if (absl::StartsWith(origin->host, "*.")) {
      entry.wildcard = true;
      entry.host_suffix = origin->host.substr(1);  // ".example.com"
    } else {
      entry.host_suffix = origin->host;
    }
    if (entry.host_suffix.find('*') != std::string::npos || entry.host_suffix == "." ||
        entry.host_suffix.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "allowed origin \"", item, "\": '*' may only stand as the first label, as in *.example.com"));
    }
    policy.entries_.push_back(std::move(entry));
  }
  return policy;
}

bool OriginPolicy::Allows(std::string_view std_origin) const {
  const absl::string_view origin_text(std_origin.data(), std_origin.size());
  if (entries_.empty() || origin_text.empty()) return true;
  std::optional<Origin> origin = SplitOrigin(origin_text);
  if (!origin || origin->host.find('*') != std::string::npos) return false;
  for (const Entry& entry : entries_) {
    if (entry.scheme != origin->scheme || entry.port != origin->port) continue;
    if (entry.wildcard ? (origin->host.size() > entry.host_suffix.size() &&
                          absl::EndsWith(origin->host, entry.host_suffix))
                       : origin->host == entry.host_suffix) {
      return true;
    }
  }
  return false;
}

}  // namespace cursord::core
