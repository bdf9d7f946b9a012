// A real redis-server for the backplane's tests: a child process on an
// ephemeral loopback port, without persistence, that a test can kill, pause
// and restart on the same port.
#ifndef CURSORD_TESTS_BACKPLANE_REDIS_SERVER_H_
#define CURSORD_TESTS_BACKPLANE_REDIS_SERVER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/backplane/redis_url.h"
#include "tests/testing/subprocess.h"

namespace cursord::testing {

class RedisServer {
 public:
  // Picks a free loopback port (bind to 0, read it, close), starts
  // redis-server on it and waits (bounded) until it logs that it is ready
  // and answers PING. A port taken between the pick and redis' bind is
  // retried with another.
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start();
  ~RedisServer();  // kills it (SIGKILL) if it still runs

  uint16_t port() const { return port_; }
  // redis://127.0.0.1:PORT
  backplane::RedisEndpoint endpoint() const { return {"127.0.0.1", port_, 0}; }
  bool running() const { return process_ != nullptr; }

  // Sends `signal` (SIGKILL, SIGTERM) and waits for the process to exit.
  void Stop(int signal);
  // Starts it again on the same port (after Stop), waiting until ready.
  absl::Status Restart();
  // SIGSTOP / SIGCONT: the server keeps its sockets (the kernel still
  // accepts connections into its backlog) but answers nothing.
  void Pause();
  void Resume();

  // One command through a blocking hiredis connection of the test's own
  // (not the code under test): the reply as text (an integer as its digits,
  // an error prefixed "-").
  absl::StatusOr<std::string> Query(const std::vector<std::string>& args) const;

 private:
  explicit RedisServer(uint16_t port) : port_(port) {}
  // Launches on port_; UNAVAILABLE when the port was taken.
  absl::Status Launch();

  uint16_t port_;
  std::unique_ptr<Subprocess> process_;
  bool paused_ = false;
};

}  // namespace cursord::testing

#endif  // CURSORD_TESTS_BACKPLANE_REDIS_SERVER_H_
