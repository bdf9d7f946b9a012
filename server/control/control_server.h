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
#include "absl/time/time.h"
#include "server/control/control_tls.h"
#include "server/core/control_plane.h"

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
  // public API). Empty: no authentication. On an address that is not
  // loopback, only with TLS (see CheckControlTransport).
  std::string token;
  // TLS (or mutual TLS) for the listener, all three services; none: plaintext.
  ControlTlsOptions tls;
  // Per WatchRoom stream: messages that may wait for a slow client before
  // the stream is dropped with RESOURCE_EXHAUSTED.
  size_t watch_buffer = 1024;
  // Open WatchRoom streams on the server, and on one room; one more is
  // refused with RESOURCE_EXHAUSTED.
  size_t max_watchers = 1024;
  size_t max_watchers_per_room = 64;
  // A stream the server ended whose client does not take its last write
  // within this long is cancelled (see WatchSession).
  absl::Duration watch_finish_grace = absl::Seconds(10);

  // Connection management (gRPC channel arguments).
  // The server pings a connection idle this long, calls or not, and closes
  // it when no answer comes within keepalive_timeout: a client that
  // vanished without closing (a crash, a lost network) is noticed, and its
  // streams are released.
  absl::Duration keepalive_time = absl::Seconds(30);
  absl::Duration keepalive_timeout = absl::Seconds(10);
  // The most often a client may ping without the server sending data,
  // with or without calls (gRPC's default is every 5 minutes, and only
  // with calls): cursorctl pings every 30 s while it watches. Pinging more
  // often than this twice gets the connection closed (too_many_pings).
  absl::Duration min_client_ping_interval = absl::Seconds(10);
  // A connection is asked to go away (GOAWAY) at this age; its calls still
  // running then get max_connection_age_grace to end before the connection
  // is closed. Bounds how long any one connection, and so any one
  // WatchRoom stream, can hold the server's resources. Zero: no limit
  // (for the age), no grace (for the grace).
  absl::Duration max_connection_age = absl::Hours(1);
  absl::Duration max_connection_age_grace = absl::Minutes(10);
};

class ControlServer {
 public:
  // Starts the gRPC server (control service, grpc.health.v1.Health,
  // reflection) and returns once it listens. INVALID_ARGUMENT for a
  // malformed address, a transport the rules refuse (CheckControlTransport:
  // a token in clear off loopback) or a TLS file that cannot be used
  // (ControlServerCredentials); UNAVAILABLE when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<ControlServer>> Start(
      const ControlServerOptions& options, core::ControlPlane& plane);

  // What Start refuses before binding anything, with the same status: a
  // malformed address, a transport the rules refuse, a TLS file that cannot
  // be used. main asks before the edge starts, so such a mistake stops
  // cursord before it serves anyone.
  static absl::Status CheckOptions(const ControlServerOptions& options);

  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;
  // Calls Shutdown() if needed.
  ~ControlServer();

  // The bound port.
  int port() const { return port_; }
  // "host:port" as bound (the host as given, the actual port).
  std::string address() const { return address_; }

  // What grpc.health.v1.Health answers for every service ("" and
  // cursord.v1.ControlService): SERVING or NOT_SERVING. cursord keeps it in
  // step with the edge's readiness (edge::Server::Readiness: NOT_SERVING
  // while draining, or without the backplane), as /readyz. No effect after
  // Shutdown. Any thread.
  void SetServing(bool serving);

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
