// The backplane's subscription connection to one Redis server: a set of
// channels it keeps subscribed across reconnects, their messages as bytes,
// and the moments its view has a gap.
//
// Pub/sub loses what is published while a subscriber is not subscribed.
// This class makes the gap visible instead of hiding it: on_disconnected
// opens it, on_subscribed(channel) closes it for that channel, so the owner
// re-reads the channel's state in Redis there (subscribe first, then read,
// then apply what arrived meanwhile: nothing published after the
// confirmation is missed). The first subscription of a channel is reported
// the same way, which is exactly the order a new room needs.
//
// Liveness: a subscribed connection must not send PING through hiredis
// 0.14.1 (the "pong" push reply is misrouted), so when nothing has arrived
// for ping_interval the subscriber re-SUBSCRIBEs its private liveness
// channel, kLivenessChannel, whose confirmation is due within
// command_timeout; a missing one drops and reconnects, as on a command
// connection. Subscribing, too, must be confirmed within command_timeout.
//
// Threading as RedisConnection: construct anywhere, use and destroy on the
// io_context's thread; callbacks on that thread, never inside a call to this
// class or inside hiredis. The process must ignore SIGPIPE.
#ifndef CURSORD_BACKPLANE_REDIS_SUBSCRIBER_H_
#define CURSORD_BACKPLANE_REDIS_SUBSCRIBER_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "boost/asio/io_context.hpp"
#include "server/backplane/connection_base.h"
#include "server/backplane/connection_options.h"
#include "server/backplane/redis_url.h"

namespace cursord::backplane {

// Subscribed by every RedisSubscriber, so that its re-SUBSCRIBE can serve
// as a ping; messages published to it are ignored.
inline constexpr std::string_view kLivenessChannel = "cursord:backplane:liveness";

struct SubscriberCallbacks {
  // A message on a subscribed channel. Both views are valid during the call
  // only. Not called for a channel after Unsubscribe(channel) returned.
  std::function<void(std::string_view channel, std::string_view payload)> on_message;
  // Redis confirmed the subscription of `channel`: every message published
  // to it from now on arrives (until the next on_disconnected). Called for
  // each Subscribe() and again after each reconnect, which is when the
  // owner re-reads what it may have missed.
  std::function<void(std::string_view channel)> on_subscribed;
  // The connection is up and every channel of the set is subscribed again
  // (each has had its on_subscribed).
  std::function<void()> on_connected;
  // The connection was lost: messages published from now until each
  // channel's next on_subscribed are not delivered.
  std::function<void(const absl::Status& reason)> on_disconnected;
};

class RedisSubscriber : public ConnectionBase {
 public:
  // Start() begins connecting. No callback runs during or after
  // destruction.
  RedisSubscriber(boost::asio::io_context& io, RedisEndpoint endpoint,
                  ConnectionOptions options = {}, SubscriberCallbacks callbacks = {});

  // Adds `channel` (bytes) to the set and subscribes it if connected;
  // otherwise it is subscribed on (re)connect. A channel already in the set
  // is left as it is (no second on_subscribed).
  void Subscribe(std::string channel);
  // Removes `channel` from the set; its messages stop at once (any still in
  // flight are dropped here). Unknown channels are ignored.
  void Unsubscribe(std::string_view channel);

  bool IsSubscribed(std::string_view channel) const;  // in the set
  size_t channel_count() const;
};

}  // namespace cursord::backplane

#endif  // CURSORD_BACKPLANE_REDIS_SUBSCRIBER_H_
