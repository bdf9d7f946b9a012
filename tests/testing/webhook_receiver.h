// A small real HTTP receiver for the webhook sink's tests: a Beast server
// on 127.0.0.1 (ephemeral port) and its own thread that takes POSTs one at
// a time, checks each one's X-Cursord-Signature against an HMAC-SHA256 of
// the body computed here with OpenSSL (not with cursord's code), and
// answers as told: 500 to the first `fail_first` requests, and, while
// held, only once released.
#ifndef CURSORD_TESTS_TESTING_WEBHOOK_RECEIVER_H_
#define CURSORD_TESTS_TESTING_WEBHOOK_RECEIVER_H_

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"

namespace cursord::testing {

// One event of a webhook body.
struct HookEvent {
  std::string id;
  std::string name;  // user_entered, user_left, room_occupied, room_vacated
  std::string room;
  std::string user_id;  // "" for room events
  std::string instance;
  std::string session_id;
};

struct HookRequest {
  std::string target;
  std::string body;
  std::string signature;  // the header as sent
  bool signature_ok = false;  // it is "sha256=" + hex HMAC-SHA256(secret, body)
  bool body_ok = false;       // the body parsed as {"time_ms": n, "events": [...]}
  std::string attempt;        // X-Cursord-Attempt
  std::vector<HookEvent> events;
  int status = 0;  // what the receiver answered (0: not yet, or the answer was lost)
};

class WebhookReceiver {
 public:
  explicit WebhookReceiver(std::string secret, int fail_first = 0);
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:PORT/hooks/cursord".
  std::string url() const;

  // While held, a request is answered only after Release() (or the
  // receiver's end).
  void Hold();
  void Release();

  // Every request so far (answered or held), in arrival order.
  std::vector<HookRequest> requests() const;
  // The events of the requests answered 2xx, in order.
  std::vector<HookEvent> delivered() const;
  // Waits until `n` requests arrived / `n` events were delivered.
  bool WaitRequests(size_t n, absl::Duration timeout = absl::Seconds(10)) const;
  bool WaitDelivered(size_t n, absl::Duration timeout = absl::Seconds(10)) const;

 private:
  struct Impl;
  void Serve();

  const std::string secret_;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  int fail_first_;                     // guarded by mu_
  bool held_ = false;                  // guarded by mu_
  bool stopping_ = false;              // guarded by mu_
  std::vector<HookRequest> requests_;  // guarded by mu_
};

// "name room user" per event (user omitted for room events): compact
// expectations.
std::vector<std::string> Lines(const std::vector<HookEvent>& events);

}  // namespace cursord::testing

#endif  // CURSORD_TESTS_TESTING_WEBHOOK_RECEIVER_H_
