// The counters and histograms of one shard. Each is written only by its
// shard's thread and read by anyone (see core::Counter,
// core::ShardHistogram); a scrape sums them across shards.
#ifndef CURSORD_EDGE_SHARD_COUNTERS_H_
#define CURSORD_EDGE_SHARD_COUNTERS_H_

#include <cstdint>

#include "server/core/counter.h"
#include "server/core/histogram.h"
#include "server/core/join_token.h"

namespace cursord::edge {

// X(member, "exported name", "help text")
#define CURSORD_SHARD_COUNTERS(X)                                                      \
  X(connections_accepted, "connections_accepted", "WebSocket sessions opened")          \
  X(messages_in, "messages_in", "client messages received")                             \
  X(messages_out, "messages_out", "messages sent to clients")                           \
  X(bytes_in, "bytes_in", "bytes read from WebSocket clients")                         \
  X(bytes_out, "bytes_out", "bytes written to WebSocket clients")                      \
  X(writes, "writes", "socket writes (each carries every pending message)")            \
  X(cursor_coalesced, "cursor_coalesced", "cursor updates superseded before sending")  \
  X(state_coalesced, "state_coalesced", "member states (protocol v2) superseded before sending") \
  X(ignored_empty, "messages_ignored_empty", "empty binary messages ignored")          \
  X(ignored_unknown, "messages_ignored_unknown", "unknown message types ignored")      \
  X(ignored_short, "messages_ignored_short", "truncated messages ignored")             \
  X(messages_rate_limited, "messages_rate_limited",                                   \
    "client messages over the rate limit (kept as the newest state, or dropped)")       \
  X(http_requests, "http_requests", "plain HTTP requests served")                      \
  X(http_rejected, "http_rejected", "requests refused with 4xx before any upgrade")     \
  X(handshake_failures, "handshake_failures", "requests begun but not finished in time") \
  X(idle_connections, "http_idle_timeouts",                                             \
    "connections that sent nothing before the handshake timeout (e.g. preconnects)")    \
  X(closes_client, "closes_client", "sessions closed by the client's close frame")     \
  X(closes_lost, "closes_connection_lost", "sessions whose TCP connection dropped")    \
  X(closes_protocol, "closes_1002_protocol_error", "closed for a protocol violation")  \
  X(closes_text, "closes_1003_text_frame", "closed for sending a text frame")          \
  X(closes_invalid_payload, "closes_1007_invalid_payload",                             \
    "closed for a close reason that is not UTF-8")                                      \
  X(closes_too_big, "closes_1009_too_big", "closed for a message over the limit")      \
  X(closes_slow, "closes_1008_slow_consumer", "closed for not reading")                \
  X(closes_rate_limited, "closes_1008_rate_limit", "closed for flooding messages")      \
  X(closes_ping, "closes_ping_timeout", "closed for not answering pings")              \
  X(closes_full, "closes_1013_room_full", "refused because the room was full")         \
  X(closes_shutdown, "closes_1001_shutdown", "closed by server shutdown")              \
  X(closes_kicked, "closes_4000_kicked", "closed by KickMember/KickUser")              \
  X(closes_room_closed, "closes_4001_room_closed", "closed by CloseRoom")              \
  X(close_timeouts, "close_handshake_timeouts", "closes the client never completed")  \
  X(refused_origin, "upgrades_refused_origin", "upgrades refused (403): origin not allowed") \
  X(refused_connection_limit, "upgrades_refused_connection_limit",                     \
    "upgrades refused (503): --max-connections reached")                                \
  X(refused_address_limit, "upgrades_refused_address_limit",                           \
    "upgrades refused (503): --max-connections-per-ip reached")                         \
  X(closes_room_limit, "closes_1013_room_limit", "joins refused (1013): --max-rooms reached") \
  X(closes_backplane, "joins_refused_backplane",                                       \
    "joins refused (1013): the backplane (Redis) was unavailable")                     \
  X(closes_fenced, "closes_1012_fenced",                                               \
    "closed (1012): this instance lost its lease, or its member's id after a Redis restart") \
  X(tokens_accepted, "join_tokens_accepted", "joins with a valid token")               \
  X(token_missing, "join_tokens_refused_missing", "joins refused (4401): no token")    \
  X(token_malformed, "join_tokens_refused_malformed", "joins refused (4400): malformed token") \
  X(token_bad_signature, "join_tokens_refused_bad_signature",                          \
    "joins refused (4402): bad signature")                                              \
  X(token_wrong_algorithm, "join_tokens_refused_wrong_algorithm",                      \
    "joins refused (4405): algorithm not the configured key's")                         \
  X(token_expired, "join_tokens_refused_expired", "joins refused (4406): token expired") \
  X(token_not_yet_valid, "join_tokens_refused_not_yet_valid",                          \
    "joins refused (4407): token not yet valid")                                        \
  X(token_wrong_room, "join_tokens_refused_wrong_room",                                \
    "joins refused (4403): token not for this room")                                    \
  X(token_wrong_audience, "join_tokens_refused_wrong_audience",                        \
    "joins refused (4408): token for another audience")                                 \
  X(token_bad_claims, "join_tokens_refused_bad_claims",                                \
    "joins refused (4409): missing or invalid claims")

// The histograms' buckets. Times are observed in microseconds (session
// durations in milliseconds) and exported in seconds; each X entry below
// names the divisor from its unit to the exported one.
// Bytes per socket write: one message is 9-10 bytes, a busy room's write
// carries one per member (up to 256 x ~10 bytes), a join snapshot more.
inline const core::HistogramBounds kWriteSizeBounds{16,   32,   64,   128,   256,   512,
                                                    1024, 2048, 4096, 8192, 16384, 65536};
// Delivery lag and backplane publish latency (microseconds): 100 us to 1 s.
inline const core::HistogramBounds& kLagBounds = core::kLatencyBoundsUs;
// Join latency (microseconds): 250 us to 5 s (with --redis a Redis round
// trip or two, and a wait for the room's state).
inline const core::HistogramBounds kJoinBounds{250,    500,    1000,    2500,    5000,
                                               10000,  25000,  50000,   100000,  250000,
                                               500000, 1000000, 2500000, 5000000};
// Session duration (milliseconds): 1 s to 1 day.
inline const core::HistogramBounds kSessionBounds{1000,    5000,    10000,    30000,   60000,
                                                  300000,  600000,  1800000,  3600000, 14400000,
                                                  86400000};

// X(member, "exported name", "help text", bounds, divisor to the exported unit)
#define CURSORD_SHARD_HISTOGRAMS(X)                                                          \
  X(write_bytes, "write_size_bytes",                                                        \
    "bytes per socket write to a WebSocket client (all its pending frames)",                \
    kWriteSizeBounds, 1.0)                                                                  \
  X(delivery_lag, "delivery_lag_seconds",                                                   \
    "from the first frame of a write queued for a client (a message read, an event from "   \
    "Redis, a join or leave) to the write handed to the socket",                            \
    kLagBounds, 1e6)                                                                       \
  X(join_latency, "join_latency_seconds",                                                   \
    "from the upgrade request read to the join sequence written (with --redis, the Redis "  \
    "round trips included); joins that succeeded",                                          \
    kJoinBounds, 1e6)                                                                      \
  X(session_duration, "session_duration_seconds",                                           \
    "from a member's join to the end of its connection", kSessionBounds, 1e3)

struct ShardCounters {
#define CURSORD_DECLARE_COUNTER(member, name, help) core::Counter member;
  CURSORD_SHARD_COUNTERS(CURSORD_DECLARE_COUNTER)
#undef CURSORD_DECLARE_COUNTER

  // The counter of joins refused for `refusal`.
  core::Counter& TokenRefused(core::JoinTokenRefusal refusal) {
    switch (refusal) {
      case core::JoinTokenRefusal::kMissing: return token_missing;
      case core::JoinTokenRefusal::kMalformed: return token_malformed;
      case core::JoinTokenRefusal::kBadSignature: return token_bad_signature;
      case core::JoinTokenRefusal::kWrongAlgorithm: return token_wrong_algorithm;
      case core::JoinTokenRefusal::kExpired: return token_expired;
      case core::JoinTokenRefusal::kNotYetValid: return token_not_yet_valid;
      case core::JoinTokenRefusal::kWrongRoom: return token_wrong_room;
      case core::JoinTokenRefusal::kWrongAudience: return token_wrong_audience;
      case core::JoinTokenRefusal::kBadClaims: return token_bad_claims;
    }
    return token_malformed;
  }

#define CURSORD_DECLARE_HISTOGRAM(member, name, help, bounds, divisor) \
  core::ShardHistogram member{bounds};
  CURSORD_SHARD_HISTOGRAMS(CURSORD_DECLARE_HISTOGRAM)
#undef CURSORD_DECLARE_HISTOGRAM

  // Gauges, same single writer.
  core::Counter sessions;
  core::Counter rooms;
};

}  // namespace cursord::edge

#endif  // CURSORD_EDGE_SHARD_COUNTERS_H_
