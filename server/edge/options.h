// Settings of the WebSocket edge. Defaults are the documented defaults of
// the `cursord` flags (see `cursord --help` and docs/OPERATIONS.md).
#ifndef CURSORD_EDGE_OPTIONS_H_
#define CURSORD_EDGE_OPTIONS_H_

#include <cstddef>
#include <string>

#include "absl/time/time.h"
#include "server/backplane/backoff.h"

namespace cursord::edge {

// The webhook sink (WebhookSink; docs/CONTROL_API.md, "Webhooks").
struct WebhookOptions {
  // "" = no webhooks.
  std::string url;     // http://HOST[:PORT][/PATH]
  std::string secret;  // the HMAC-SHA256 key; required
  // Events waiting to be sent; more are dropped (counted).
  size_t queue_events = 10000;
  // Events per POST at most.
  size_t batch_events = 100;
  // One attempt (resolve, connect, send, answer) at most this long.
  absl::Duration timeout = absl::Seconds(5);
  // Attempts after the first, before the batch is dropped (counted).
  int retries = 6;
  // Between attempts: 500 ms, 1 s, 2 s, ... at most 30 s, each +-20 %.
  backplane::BackoffPolicy backoff = {absl::Milliseconds(500), absl::Seconds(30), 2.0, 0.2};
  // On shutdown, how long what is queued gets to be sent.
  absl::Duration shutdown_grace = absl::Seconds(5);
};

struct ServerOptions {
  // "host:port" of the WebSocket/HTTP listener; port 0 picks a free port.
  std::string listen = "0.0.0.0:8080";
  // "host:port" of a second HTTP listener that serves /metrics, /healthz
  // and /readyz only ("" = none). When set, /metrics is served there and
  // no longer on `listen`.
  std::string metrics_listen;
  // Whether `listen` serves the demo page (GET /, /rooms/{room}) and the
  // browser SDK (/sdk/...). --no-demo: only WebSocket upgrades, /healthz
  // and /readyz (and /metrics when metrics_listen is empty).
  bool serve_demo = true;
  // Event-loop threads, each owning a share of the rooms; 0 = one per core.
  int threads = 0;
  // Members per room, 1..256 (ids are one byte).
  int max_room_members = 256;
  // Largest client message (after joining fragments); bigger closes with 1009.
  size_t max_frame_bytes = 1024;
  // Connection records (docs/CONTROL_API.md, "Connection records"): at
  // most this many joins and leaves, none older than activity_max_age.
  size_t activity_records = 10000;
  absl::Duration activity_max_age = absl::Hours(24);
  // Largest member state (protocol v2's `09`); larger closes with 1009.
  // Below max_frame_bytes (the message has a type byte too).
  size_t max_state_bytes = 256;
  // Time a client has to send its HTTP request / finish the upgrade.
  absl::Duration handshake_timeout = absl::Seconds(5);
  // A client silent this long is pinged; one that stays silent as long
  // again is closed.
  absl::Duration ping_interval = absl::Seconds(20);
  // A client that does not take a pending write for this long is closed
  // (1008) as a slow consumer.
  absl::Duration send_timeout = absl::Seconds(15);
  // Undelivered event bytes (joins, leaves, clicks) allowed per client
  // before it is closed (1008) as a slow consumer. Cursor positions are
  // coalesced and never count here.
  size_t max_pending_bytes = 256 * 1024;
  // How long joins and leaves of others may wait before they are written,
  // so that a burst of them leaves in one write per member instead of one
  // write each. A cursor move or click flushes at once and takes them
  // along. 0 writes them at once.
  absl::Duration presence_batch = absl::Milliseconds(2);
  // The per-connection message rate limit (see core::InputLimiter):
  // messages a second (0: none) and the burst above it. Over the limit a
  // move or click waits as the member's newest state; at more than twice
  // the limit for long the client is closed (1008).
  double max_message_rate = 300;
  double message_burst = 600;
  // Who may join (see JoinGate and docs/OPERATIONS.md, Security).
  // Comma-separated browser origins allowed to join ("" = any), exact or
  // "https://*.example.com".
  std::string allowed_origins;
  // Comma-separated CIDRs of reverse proxies whose X-Forwarded-For /
  // Forwarded headers name the client ("" = trust none).
  std::string trusted_proxies;
  // The header those proxies write: "x-forwarded-for" or "forwarded"
  // (RFC 7239). Only that one is read.
  std::string trusted_proxy_header = "x-forwarded-for";
  // WebSocket sessions in all, per client address, and rooms; 0: no limit.
  int max_connections = 0;
  int max_connections_per_ip = 0;
  int max_rooms = 0;
  // Join tokens: an HS256 secret and/or a PEM public key file (ES256 or
  // RS256). When either is set, every join needs a valid token.
  std::string join_secret;
  std::string join_public_key_file;
  // The audience tokens must name ("" = tokens carry no aud).
  std::string join_audience;
  // Clock difference allowed between the token's signer and cursord.
  absl::Duration join_token_skew = absl::Seconds(30);
  // On shutdown, how long sessions get to finish their close handshake.
  absl::Duration shutdown_grace = absl::Seconds(3);
  // A drain (Server::BeginDrain, on SIGTERM/SIGINT): /readyz fails at
  // once, and after drain_delay (so that load balancers stop sending new
  // clients first) the open sessions are closed with 1001 one after
  // another, evenly over drain_spread (0: all at once), so that the other
  // instances see their reconnects as a ramp. core::DrainSchedule decides
  // when each one goes.
  absl::Duration drain_delay = absl::Seconds(2);
  absl::Duration drain_spread = absl::Seconds(5);
  // Kernel send buffer per WebSocket (SO_SNDBUF); 0 keeps the OS default.
  // A small buffer keeps a stalled reader's backlog in the kernel small,
  // so it sees fresh positions sooner when it resumes.
  int socket_send_buffer = 32 * 1024;
  // The backplane (docs/BACKPLANE.md): "" runs alone, in memory; else
  // redis://HOST:PORT[/DB], or a ","-separated list of independent Redis
  // servers that rooms are spread over.
  std::string redis;
  // This instance's id in the cluster ("" = host name and a random suffix).
  std::string instance_id;
  // How often an instance publishes its members' newest positions, per
  // room (at most one message per room per interval).
  absl::Duration redis_flush_interval = absl::Milliseconds(10);
  // How long a cluster-wide control plane request waits for the other
  // instances before naming those that did not answer.
  absl::Duration cluster_timeout = absl::Seconds(2);
  // Presence events POSTed to a URL (--webhook-*); off without a URL.
  WebhookOptions webhook;
};

}  // namespace cursord::edge

#endif  // CURSORD_EDGE_OPTIONS_H_
