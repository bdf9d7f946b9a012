#include "server/edge/webhook_sink.h"

#include <algorithm>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "absl/time/clock.h"
#include "server/common/logging.h"
#include "server/common/version.h"

namespace cursord::edge {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

// Failure lines: at most one a second on average, 5 at once.
constexpr double kLogLinesPerSecond = 1;
constexpr double kLogBurst = 5;
// A receiver's answer is read, never used: its body is bounded.
constexpr uint64_t kMaxResponseBody = 64 * 1024;

}  // namespace

absl::StatusOr<std::unique_ptr<WebhookSink>> WebhookSink::Create(WebhookOptions options,
                                                                std::string self) {
  absl::StatusOr<core::WebhookUrl> url = core::ParseWebhookUrl(options.url);
  if (!url.ok()) return url.status();
  if (options.secret.empty()) {
    return absl::InvalidArgumentError(
        "--webhook-url needs a secret to sign with: --webhook-secret (or "
        "CURSORD_WEBHOOK_SECRET) or --webhook-secret-file");
  }
  options.queue_events = std::max<size_t>(options.queue_events, 1);
  options.batch_events = std::max<size_t>(options.batch_events, 1);
  options.retries = std::max(options.retries, 0);
  return std::unique_ptr<WebhookSink>(
      new WebhookSink(std::move(options), *std::move(url), std::move(self)));
}

WebhookSink::WebhookSink(WebhookOptions options, core::WebhookUrl url, std::string self)
    : options_(std::move(options)),
      url_(std::move(url)),
      self_(std::move(self)),
      resolver_(ioc_),
      attempt_timer_(ioc_),
      retry_timer_(ioc_),
      stop_timer_(ioc_),
      log_throttle_(kLogLinesPerSecond, kLogBurst, core::LogThrottle::Clock::now()) {}

WebhookSink::~WebhookSink() { Stop(); }

void WebhookSink::Start() {
  if (started_.exchange(true)) return;
  work_.emplace(net::make_work_guard(ioc_));
  thread_ = std::thread([this] { ioc_.run(); });
}

void WebhookSink::Observe(const core::ActivityRecord& record, bool live) {
  std::vector<core::PresenceEvent> events;
  tracker_.Apply(record, &events);
  if (events.empty() || !core::ShouldAnnounce(record, live, self_)) return;
  Enqueue(std::move(events));
}

void WebhookSink::Enqueue(std::vector<core::PresenceEvent> events) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t dropped = 0;
  for (core::PresenceEvent& event : events) {
    if (stopped_ || queue_.size() >= options_.queue_events) {
      ++dropped;
    } else {
      queue_.push_back(std::move(event));
    }
  }
  if (dropped > 0) {
    // Counted under the lock, so that a test that sees the count sees the
    // queue as it was.
    (stopped_ ? events_undelivered_ : events_queue_full_).fetch_add(dropped);
  }
  queued_.store(queue_.size());
  if (idle_ && !queue_.empty() && !stopped_) {
    idle_ = false;
    net::post(ioc_, [this] { Wake(); });
  }
}

void WebhookSink::Stop() {
  if (!started_ || joined_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
  }
  net::post(ioc_, [this] { BeginStop(); });
  thread_.join();
}

WebhookStats WebhookSink::stats() const {
  WebhookStats s;
  s.events_sent = events_sent_.load();
  s.events_queue_full = events_queue_full_.load();
  s.events_undelivered = events_undelivered_.load();
  s.requests_ok = requests_ok_.load();
  s.requests_failed = requests_failed_.load();
  s.queued = queued_.load();
  return s;
}

void WebhookSink::Wake() {
  if (!in_flight_) SendNext();
}

void WebhookSink::SendNext() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.empty() || aborted_) {
      idle_ = true;
    } else {
      const size_t n = std::min(queue_.size(), options_.batch_events);
      batch_.assign(std::make_move_iterator(queue_.begin()),
                    std::make_move_iterator(queue_.begin() + static_cast<ptrdiff_t>(n)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
      queued_.store(queue_.size());
    }
  }
  if (batch_.empty()) {
    if (stopping_) Finish();
    return;
  }
  in_flight_ = true;
  body_ = core::WebhookBody(batch_, absl::Now());
  signature_ = core::WebhookSignature(options_.secret, body_);
  attempt_ = 0;
  Attempt();
}

void WebhookSink::Attempt() {
  ++attempt_;
  const uint64_t generation = ++generation_;
  stream_ = std::make_unique<beast::tcp_stream>(ioc_);
  request_.emplace(http::verb::post, url_.target, 11);
  request_->set(http::field::host, url_.host_header);
  request_->set(http::field::user_agent, std::string("cursord/").append(kVersion));
  request_->set(http::field::content_type, "application/json");
  request_->set(http::field::connection, "close");
  request_->set("X-Cursord-Signature", signature_);
  request_->set("X-Cursord-Attempt", std::to_string(attempt_));
  request_->body() = body_;
  request_->prepare_payload();
  // One deadline for the whole attempt: resolve, connect, send, answer.
  attempt_timer_.expires_after(absl::ToChronoNanoseconds(options_.timeout));
  attempt_timer_.async_wait([this, generation](boost::system::error_code ec) {
    if (ec || generation != generation_) return;
    resolver_.cancel();
    if (stream_) stream_->cancel();
    Done(generation, "timed out after " + absl::FormatDuration(options_.timeout));
  });
  resolver_.async_resolve(url_.host, std::to_string(url_.port),
                          [this, generation](boost::system::error_code ec,
                                             tcp::resolver::results_type results) {
                            OnResolve(generation, ec, std::move(results));
                          });
}

void WebhookSink::OnResolve(uint64_t generation, boost::system::error_code ec,
                            tcp::resolver::results_type results) {
  if (generation != generation_) return;
  if (ec) return Done(generation, "resolve " + url_.host + ": " + ec.message());
  stream_->async_connect(results, [this, generation](boost::system::error_code connect_ec,
                                                     const tcp::endpoint&) {
    OnConnect(generation, connect_ec);
  });
}

void WebhookSink::OnConnect(uint64_t generation, boost::system::error_code ec) {
  if (generation != generation_) return;
  if (ec) return Done(generation, "connect: " + ec.message());
  http::async_write(*stream_, *request_,
                    [this, generation](boost::system::error_code write_ec, size_t) {
                      OnWrite(generation, write_ec);
                    });
}

void WebhookSink::OnWrite(uint64_t generation, boost::system::error_code ec) {
  if (generation != generation_) return;
  if (ec) return Done(generation, "send: " + ec.message());
  buffer_.clear();
  parser_.emplace();
  parser_->body_limit(kMaxResponseBody);
  http::async_read(*stream_, buffer_, *parser_,
                   [this, generation](boost::system::error_code read_ec, size_t) {
                     OnRead(generation, read_ec);
                   });
}

void WebhookSink::OnRead(uint64_t generation, boost::system::error_code ec) {
  if (generation != generation_) return;
  // The status is what counts: a 2xx whose body is over the limit is a
  // delivery too.
  if (ec && !(ec == http::error::body_limit && parser_->is_header_done())) {
    return Done(generation, "answer: " + ec.message());
  }
  const unsigned status = parser_->get().result_int();
  if (status < 200 || status > 299) return Done(generation, "HTTP " + std::to_string(status));
  Done(generation, "");
}

void WebhookSink::Done(uint64_t generation, std::string failure) {
  if (generation != generation_) return;
  ++generation_;  // whatever of this attempt is still pending is stale now
  attempt_timer_.cancel();
  if (stream_) {
    boost::system::error_code ignored;
    stream_->socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_->close();
  }
  if (failure.empty()) {
    requests_ok_.fetch_add(1);
    events_sent_.fetch_add(batch_.size());
    batch_.clear();
    in_flight_ = false;
    return SendNext();
  }
  requests_failed_.fetch_add(1);
  if (aborted_) return;  // Finish counts the batch
  if (attempt_ > options_.retries) {
    LogFailure("webhook: POST " + options_.url + " failed (" + failure + "); gave up after " +
               std::to_string(attempt_) + " attempts, " + std::to_string(batch_.size()) +
               " events dropped");
    events_undelivered_.fetch_add(batch_.size());
    batch_.clear();
    in_flight_ = false;
    return SendNext();
  }
  const double unit = std::uniform_real_distribution<double>(0.0, 1.0)(random_);
  const absl::Duration delay = backplane::BackoffDelay(options_.backoff, attempt_ - 1, unit);
  LogFailure("webhook: POST " + options_.url + " failed (" + failure + "); attempt " +
             std::to_string(attempt_) + " of " + std::to_string(options_.retries + 1) +
             ", again in " + absl::FormatDuration(absl::Trunc(delay, absl::Milliseconds(1))));
  retry_timer_.expires_after(absl::ToChronoNanoseconds(delay));
  retry_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || aborted_) return;
    Attempt();
  });
}

void WebhookSink::BeginStop() {
  stopping_ = true;
  if (!in_flight_) {
    bool empty;
    {
      std::lock_guard<std::mutex> lock(mu_);
      empty = queue_.empty();
    }
    if (empty) return Finish();
    // Events queued but their Wake not run yet: send them.
    SendNext();
    if (!in_flight_) return;
  }
  stop_timer_.expires_after(absl::ToChronoNanoseconds(options_.shutdown_grace));
  stop_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    aborted_ = true;
    ++generation_;
    attempt_timer_.cancel();
    retry_timer_.cancel();
    resolver_.cancel();
    if (stream_) stream_->close();
    Finish();
  });
}

void WebhookSink::Finish() {
  size_t dropped = batch_.size();
  batch_.clear();
  in_flight_ = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    dropped += queue_.size();
    queue_.clear();
    queued_.store(0);
  }
  if (dropped > 0) {
    events_undelivered_.fetch_add(dropped);
    CURSORD_LOG(kWarning) << "webhook: stopped with " << dropped
                          << " events not delivered (shutdown grace "
                          << absl::FormatDuration(options_.shutdown_grace) << " over)";
  }
  stop_timer_.cancel();
  work_.reset();
}

void WebhookSink::LogFailure(const std::string& line) {
  uint64_t held_back = 0;
  if (!log_throttle_.Allow(core::LogThrottle::Clock::now(), &held_back)) return;
  CURSORD_LOG(kWarning) << (held_back == 0
                                ? std::string()
                                : "(" + std::to_string(held_back) + " webhook lines held back) ")
                        << line;
}

}  // namespace cursord::edge
