#include "tests/control/control_fixture.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace cursord::testing {

void ControlTest::SetUp() {
  edge::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.threads = 2;  // rooms on two shards: KickUser and ListRooms span both
  options.shutdown_grace = absl::Seconds(1);
  edge_ = std::make_unique<edge::Server>(options);
  ASSERT_TRUE(edge_->Start().ok());
  ws_port_ = edge_->port();
  RestartControl(Config());
}

void ControlTest::TearDown() {
  // The control server first: its shutdown waits on calls the edge answers.
  if (control_) control_->Shutdown();
  control_.reset();
  if (edge_) edge_->Shutdown();
}

void ControlTest::RestartControl(Config config) {
  stub_.reset();
  channel_.reset();
  control_.reset();
  config_ = std::move(config);
  control::ControlServerOptions options;
  options.listen = "127.0.0.1:0";
  options.token = config_.token;
  options.watch_buffer = config_.watch_buffer;
  options.max_watchers = config_.max_watchers;
  options.max_watchers_per_room = config_.max_watchers_per_room;
  options.watch_finish_grace = config_.watch_finish_grace;
  options.keepalive_time = config_.keepalive_time;
  options.keepalive_timeout = config_.keepalive_timeout;
  options.tls = config_.tls;
  auto started = control::ControlServer::Start(options, edge_->control_plane());
  ASSERT_TRUE(started.ok()) << started.status();
  control_ = std::move(*started);
  channel_ = NewChannel();
  stub_ = v1::ControlService::NewStub(channel_);
}

std::unique_ptr<WsTestClient> ControlTest::Join(const std::string& target,
                                                uint8_t* id,
                                                WsTestClient::Options options) {
  auto client = WsTestClient::Connect(ws_port_, target, options);
  EXPECT_TRUE(client.ok()) << client.status();
  if (!client.ok()) return nullptr;
  auto joined = (*client)->ReadJoin();
  EXPECT_TRUE(joined.ok()) << joined.status();
  if (!joined.ok()) return nullptr;
  if (id != nullptr) *id = *joined;
  return std::move(*client);
}

std::unique_ptr<grpc::ClientContext> ControlTest::Call(absl::Duration timeout) const {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!config_.token.empty()) {
    context->AddMetadata("authorization", absl::StrCat("Bearer ", config_.token));
  }
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

std::shared_ptr<grpc::Channel> ControlTest::NewChannel(
    const grpc::ChannelArguments& args) const {
  return grpc::CreateCustomChannel(control_->address(),
                                   grpc::InsecureChannelCredentials(), args);
}

}  // namespace cursord::testing
