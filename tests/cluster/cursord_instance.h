// One cursord process of a cluster test: started with --redis on ephemeral
// loopback ports, its log written to a file (a pipe that nobody drains
// while a test waits on clients would fill and block the server's
// logging), and signalled by its pid only.
#ifndef CURSORD_TESTS_CLUSTER_CURSORD_INSTANCE_H_
#define CURSORD_TESTS_CLUSTER_CURSORD_INSTANCE_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace cursord::testing {

class CursordInstance {
 public:
  struct Options {
    std::string instance_id;  // --instance-id
    std::string redis;        // --redis: redis://127.0.0.1:PORT[,...]
    std::string log_path;     // stdout and stderr go here
    std::vector<std::string> flags;  // added after the cluster's own
  };

  // Starts cursord and waits (bounded) for its "listening on" line, which
  // gives the WebSocket port. Fails with the log if it exits first.
  static absl::StatusOr<std::unique_ptr<CursordInstance>> Start(const Options& options);
  // SIGKILL (a stopped process dies of it too) and reap.
  ~CursordInstance();

  int port() const { return port_; }
  // The control plane's HOST:PORT, from the log line "control plane (gRPC)
  // on HOST:PORT" (cursord starts it right after the WebSocket listener):
  // waits for that line, bounded.
  absl::StatusOr<std::string> ControlAddress() const;
  // Its id in the cluster: --instance-id and the random suffix cursord adds
  // per process (from its log line "backplane: instance ID on ...").
  const std::string& instance_id() const {
    return instance_id_.empty() ? options_.instance_id : instance_id_;
  }
  const std::string& log_path() const { return options_.log_path; }

  // GET /healthz: the status and the body without its trailing newline.
  struct Health {
    int status = 0;
    std::string body;
  };
  absl::StatusOr<Health> GetHealth() const;
  // True when /healthz answers 200 with a body that starts with `prefix`.
  bool HealthStartsWith(const std::string& prefix) const;
  // The value of the sample `name` (no labels) in GET /metrics, if present.
  std::optional<double> Metric(const std::string& name) const;

  // kill -9, then reap.
  void Kill();
  // SIGTERM (a graceful stop: 1001 to the clients, then exit 0), without
  // waiting: the test may have to answer its clients' close handshakes.
  void Terminate();
  // Waits for the process to exit, bounded: its exit code, or 128 + the
  // signal, or nullopt if it still runs after `timeout`.
  std::optional<int> WaitExit(absl::Duration timeout);
  void Pause();   // SIGSTOP
  void Resume();  // SIGCONT

  // False once it has exited (killed or not).
  bool running() { return !Reap(); }
  // "" while it runs, after the test killed it, or after it exited 0 on the
  // test's SIGTERM; otherwise how it ended (a crash, an exit the test did
  // not cause).
  std::string UnexpectedExit();
  // The whole log, and its last `lines` lines.
  std::string Log() const;
  std::string LogTail(int lines) const;

 private:
  explicit CursordInstance(Options options) : options_(std::move(options)) {}
  std::string instance_id_;  // as logged; set by Start
  // Reaps the child if it has exited; true if it has.
  bool Reap();

  Options options_;
  pid_t pid_ = -1;
  int port_ = 0;
  bool reaped_ = false;
  int wait_status_ = 0;
  bool killed_by_test_ = false;
  bool terminated_by_test_ = false;
};

}  // namespace cursord::testing

#endif  // CURSORD_TESTS_CLUSTER_CURSORD_INSTANCE_H_
