// cursord: wires flags to the edge server and the control plane, then
// waits for SIGINT/SIGTERM. All logic lives in the libraries.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/time/time.h"
#include "server/common/logging.h"
#include "server/common/read_file.h"
#include "server/control/control_server.h"
#include "server/edge/server.h"

namespace {

// What a duration flag accepts: nothing shorter than `min`, and 0 only
// where it means something (its help says what: "at once", "no limit").
struct DurationRule {
  absl::Duration min;
  bool zero_allowed;
};
constexpr DurationRule kPositive = {absl::Nanoseconds(1), false};
constexpr DurationRule kZeroOrMore = {absl::ZeroDuration(), true};

bool Accepts(DurationRule rule, absl::Duration d) {
  if (d == absl::ZeroDuration()) return rule.zero_allowed;
  return d >= rule.min && d > absl::ZeroDuration() && d != absl::InfiniteDuration();
}

// "a positive duration such as 500ms, 20s or 1m", "a duration of at least
// 1s such as 20s or 1m", "0 or ...".
std::string Describe(DurationRule rule) {
  const std::string nonzero =
      rule.min <= absl::Nanoseconds(1)
          ? "a positive duration such as 500ms, 20s or 1m"
          : "a duration of at least " + absl::FormatDuration(rule.min) + " such as 20s or 1m";
  return rule.zero_allowed ? "0 or " + nonzero : nonzero;
}

// The one way a duration flag is read, from the command line or the
// environment: absl::ParseDuration ("500ms", "20s", "1m") straight into
// `*value`, once, checked against `rule`. `*value` holds the default, which
// --help shows. A bad value is refused naming the flag and what it takes.
CLI::Option* AddDurationOption(CLI::App& app, const std::string& name,
                               absl::Duration* value, const std::string& help,
                               DurationRule rule) {
  auto parse = [name, value, rule](const std::string& text) {
    absl::Duration parsed;
    if (!absl::ParseDuration(text, &parsed) || !Accepts(rule, parsed)) {
      throw CLI::ValidationError(name,
                                 Describe(rule) + " expected, not \"" + text + "\"");
    }
    *value = parsed;
  };
  return app.add_option_function<std::string>(name, parse, help)
      ->type_name("DURATION")
      ->default_str(absl::FormatDuration(*value));
}

// The WebSocket edge's flags: where it listens, and what one connection
// may cost.
void AddEdgeFlags(CLI::App& app, cursord::edge::ServerOptions& options) {
  app.add_option("--listen", options.listen, "WebSocket/HTTP listen address host:port")
      ->envname("CURSORD_LISTEN")
      ->capture_default_str();
  app.add_option("--metrics-listen", options.metrics_listen,
                 "serve /metrics (and /healthz, /readyz) on this host:port instead of on "
                 "--listen (default: /metrics on --listen)")
      ->envname("CURSORD_METRICS_LISTEN");
  app.add_flag_function(
         "--no-demo", [&options](int64_t count) { options.serve_demo = count <= 0; },
         "--listen serves no demo page and no SDK (/, /rooms/..., /sdk/...: 404), only "
         "WebSocket upgrades, /healthz, /readyz and, without --metrics-listen, /metrics")
      ->envname("CURSORD_NO_DEMO");
  app.add_option("--threads", options.threads,
                 "event-loop threads, each owning a share of the rooms (0: one per core)")
      ->envname("CURSORD_THREADS")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  app.add_option("--max-room-members", options.max_room_members,
                 "members per room; the next one is closed with 1013")
      ->envname("CURSORD_MAX_ROOM_MEMBERS")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--max-frame-bytes", options.max_frame_bytes,
                 "largest client message; bigger ones close the session with 1009")
      ->envname("CURSORD_MAX_FRAME_BYTES")
      ->check(CLI::Range(size_t{8}, size_t{1} << 20))
      ->capture_default_str();
  app.add_option("--max-state-bytes", options.max_state_bytes,
                 "largest member state (protocol v2); a bigger one closes the session with 1009; "
                 "below --max-frame-bytes")
      ->envname("CURSORD_MAX_STATE_BYTES")
      ->check(CLI::Range(size_t{0}, size_t{65535}))
      ->capture_default_str();
  app.add_option("--activity-records", options.activity_records,
                 "connection records kept (every join and leave; ListSessions)")
      ->envname("CURSORD_ACTIVITY_RECORDS")
      ->check(CLI::Range(size_t{1}, size_t{10'000'000}))
      ->capture_default_str();
  AddDurationOption(app, "--activity-max-age", &options.activity_max_age,
                    "connection records older than this are dropped", kPositive)
      ->envname("CURSORD_ACTIVITY_MAX_AGE");
  app.add_option("--max-pending-bytes", options.max_pending_bytes,
                 "undelivered join/leave/click bytes per client before it is closed (1008)")
      ->envname("CURSORD_MAX_PENDING_BYTES")
      ->check(CLI::Range(size_t{1024}, size_t{1} << 30))
      ->capture_default_str();
  AddDurationOption(app, "--handshake-timeout", &options.handshake_timeout,
                    "time a client has to complete its HTTP request and upgrade", kPositive)
      ->envname("CURSORD_HANDSHAKE_TIMEOUT");
  AddDurationOption(app, "--ping-interval", &options.ping_interval,
                    "ping a client silent this long; close it if silent as long again",
                    kPositive)
      ->envname("CURSORD_PING_INTERVAL");
  AddDurationOption(app, "--send-timeout", &options.send_timeout,
                    "close (1008) a client that does not take a write for this long", kPositive)
      ->envname("CURSORD_SEND_TIMEOUT");
  AddDurationOption(app, "--presence-batch", &options.presence_batch,
                    "joins and leaves wait up to this long so a burst goes out in one write "
                    "per member (0 = at once); cursor moves are never delayed",
                    kZeroOrMore)
      ->envname("CURSORD_PRESENCE_BATCH");
  AddDurationOption(app, "--shutdown-grace", &options.shutdown_grace,
                    "on SIGINT/SIGTERM, time given to close handshakes (1001) after the "
                    "last close",
                    kPositive)
      ->envname("CURSORD_SHUTDOWN_GRACE");
  AddDurationOption(app, "--drain-delay", &options.drain_delay,
                    "on SIGINT/SIGTERM, /readyz fails at once; sessions are closed only this "
                    "long after, once load balancers stopped sending new clients (0 = at once)",
                    kZeroOrMore)
      ->envname("CURSORD_DRAIN_DELAY");
  AddDurationOption(app, "--drain-spread", &options.drain_spread,
                    "then the sessions are closed with 1001 one after another, evenly over "
                    "this long, so that other instances see their reconnects as a ramp "
                    "(0 = all at once)",
                    kZeroOrMore)
      ->envname("CURSORD_DRAIN_SPREAD");
  app.add_option("--socket-send-buffer", options.socket_send_buffer,
                 "SO_SNDBUF per WebSocket in bytes (0: the OS default)")
      ->envname("CURSORD_SOCKET_SEND_BUFFER")
      ->check(CLI::Range(0, 64 << 20))
      ->capture_default_str();
  app.add_option("--max-message-rate", options.max_message_rate,
                 "client messages a second per connection (0: no limit); over it moves and "
                 "clicks wait as the newest state, at twice it for long the client is "
                 "closed (1008)")
      ->envname("CURSORD_MAX_MESSAGE_RATE")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  app.add_option("--message-burst", options.message_burst,
                 "client messages allowed at once above --max-message-rate")
      ->envname("CURSORD_MESSAGE_BURST")
      ->check(CLI::Range(1.0, 1e6))
      ->capture_default_str();
}

// Who may join: origins, proxies, limits, join tokens.
void AddJoinFlags(CLI::App& app, cursord::edge::ServerOptions& options) {
  app.add_option("--allowed-origins", options.allowed_origins,
                 "browser origins allowed to join, comma-separated: https://app.example.com, "
                 "https://*.example.com (default: any); others get 403")
      ->envname("CURSORD_ALLOWED_ORIGINS");
  app.add_option("--trusted-proxies", options.trusted_proxies,
                 "reverse proxies (CIDRs, comma-separated) whose X-Forwarded-For/Forwarded "
                 "names the client (default: none)")
      ->envname("CURSORD_TRUSTED_PROXIES");
  app.add_option("--trusted-proxy-header", options.trusted_proxy_header,
                 "the header those proxies write: x-forwarded-for or forwarded (RFC 7239); "
                 "only that one is read")
      ->envname("CURSORD_TRUSTED_PROXY_HEADER")
      ->check(CLI::IsMember({"x-forwarded-for", "forwarded"}, CLI::ignore_case))
      ->capture_default_str();
  app.add_option("--max-connections", options.max_connections,
                 "WebSocket sessions in all; more get 503 (0: no limit)")
      ->envname("CURSORD_MAX_CONNECTIONS")
      ->check(CLI::Range(0, 10'000'000))
      ->capture_default_str();
  app.add_option("--max-connections-per-ip", options.max_connections_per_ip,
                 "WebSocket sessions per client address; more get 503 (0: no limit)")
      ->envname("CURSORD_MAX_CONNECTIONS_PER_IP")
      ->check(CLI::Range(0, 10'000'000))
      ->capture_default_str();
  app.add_option("--max-rooms", options.max_rooms,
                 "rooms with members; a join that would make one more is closed with 1013 "
                 "(0: no limit)")
      ->envname("CURSORD_MAX_ROOMS")
      ->check(CLI::Range(0, 10'000'000))
      ->capture_default_str();
  app.add_option("--join-secret", options.join_secret,
                 "HS256 secret (32+ bytes) for join tokens; with it every join needs a "
                 "token. Prefer CURSORD_JOIN_SECRET, which ps does not show")
      ->envname("CURSORD_JOIN_SECRET");
  app.add_option("--join-public-key", options.join_public_key_file,
                 "PEM public key file (P-256: ES256, RSA: RS256) for join tokens; with it "
                 "every join needs a token")
      ->envname("CURSORD_JOIN_PUBLIC_KEY")
      ->check(CLI::ExistingFile);
  app.add_option("--join-audience", options.join_audience,
                 "the aud that join tokens must carry (default: tokens carry none)")
      ->envname("CURSORD_JOIN_AUDIENCE");
  AddDurationOption(app, "--join-token-skew", &options.join_token_skew,
                    "clock difference allowed when checking exp, nbf and iat", kZeroOrMore)
      ->envname("CURSORD_JOIN_TOKEN_SKEW");

  // Several instances: the Redis backplane.
  app.add_option("--redis", options.redis,
                 "redis://HOST:PORT[/DB], or a ,-separated list of independent Redis servers: "
                 "rooms span every cursord instance that uses the same list (docs/BACKPLANE.md); "
                 "unset runs alone, in memory")
      ->envname("CURSORD_REDIS");
  app.add_option("--instance-id", options.instance_id,
                 "this instance's name in the cluster (A-Z a-z 0-9 . _ -, at most 48; "
                 "default: the host name); its id is the name and a random suffix, new per "
                 "process")
      ->envname("CURSORD_INSTANCE_ID");
  AddDurationOption(app, "--redis-flush-interval", &options.redis_flush_interval,
                    "how often positions are published to the other instances, per room "
                    "(at most one message per room per interval)",
                    kPositive)
      ->envname("CURSORD_REDIS_FLUSH_INTERVAL");
  AddDurationOption(app, "--cluster-timeout", &options.cluster_timeout,
                    "how long a control plane request waits for the other instances; those "
                    "that did not answer by then are named in the answer",
                    kPositive)
      ->envname("CURSORD_CLUSTER_TIMEOUT");
}

// The webhook sink's flags (docs/CONTROL_API.md, "Webhooks").
void AddWebhookFlags(CLI::App& app, cursord::edge::WebhookOptions& webhook,
                     std::string& secret_file) {
  app.add_option("--webhook-url", webhook.url,
                 "POST presence events (user entered/left a room, room occupied/vacated), "
                 "signed, to this http:// URL (https: through a local TLS proxy); unset: none")
      ->envname("CURSORD_WEBHOOK_URL");
  auto* secret = app.add_option("--webhook-secret", webhook.secret,
                                "the HMAC-SHA256 key of X-Cursord-Signature; required with "
                                "--webhook-url. Prefer CURSORD_WEBHOOK_SECRET, which ps does not "
                                "show, or --webhook-secret-file")
                     ->envname("CURSORD_WEBHOOK_SECRET");
  app.add_option("--webhook-secret-file", secret_file,
                 "a file holding the webhook secret (one trailing newline ignored), read at start")
      ->envname("CURSORD_WEBHOOK_SECRET_FILE")
      ->type_name("FILE")
      ->excludes(secret);
  app.add_option("--webhook-queue", webhook.queue_events,
                 "presence events waiting to be sent; more are dropped and counted")
      ->envname("CURSORD_WEBHOOK_QUEUE")
      ->check(CLI::Range(size_t{1}, size_t{10'000'000}))
      ->capture_default_str();
  app.add_option("--webhook-batch", webhook.batch_events, "presence events per POST at most")
      ->envname("CURSORD_WEBHOOK_BATCH")
      ->check(CLI::Range(size_t{1}, size_t{10'000}))
      ->capture_default_str();
  AddDurationOption(app, "--webhook-timeout", &webhook.timeout,
                    "one POST (connect, send, answer) at most this long, then it is retried",
                    kPositive)
      ->envname("CURSORD_WEBHOOK_TIMEOUT");
  app.add_option("--webhook-retries", webhook.retries,
                 "retries of a failed POST (connect error, timeout, non-2xx) with backoff "
                 "(0.5s, 1s, 2s, ... 30s, +-20%); then its events are dropped and counted")
      ->envname("CURSORD_WEBHOOK_RETRIES")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  AddDurationOption(app, "--webhook-shutdown-grace", &webhook.shutdown_grace,
                    "on shutdown, time given to send what is queued", kZeroOrMore)
      ->envname("CURSORD_WEBHOOK_SHUTDOWN_GRACE");
}

// The secret of --webhook-secret-file, when given: the file's content
// without one trailing newline.
absl::Status ReadWebhookSecret(const std::string& secret_file,
                               cursord::edge::WebhookOptions& webhook) {
  if (secret_file.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> secret = cursord::ReadFileToString(secret_file, 64 * 1024);
  if (!secret.ok()) return secret.status();
  std::string text = *std::move(secret);
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (!text.empty() && text.back() == '\r') text.pop_back();
  if (text.empty()) {
    return absl::InvalidArgumentError("--webhook-secret-file \"" + secret_file + "\" is empty");
  }
  webhook.secret = std::move(text);
  return absl::OkStatus();
}

// The gRPC control plane's flags.
void AddControlFlags(CLI::App& app, cursord::control::ControlServerOptions& control) {
  app.add_option("--control-listen", control.listen,
                 "gRPC control plane address host:port (not public by default)")
      ->envname("CURSORD_CONTROL_LISTEN")
      ->capture_default_str();
  app.add_option("--control-token", control.token,
                 "require 'authorization: Bearer TOKEN' on control calls")
      ->envname("CURSORD_CONTROL_TOKEN");
  app.add_option("--control-tls-cert", control.tls.cert_file,
                 "PEM certificate (chain) for TLS on the control plane, with --control-tls-key; "
                 "read at start")
      ->envname("CURSORD_CONTROL_TLS_CERT")
      ->type_name("FILE");
  app.add_option("--control-tls-key", control.tls.key_file,
                 "the certificate's PEM private key (unencrypted)")
      ->envname("CURSORD_CONTROL_TLS_KEY")
      ->type_name("FILE");
  app.add_option("--control-tls-client-ca", control.tls.client_ca_file,
                 "PEM CA certificate(s): control clients must present a certificate one of "
                 "them signed (mutual TLS)")
      ->envname("CURSORD_CONTROL_TLS_CLIENT_CA")
      ->type_name("FILE");
  app.add_option("--control-max-watchers", control.max_watchers,
                 "open WatchRoom streams on the server; the next is refused "
                 "(RESOURCE_EXHAUSTED)")
      ->envname("CURSORD_CONTROL_MAX_WATCHERS")
      ->check(CLI::Range(size_t{1}, size_t{1} << 20))
      ->capture_default_str();
  app.add_option("--control-max-watchers-per-room", control.max_watchers_per_room,
                 "open WatchRoom streams on one room; the next is refused (RESOURCE_EXHAUSTED)")
      ->envname("CURSORD_CONTROL_MAX_WATCHERS_PER_ROOM")
      ->check(CLI::Range(size_t{1}, size_t{1} << 20))
      ->capture_default_str();
  AddDurationOption(app, "--control-keepalive", &control.keepalive_time,
                    "ping a control connection idle this long; close it if the ping is "
                    "not answered within 10s",
                    {absl::Seconds(1), false})
      ->envname("CURSORD_CONTROL_KEEPALIVE");
  AddDurationOption(app, "--control-max-connection-age", &control.max_connection_age,
                    "ask a control connection to go away (GOAWAY) at this age (0 = no limit)",
                    kZeroOrMore)
      ->envname("CURSORD_CONTROL_MAX_CONNECTION_AGE");
  AddDurationOption(app, "--control-max-connection-age-grace",
                    &control.max_connection_age_grace,
                    "after that GOAWAY, time its calls (WatchRoom streams too) get before "
                    "the connection is closed",
                    kZeroOrMore)
      ->envname("CURSORD_CONTROL_MAX_CONNECTION_AGE_GRACE");
}

// How often gRPC health is brought in step with the edge's readiness (a
// backplane that comes or goes), and how often a drain checks whether it
// is over.
constexpr absl::Duration kReadinessPoll = absl::Milliseconds(200);
constexpr absl::Duration kDrainPoll = absl::Milliseconds(20);

// Waits up to `timeout` for one of `signals`; the signal, or 0.
int WaitForSignal(const sigset_t& signals, absl::Duration timeout) {
  const timespec wait = absl::ToTimespec(timeout);
  const int signal_number = sigtimedwait(&signals, nullptr, &wait);
  return signal_number > 0 ? signal_number : 0;
}

// gRPC health follows the edge's readiness, as /readyz does.
void FollowReadiness(cursord::edge::Server& server, cursord::control::ControlServer& control,
                     bool* serving) {
  const absl::Status ready = server.Readiness();
  if (ready.ok() == *serving) return;
  *serving = ready.ok();
  control.SetServing(*serving);
  CURSORD_LOG(kInfo) << (*serving ? "ready" : "not ready: " + std::string(ready.message()));
}

const char* SignalName(int signal_number) {
  return signal_number == SIGINT ? "SIGINT" : "SIGTERM";
}

// Runs the edge and the control plane until SIGINT or SIGTERM, drains, and
// stops; the exit code.
int Serve(const cursord::edge::ServerOptions& options,
          const cursord::control::ControlServerOptions& control) {
  // Block the stop signals in every thread; this one waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // A peer that vanishes mid-write must not kill the process.
  signal(SIGPIPE, SIG_IGN);

  cursord::edge::Server server(options);
  if (absl::Status status = server.Start(); !status.ok()) {
    CURSORD_LOG(kError) << status.message();
    return 1;
  }
  auto control_server = cursord::control::ControlServer::Start(control, server.control_plane());
  if (!control_server.ok()) {
    CURSORD_LOG(kError) << "control plane: " << control_server.status().message();
    server.Shutdown();
    return 1;
  }
  CURSORD_LOG(kInfo) << "control plane (gRPC) on " << (*control_server)->address()
                     << (control.tls.mutual()    ? " over mutual TLS"
                         : control.tls.enabled() ? " over TLS"
                                                 : "")
                     << (control.token.empty() ? "" : " (token required)");

  bool serving = true;  // what the health service answers after Start
  FollowReadiness(server, **control_server, &serving);
  int signal_number = 0;
  while ((signal_number = WaitForSignal(stop_signals, kReadinessPoll)) == 0) {
    FollowReadiness(server, **control_server, &serving);
  }
  CURSORD_LOG(kInfo) << "received " << SignalName(signal_number);
  // The drain: readiness fails (here and in gRPC health) at once, the
  // sessions go on the schedule. The control plane stays up meanwhile, so
  // that probes and operators can watch. A second signal ends it early.
  server.BeginDrain();
  FollowReadiness(server, **control_server, &serving);
  while (!server.drained()) {
    if (const int again = WaitForSignal(stop_signals, kDrainPoll); again != 0) {
      CURSORD_LOG(kInfo) << "received " << SignalName(again) << " again: ending the drain";
      break;
    }
  }
  (*control_server)->Shutdown();
  server.Shutdown();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  cursord::edge::ServerOptions options;
  cursord::control::ControlServerOptions control;
  std::string log_level = "info";
  std::string log_format = "text";
  std::string webhook_secret_file;

  CLI::App app{
      "cursord: live multiplayer cursors over WebSocket.\n"
      "Clients join ws://HOST:PORT/rooms/{room}; GET / serves the demo page.\n"
      "Every flag can also be set as CURSORD_<FLAG> (e.g. CURSORD_LISTEN).",
      "cursord"};
  app.set_version_flag("--version", std::string(cursord::edge::Version()));
  app.get_formatter()->column_width(34);
  AddEdgeFlags(app, options);
  AddJoinFlags(app, options);
  AddControlFlags(app, control);
  AddWebhookFlags(app, options.webhook, webhook_secret_file);
  app.add_option("--log-level", log_level, "debug, info, warning, error or off")
      ->envname("CURSORD_LOG_LEVEL")
      ->check(CLI::IsMember({"debug", "info", "warning", "error", "off"}))
      ->capture_default_str();
  app.add_option("--log-format", log_format,
                 "text, or json: one JSON object per line (time, level, source, message)")
      ->envname("CURSORD_LOG_FORMAT")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
    if (options.max_state_bytes >= options.max_frame_bytes) {
      // A state message is its bytes plus a type byte, in one frame.
      throw CLI::ValidationError("--max-state-bytes",
                                 "must be below --max-frame-bytes (" +
                                     std::to_string(options.max_frame_bytes) + ")");
    }
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  cursord::LogLevel level;
  cursord::ParseLogLevel(log_level, &level);
  cursord::SetLogLevel(level);
  cursord::LogFormat format;
  cursord::ParseLogFormat(log_format, &format);
  cursord::SetLogFormat(format);
  // Before anything binds: a token sent in clear off loopback, or a TLS
  // file that cannot be used, stops cursord before it serves anyone.
  if (absl::Status status = cursord::control::ControlServer::CheckOptions(control);
      !status.ok()) {
    CURSORD_LOG(kError) << "control plane: " << status.message();
    return 1;
  }
  if (absl::Status status = ReadWebhookSecret(webhook_secret_file, options.webhook);
      !status.ok()) {
    CURSORD_LOG(kError) << "webhook: " << status.message();
    return 1;
  }

  return Serve(options, control);
}
