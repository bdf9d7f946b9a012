#include "server/control/control_server.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <utility>

#include <grpc/grpc.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "server/common/status_macros.h"
#include "server/control/control_service.h"
#include "server/control/control_tls.h"
#include "server/core/host_port.h"

namespace cursord::control {
namespace {

constexpr absl::string_view kServiceName = "cursord.v1.ControlService";
constexpr std::chrono::seconds kShutdownGrace{2};

// A channel argument in milliseconds; gRPC takes INT_MAX as "unlimited".
int Millis(absl::Duration duration) {
  if (duration == absl::InfiniteDuration()) return INT_MAX;
  return static_cast<int>(
      std::min<int64_t>(absl::ToInt64Milliseconds(duration), INT_MAX));
}

// Keepalive, the client ping policy and connection age; see
// ControlServerOptions for what each is for.
void SetConnectionManagement(const ControlServerOptions& options,
                             grpc::ServerBuilder& builder) {
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                             Millis(options.keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                             Millis(options.keepalive_timeout));
  // Our pings go to idle connections too, and clients may ping those.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Without this, gRPC stops pinging after two pings with no data in
  // between: a quiet WatchRoom stream would go unchecked from then on.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             Millis(options.min_client_ping_interval));
  builder.AddChannelArgument(
      GRPC_ARG_MAX_CONNECTION_AGE_MS,
      Millis(options.max_connection_age == absl::ZeroDuration()
                 ? absl::InfiniteDuration()
                 : options.max_connection_age));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                             Millis(options.max_connection_age_grace));
}

// The checks of CheckOptions; the listener's host and credentials.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Prepare(
    const ControlServerOptions& options, std::string* host) {
  CURSORD_ASSIGN_OR_RETURN(const core::HostPort listen,
                           core::SplitHostPort(options.listen, "control listen address"));
  *host = listen.host;
  CURSORD_RETURN_IF_ERROR(CheckControlTransport(options.listen, options.token, options.tls));
  return ControlServerCredentials(options.tls, absl::Now());
}

}  // namespace

absl::Status ControlServer::CheckOptions(const ControlServerOptions& options) {
  std::string host;
  return Prepare(options, &host).status();
}

absl::StatusOr<std::unique_ptr<ControlServer>> ControlServer::Start(
    const ControlServerOptions& options, core::ControlPlane& plane) {
  std::string host;
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      Prepare(options, &host);
  if (!credentials.ok()) return credentials.status();

  ControlServiceOptions service_options;
  service_options.token = options.token;
  service_options.watch_buffer = options.watch_buffer;
  service_options.watch_limits.max_watchers = options.max_watchers;
  service_options.watch_limits.max_watchers_per_room =
      options.max_watchers_per_room;
  service_options.watch_finish_grace = options.watch_finish_grace;
  auto service = std::make_unique<ControlService>(service_options, plane);

  // Both are process-wide switches that only take effect for servers built
  // afterwards; calling them again is harmless.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  int bound_port = 0;
  // One port, one set of credentials: health checks and reflection are
  // served over the same TLS (and need the same client certificate).
  builder.AddListeningPort(options.listen, *credentials, &bound_port);
  // gRPC sets SO_REUSEPORT by default, which would let a second cursord
  // "bind" a port already in use and split the traffic.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  SetConnectionManagement(options, builder);
  builder.RegisterService(service.get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || bound_port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen,
                     " for the control API (in use, or not a local address?)"));
  }
  std::string address = core::JoinHostPort(host, static_cast<uint16_t>(bound_port));
  service->set_control_address(address);
  if (grpc::HealthCheckServiceInterface* health =
          server->GetHealthCheckService()) {
    health->SetServingStatus(std::string(kServiceName), true);
  }
  return std::unique_ptr<ControlServer>(new ControlServer(
      std::move(service), std::move(server), bound_port, std::move(address)));
}

ControlServer::ControlServer(std::unique_ptr<ControlService> service,
                             std::unique_ptr<grpc::Server> server, int port,
                             std::string address)
    : service_(std::move(service)),
      server_(std::move(server)),
      port_(port),
      address_(std::move(address)) {}

ControlServer::~ControlServer() { Shutdown(); }

void ControlServer::SetServing(bool serving) {
  absl::MutexLock lock(&shutdown_mu_);
  if (shut_down_) return;
  // The default service's SetServingStatus(bool) sets every service it
  // knows: "" and the control service.
  if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
    health->SetServingStatus(serving);
  }
}

void ControlServer::Shutdown() {
  absl::MutexLock lock(&shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  if (grpc::HealthCheckServiceInterface* health =
          server_->GetHealthCheckService()) {
    health->SetServingStatus(false);
  }
  // Streams first: gRPC's shutdown would otherwise wait the whole grace
  // period for them and then cancel them without a useful status.
  service_->BeginShutdown();
  server_->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  server_->Wait();
}

}  // namespace cursord::control
