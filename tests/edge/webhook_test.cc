// The webhook sink end to end (docs/CONTROL_API.md, "Webhooks"): the real
// server in-process POSTs to a small real HTTP receiver in the test, which
// checks every signature with its own HMAC; real WebSocket clients join
// and leave.
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/edge/edge_fixture.h"
#include "tests/testing/eventually.h"
#include "tests/testing/webhook_receiver.h"
#include "tests/testing/ws_test_client.h"

namespace cursord::testing {
namespace {

constexpr char kSecret[] = "webhook-test-secret";

using Strings = std::vector<std::string>;

class WebhookTest : public EdgeTest {
 protected:
  // A receiver that outlives the server (which sends the leaves of the
  // sessions it closes at its end).
  void TearDown() override {
    marker_.reset();  // its close is not waited for
    EdgeTest::TearDown();
  }
  WebhookReceiver& Receiver(int fail_first = 0) {
    receiver_ = std::make_unique<WebhookReceiver>(kSecret, fail_first);
    return *receiver_;
  }
  // Starts the server with its webhook sink on `receiver`; retries come
  // fast (10 ms, 20 ms, ...), so that a test waits for them briefly.
  void StartWithWebhook(const WebhookReceiver& receiver, edge::ServerOptions options = {}) {
    options.webhook.url = receiver.url();
    options.webhook.secret = kSecret;
    options.webhook.backoff.initial = absl::Milliseconds(10);
    options.webhook.backoff.max = absl::Milliseconds(100);
    StartServer(options);
  }
  edge::WebhookStats Stats() { return server_->webhook()->stats(); }
  // Joins room `marker` and waits for its room_occupied: every event of
  // what happened before has been delivered by then (one POST at a time,
  // in order), so that nothing else is still on its way.
  void DeliverMarker(const WebhookReceiver& receiver) {
    uint8_t id;
    marker_ = Join("/rooms/marker", &id);
    ASSERT_TRUE(Eventually(
        [&] {
          const std::vector<HookEvent> events = receiver.delivered();
          return !events.empty() && events.back().room == "marker";
        },
        absl::Seconds(10)));
  }
  // The delivered events before the marker's.
  static Strings BeforeMarker(const WebhookReceiver& receiver) {
    Strings lines = Lines(receiver.delivered());
    if (!lines.empty() && lines.back() == "room_occupied marker") lines.pop_back();
    return lines;
  }

  std::unique_ptr<WebhookReceiver> receiver_;  // destroyed after TearDown's Shutdown
  std::unique_ptr<WsTestClient> marker_;
};

TEST_F(WebhookTest, TwoTabsOfOneUserAreOneEnterAndOneLeaveSignedAndInOrder) {
  WebhookReceiver& receiver = Receiver();
  StartWithWebhook(receiver);
  uint8_t id;
  auto tab1 = Join("/rooms/doc?user=ada", &id);
  auto tab2 = Join("/rooms/doc?user=ada", &id);
  auto anonymous = Join("/rooms/doc", &id);
  ASSERT_TRUE(tab1 && tab2 && anonymous);
  ASSERT_TRUE(receiver.WaitDelivered(2));
  tab1->Close(1000);
  tab2->Close(1000);
  ASSERT_TRUE(receiver.WaitDelivered(3));
  anonymous->Close(1000);
  ASSERT_TRUE(receiver.WaitDelivered(4));
  ASSERT_NO_FATAL_FAILURE(DeliverMarker(receiver));

  EXPECT_EQ(BeforeMarker(receiver), (Strings{"room_occupied doc", "user_entered doc ada",
                                             "user_left doc ada", "room_vacated doc"}));
  for (const HookRequest& r : receiver.requests()) {
    EXPECT_TRUE(r.signature_ok) << r.signature << " for " << r.body;
    EXPECT_TRUE(r.body_ok) << r.body;
    EXPECT_EQ(r.target, "/hooks/cursord");
    EXPECT_EQ(r.attempt, "1");
  }
  const std::vector<HookEvent> events = receiver.delivered();
  EXPECT_EQ(events[1].id, events[1].session_id + ".user_entered");
  EXPECT_EQ(events[2].id, events[2].session_id + ".user_left");
  EXPECT_NE(events[1].session_id, events[2].session_id);  // tab1 entered, tab2 left
  // Counted once the sink has read the answer, after the receiver sent it.
  EXPECT_TRUE(Eventually([&] { return Stats().events_sent == 5; })) << Stats().events_sent;
  EXPECT_EQ(Stats().requests_failed, 0u);
}

TEST_F(WebhookTest, APostAnswered500IsRetriedWithTheSameEventsInOrder) {
  WebhookReceiver& receiver = Receiver(/*fail_first=*/1);
  StartWithWebhook(receiver);
  uint8_t id;
  auto ada = Join("/rooms/retry?user=ada", &id);
  ASSERT_TRUE(ada);
  ASSERT_TRUE(receiver.WaitDelivered(2));
  ASSERT_NO_FATAL_FAILURE(DeliverMarker(receiver));

  const std::vector<HookRequest> requests = receiver.requests();
  ASSERT_GE(requests.size(), 2u);
  EXPECT_EQ(requests[0].status, 500);
  EXPECT_EQ(requests[1].status, 200);
  // The same body, so the same signature, events and order: only the
  // attempt header differs.
  EXPECT_EQ(requests[1].body, requests[0].body);
  EXPECT_TRUE(requests[0].signature_ok);
  EXPECT_TRUE(requests[1].signature_ok);
  EXPECT_EQ(requests[0].attempt, "1");
  EXPECT_EQ(requests[1].attempt, "2");
  EXPECT_EQ(Lines(requests[1].events), (Strings{"room_occupied retry", "user_entered retry ada"}));
  EXPECT_EQ(BeforeMarker(receiver), (Strings{"room_occupied retry", "user_entered retry ada"}));
  EXPECT_EQ(Stats().requests_failed, 1u);
  // The marker's POST is counted once the sink has read its answer.
  EXPECT_TRUE(Eventually([&] { return Stats().events_sent == 3; })) << Stats().events_sent;
  const std::string metrics = server_->metrics().Scrape();
  EXPECT_NE(metrics.find("cursord_webhook_requests_total{result=\"failed\"} 1"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("cursord_webhook_events_total{result=\"sent\"} 3"), std::string::npos);
  EXPECT_NE(metrics.find("cursord_webhook_queue_events 0"), std::string::npos);
}

TEST_F(WebhookTest, AFullQueueDropsAndCountsWhatDoesNotFit) {
  WebhookReceiver& receiver = Receiver();
  receiver.Hold();
  edge::ServerOptions options;
  options.webhook.queue_events = 2;
  options.webhook.timeout = absl::Seconds(30);  // the held POST must not time out
  StartWithWebhook(receiver, options);
  uint8_t id;
  // Its two events leave the queue in the first POST, which the receiver
  // holds.
  auto a = Join("/rooms/full?user=a", &id);
  ASSERT_TRUE(receiver.WaitRequests(1));
  EXPECT_EQ(Lines(receiver.requests()[0].events), (Strings{"room_occupied full", "user_entered full a"}));
  auto b = Join("/rooms/full?user=b", &id);
  auto c = Join("/rooms/full?user=c", &id);
  ASSERT_TRUE(Eventually([&] { return Stats().queued == 2; }));
  auto d = Join("/rooms/full?user=d", &id);  // no room for it
  ASSERT_TRUE(Eventually([&] { return Stats().events_queue_full == 1; }));
  EXPECT_NE(server_->metrics().Scrape().find(
                "cursord_webhook_events_total{result=\"dropped_queue_full\"} 1"),
            std::string::npos);

  receiver.Release();
  ASSERT_TRUE(receiver.WaitDelivered(4));  // the queue has room again (for the marker)
  ASSERT_NO_FATAL_FAILURE(DeliverMarker(receiver));
  EXPECT_EQ(BeforeMarker(receiver), (Strings{"room_occupied full", "user_entered full a",
                                             "user_entered full b", "user_entered full c"}));
  EXPECT_EQ(Stats().events_queue_full, 1u);
}

TEST_F(WebhookTest, AnUnreachableReceiverIsRetriedThenTheBatchIsDroppedAndCounted) {
  int closed_port;
  {
    // A port that was just free: nothing listens there.
    WebhookReceiver gone(kSecret);
    closed_port = gone.port();
  }
  edge::ServerOptions options;
  options.webhook.url = "http://127.0.0.1:" + std::to_string(closed_port) + "/";
  options.webhook.secret = kSecret;
  options.webhook.retries = 2;
  options.webhook.backoff.initial = absl::Milliseconds(10);
  StartServer(options);
  uint8_t id;
  auto a = Join("/rooms/nowhere?user=a", &id);
  ASSERT_TRUE(Eventually([&] { return Stats().events_undelivered == 2; }));
  EXPECT_EQ(Stats().requests_failed, 3u);  // the first attempt and 2 retries
  EXPECT_EQ(Stats().events_sent, 0u);
}

TEST_F(WebhookTest, ShutdownSendsWhatIsQueuedWithinItsGrace) {
  WebhookReceiver& receiver = Receiver();
  edge::ServerOptions options;
  options.shutdown_grace = absl::Milliseconds(100);  // the client never answers the close
  StartWithWebhook(receiver, options);
  uint8_t id;
  auto a = Join("/rooms/closing?user=a", &id);
  ASSERT_TRUE(receiver.WaitDelivered(2));
  server_->Shutdown();
  // Before Shutdown returned: the leave of the session it closed.
  EXPECT_EQ(Lines(receiver.delivered()), (Strings{"room_occupied closing", "user_entered closing a",
                                                  "user_left closing a", "room_vacated closing"}));
}

TEST_F(WebhookTest, ABadUrlOrNoSecretStopsTheServerFromStarting) {
  edge::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.webhook.url = "https://hooks.example.com/";
  options.webhook.secret = kSecret;
  edge::Server https(options);
  const absl::Status status = https.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("local TLS proxy"), std::string::npos) << status;

  options.webhook.url = "http://127.0.0.1:1/";
  options.webhook.secret = "";
  edge::Server unsigned_hooks(options);
  const absl::Status no_secret = unsigned_hooks.Start();
  EXPECT_EQ(no_secret.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(no_secret.message().find("--webhook-secret"), std::string::npos) << no_secret;
}

}  // namespace
}  // namespace cursord::testing
