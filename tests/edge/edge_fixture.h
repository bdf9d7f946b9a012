// The fixture of the edge's end-to-end tests: the real server in-process
// on an ephemeral loopback port, with helpers to join and read counters.
#ifndef CURSORD_TESTS_EDGE_EDGE_FIXTURE_H_
#define CURSORD_TESTS_EDGE_EDGE_FIXTURE_H_

#include <cstdint>
#include <functional>
#include <future>
#include <initializer_list>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/edge/server.h"
#include "tests/testing/eventually.h"
#include "tests/testing/ws_test_client.h"

namespace cursord::testing {

class EdgeTest : public ::testing::Test {
 protected:
  void StartServer(edge::ServerOptions options = {}) {
    options.listen = "127.0.0.1:0";
    if (options.threads == 0) options.threads = 2;  // exercise the hand-over
    server_ = std::make_unique<edge::Server>(options);
    ASSERT_TRUE(server_->Start().ok());
    port_ = server_->port();
  }
  void SetUp() override {}
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  std::unique_ptr<WsTestClient> Join(const std::string& target, uint8_t* id,
                                     WsTestClient::Options options = {}) {
    auto client = WsTestClient::Connect(port_, target, options);
    EXPECT_TRUE(client.ok()) << client.status();
    if (!client.ok()) return nullptr;
    auto joined = (*client)->ReadJoin();
    EXPECT_TRUE(joined.ok()) << joined.status();
    if (id && joined.ok()) *id = *joined;
    return std::move(*client);
  }

  uint64_t Counter(const std::string& name) { return server_->GetServerInfo().counters.at(name); }

  // The room as the control plane sees it.
  absl::StatusOr<core::RoomSnapshot> Snapshot(const std::string& room) {
    std::promise<absl::StatusOr<core::RoomSnapshot>> answer;
    server_->control_plane().GetRoom(room, [&](absl::StatusOr<core::RoomSnapshot> snapshot) {
      answer.set_value(std::move(snapshot));
    });
    return answer.get_future().get();
  }

  std::unique_ptr<edge::Server> server_;
  int port_ = 0;
};

inline Bytes B(std::initializer_list<uint8_t> bytes) { return Bytes(bytes); }

}  // namespace cursord::testing

#endif  // CURSORD_TESTS_EDGE_EDGE_FIXTURE_H_
