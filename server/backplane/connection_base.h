// What RedisConnection and RedisSubscriber both are to their owner: a handle
// on one self-reconnecting link to one Redis server (internal::RedisLink),
// which the destructor stops.
#ifndef CURSORD_BACKPLANE_CONNECTION_BASE_H_
#define CURSORD_BACKPLANE_CONNECTION_BASE_H_

#include <memory>

#include "absl/status/status.h"
#include "server/backplane/connection_options.h"
#include "server/backplane/redis_url.h"

namespace cursord::backplane {

namespace internal {
class RedisLink;
}  // namespace internal

class ConnectionBase {
 public:
  ConnectionBase(const ConnectionBase&) = delete;
  ConnectionBase& operator=(const ConnectionBase&) = delete;

  // Starts connecting (resolve, connect, handshake); after a loss the link
  // reconnects by itself. Once, on the io_context's thread.
  void Start();

  // Read on the io_context's thread.
  ConnectionState state() const;
  bool connected() const { return state() == ConnectionState::kConnected; }
  const ConnectionStats& stats() const;
  // Why the last attempt failed or the last connection was lost (OK if
  // neither happened yet).
  absl::Status last_error() const;
  const RedisEndpoint& endpoint() const;

 protected:
  explicit ConnectionBase(std::shared_ptr<internal::RedisLink> link);
  // Stops the link with CANCELLED: what it holds fails with that, before
  // this returns; no other callback runs afterwards. On the io thread.
  ~ConnectionBase();

  internal::RedisLink& link() const { return *link_; }

 private:
  // Shared with the link's own pending handlers, which keep it alive (and
  // find it stopped) after this handle is gone.
  const std::shared_ptr<internal::RedisLink> link_;
};

}  // namespace cursord::backplane

#endif  // CURSORD_BACKPLANE_CONNECTION_BASE_H_
