// What RedisConnection and RedisSubscriber share (internal): one logical
// connection to one Redis server that resolves, connects, handshakes,
// watches its replies' deadlines, probes an idle server, and after any loss
// reconnects by itself with capped, jittered backoff.
//
// The subclass says what is sent and what a reply means (the hooks below);
// this class owns when the link is usable and when it is declared dead. It
// knows of outstanding work only as an ordered queue of deadlines: each
// expected answer pushes one (Send), each answer pops the oldest (Fulfil).
// Redis answers in order, so only the oldest deadline is ever checked, with
// one timer per connection.
//
// Single-threaded: everything runs on the io_context thread given to the
// constructor, which is also where the owner must call Stop(). Handlers hold
// a shared_ptr, so a stopped link lives until its last handler has run.
#ifndef CURSORD_BACKPLANE_REDIS_LINK_H_
#define CURSORD_BACKPLANE_REDIS_LINK_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/steady_timer.hpp"
#include "server/backplane/connection_options.h"
#include "server/backplane/hiredis_asio.h"
#include "server/backplane/redis_reply.h"
#include "server/backplane/redis_url.h"

namespace cursord::backplane::internal {

class RedisLink : public std::enable_shared_from_this<RedisLink>,
                  public HiredisAsio::Listener {
 public:
  using Clock = std::chrono::steady_clock;

  RedisLink(boost::asio::io_context& io, RedisEndpoint endpoint, ConnectionOptions options,
            std::function<void(const absl::Status&)> on_disconnected);
  virtual ~RedisLink();

  // Begins the first attempt. Once.
  void Start();
  // Ends the link for good: the subclass fails what it holds with `reason`
  // (OnDown), and no callback of the owner runs afterwards.
  void Stop(const absl::Status& reason);

  ConnectionState state() const { return state_; }
  const ConnectionStats& stats() const { return stats_; }
  const RedisEndpoint& endpoint() const { return endpoint_; }
  // Why the last attempt failed or the last link was lost (OK if never).
  const absl::Status& last_error() const { return last_error_; }

 protected:
  // Sends `args` on the usable link, expecting `answers` answers (each due
  // within command_timeout, in order after those already expected). Only in
  // kConnected; UNAVAILABLE otherwise.
  absl::Status Send(const std::vector<std::string>& args, int answers);
  // The oldest expected answer arrived.
  void Fulfil();
  // Declares the usable link dead (a protocol surprise): as a lost link.
  void Drop(const absl::Status& reason);
  absl::Status NotConnected() const;
  boost::asio::io_context& io() { return io_; }
  const ConnectionOptions& options() const { return options_; }

  // The handshake passed; the link is kConnected. May Send().
  virtual void OnUp() = 0;
  // One reply or pushed message on the usable link, in wire order.
  virtual void OnReply(Reply reply) = 0;
  // The usable link is gone (or the link is stopping): no expected answer
  // will come; fail or forget what waits with `reason`. The state is
  // already not kConnected, so Send() fails from here on.
  virtual void OnDown(const absl::Status& reason) = 0;
  // Nothing was received for ping_interval and nothing is expected: send
  // a probe whose answer is Fulfil()led.
  virtual void SendPing() = 0;

 private:
  // HiredisAsio::Listener.
  void OnHiredisConnected() override;
  void OnHiredisReply(Reply reply) override;
  void OnHiredisDown(const absl::Status& reason) override;

  void Resolve();
  void OnResolved(uint64_t attempt, const boost::system::error_code& ec,
                  const boost::asio::ip::tcp::resolver::results_type& results);
  // Connects to the next resolved address, or backs off when none is left.
  void ConnectNext();
  // The current attempt's address failed before the link became usable.
  void FailAttempt(const absl::Status& reason);
  void BackOff();
  void Up();
  // Frees the hiredis connection, if any.
  void CloseHiredis();
  // (Re)arms the one timer for the earliest thing to check: the attempt's
  // deadline while connecting, the oldest expected answer's deadline, or
  // when an idle link is due a ping.
  void ArmTimer();
  void OnTimer(uint64_t generation, const boost::system::error_code& ec);

  boost::asio::io_context& io_;
  const RedisEndpoint endpoint_;
  const ConnectionOptions options_;
  const std::function<void(const absl::Status&)> on_disconnected_;

  ConnectionState state_ = ConnectionState::kIdle;
  ConnectionStats stats_;
  absl::Status last_error_;

  boost::asio::ip::tcp::resolver resolver_;
  // Counts attempts; a resolver completion of an older attempt is ignored.
  uint64_t attempt_id_ = 0;
  std::vector<boost::asio::ip::tcp::endpoint> addresses_;
  size_t next_address_ = 0;
  // Attempts that failed since the link was last usable (the backoff's n).
  int failures_in_a_row_ = 0;
  absl::BitGen random_;
  boost::asio::steady_timer retry_timer_;

  std::shared_ptr<HiredisAsio> hiredis_;
  int handshake_answers_ = 0;
  Clock::time_point attempt_deadline_;

  // Deadlines of the expected answers, oldest first (kConnected only).
  std::deque<Clock::time_point> deadlines_;
  Clock::time_point last_received_;
  boost::asio::steady_timer timer_;
  // The timer's wait is valid only while its generation is current.
  uint64_t timer_generation_ = 0;
  bool timer_armed_ = false;
  Clock::time_point timer_expiry_;
};

}  // namespace cursord::backplane::internal

#endif  // CURSORD_BACKPLANE_REDIS_LINK_H_
