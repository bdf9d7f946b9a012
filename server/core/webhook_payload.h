// What the webhook sink sends (docs/CONTROL_API.md, "Webhooks"): where
// (the URL, http:// only), the JSON body of a batch of presence events, and
// its signature. Pure code; the edge's WebhookSink does the I/O.
#ifndef CURSORD_CORE_WEBHOOK_PAYLOAD_H_
#define CURSORD_CORE_WEBHOOK_PAYLOAD_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/core/presence_events.h"

namespace cursord::core {

struct WebhookUrl {
  std::string host;         // without brackets: "127.0.0.1", "::1", "hooks.example.com"
  uint16_t port = 80;
  std::string host_header;  // "host" or "host:port", as the Host header
  std::string target;       // "/path?query", "/" when the URL has none
};

// Parses "http://HOST[:PORT][/PATH[?QUERY]]". INVALID_ARGUMENT saying what
// is wrong otherwise: another scheme (https:// included: send through a
// local TLS proxy), user info, a fragment, no host, a bad port, spaces or
// control characters.
absl::StatusOr<WebhookUrl> ParseWebhookUrl(std::string_view url);

// The body of one POST: {"time_ms": <now>, "events": [...]} with, per
// event: id, name, room, user_id/name/color (user events), instance,
// session_id, time_ms. Compact JSON (UTF-8).
std::string WebhookBody(const std::vector<PresenceEvent>& events, absl::Time now);

// "sha256=" and the lower-case hex of HMAC-SHA256(secret, body): the
// X-Cursord-Signature header.
std::string WebhookSignature(std::string_view secret, std::string_view body);

}  // namespace cursord::core

#endif  // CURSORD_CORE_WEBHOOK_PAYLOAD_H_
