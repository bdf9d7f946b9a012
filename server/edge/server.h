// The cursord server: assembles the WebSocket/HTTP edge on N shards, the
// join gate, and the control operations over them (ControlOps).
//
//   Listener (shard 0) --accept--> HttpSession (round-robin shard)
//        --upgrade request read--> the room's shard: WsSession in a Room
//
// Everything a room does happens on its shard's thread; the control plane
// posts work to shards and gets its answer through callbacks.
#ifndef CURSORD_EDGE_SERVER_H_
#define CURSORD_EDGE_SERVER_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/backplane/backplane.h"
#include "server/core/drain_schedule.h"
#include "server/core/presence.h"
#include "server/edge/activity_log.h"
#include "server/edge/cluster_control.h"
#include "server/edge/cluster_relay.h"
#include "server/edge/control_ops.h"
#include "server/edge/join_gate.h"
#include "server/edge/metrics.h"
#include "server/edge/options.h"
#include "server/edge/webhook_sink.h"

namespace cursord::edge {

class Shard;
class Listener;

// The release version of cursord.
std::string_view Version();

class Server final {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listener and starts the shard threads. Once it returns OK,
  // port() is the bound port.
  absl::Status Start();

  // Starts a drain (SIGTERM; docs/OPERATIONS.md, "Signals and shutdown"):
  // returns once every shard refuses new joins (accepted, then closed with
  // 1001) and Readiness() fails with "draining". From
  // options.drain_delay on, the open sessions are closed with 1001 one
  // after another, evenly over options.drain_spread (core::DrainSchedule).
  // The listener stays open, for /healthz and /readyz. The caller waits
  // for drained(), then calls Shutdown(). Idempotent; any thread but a
  // shard's, after Start and not while Shutdown runs.
  void BeginDrain();
  // True once a drain is over: its closes began and no session is left,
  // or its deadline (delay + spread + options.shutdown_grace) passed.
  // False when no drain began.
  bool drained();

  // Graceful stop: no new connections, every session left closed with 1001
  // at once, their close handshakes bounded by options.shutdown_grace (and
  // after a drain, by the drain's deadline); then the threads are joined.
  // Idempotent; any thread but a shard's.
  void Shutdown();

  int port() const;
  // The bound listen address, "host:port".
  std::string listen_address() const;
  // The bound --metrics-listen address, "host:port"; "" when there is none.
  std::string metrics_address() const;

  // GET /metrics (valid once Start returned OK).
  Metrics& metrics() { return *metrics_; }
  const ServerOptions& options() const { return options_; }

  // Who may join (valid once Start returned OK).
  JoinGate& gate() { return *gate_; }

  // The shard that owns `room_id`.
  Shard& ShardFor(std::string_view room_id);
  // Shard for the next accepted connection's HTTP phase.
  Shard& NextShard();
  size_t shard_count() const { return shards_.size(); }

  // The server's shards, for the control operations.
  std::vector<std::unique_ptr<Shard>>& shards() { return shards_; }

  // The control operations (for the gRPC service): this server's rooms, or
  // with --redis the cluster's (ClusterControl). Valid once Start returned.
  core::ControlPlane& control_plane() {
    return cluster_control_ ? static_cast<core::ControlPlane&>(*cluster_control_) : *control_ops_;
  }
  // With --redis (else null): answers the cluster bus' requests.
  ClusterControl* cluster_control() { return cluster_control_.get(); }

  // Version, start time, addresses, connections, rooms and the counters of
  // every shard, summed; with --redis, the backplane's figures too.
  core::ServerInfo GetServerInfo();

  // The backplane, or null without --redis.
  backplane::Backplane* backplane() { return backplane_.get(); }
  // This instance's connection records.
  ActivityLog& activity() { return *activity_; }
  // The webhook sink, or null without --webhook-url.
  WebhookSink* webhook() { return webhook_.get(); }
  // "ok", or why the server is degraded ("degraded: backplane unavailable").
  // Liveness: /healthz answers 200 either way.
  std::string Health() const;
  // Readiness (/readyz, gRPC health): OK while the server accepts joins;
  // UNAVAILABLE with why not: "draining", or with --redis "backplane
  // unavailable" (joins would be refused with 1013). Any thread.
  absl::Status Readiness() const;

 private:
  // Sessions not yet ended, on every shard.
  uint64_t OpenSessions();

  ServerOptions options_;
  absl::Time started_at_;
  // Before the shards: sessions still held by a shard's io_context when it
  // is destroyed give their Admission slots back to the gate's Admission.
  std::unique_ptr<JoinGate> gate_;
  // Before the log: the log's observer feeds it until the log goes.
  std::unique_ptr<WebhookSink> webhook_;  // with --webhook-url
  // Before the shards: their sessions record into it until they end.
  std::unique_ptr<ActivityLog> activity_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::shared_ptr<Listener> listener_;
  std::shared_ptr<Listener> metrics_listener_;  // with --metrics-listen
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<ControlOps> control_ops_;
  std::unique_ptr<ClusterControl> cluster_control_;  // with --redis
  // With --redis. After the shards: destroyed (stopped) first, as it posts
  // into them.
  std::unique_ptr<BackplaneEvents> backplane_events_;
  std::unique_ptr<backplane::Backplane> backplane_;
  std::atomic<unsigned> next_shard_{0};
  std::atomic<bool> started_{false};
  std::atomic<bool> shut_down_{false};
  // Set once, by BeginDrain, after every shard refuses joins.
  std::atomic<bool> draining_{false};
  absl::Mutex drain_mu_;
  std::optional<core::DrainPlan> drain_plan_ ABSL_GUARDED_BY(drain_mu_);
};

}  // namespace cursord::edge

#endif  // CURSORD_EDGE_SERVER_H_
