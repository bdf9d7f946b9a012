#include "server/backplane/redis_link.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace cursord::backplane::internal {
namespace {

RedisLink::Clock::duration ToChrono(absl::Duration d) {
  return std::chrono::duration_cast<RedisLink::Clock::duration>(absl::ToChronoNanoseconds(d));
}

}  // namespace

RedisLink::RedisLink(boost::asio::io_context& io, RedisEndpoint endpoint,
                     ConnectionOptions options,
                     std::function<void(const absl::Status&)> on_disconnected)
    : io_(io),
      endpoint_(std::move(endpoint)),
      options_(std::move(options)),
      on_disconnected_(std::move(on_disconnected)),
      resolver_(io),
      retry_timer_(io),
      timer_(io) {}

RedisLink::~RedisLink() { CloseHiredis(); }

void RedisLink::Start() {
  if (state_ != ConnectionState::kIdle) return;
  Resolve();
}

void RedisLink::Stop(const absl::Status& reason) {
  if (state_ == ConnectionState::kStopped) return;
  state_ = ConnectionState::kStopped;
  ++attempt_id_;
  resolver_.cancel();
  retry_timer_.cancel();
  ++timer_generation_;
  timer_armed_ = false;
  timer_.cancel();
  CloseHiredis();
  deadlines_.clear();
  OnDown(reason);
}

absl::Status RedisLink::NotConnected() const {
  const std::string_view state = StateName(state_);
  std::string message = absl::StrCat("redis ", endpoint_.HostPort(), " is not connected (",
                                     absl::string_view(state.data(), state.size()), ")");
  if (!last_error_.ok()) absl::StrAppend(&message, ": ", last_error_.message());
  return absl::UnavailableError(message);
}

absl::Status RedisLink::Send(const std::vector<std::string>& args, int answers) {
  if (state_ != ConnectionState::kConnected || hiredis_ == nullptr) return NotConnected();
  if (absl::Status sent = hiredis_->Send(args); !sent.ok()) {
    return absl::UnavailableError(absl::StrCat("redis ", endpoint_.HostPort(), ": ", sent.message()));
  }
  if (answers <= 0) return absl::OkStatus();
  const bool was_idle = deadlines_.empty();
  const Clock::time_point deadline = Clock::now() + ToChrono(options_.command_timeout);
  for (int i = 0; i < answers; ++i) deadlines_.push_back(deadline);
  // Deadlines only grow, so a busy link's timer already fires early enough;
  // an idle one may be waiting for its ping time, which can be later.
  if (was_idle) ArmTimer();
  return absl::OkStatus();
}

void RedisLink::Fulfil() {
  if (deadlines_.empty()) return;
  deadlines_.pop_front();
  // While answers are outstanding the timer keeps its expiry: firing early,
  // OnTimer re-arms it for the new oldest deadline (one timer wait per
  // expiry, not per reply). Once none is, the next ping may be due before
  // that expiry, so the timer moves forward to it.
  if (deadlines_.empty()) ArmTimer();
}

void RedisLink::Drop(const absl::Status& reason) {
  if (state_ != ConnectionState::kConnected) return;
  const std::shared_ptr<RedisLink> self = shared_from_this();  // the owner may let go below
  last_error_ = reason;
  ++stats_.disconnects;
  CloseHiredis();
  deadlines_.clear();
  // The first attempt after a loss waits the initial delay: a restarted
  // server is usually back within it, and many instances do not all hit it
  // in the same millisecond.
  failures_in_a_row_ = 0;
  BackOff();
  OnDown(reason);
  if (state_ == ConnectionState::kStopped) return;  // stopped from a callback
  if (on_disconnected_) on_disconnected_(reason);
}

void RedisLink::Resolve() {
  state_ = ConnectionState::kResolving;
  addresses_.clear();
  next_address_ = 0;
  const uint64_t attempt = ++attempt_id_;
  attempt_deadline_ = Clock::now() + ToChrono(options_.connect_timeout);
  ArmTimer();
  // Asio resolves on its own background thread: getaddrinfo never blocks the
  // io_context (hiredis would call it inline).
  resolver_.async_resolve(
      endpoint_.host, std::to_string(endpoint_.port),
      boost::asio::ip::tcp::resolver::numeric_service,
      [self = shared_from_this(), attempt](const boost::system::error_code& ec,
                                           boost::asio::ip::tcp::resolver::results_type results) {
        self->OnResolved(attempt, ec, results);
      });
}

void RedisLink::OnResolved(uint64_t attempt, const boost::system::error_code& ec,
                           const boost::asio::ip::tcp::resolver::results_type& results) {
  if (attempt != attempt_id_ || state_ != ConnectionState::kResolving) return;
  if (ec) {
    FailAttempt(absl::UnavailableError(
        absl::StrCat("redis ", endpoint_.HostPort(), ": resolving ", endpoint_.host, ": ",
                     ec.message())));
    return;
  }
  for (const auto& entry : results) addresses_.push_back(entry.endpoint());
  next_address_ = 0;
  ConnectNext();
}

void RedisLink::ConnectNext() {
  if (next_address_ >= addresses_.size()) {
    ++stats_.failed_attempts;
    BackOff();
    return;
  }
  const boost::asio::ip::tcp::endpoint address = addresses_[next_address_++];
  state_ = ConnectionState::kConnecting;
  attempt_deadline_ = Clock::now() + ToChrono(options_.connect_timeout);
  ArmTimer();
  absl::StatusOr<std::shared_ptr<HiredisAsio>> hiredis = HiredisAsio::Connect(
      io_.get_executor(), address.address().to_string(), address.port(), weak_from_this());
  if (!hiredis.ok()) {
    FailAttempt(absl::UnavailableError(
        absl::StrCat("redis ", endpoint_.HostPort(), ": ", hiredis.status().message())));
    return;
  }
  hiredis_ = *std::move(hiredis);
}

void RedisLink::FailAttempt(const absl::Status& reason) {
  last_error_ = reason;
  CloseHiredis();
  ConnectNext();  // the next resolved address, or backoff
}

void RedisLink::BackOff() {
  state_ = ConnectionState::kBackoff;
  ++timer_generation_;  // nothing to watch until the next attempt
  timer_armed_ = false;
  timer_.cancel();
  const absl::Duration delay = BackoffDelay(options_.backoff, failures_in_a_row_++,
                                            absl::Uniform(random_, 0.0, 1.0));
  retry_timer_.expires_after(ToChrono(delay));
  retry_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->state_ != ConnectionState::kBackoff) return;
    self->Resolve();
  });
}

void RedisLink::OnHiredisConnected() {
  if (state_ != ConnectionState::kConnecting) return;
  state_ = ConnectionState::kHandshaking;
  // A server that accepted the TCP connection may still be paused, loading
  // its data set or asking for a password: only an answer proves it usable.
  handshake_answers_ = 0;
  absl::Status sent = absl::OkStatus();
  if (endpoint_.db != 0) {
    sent = hiredis_->Send({"SELECT", std::to_string(endpoint_.db)});
    ++handshake_answers_;
  }
  if (sent.ok()) sent = hiredis_->Send({"PING"});
  ++handshake_answers_;
  if (!sent.ok()) {
    FailAttempt(absl::UnavailableError(
        absl::StrCat("redis ", endpoint_.HostPort(), ": handshake: ", sent.message())));
  }
}

void RedisLink::OnHiredisReply(Reply reply) {
  ++stats_.replies;
  last_received_ = Clock::now();
  switch (state_) {
    case ConnectionState::kHandshaking:
      if (reply.is_error()) {
        FailAttempt(absl::UnavailableError(
            absl::StrCat("redis ", endpoint_.HostPort(), ": handshake: ", reply.str())));
      } else if (--handshake_answers_ == 0) {
        Up();
      }
      return;
    case ConnectionState::kConnected:
      OnReply(std::move(reply));
      return;
    default:
      return;
  }
}

void RedisLink::OnHiredisDown(const absl::Status& reason) {
  hiredis_.reset();  // hiredis has freed it
  const absl::Status status =
      absl::UnavailableError(absl::StrCat("redis ", endpoint_.HostPort(), ": ", reason.message()));
  switch (state_) {
    case ConnectionState::kConnected:
      Drop(status);
      return;
    case ConnectionState::kConnecting:
    case ConnectionState::kHandshaking:
      FailAttempt(status);
      return;
    default:
      return;
  }
}

void RedisLink::Up() {
  state_ = ConnectionState::kConnected;
  failures_in_a_row_ = 0;
  ++stats_.connects;
  deadlines_.clear();
  last_received_ = Clock::now();
  ArmTimer();
  OnUp();
}

void RedisLink::CloseHiredis() {
  if (hiredis_ == nullptr) return;
  std::shared_ptr<HiredisAsio> hiredis = std::move(hiredis_);
  hiredis->Close();
}

void RedisLink::ArmTimer() {
  Clock::time_point next;
  switch (state_) {
    case ConnectionState::kResolving:
    case ConnectionState::kConnecting:
    case ConnectionState::kHandshaking:
      next = attempt_deadline_;
      break;
    case ConnectionState::kConnected:
      next = deadlines_.empty() ? last_received_ + ToChrono(options_.ping_interval)
                                : deadlines_.front();
      break;
    default:
      return;
  }
  // A wait that fires earlier re-evaluates and re-arms; no need to move it.
  if (timer_armed_ && timer_expiry_ <= next) return;
  timer_armed_ = true;
  timer_expiry_ = next;
  const uint64_t generation = ++timer_generation_;
  timer_.expires_at(next);
  timer_.async_wait([self = shared_from_this(), generation](const boost::system::error_code& ec) {
    self->OnTimer(generation, ec);
  });
}

void RedisLink::OnTimer(uint64_t generation, const boost::system::error_code& ec) {
  if (ec || generation != timer_generation_) return;  // superseded or cancelled
  timer_armed_ = false;
  const Clock::time_point now = Clock::now();
  switch (state_) {
    case ConnectionState::kResolving:
      if (now >= attempt_deadline_) {
        ++attempt_id_;  // the resolver's late answer is ignored
        resolver_.cancel();
        FailAttempt(absl::DeadlineExceededError(
            absl::StrCat("redis ", endpoint_.HostPort(), ": resolving took longer than ",
                         absl::FormatDuration(options_.connect_timeout))));
        return;
      }
      break;
    case ConnectionState::kConnecting:
    case ConnectionState::kHandshaking:
      if (now >= attempt_deadline_) {
        FailAttempt(absl::DeadlineExceededError(absl::StrCat(
            "redis ", endpoint_.HostPort(), ": ",
            state_ == ConnectionState::kConnecting ? "no connection" : "no answer to the handshake",
            " within ", absl::FormatDuration(options_.connect_timeout))));
        return;
      }
      break;
    case ConnectionState::kConnected:
      if (!deadlines_.empty()) {
        if (now >= deadlines_.front()) {
          ++stats_.timeouts;
          Drop(absl::DeadlineExceededError(
              absl::StrCat("redis ", endpoint_.HostPort(), ": no reply within ",
                           absl::FormatDuration(options_.command_timeout))));
          return;
        }
      } else if (now >= last_received_ + ToChrono(options_.ping_interval)) {
        SendPing();
        if (state_ != ConnectionState::kConnected) return;
      }
      break;
    default:
      return;
  }
  ArmTimer();
}

}  // namespace cursord::backplane::internal
