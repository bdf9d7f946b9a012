// The control plane over TLS and mutual TLS, with cursorctl as a process
// against the real server, and the rule that a token never crosses the
// network in clear (cursord refuses to listen so, cursorctl to send so).
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "cli/channel_security.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "server/common/read_file.h"
#include "server/control/control_tls.h"
#include "server/core/loopback.h"
#include "tests/control/control_fixture.h"
#include "tests/control/test_pki.h"
#include "tests/testing/subprocess.h"

#ifndef CURSORCTL_PATH
#error "CURSORCTL_PATH must name the cursorctl binary under test"
#endif

namespace cursord::testing {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The PKI, made once for the whole suite.
const TestPki& Pki() {
  static const TestPki* pki = [] {
    const std::string dir = absl::StrCat(::testing::TempDir(), "cursord_control_tls_", getpid());
    mkdir(dir.c_str(), 0700);
    absl::StatusOr<TestPki> made = MakeTestPki(dir);
    if (!made.ok()) {
      ADD_FAILURE() << made.status();
      return new TestPki();
    }
    return new TestPki(*std::move(made));
  }();
  return *pki;
}

class ControlTlsTest : public ControlTest {
 protected:
  // Restarts the control server over TLS; `mutual`: clients need a
  // certificate from the test CA.
  void ServeTls(bool mutual = false, std::string token = "") {
    Config config;
    config.token = std::move(token);
    config.tls.cert_file = Pki().server_cert;
    config.tls.key_file = Pki().server_key;
    if (mutual) config.tls.client_ca_file = Pki().ca_cert;
    RestartControl(std::move(config));
  }

  // cursorctl against the test's control server.
  RunResult Ctl(std::vector<std::string> args,
                const std::map<std::string, std::string>& env = {}) const {
    std::vector<std::string> argv = {CURSORCTL_PATH, "--server", control_->address(),
                                     "--timeout", "5"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv, env);
  }

  std::string LocalhostAddress() const { return absl::StrCat("localhost:", control_->port()); }

  // A health check over TLS trusting the test CA, with the test client
  // certificate or none.
  grpc::Status CheckHealth(bool client_certificate, HealthCheckResponse* response) const {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = *ReadFileToString(Pki().ca_cert);
    if (client_certificate) {
      ssl.pem_cert_chain = *ReadFileToString(Pki().client_cert);
      ssl.pem_private_key = *ReadFileToString(Pki().client_key);
    }
    auto channel = grpc::CreateChannel(control_->address(), grpc::SslCredentials(ssl));
    grpc::ClientContext call;
    call.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    return Health::NewStub(channel)->Check(&call, HealthCheckRequest(), response);
  }
};

// ------------------------------------------------------------------ TLS

TEST_F(ControlTlsTest, CursorctlTrustingTheCaGetsThrough) {
  ServeTls();
  auto member = Join("/rooms/tls-lobby?user=u-1");
  ASSERT_NE(member, nullptr);

  const RunResult status = Ctl({"--ca", Pki().ca_cert, "status"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_TRUE(Contains(status.out, "SERVING")) << status.out;  // health, same port and TLS

  const RunResult rooms = Ctl({"--ca", Pki().ca_cert, "rooms", "list"});
  EXPECT_EQ(rooms.exit_code, 0) << rooms.err;
  EXPECT_TRUE(Contains(rooms.out, "tls-lobby")) << rooms.out;

  // By the name in its certificate, and from the environment.
  const RunResult by_name = RunProcess({CURSORCTL_PATH, "rooms", "list"},
                                       {{"CURSORCTL_SERVER", LocalhostAddress()},
                                        {"CURSORCTL_TLS", "true"},
                                        {"CURSORCTL_CA", Pki().ca_cert}});
  EXPECT_EQ(by_name.exit_code, 0) << by_name.err;
  EXPECT_TRUE(Contains(by_name.out, "tls-lobby")) << by_name.out;
}

TEST_F(ControlTlsTest, ACertificateNoTrustedCaSignedIsRefusedSayingSo) {
  ServeTls();
  // The system's CAs (no --ca), then a CA that signed something else.
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--tls", "status"}, {"--ca", Pki().other_ca_cert, "rooms", "list"}}) {
    const RunResult result = Ctl(args);
    EXPECT_EQ(result.exit_code, 3) << absl::StrJoin(args, " ") << ": " << result.err;
    EXPECT_TRUE(Contains(result.err, "cannot reach the control API at " + control_->address() +
                                         " over TLS"))
        << result.err;
    EXPECT_TRUE(Contains(result.err, "certificate verify failed")) << result.err;
    EXPECT_TRUE(Contains(result.err, "not signed by a CA in --ca")) << result.err;
    EXPECT_EQ(result.out, "");
  }
}

TEST_F(ControlTlsTest, PlaintextToATlsServerFailsAndSuggestsTls) {
  ServeTls();
  const RunResult result = Ctl({"rooms", "list"});
  EXPECT_EQ(result.exit_code, 3) << result.err;
  EXPECT_TRUE(Contains(result.err, "if the server uses TLS, add --tls")) << result.err;
}

TEST_F(ControlTlsTest, TlsToAPlaintextServerFailsAndSaysItIsNotTls) {
  const RunResult result = Ctl({"--ca", Pki().ca_cert, "rooms", "list"});
  EXPECT_EQ(result.exit_code, 3) << result.err;
  EXPECT_TRUE(Contains(result.err, "the server does not use TLS")) << result.err;
}

TEST_F(ControlTlsTest, TheCertificateMustNameTheServerUnlessTheNameIsOverridden) {
  ServeTls();
  const RunResult wrong = Ctl({"--ca", Pki().ca_cert, "--tls-server-name", "other.test", "status"});
  EXPECT_EQ(wrong.exit_code, 3) << wrong.err;
  EXPECT_TRUE(Contains(wrong.err, "not for this name")) << wrong.err;
  // A name the certificate carries, though the address is 127.0.0.1; the
  // name alone implies --tls, and trusting the CA comes from --ca.
  const RunResult right =
      Ctl({"--ca", Pki().ca_cert, "--tls-server-name", "cursord.test", "rooms", "list"});
  EXPECT_EQ(right.exit_code, 0) << right.err;
  const RunResult from_env = Ctl({"--ca", Pki().ca_cert, "status"},
                                 {{"CURSORCTL_TLS_SERVER_NAME", "cursord.test"}});
  EXPECT_EQ(from_env.exit_code, 0) << from_env.err;
}

// A server that accepts the connection and never answers the handshake
// must not hold cursorctl beyond --timeout.
TEST_F(ControlTlsTest, AHandshakeThatNeverCompletesEndsAtTheTimeout) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(fd, 8), 0);  // the kernel completes connections; nobody reads
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const std::string silent = absl::StrCat("127.0.0.1:", ntohs(address.sin_port));

  const absl::Time start = absl::Now();
  const RunResult result = RunProcess(
      {CURSORCTL_PATH, "--server", silent, "--ca", Pki().ca_cert, "--timeout", "1", "status"});
  const absl::Duration took = absl::Now() - start;
  close(fd);
  EXPECT_EQ(result.exit_code, 3) << result.err;
  EXPECT_TRUE(Contains(result.err, "no connection within 1s")) << result.err;
  EXPECT_LT(took, absl::Seconds(4));
}

// ----------------------------------------------------------- mutual TLS

TEST_F(ControlTlsTest, MutualTlsAdmitsOnlyClientsWithACertificateFromItsCa) {
  ServeTls(/*mutual=*/true);
  const RunResult none = Ctl({"--ca", Pki().ca_cert, "rooms", "list"});
  EXPECT_EQ(none.exit_code, 3) << none.err;
  EXPECT_TRUE(Contains(none.err, "give --cert and --key")) << none.err;

  const RunResult stranger = Ctl({"--ca", Pki().ca_cert, "--cert", Pki().other_client_cert,
                                  "--key", Pki().other_client_key, "rooms", "list"});
  EXPECT_EQ(stranger.exit_code, 3) << stranger.err;

  const RunResult admitted = Ctl({"--ca", Pki().ca_cert, "--cert", Pki().client_cert, "--key",
                                  Pki().client_key, "status"});
  EXPECT_EQ(admitted.exit_code, 0) << admitted.err;
  EXPECT_TRUE(Contains(admitted.out, "SERVING")) << admitted.out;

  const RunResult from_env = Ctl({"rooms", "list"}, {{"CURSORCTL_CA", Pki().ca_cert},
                                                     {"CURSORCTL_CERT", Pki().client_cert},
                                                     {"CURSORCTL_KEY", Pki().client_key}});
  EXPECT_EQ(from_env.exit_code, 0) << from_env.err;
}

// Probes and reflection share the port, so they share its TLS, and under
// mutual TLS its client certificates.
TEST_F(ControlTlsTest, HealthChecksShareTheListenersTls) {
  ServeTls(/*mutual=*/true);
  HealthCheckResponse response;
  const grpc::Status refused = CheckHealth(/*client_certificate=*/false, &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
  const grpc::Status admitted = CheckHealth(/*client_certificate=*/true, &response);
  ASSERT_TRUE(admitted.ok()) << admitted.error_message();
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);

  // And a plaintext probe gets nothing.
  auto plaintext = grpc::CreateChannel(control_->address(), grpc::InsecureChannelCredentials());
  grpc::ClientContext call;
  call.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  EXPECT_EQ(Health::NewStub(plaintext)->Check(&call, HealthCheckRequest(), &response).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

// ---------------------------------------------------------------- files

TEST_F(ControlTlsTest, CursorctlRefusesUnusableFilesNamingThemBeforeConnecting) {
  ServeTls();
  const std::string missing = Pki().ca_cert + ".missing";
  for (const auto& [args, expected] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--ca", missing}, "--ca: cannot read \"" + missing + "\": No such file"},
           {{"--ca", Pki().client_key}, "\"" + Pki().client_key + "\" holds no PEM certificate"},
           {{"--cert", Pki().client_cert}, "--cert and --key go together"},
           {{"--cert", Pki().client_cert, "--key", Pki().server_key},
            "does not belong to the certificate in \"" + Pki().client_cert + "\""},
           {{"--cert", Pki().expired_cert, "--key", Pki().expired_key}, "expired on"},
       }) {
    std::vector<std::string> argv = args;
    argv.insert(argv.end(), {"rooms", "list"});
    const RunResult result = Ctl(argv);
    EXPECT_EQ(result.exit_code, 2) << absl::StrJoin(args, " ") << ": " << result.err;
    EXPECT_TRUE(Contains(result.err, expected)) << result.err;
  }
}

TEST_F(ControlTlsTest, TheServerRefusesUnusableFilesNamingFlagAndFile) {
  const TestPki& pki = Pki();
  const std::string missing = pki.server_cert + ".missing";
  for (const auto& [tls, expected] :
       std::vector<std::pair<control::ControlTlsOptions, std::string>>{
           {{missing, pki.server_key, ""},
            "--control-tls-cert: cannot read \"" + missing + "\": No such file"},
           {{pki.server_cert, missing, ""}, "--control-tls-key: cannot read"},
           {{pki.server_key, pki.server_key, ""}, "holds no PEM certificate"},
           {{pki.server_cert, pki.server_cert, ""},
            "\"" + pki.server_cert + "\" holds no PEM private key"},
           {{pki.server_cert, pki.client_key, ""},
            "the private key in \"" + pki.client_key + "\" does not belong to the certificate"},
           {{pki.expired_cert, pki.expired_key, ""},
            "the certificate in \"" + pki.expired_cert + "\" expired on"},
           {{pki.server_cert, pki.server_key, missing}, "--control-tls-client-ca: cannot read"},
           {{pki.server_cert, pki.server_key, pki.client_key},
            "--control-tls-client-ca: \"" + pki.client_key + "\" holds no PEM certificate"},
           {{pki.server_cert, "", ""}, "--control-tls-cert and --control-tls-key go together"},
           {{"", pki.server_key, ""}, "--control-tls-cert and --control-tls-key go together"},
           {{"", "", pki.ca_cert}, "--control-tls-client-ca needs --control-tls-cert"},
       }) {
    control::ControlServerOptions options;
    options.listen = "127.0.0.1:0";
    options.tls = tls;
    auto started = control::ControlServer::Start(options, edge_->control_plane());
    ASSERT_FALSE(started.ok()) << expected;
    EXPECT_EQ(started.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(std::string(started.status().message()), expected))
        << started.status().message();
    EXPECT_EQ(control::ControlServer::CheckOptions(options), started.status());
  }
}

// ------------------------------------------------- a token never in clear

TEST_F(ControlTlsTest, ATokenTravelsOverTls) {
  ServeTls(/*mutual=*/false, /*token=*/"s3cret");
  const RunResult refused = Ctl({"--ca", Pki().ca_cert, "rooms", "list"});
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_TRUE(Contains(refused.err, "UNAUTHENTICATED")) << refused.err;
  EXPECT_EQ(Ctl({"--ca", Pki().ca_cert, "--token", "s3cret", "rooms", "list"}).exit_code, 0);
  EXPECT_EQ(Ctl({"rooms", "list"}, {{"CURSORCTL_CA", Pki().ca_cert},
                                    {"CURSORCTL_TOKEN", "s3cret"}})
                .exit_code,
            0);
}

// 192.0.2.1 is TEST-NET-1: nothing answers there. Exit code 2 (a usage
// error), not 3 after --timeout, shows that no connection was tried: the
// refusal comes before any channel exists.
TEST_F(ControlTlsTest, CursorctlSendsNoTokenInClearToANonLoopbackServer) {
  for (const std::vector<std::string>& command : std::vector<std::vector<std::string>>{
           {"rooms", "list"}, {"status"}, {"watch", "lobby"}, {"kick", "lobby", "1"}}) {
    std::vector<std::string> argv = {CURSORCTL_PATH, "--server", "192.0.2.1:1", "--timeout",
                                     "60", "--token", "s3cret"};
    argv.insert(argv.end(), command.begin(), command.end());
    const RunResult result = RunProcess(argv);
    EXPECT_EQ(result.exit_code, 2) << absl::StrJoin(command, " ") << ": " << result.err;
    EXPECT_TRUE(Contains(result.err, "refusing to send the token in clear to 192.0.2.1:1"))
        << result.err;
    EXPECT_TRUE(Contains(result.err, "add --tls")) << result.err;
    EXPECT_EQ(result.out, "");
  }
  const RunResult from_env = RunProcess({CURSORCTL_PATH, "--timeout", "60", "rooms", "list"},
                                        {{"CURSORCTL_SERVER", "[2001:db8::1]:50051"},
                                         {"CURSORCTL_TOKEN", "s3cret"}});
  EXPECT_EQ(from_env.exit_code, 2) << from_env.err;
  EXPECT_TRUE(Contains(from_env.err, "refusing to send the token in clear")) << from_env.err;
}

// Loopback stays plaintext-friendly, so the quick start needs no certificates.
TEST_F(ControlTlsTest, ATokenMayGoInClearOverLoopback) {
  RestartControl({/*token=*/"s3cret"});
  EXPECT_EQ(Ctl({"--token", "s3cret", "rooms", "list"}).exit_code, 0);
  const RunResult by_name = RunProcess(
      {CURSORCTL_PATH, "--server", LocalhostAddress(), "--token", "s3cret", "rooms", "list"});
  EXPECT_EQ(by_name.exit_code, 0) << by_name.err;
}

TEST(ControlTransportTest, ATokenOffLoopbackNeedsTls) {
  const control::ControlTlsOptions none;
  const control::ControlTlsOptions tls{"server.pem", "server.key", ""};
  for (const char* listen : {"0.0.0.0:50051", "[::]:50051", "10.0.0.5:50051", "cursord:50051"}) {
    const absl::Status refused = control::CheckControlTransport(listen, "t", none);
    EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument) << listen;
    EXPECT_TRUE(Contains(std::string(refused.message()),
                         "add --control-tls-cert and --control-tls-key, or listen on loopback"))
        << refused.message();
    EXPECT_TRUE(control::CheckControlTransport(listen, "t", tls).ok()) << listen;
    EXPECT_TRUE(control::CheckControlTransport(listen, "", none).ok()) << listen;
  }
  for (const char* listen : {"127.0.0.1:50051", "127.0.0.2:0", "[::1]:50051", "localhost:0"}) {
    EXPECT_TRUE(control::CheckControlTransport(listen, "t", none).ok()) << listen;
  }
}

TEST(ControlTransportTest, CursorctlDecidesTheTransportBeforeConnecting) {
  const absl::Time now = absl::Now();
  cli::GlobalOptions options;
  options.server = "192.0.2.1:1";
  options.token = "t";
  const auto refused = cli::ResolveChannelSecurity(options, now);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);

  options.tls = true;
  auto tls = cli::ResolveChannelSecurity(options, now);
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_TRUE(tls->tls);

  // Each TLS option implies --tls.
  for (int which = 0; which < 3; ++which) {
    cli::GlobalOptions implied;
    implied.server = "192.0.2.1:1";
    implied.token = "t";
    if (which == 0) implied.ca_file = Pki().ca_cert;
    if (which == 1) implied.tls_server_name = "cursord.test";
    if (which == 2) {
      implied.cert_file = Pki().client_cert;
      implied.key_file = Pki().client_key;
    }
    auto resolved = cli::ResolveChannelSecurity(implied, now);
    ASSERT_TRUE(resolved.ok()) << which << ": " << resolved.status();
    EXPECT_TRUE(resolved->tls) << which;
  }

  cli::GlobalOptions local;
  local.token = "t";
  for (const char* server : {"127.0.0.1:50051", "localhost:50051", "[::1]:50051",
                             "dns:///localhost:50051", "unix:/run/cursord.sock"}) {
    local.server = server;
    auto plaintext = cli::ResolveChannelSecurity(local, now);
    ASSERT_TRUE(plaintext.ok()) << server << ": " << plaintext.status();
    EXPECT_FALSE(plaintext->tls);
  }
}

TEST(LoopbackTest, OnlyAddressesThatStayOnThisHost) {
  for (const char* address :
       {"127.0.0.1:50051", "127.255.0.9:1", "localhost:50051", "LocalHost.:1", "[::1]:50051",
        "::1", "[::ffff:127.0.0.1]:1", "127.0.0.1", "localhost", "dns:///localhost:50051",
        "dns://8.8.8.8/127.0.0.1:1", "dns:127.0.0.1:1", "ipv4:127.0.0.1:1,127.0.0.2:2",
        "ipv6:[::1]:1", "unix:/run/cursord.sock", "unix-abstract:cursord"}) {
    EXPECT_TRUE(core::IsLoopbackAddress(address)) << address;
  }
  for (const char* address :
       {"0.0.0.0:50051", "[::]:50051", "10.0.0.5:50051", "192.0.2.1:1", "[2001:db8::1]:1",
        "cursord.example:50051", "localhost.example:1", "128.0.0.1:1", "[::2]:1",
        "[::ffff:10.0.0.1]:1", "ipv4:127.0.0.1:1,10.0.0.1:1", "dns:///cursord:1",
        "xds:///cursord", "[::1", "", "127.0.0.1.nip.io:1"}) {
    EXPECT_FALSE(core::IsLoopbackAddress(address)) << address;
  }
}

}  // namespace
}  // namespace cursord::testing
