#include "server/backplane/redis_subscriber.h"

#include <deque>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "server/backplane/redis_link.h"

namespace cursord::backplane {
namespace internal {

class SubscribeLink final : public RedisLink {
 public:
  SubscribeLink(boost::asio::io_context& io, RedisEndpoint endpoint, ConnectionOptions options,
                SubscriberCallbacks callbacks)
      : RedisLink(io, std::move(endpoint), std::move(options), callbacks.on_disconnected),
        callbacks_(std::move(callbacks)) {}

  void Subscribe(std::string channel) {
    if (channel == kLivenessChannel) return;  // always subscribed, never reported
    if (!channels_.insert(channel).second) return;
    if (state() == ConnectionState::kConnected) SendSubscribe({std::move(channel)});
  }

  void Unsubscribe(std::string_view channel) {
    const auto it = channels_.find(absl::string_view(channel.data(), channel.size()));
    if (it == channels_.end()) return;
    if (state() == ConnectionState::kConnected) {
      // Its confirmation is not awaited: nothing depends on it, and hiredis
      // 0.14.1 drops some of them. Messages still in flight are filtered
      // out by the set.
      Send({"UNSUBSCRIBE", *it}, 0).IgnoreError();
    }
    channels_.erase(it);
  }

  bool IsSubscribed(std::string_view channel) const {
    return channels_.contains(absl::string_view(channel.data(), channel.size()));
  }
  size_t channel_count() const { return channels_.size(); }

 private:
  void SendSubscribe(std::vector<std::string> channels) {
    std::vector<std::string> args;
    args.reserve(channels.size() + 1);
    args.emplace_back("SUBSCRIBE");
    for (std::string& channel : channels) args.push_back(channel);
    // One confirmation per channel, in order: each is an expected answer.
    if (!Send(args, static_cast<int>(channels.size())).ok()) return;
    for (std::string& channel : channels) awaiting_.push_back(std::move(channel));
  }

  void OnUp() override {
    // The whole set in one command, the liveness channel last: its
    // confirmation means every channel before it is subscribed again.
    std::vector<std::string> channels(channels_.begin(), channels_.end());
    channels.emplace_back(kLivenessChannel);
    connect_pending_ = true;
    SendSubscribe(std::move(channels));
  }

  void OnReply(Reply reply) override {
    const std::vector<Reply>& parts = reply.elements();
    if (!reply.is_array() || parts.size() < 3 || !parts[0].is_string() || !parts[1].is_string()) {
      Drop(absl::InternalError(absl::StrCat("redis ", endpoint().HostPort(),
                                            ": unexpected reply on a subscriber: ",
                                            reply.DebugString())));
      return;
    }
    const std::string& kind = parts[0].str();
    const std::string& channel = parts[1].str();
    if (kind == "message") {
      if (channel != kLivenessChannel && channels_.contains(channel) && callbacks_.on_message) {
        callbacks_.on_message(channel, parts[2].str());
      }
    } else if (kind == "subscribe") {
      if (awaiting_.empty() || awaiting_.front() != channel) {
        Drop(absl::InternalError(absl::StrCat("redis ", endpoint().HostPort(),
                                              ": unexpected confirmation: ",
                                              reply.DebugString())));
        return;
      }
      awaiting_.pop_front();
      Fulfil();
      if (channel == kLivenessChannel) {
        if (connect_pending_) {
          connect_pending_ = false;
          if (callbacks_.on_connected) callbacks_.on_connected();
        }
      } else if (channels_.contains(channel) && callbacks_.on_subscribed) {
        callbacks_.on_subscribed(channel);
      }
    }
    // "unsubscribe" confirmations need nothing.
  }

  void OnDown(const absl::Status& reason) override {
    awaiting_.clear();
    connect_pending_ = false;
  }

  void SendPing() override { SendSubscribe({std::string(kLivenessChannel)}); }

  const SubscriberCallbacks callbacks_;
  // The channels to keep subscribed (the liveness channel is not in it).
  absl::flat_hash_set<std::string> channels_;
  // Channels whose subscription confirmation is awaited, in order; parallel
  // to RedisLink's deadlines.
  std::deque<std::string> awaiting_;
  // The (re)subscription sent by OnUp is not confirmed yet.
  bool connect_pending_ = false;
};

}  // namespace internal

RedisSubscriber::RedisSubscriber(boost::asio::io_context& io, RedisEndpoint endpoint,
                                 ConnectionOptions options, SubscriberCallbacks callbacks)
    : ConnectionBase(std::make_shared<internal::SubscribeLink>(
          io, std::move(endpoint), std::move(options), std::move(callbacks))) {}

namespace {

internal::SubscribeLink& AsSubscribeLink(internal::RedisLink& link) {
  return static_cast<internal::SubscribeLink&>(link);
}

}  // namespace

void RedisSubscriber::Subscribe(std::string channel) {
  AsSubscribeLink(link()).Subscribe(std::move(channel));
}
void RedisSubscriber::Unsubscribe(std::string_view channel) {
  AsSubscribeLink(link()).Unsubscribe(channel);
}
bool RedisSubscriber::IsSubscribed(std::string_view channel) const {
  return AsSubscribeLink(link()).IsSubscribed(channel);
}
size_t RedisSubscriber::channel_count() const { return AsSubscribeLink(link()).channel_count(); }

}  // namespace cursord::backplane
