// The backplane's command connection to one Redis server: many commands in
// flight on one socket (pipelined; Redis answers in order), each answered
// or failed within the connection's command timeout; a PING when idle; and
// reconnection by itself, with backoff, after any loss.
//
// The connection model (the one Centrifugo's Redis broker uses): per Redis
// server, one RedisConnection for every command of the instance and one
// RedisSubscriber for its channels, both on the backplane's own io_context
// thread.
//
// Errors a command's `done` can get:
//   UNAVAILABLE        not connected (the command was not sent), or the
//                      connection was lost before its reply (it may or may
//                      not have run);
//   DEADLINE_EXCEEDED  this or an earlier command got no reply within
//                      command_timeout; the connection is dropped and
//                      reconnects (it may or may not have run);
//   CANCELLED          the connection was destroyed first;
//   INVALID_ARGUMENT   no arguments, or a command that would put the
//                      connection into a push mode (SUBSCRIBE, MONITOR...):
//                      subscriptions belong to RedisSubscriber.
// A Redis error reply (-ERR ...) is not a failed status: it is a Reply of
// type kError, as it is data to a script or a pipeline.
//
// Threading: construct anywhere; call everything else, and destroy, on the
// io_context's thread. Callbacks run on that thread, never from inside a
// call to this class (failures found at once are posted), never from inside
// hiredis. The process must ignore SIGPIPE (hiredis writes with write(2));
// cursord's main does.
#ifndef CURSORD_BACKPLANE_REDIS_CONNECTION_H_
#define CURSORD_BACKPLANE_REDIS_CONNECTION_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "boost/asio/io_context.hpp"
#include "server/backplane/connection_base.h"
#include "server/backplane/connection_options.h"
#include "server/backplane/redis_reply.h"
#include "server/backplane/redis_url.h"

namespace cursord::backplane {

struct ConnectionCallbacks {
  // The connection became usable (after each successful (re)connect).
  std::function<void()> on_connected;
  // A usable connection was lost (EOF, I/O error, timeout); it reconnects by
  // itself. Failed attempts while disconnected are not reported again: see
  // stats() and last_error().
  std::function<void(const absl::Status& reason)> on_disconnected;
};

class RedisConnection : public ConnectionBase {
 public:
  using Done = std::function<void(absl::StatusOr<Reply>)>;

  // Start() begins connecting; commands fail with UNAVAILABLE until
  // on_connected. Destroying it runs every outstanding command's `done`
  // with CANCELLED before the destructor returns (a `done` must not call
  // back into this connection then).
  RedisConnection(boost::asio::io_context& io, RedisEndpoint endpoint,
                  ConnectionOptions options = {}, ConnectionCallbacks callbacks = {});

  // Sends `args` (binary-safe: each argument is sent as its bytes) and calls
  // `done` once with the reply or an error (see above), in the order the
  // commands were sent.
  void Command(std::vector<std::string> args, Done done);
};

}  // namespace cursord::backplane

#endif  // CURSORD_BACKPLANE_REDIS_CONNECTION_H_
