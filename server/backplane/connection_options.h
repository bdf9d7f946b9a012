// What RedisConnection and RedisSubscriber share: their timing options, their
// states and the counters they keep.
#ifndef CURSORD_BACKPLANE_CONNECTION_OPTIONS_H_
#define CURSORD_BACKPLANE_CONNECTION_OPTIONS_H_

#include <cstdint>
#include <string_view>

#include "absl/time/time.h"
#include "server/backplane/backoff.h"

namespace cursord::backplane {

struct ConnectionOptions {
  // One attempt: name resolution, TCP connect and the handshake (PING, and
  // SELECT when the database is not 0) must all finish within this. A paused
  // or overloaded server accepts TCP connections but answers nothing, so the
  // handshake, not the TCP connect, is what proves a server usable.
  absl::Duration connect_timeout = absl::Seconds(2);
  // Every command (and every subscription confirmation) must be answered
  // within this; otherwise the connection is dropped (replies are ordered, so
  // nothing behind a lost reply can be matched any more) and every
  // outstanding command fails with DEADLINE_EXCEEDED. One value for the
  // connection: only the oldest outstanding command is checked.
  absl::Duration command_timeout = absl::Seconds(2);
  // A liveness probe (PING; on a subscriber a re-SUBSCRIBE of its liveness
  // channel) is sent when nothing has been received for this long and
  // nothing is outstanding; its answer is due within command_timeout. A dead
  // server or path is therefore noticed within ping_interval +
  // command_timeout even when the connection is idle.
  absl::Duration ping_interval = absl::Seconds(1);
  BackoffPolicy backoff;
};

// A connection's life. Attempts cycle kResolving -> kConnecting ->
// kHandshaking -> kConnected; a failure at any step (or the loss of a
// connected link) leads to kBackoff, then to the next attempt.
enum class ConnectionState {
  kIdle,         // constructed, Start() not called yet
  kResolving,    // Asio's resolver is looking up the host
  kConnecting,   // TCP connect to one of the resolved addresses
  kHandshaking,  // connected; PING (and SELECT) sent, answer awaited
  kConnected,    // usable
  kBackoff,      // waiting before the next attempt
  kStopped,      // destroyed or stopped; final
};

std::string_view StateName(ConnectionState state);

// Counters, read on the connection's io_context thread.
struct ConnectionStats {
  uint64_t connects = 0;         // attempts that reached kConnected
  uint64_t disconnects = 0;      // kConnected links lost (any reason)
  uint64_t failed_attempts = 0;  // attempts that failed before kConnected
  uint64_t timeouts = 0;         // links dropped for a missing reply or PONG
  uint64_t replies = 0;          // replies and messages received
};

}  // namespace cursord::backplane

#endif  // CURSORD_BACKPLANE_CONNECTION_OPTIONS_H_
