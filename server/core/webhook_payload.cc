#include "server/core/webhook_payload.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "nlohmann/json.hpp"
#include "server/core/host_port.h"

namespace cursord::core {
namespace {

constexpr std::string_view kScheme = "http://";

absl::Status BadUrl(std::string_view url, std::string_view why) {
  std::string message = "webhook URL \"";
  message.append(url).append("\": ").append(why);
  return absl::InvalidArgumentError(message);
}

bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  return absl::StartsWithIgnoreCase(absl::string_view(text.data(), text.size()),
                                    absl::string_view(prefix.data(), prefix.size()));
}

}  // namespace

absl::StatusOr<WebhookUrl> ParseWebhookUrl(std::string_view url) {
  for (const char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return BadUrl(url, "spaces and control characters are not allowed");
    }
  }
  if (StartsWithIgnoreCase(url, "https://")) {
    return BadUrl(url,
                  "https:// is not supported: send to http:// on a local TLS proxy "
                  "(docs/CONTROL_API.md, Webhooks)");
  }
  if (!StartsWithIgnoreCase(url, kScheme)) {
    return BadUrl(url, "an http:// URL expected");
  }
  std::string_view rest = url.substr(kScheme.size());
  if (rest.find('#') != std::string_view::npos) return BadUrl(url, "no fragment (#) allowed");
  const size_t path_at = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_at);
  WebhookUrl parsed;
  parsed.target = path_at == std::string_view::npos ? "/" : std::string(rest.substr(path_at));
  if (parsed.target[0] == '?') parsed.target.insert(0, "/");
  if (authority.find('@') != std::string_view::npos) {
    return BadUrl(url, "no user info (user@) allowed: authenticate with the signature");
  }
  if (authority.empty()) return BadUrl(url, "no host");
  // "host", "host:port", "[v6]", "[v6]:port".
  const size_t bracket = authority.rfind(']');
  const size_t colon = authority.rfind(':');
  const bool has_port =
      colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket);
  const std::string host_port =
      has_port ? std::string(authority) : std::string(authority) + ":80";
  absl::StatusOr<HostPort> split = SplitHostPort(host_port, "webhook URL host");
  if (!split.ok()) return BadUrl(url, std::string(split.status().message()));
  if (split->host.empty()) return BadUrl(url, "no host");
  if (split->port == 0) return BadUrl(url, "port 0");
  parsed.host = split->host;
  parsed.port = split->port;
  parsed.host_header = std::string(authority);
  return parsed;
}

std::string WebhookBody(const std::vector<PresenceEvent>& events, absl::Time now) {
  nlohmann::json list = nlohmann::json::array();
  for (const PresenceEvent& event : events) {
    nlohmann::json e;
    e["id"] = PresenceEventId(event);
    e["name"] = PresenceEventName(event.kind);
    e["room"] = event.room;
    if (event.kind == PresenceEventKind::kUserEntered ||
        event.kind == PresenceEventKind::kUserLeft) {
      e["user_id"] = event.user_id;
      e["user_name"] = event.name;
      e["user_color"] = event.color;
    }
    e["instance"] = event.instance;
    e["session_id"] = event.session_id;
    e["time_ms"] = absl::ToUnixMillis(event.time);
    list.push_back(std::move(e));
  }
  nlohmann::json body;
  body["time_ms"] = absl::ToUnixMillis(now);
  body["events"] = std::move(list);
  // Names and rooms were checked as UTF-8 at the join; replace rather
  // than throw should anything else slip through.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string WebhookSignature(std::string_view secret, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &length);
  return "sha256=" + absl::BytesToHexString(
                         absl::string_view(reinterpret_cast<const char*>(mac), length));
}

}  // namespace cursord::core
