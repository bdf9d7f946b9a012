#include "server/backplane/redis_connection.h"

#include <deque>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/post.hpp"
#include "server/backplane/redis_link.h"

namespace cursord::backplane {
namespace internal {
namespace {

// Commands after which Redis pushes replies nobody asked for; hiredis 0.14.1
// would then misroute every reply of the command connection.
bool IsPushModeCommand(const std::string& name) {
  const std::string lower = absl::AsciiStrToLower(name);
  return lower == "subscribe" || lower == "psubscribe" || lower == "ssubscribe" ||
         lower == "unsubscribe" || lower == "punsubscribe" || lower == "sunsubscribe" ||
         lower == "monitor";
}

}  // namespace

class CommandLink final : public RedisLink {
 public:
  CommandLink(boost::asio::io_context& io, RedisEndpoint endpoint, ConnectionOptions options,
              ConnectionCallbacks callbacks)
      : RedisLink(io, std::move(endpoint), std::move(options), callbacks.on_disconnected),
        on_connected_(std::move(callbacks.on_connected)) {}

  void Command(std::vector<std::string> args, RedisConnection::Done done) {
    absl::Status status;
    if (args.empty()) {
      status = absl::InvalidArgumentError("empty command");
    } else if (IsPushModeCommand(args[0])) {
      status = absl::InvalidArgumentError(
          absl::StrCat(args[0], " on a command connection: use RedisSubscriber"));
    } else {
      status = Send(args, 1);
    }
    if (status.ok()) {
      pending_.push_back(std::move(done));
      return;
    }
    // Failed at once: `done` runs from a posted handler, never inside the
    // caller's call, and (held here, not in the handler) before the
    // destructor returns at the latest.
    failed_at_once_.emplace_back(std::move(done), std::move(status));
    if (failed_at_once_.size() == 1) {
      boost::asio::post(io(), [weak = weak_from_this()] {
        if (auto self = weak.lock()) static_cast<CommandLink&>(*self).RunFailedAtOnce();
      });
    }
  }

 private:
  void OnUp() override {
    if (on_connected_) on_connected_();
  }

  void OnReply(Reply reply) override {
    if (pending_.empty()) {
      Drop(absl::InternalError("redis: a reply nobody asked for"));
      return;
    }
    RedisConnection::Done done = std::move(pending_.front());
    pending_.pop_front();
    Fulfil();
    if (done) done(std::move(reply));  // null: our own PING
  }

  void OnDown(const absl::Status& reason) override {
    // Taken first: a `done` may send again, and must find an empty queue.
    std::deque<RedisConnection::Done> failed;
    failed.swap(pending_);
    for (RedisConnection::Done& done : failed) {
      if (done) done(reason);
    }
    if (state() == ConnectionState::kStopped) RunFailedAtOnce();
  }

  void RunFailedAtOnce() {
    std::deque<std::pair<RedisConnection::Done, absl::Status>> failed;
    failed.swap(failed_at_once_);
    for (auto& [done, status] : failed) {
      if (done) done(status);
    }
  }

  void SendPing() override {
    if (Send({"PING"}, 1).ok()) pending_.push_back(nullptr);
  }

  const std::function<void()> on_connected_;
  // The `done` of every command sent and not yet answered, in send order
  // (the order of Redis' replies); parallel to RedisLink's deadlines.
  std::deque<RedisConnection::Done> pending_;
  // Commands refused without being sent, with their reason, until the
  // posted RunFailedAtOnce (or Stop) runs their `done`.
  std::deque<std::pair<RedisConnection::Done, absl::Status>> failed_at_once_;
};

}  // namespace internal

RedisConnection::RedisConnection(boost::asio::io_context& io, RedisEndpoint endpoint,
                                 ConnectionOptions options, ConnectionCallbacks callbacks)
    : ConnectionBase(std::make_shared<internal::CommandLink>(
          io, std::move(endpoint), std::move(options), std::move(callbacks))) {}

void RedisConnection::Command(std::vector<std::string> args, Done done) {
  static_cast<internal::CommandLink&>(link()).Command(std::move(args), std::move(done));
}

}  // namespace cursord::backplane
