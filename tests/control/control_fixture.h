// The fixture of the control plane's end-to-end tests: the real edge
// server and the real ControlServer in-process, each on an ephemeral
// loopback port, a gRPC channel to the control API, and real WebSocket
// clients (tests/testing's WsTestClient) for the rooms.
#ifndef CURSORD_TESTS_CONTROL_CONTROL_FIXTURE_H_
#define CURSORD_TESTS_CONTROL_CONTROL_FIXTURE_H_

#include <functional>
#include <memory>
#include <string>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/support/channel_arguments.h>

#include "absl/time/time.h"
#include "cursord/v1/control.grpc.pb.h"
#include "gtest/gtest.h"
#include "server/control/control_server.h"
#include "server/edge/server.h"
#include "tests/testing/eventually.h"
#include "tests/testing/ws_test_client.h"

namespace cursord::testing {

class ControlTest : public ::testing::Test {
 protected:
  // Control server settings; the defaults are the server's.
  struct Config {
    std::string token;
    size_t watch_buffer = 1024;
    size_t max_watchers = control::ControlServerOptions().max_watchers;
    size_t max_watchers_per_room = control::ControlServerOptions().max_watchers_per_room;
    absl::Duration watch_finish_grace = control::ControlServerOptions().watch_finish_grace;
    absl::Duration keepalive_time = control::ControlServerOptions().keepalive_time;
    absl::Duration keepalive_timeout = control::ControlServerOptions().keepalive_timeout;
    // TLS files (tests/control/test_pki.h); none: plaintext. channel_ and
    // stub() stay plaintext: TLS tests make their own channels.
    control::ControlTlsOptions tls = {};
  };

  void SetUp() override;
  void TearDown() override;

  // Replaces the control server (keeps the edge and its rooms).
  void RestartControl(Config config);

  // Joins `target` (e.g. "/rooms/lobby?user=u-1") and reads the join
  // sequence; `id` gets the member id.
  std::unique_ptr<WsTestClient> Join(const std::string& target,
                                     uint8_t* id = nullptr,
                                     WsTestClient::Options options = {});

  // A context carrying the configured token (if any) and a deadline.
  std::unique_ptr<grpc::ClientContext> Call(
      absl::Duration timeout = absl::Seconds(5)) const;

  v1::ControlService::Stub& stub() { return *stub_; }
  // A fresh channel, e.g. with other channel arguments.
  std::shared_ptr<grpc::Channel> NewChannel(
      const grpc::ChannelArguments& args = grpc::ChannelArguments()) const;

  std::unique_ptr<edge::Server> edge_;
  std::unique_ptr<control::ControlServer> control_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ControlService::Stub> stub_;
  Config config_;
  int ws_port_ = 0;
};

}  // namespace cursord::testing

#endif  // CURSORD_TESTS_CONTROL_CONTROL_FIXTURE_H_
