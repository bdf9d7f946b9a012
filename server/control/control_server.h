// The control plane's gRPC server: cursord.v1.ControlService, the standard
// grpc.health.v1.Health service and server reflection, on one listener.
//
// Usage (server/main.cc):
//   ControlServerOptions options;
//   options.listen = flag_control_listen;
//   options.token = flag_control_token;  // or $CURSORD_CONTROL_TOKEN
//   auto control = ControlServer::Start(options, server);
//   if (!control.ok()) { ...report control.status(), exit... }
//   ...
//   (*control)->Shutdown();  // before the edge server shuts down
//
// The ControlPlane must outlive the ControlServer, and the ControlServer
// must be shut down while the plane still answers: Shutdown waits for the
// in-flight calls, which finish from the plane's callbacks.
#ifndef CURSORD_CONTROL_CONTROL_SERVER_H_
#define CURSORD_CONTROL_CONTROL_SERVER_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/core/presence.h"

namespace grpc {
class Server;
}  // namespace grpc

namespace cursord::control {

class ControlService;

struct ControlServerOptions {
  // "host:port"; port 0 picks an ephemeral port. IPv6 hosts in brackets,
  // e.g. "[::1]:50051".
  std::string listen = "127.0.0.1:50051";
  // When set, every control call needs `authorization: Bearer <token>`.
  // Health checks and reflection stay open (reflection only describes the
  // public API). Empty: no authentication.
  std::string token;
  // Per WatchRoom stream: messages that may wait for a slow client before
  // the stream is dropped with RESOURCE_EXHAUSTED.
  size_t watch_buffer = 1024;
};

class ControlServer {
 public:
  // Starts the gRPC server (control service, grpc.health.v1.Health,
  // reflection) and returns once it listens. INVALID_ARGUMENT for a
  // malformed address, UNAVAILABLE when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<ControlServer>> Start(
      const ControlServerOptions& options, core::ControlPlane& plane);

  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;
  // Calls Shutdown() if needed.
  ~ControlServer();

  // The bound port.
  int port() const { return port_; }
  // "host:port" as bound (the host as given, the actual port).
  std::string address() const { return address_; }

  // Ends every WatchRoom stream with UNAVAILABLE, marks health NOT_SERVING,
  // stops accepting calls and waits for in-flight ones; calls still running
  // after about 2 s are cancelled. Idempotent; any thread but a gRPC one.
  void Shutdown();

 private:
  ControlServer(std::unique_ptr<ControlService> service,
                std::unique_ptr<grpc::Server> server, int port,
                std::string address);

  // Declared before server_: the server is destroyed first.
  std::unique_ptr<ControlService> service_;
  std::unique_ptr<grpc::Server> server_;
  const int port_;
  const std::string address_;

  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace cursord::control

#endif  // CURSORD_CONTROL_CONTROL_SERVER_H_
