// Debian's nginx running deploy/nginx/cursord.conf in front of cursord, as
// the tests that go through it (tests/edge/nginx_tls_test.cc,
// tests/deploy/topology_test.cc) start it: the file operators install with
// only its listen port, upstreams and certificate paths substituted, a
// throwaway self-signed certificate, one process on a free loopback port,
// ended by its pid.
#ifndef CURSORD_TESTS_TESTING_NGINX_PROCESS_H_
#define CURSORD_TESTS_TESTING_NGINX_PROCESS_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/testing/subprocess.h"

namespace cursord::testing {

// A program on PATH or in the sbin folders (nginx is in /usr/sbin), or "".
std::string FindProgram(const std::string& name);

// `config` with each production text replaced by the test's. Every one must
// be there exactly once: a config edited so that a test would no longer run
// what operators install fails here (`config_name` names it in the error).
absl::StatusOr<std::string> RenderConfig(
    std::string config, const std::vector<std::pair<std::string, std::string>>& substitutions,
    const std::string& config_name);

struct TestCertificate {
  std::string cert_file;  // PEM, self-signed: also the CA file clients trust
  std::string key_file;
};

// A fresh self-signed certificate for `host_name` (CN and subjectAltName) in
// `dir`, made with `openssl` as deploy/docker-compose.yml tells operators to
// make one (EC P-256, no passphrase).
absl::StatusOr<TestCertificate> MakeTestCertificate(const std::string& openssl,
                                                    const std::string& dir,
                                                    const std::string& host_name);

class NginxProcess {
 public:
  struct Options {
    std::string nginx;        // the binary: FindProgram("nginx")
    std::string config_path;  // deploy/nginx/cursord.conf
    std::string dir;          // the test's temp dir: configs, pid, logs, temp files
    TestCertificate certificate;
    // The cursord instances (127.0.0.1:port), in place of the production
    // `server 127.0.0.1:8080;`.
    std::vector<int> upstream_ports;
    // Drops the room hash for round-robin, as deploy/docker-compose.yml does
    // (with --redis a room spans the instances).
    bool round_robin = false;
    // More lines for the http{} around the config (the test's own windows
    // on nginx, e.g. a response header naming $upstream_addr).
    std::vector<std::string> http_directives;
  };

  // Renders the config and starts nginx on a loopback port that was free a
  // moment before (nginx cannot be given port 0 and say what it got);
  // another port if that one was taken meanwhile, up to 5. Returns once the
  // listening socket is bound; an error with nginx's stderr otherwise.
  static absl::StatusOr<std::unique_ptr<NginxProcess>> Start(const Options& options);

  // SIGTERM to the nginx this started, by its pid; SIGKILL if it lingers.
  ~NginxProcess();

  int port() const { return port_; }

 private:
  NginxProcess(std::unique_ptr<Subprocess> process, int port)
      : process_(std::move(process)), port_(port) {}

  std::unique_ptr<Subprocess> process_;
  int port_ = 0;
};

}  // namespace cursord::testing

#endif  // CURSORD_TESTS_TESTING_NGINX_PROCESS_H_
