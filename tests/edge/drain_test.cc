// Readiness and the drain, in-process: /readyz against /healthz, joins
// refused while draining, and a shutdown that cuts a drain short. The
// signal path and the spread of the closes in time are tested on the
// process (cursord_process_test.cc).
#include <memory>
#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "server/edge/server.h"
#include "tests/edge/edge_fixture.h"
#include "tests/testing/ws_test_client.h"

namespace cursord::testing {
namespace {

using DrainTest = EdgeTest;

// Joined, then closed by the server with 1001 and nothing before: a join
// refused by a draining server.
void ExpectRefusedWith1001(int port, const std::string& target) {
  auto late = WsTestClient::Connect(port, target);
  ASSERT_TRUE(late.ok()) << late.status();  // accepted, so that a browser reads why
  EXPECT_EQ((*late)->Read(), std::nullopt);  // no 01 id: it never joined
  EXPECT_TRUE((*late)->closed());
  EXPECT_EQ((*late)->close_code(), 1001);
  EXPECT_EQ((*late)->close_reason(), "server shutting down");
}

TEST_F(DrainTest, ReadyzFailsOnceDrainingWhileHealthzStaysAliveAndRoomsGoOn) {
  edge::ServerOptions options;
  options.drain_delay = absl::Hours(1);  // the closes never start here
  StartServer(options);
  auto ready = HttpGet(port_, "/readyz");
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(ready->body, "ready\n");
  uint8_t a_id = 0, b_id = 0;
  auto a = Join("/rooms/drain", &a_id);
  auto b = Join("/rooms/drain", &b_id);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->Read(), B({0x03, b_id}));

  server_->BeginDrain();
  ready = HttpGet(port_, "/readyz");
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_EQ(ready->status, 503);
  EXPECT_EQ(ready->body, "draining\n");
  EXPECT_TRUE(server_->Readiness().code() == absl::StatusCode::kUnavailable);
  auto health = HttpGet(port_, "/healthz");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok\n");
  // A new join is refused, in the members' room as in a new one.
  ExpectRefusedWith1001(port_, "/rooms/drain");
  ExpectRefusedWith1001(port_, "/rooms/elsewhere");
  // Until its turn comes, a member's room goes on: a's move reaches b.
  a->SendBinary(CursorMessage(7, 8));
  EXPECT_EQ(b->Read(), B({0x05, a_id, 0, 7, 0, 8}));
  EXPECT_FALSE(server_->drained());
  EXPECT_EQ(Counter("closes_1001_shutdown"), 2u);  // the two refused joins
}

// A shutdown during a drain (a second SIGTERM) closes what is left at
// once, with 1001, as a plain shutdown does.
TEST_F(DrainTest, AShutdownDuringTheDrainClosesTheRestAtOnce) {
  edge::ServerOptions options;
  options.drain_delay = absl::Hours(1);
  // These clients answer the close only when they read, after Shutdown.
  options.shutdown_grace = absl::Milliseconds(200);
  StartServer(options);
  auto a = Join("/rooms/one", nullptr);
  auto b = Join("/rooms/two", nullptr);
  ASSERT_TRUE(a && b);
  server_->BeginDrain();
  server_->Shutdown();
  for (auto* client : {a.get(), b.get()}) {
    ASSERT_TRUE(client->WaitClosed());
    EXPECT_EQ(client->close_code(), 1001);
    EXPECT_EQ(client->close_reason(), "server shutting down");
  }
}

// With no session open, a drain is over once its delay has passed (load
// balancers had that long to see /readyz fail), not before.
TEST_F(DrainTest, ADrainWithoutSessionsIsOverAfterItsDelay) {
  edge::ServerOptions options;
  options.drain_delay = absl::Milliseconds(300);
  StartServer(options);
  const absl::Time begin = absl::Now();
  server_->BeginDrain();
  EXPECT_FALSE(server_->drained());
  ASSERT_TRUE(Eventually([&] { return server_->drained(); }, absl::Seconds(5)));
  EXPECT_GE(absl::Now() - begin, absl::Milliseconds(300));
}

// With --redis and Redis out of reach, the instance is alive (/healthz
// 200, degraded) but not ready: the joins it would take are refused with
// 1013.
TEST_F(DrainTest, ReadyzFailsWhileTheBackplaneIsUnavailable) {
  edge::ServerOptions options;
  options.redis = "redis://127.0.0.1:1";  // nothing listens on port 1
  StartServer(options);
  auto ready = HttpGet(port_, "/readyz");
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_EQ(ready->status, 503);
  EXPECT_EQ(ready->body, "backplane unavailable\n");
  auto health = HttpGet(port_, "/healthz");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "degraded: backplane unavailable\n");
  // Draining wins: it is the reason that will not go away.
  server_->BeginDrain();
  EXPECT_EQ(server_->Readiness().message(), "draining");
}

}  // namespace
}  // namespace cursord::testing
