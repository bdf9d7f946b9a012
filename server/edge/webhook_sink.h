// The webhook sink (docs/CONTROL_API.md, "Webhooks"): presence events
// (user entered / left a room, room occupied / vacated) POSTed as signed
// JSON batches to --webhook-url.
//
//   ActivityLog observer (any session's thread, under the log's lock)
//     -> core::PresenceTracker -> Enqueue (a short lock; drops when full)
//   the sink's own thread: one POST in flight, up to batch_events per POST,
//     in queue order; a failed POST is retried (backoff with jitter), the
//     same body, until it succeeds or its retries run out.
//
// Nothing here blocks a session: the observer only takes the queue's lock.
#ifndef CURSORD_EDGE_WEBHOOK_SINK_H_
#define CURSORD_EDGE_WEBHOOK_SINK_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/core/activity.h"
#include "server/core/log_throttle.h"
#include "server/core/presence_events.h"
#include "server/core/webhook_payload.h"
#include "server/edge/options.h"

namespace cursord::edge {

// Counters for /metrics (cursord_webhook_*).
struct WebhookStats {
  uint64_t events_sent = 0;        // in a POST answered 2xx
  uint64_t events_queue_full = 0;  // dropped: the queue was full
  uint64_t events_undelivered = 0;  // dropped: retries ran out, or shutdown
  uint64_t requests_ok = 0;         // POSTs answered 2xx
  uint64_t requests_failed = 0;     // attempts that failed (connect, timeout, non-2xx)
  uint64_t queued = 0;              // events waiting now (not the batch in flight)
};

class WebhookSink {
 public:
  // Checks the options (the URL: INVALID_ARGUMENT saying what is wrong; a
  // secret). `self` is the activity log's instance (ShouldAnnounce).
  static absl::StatusOr<std::unique_ptr<WebhookSink>> Create(WebhookOptions options,
                                                            std::string self);
  ~WebhookSink();
  WebhookSink(const WebhookSink&) = delete;
  WebhookSink& operator=(const WebhookSink&) = delete;

  // Starts the sink's thread.
  void Start();

  // The activity log's observer: feeds the tracker with every record and
  // queues the events of the records this instance announces. Called
  // under the log's lock, in its order; quick.
  void Observe(const core::ActivityRecord& record, bool live);

  // Queues `events` (dropping those that do not fit). Any thread.
  void Enqueue(std::vector<core::PresenceEvent> events);

  // Sends what is queued for up to options.shutdown_grace, then drops
  // the rest (counted) and joins the thread. Idempotent; any thread but
  // the sink's. Events queued afterwards are dropped.
  void Stop();

  WebhookStats stats() const;

 private:
  WebhookSink(WebhookOptions options, core::WebhookUrl url, std::string self);

  // The sink's thread from here on.
  void Wake();
  // Takes the next batch, or goes idle (or, stopping, finishes).
  void SendNext();
  void Attempt();
  void OnResolve(uint64_t generation, boost::system::error_code ec,
                 boost::asio::ip::tcp::resolver::results_type results);
  void OnConnect(uint64_t generation, boost::system::error_code ec);
  void OnWrite(uint64_t generation, boost::system::error_code ec);
  void OnRead(uint64_t generation, boost::system::error_code ec);
  // Ends the attempt: `failure` empty when the batch was delivered.
  void Done(uint64_t generation, std::string failure);
  void BeginStop();
  // Stopping: drops what is left (counted) and lets the thread end.
  void Finish();
  void LogFailure(const std::string& line);

  const WebhookOptions options_;
  const core::WebhookUrl url_;
  const std::string self_;

  // Guarded by the activity log's lock (its observers run under it).
  core::PresenceTracker tracker_;

  std::mutex mu_;
  std::deque<core::PresenceEvent> queue_;  // guarded by mu_
  bool idle_ = true;                       // guarded by mu_: no Wake pending or running
  bool stopped_ = false;                   // guarded by mu_: Stop began

  std::atomic<uint64_t> events_sent_{0};
  std::atomic<uint64_t> events_queue_full_{0};
  std::atomic<uint64_t> events_undelivered_{0};
  std::atomic<uint64_t> requests_ok_{0};
  std::atomic<uint64_t> requests_failed_{0};
  std::atomic<uint64_t> queued_{0};

  boost::asio::io_context ioc_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::atomic<bool> started_{false};
  std::atomic<bool> joined_{false};

  // Owned by the sink's thread.
  boost::asio::ip::tcp::resolver resolver_;
  std::unique_ptr<boost::beast::tcp_stream> stream_;
  boost::asio::steady_timer attempt_timer_;  // the attempt's deadline
  boost::asio::steady_timer retry_timer_;    // the backoff before the next attempt
  boost::asio::steady_timer stop_timer_;     // the shutdown grace
  std::vector<core::PresenceEvent> batch_;   // in flight
  std::string body_;                         // the batch's, the same in every attempt
  std::string signature_;
  int attempt_ = 0;                          // of the batch in flight, from 1
  uint64_t generation_ = 0;                  // of the attempt: stale handlers see another
  bool in_flight_ = false;                   // a batch is being sent or waits to be retried
  bool stopping_ = false;
  bool aborted_ = false;                     // the grace ran out
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request<boost::beast::http::string_body>> request_;
  std::optional<boost::beast::http::response_parser<boost::beast::http::string_body>> parser_;
  std::mt19937 random_{std::random_device{}()};
  core::LogThrottle log_throttle_;
};

}  // namespace cursord::edge

#endif  // CURSORD_EDGE_WEBHOOK_SINK_H_
