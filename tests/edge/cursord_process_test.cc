// The cursord binary as a process: flags, environment variables, and the
// signal path of a graceful stop (1001 to every client, exit 0), drained
// over a spread or at once.
#include <signal.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "server/core/join_token.h"
#include "tests/testing/eventually.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/ws_test_client.h"

namespace cursord::testing {
namespace {

// The port after `marker` in `log`, or 0.
int PortAfter(const std::string& log, const std::string& marker) {
  const size_t at = log.find(marker);
  if (at == std::string::npos) return 0;
  const size_t start = at + marker.size();
  int port = 0;
  if (!absl::SimpleAtoi(log.substr(start, log.find_first_of(" \n", start) - start), &port)) {
    return 0;
  }
  return port;
}

// Starts cursord on ephemeral loopback ports, with `flags` added, and
// returns its WebSocket port (read from its start-up log line). Unless
// `flags` say otherwise, it stops as it did before drains: sessions closed
// at once on the signal (--drain-delay 0 --drain-spread 0).
int StartCursord(std::unique_ptr<Subprocess>& process,
                 const std::map<std::string, std::string>& env = {},
                 const std::vector<std::string>& flags = {}) {
  std::vector<std::string> argv = {CURSORD_PATH, "--listen", "127.0.0.1:0",
                                   "--control-listen", "127.0.0.1:0"};
  for (const char* drain_flag : {"--drain-delay", "--drain-spread"}) {
    if (std::find(flags.begin(), flags.end(), drain_flag) == flags.end() &&
        env.count(drain_flag == std::string("--drain-delay") ? "CURSORD_DRAIN_DELAY"
                                                             : "CURSORD_DRAIN_SPREAD") == 0) {
      argv.insert(argv.end(), {drain_flag, "0"});
    }
  }
  argv.insert(argv.end(), flags.begin(), flags.end());
  auto started = Subprocess::Start(argv, env);
  EXPECT_TRUE(started.ok()) << started.status();
  if (!started.ok()) return 0;
  process = std::move(*started);
  if (!process->WaitForStderr("control plane (gRPC) on", absl::Seconds(20))) {
    ADD_FAILURE() << "cursord did not start: " << process->err();
    return 0;
  }
  const std::string& log = process->err();
  const std::string marker = "listening on 127.0.0.1:";
  const size_t at = log.find(marker);
  EXPECT_NE(at, std::string::npos) << log;
  if (at == std::string::npos) return 0;
  const size_t start = at + marker.size();
  int port = 0;
  EXPECT_TRUE(absl::SimpleAtoi(log.substr(start, log.find(' ', start) - start), &port)) << log;
  return port;
}

// --drain-delay 0 --drain-spread 0 (StartCursord's default): every client
// closed with 1001 at once, as before drains existed.
TEST(CursordProcessTest, SigtermClosesClientsWith1001AndExitsZero) {
  for (int signal_number : {SIGTERM, SIGINT}) {
    std::unique_ptr<Subprocess> cursord;
    const int port = StartCursord(cursord);
    ASSERT_GT(port, 0);
    auto a = WsTestClient::Connect(port, "/rooms/sig");
    auto b = WsTestClient::Connect(port, "/rooms/other");
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_TRUE((*a)->ReadJoin().ok());
    ASSERT_TRUE((*b)->ReadJoin().ok());
    cursord->Signal(signal_number);
    EXPECT_TRUE((*a)->WaitClosed(absl::Seconds(10)));
    EXPECT_TRUE((*b)->WaitClosed(absl::Seconds(10)));
    EXPECT_EQ((*a)->close_code(), 1001);
    EXPECT_EQ((*b)->close_code(), 1001);
    EXPECT_EQ((*a)->close_reason(), "server shutting down");
    EXPECT_EQ(cursord->Wait(absl::Seconds(10)), 0) << cursord->err();
    EXPECT_NE(cursord->err().find("shutting down"), std::string::npos);
  }
}

TEST(CursordProcessTest, FlagsCanComeFromTheEnvironment) {
  std::unique_ptr<Subprocess> cursord;
  const int port = StartCursord(cursord, {{"CURSORD_MAX_ROOM_MEMBERS", "1"}});
  ASSERT_GT(port, 0);
  auto a = WsTestClient::Connect(port, "/rooms/env");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE((*a)->ReadJoin().ok());
  auto b = WsTestClient::Connect(port, "/rooms/env");
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE((*b)->WaitClosed());
  EXPECT_EQ((*b)->close_code(), 1013);
  cursord->Signal(SIGTERM);
  EXPECT_TRUE((*a)->WaitClosed());
  EXPECT_EQ(cursord->Wait(absl::Seconds(10)), 0);
}

TEST(CursordProcessTest, HelpDocumentsEveryFlagWithItsEnvironmentVariable) {
  RunResult help = RunProcess({CURSORD_PATH, "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* flag :
       {"--listen", "--threads", "--max-room-members", "--max-frame-bytes", "--max-pending-bytes",
        "--handshake-timeout", "--ping-interval", "--send-timeout", "--shutdown-grace",
        "--drain-delay", "--drain-spread",
        "--presence-batch", "--socket-send-buffer", "--control-listen", "--control-token",
        "--control-max-watchers", "--control-max-watchers-per-room", "--control-keepalive",
        "--control-max-connection-age", "--control-max-connection-age-grace",
        "--control-tls-cert", "--control-tls-key", "--control-tls-client-ca",
        "--log-level"}) {
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag;
  }
  EXPECT_NE(help.out.find("CURSORD_LISTEN"), std::string::npos);
  EXPECT_NE(help.out.find("0.0.0.0:8080"), std::string::npos);
}

TEST(CursordProcessTest, BadFlagsAreRefused) {
  RunResult unknown = RunProcess({CURSORD_PATH, "--no-such-flag"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("no-such-flag"), std::string::npos) << unknown.err;
  RunResult bad_duration = RunProcess({CURSORD_PATH, "--ping-interval", "soon"});
  EXPECT_NE(bad_duration.exit_code, 0);
  EXPECT_NE(bad_duration.err.find("duration"), std::string::npos) << bad_duration.err;
  RunResult bad_listen = RunProcess(
      {CURSORD_PATH, "--listen", "127.0.0.1:notaport", "--control-listen", "127.0.0.1:0"});
  EXPECT_EQ(bad_listen.exit_code, 1);
  EXPECT_NE(bad_listen.err.find("port 0 to 65535 expected"), std::string::npos) << bad_listen.err;
}

// A token on a control listener off loopback would cross the network in
// clear: cursord refuses to start, before it binds anything (no "listening
// on" line), and says how to fix it. So does an unusable TLS file.
TEST(CursordProcessTest, ATokenOffLoopbackWithoutTlsIsRefusedAtStart) {
  for (const auto& [flags, env] :
       std::vector<std::pair<std::vector<std::string>, std::map<std::string, std::string>>>{
           {{"--control-listen", "0.0.0.0:0", "--control-token", "t"}, {}},
           {{"--control-listen", "[::]:0"}, {{"CURSORD_CONTROL_TOKEN", "t"}}},
       }) {
    std::vector<std::string> argv = {CURSORD_PATH, "--listen", "127.0.0.1:0"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    const RunResult result = RunProcess(argv, env, absl::Seconds(10));
    EXPECT_EQ(result.exit_code, 1) << result.err;
    EXPECT_NE(result.err.find("would cross the network in clear: add --control-tls-cert and "
                              "--control-tls-key, or listen on loopback"),
              std::string::npos)
        << result.err;
    EXPECT_EQ(result.err.find("listening on"), std::string::npos) << result.err;
  }
  const RunResult missing = RunProcess(
      {CURSORD_PATH, "--listen", "127.0.0.1:0", "--control-listen", "127.0.0.1:0",
       "--control-tls-cert", "/nonexistent/cert.pem", "--control-tls-key", "/nonexistent/key.pem"},
      {}, absl::Seconds(10));
  EXPECT_EQ(missing.exit_code, 1) << missing.err;
  EXPECT_NE(missing.err.find("--control-tls-cert: cannot read \"/nonexistent/cert.pem\""),
            std::string::npos)
      << missing.err;
  EXPECT_EQ(missing.err.find("listening on"), std::string::npos) << missing.err;
}

// --help says 0 means "at once"; the flag must take it, from the command
// line or the environment, and the server must then serve.
TEST(CursordProcessTest, PresenceBatchZeroStartsAndServes) {
  for (const bool from_env : {false, true}) {
    std::unique_ptr<Subprocess> cursord;
    const int port =
        from_env ? StartCursord(cursord, {{"CURSORD_PRESENCE_BATCH", "0"}})
                 : StartCursord(cursord, {}, {"--presence-batch", "0"});
    ASSERT_GT(port, 0) << (from_env ? "CURSORD_PRESENCE_BATCH=0" : "--presence-batch 0");
    auto a = WsTestClient::Connect(port, "/rooms/batch");
    ASSERT_TRUE(a.ok()) << a.status();
    auto a_id = (*a)->ReadJoin();
    ASSERT_TRUE(a_id.ok()) << a_id.status();
    auto b = WsTestClient::Connect(port, "/rooms/batch");
    ASSERT_TRUE(b.ok()) << b.status();
    auto b_id = (*b)->ReadJoin();
    ASSERT_TRUE(b_id.ok()) << b_id.status();
    // a hears of b's join: presence goes out with no batching delay.
    EXPECT_EQ((*a)->Read(), Bytes({0x03, *b_id}));
    (*a)->Close();
    (*b)->Close();
    cursord->Signal(SIGTERM);
    EXPECT_EQ(cursord->Wait(absl::Seconds(10)), 0) << cursord->err();
  }
}

// Where 0 would mean "never" or "at once" for something that must take
// time, the flag refuses it and says what it takes.
TEST(CursordProcessTest, ZeroDurationIsRefusedWhereItMakesNoSense) {
  for (const char* flag : {"--ping-interval", "--handshake-timeout", "--send-timeout",
                           "--shutdown-grace", "--control-keepalive"}) {
    RunResult result = RunProcess({CURSORD_PATH, flag, "0"});
    EXPECT_EQ(result.exit_code, 105) << flag << ": " << result.err;  // CLI11's ValidationError
    EXPECT_NE(result.err.find(absl::StrCat(flag, ": ")), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("expected, not \"0\""), std::string::npos) << result.err;
  }
  RunResult ping = RunProcess({CURSORD_PATH, "--ping-interval", "0"});
  EXPECT_NE(ping.err.find("--ping-interval: a positive duration such as 500ms, 20s or 1m "
                          "expected, not \"0\""),
            std::string::npos)
      << ping.err;
  // The same rule from the environment.
  RunResult env = RunProcess({CURSORD_PATH}, {{"CURSORD_PING_INTERVAL", "0"}});
  EXPECT_NE(env.exit_code, 0);
  EXPECT_NE(env.err.find("--ping-interval"), std::string::npos) << env.err;
}

TEST(CursordProcessTest, OpenJoinsAreAnnouncedAndAJoinSecretFromTheEnvironmentRequiresTokens) {
  {
    std::unique_ptr<Subprocess> open;
    ASSERT_GT(StartCursord(open), 0);
    EXPECT_NE(open->err().find("joins are open"), std::string::npos) << open->err();
    open->Signal(SIGTERM);
    EXPECT_EQ(open->Wait(absl::Seconds(10)), 0);
  }
  const std::string secret = "a-join-secret-of-at-least-32-bytes!!";
  std::unique_ptr<Subprocess> cursord;
  const int port = StartCursord(cursord, {{"CURSORD_JOIN_SECRET", secret}});
  ASSERT_GT(port, 0);
  EXPECT_EQ(cursord->err().find("joins are open"), std::string::npos) << cursord->err();
  auto anonymous = WsTestClient::Connect(port, "/rooms/doc");
  ASSERT_TRUE(anonymous.ok());
  ASSERT_TRUE((*anonymous)->WaitClosed());
  EXPECT_EQ((*anonymous)->close_code(), 4401);
  core::JoinTokenClaims claims;
  claims.sub = "u-1";
  claims.room = "doc";
  claims.expiry = absl::Now() + absl::Minutes(1);
  absl::StatusOr<std::string> token =
      core::SignJoinToken(claims, *core::JoinSigningKey::FromSecret(secret));
  ASSERT_TRUE(token.ok()) << token.status();
  auto member = WsTestClient::Connect(port, "/rooms/doc?token=" + *token);
  ASSERT_TRUE(member.ok());
  EXPECT_TRUE((*member)->ReadJoin().ok());
  // Refused for another reason (a bad handshake header), the token still
  // never reaches the log.
  absl::StatusOr<std::string> refused = RawExchange(
      port, "GET /rooms/doc?token=" + *token + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Version: 12\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(refused->rfind("HTTP/1.1 426 ", 0), 0u) << *refused;
  ASSERT_TRUE(cursord->WaitForStderr("refused upgrade", absl::Seconds(5)));
  cursord->Signal(SIGTERM);
  EXPECT_TRUE((*member)->WaitClosed());
  EXPECT_EQ(cursord->Wait(absl::Seconds(10)), 0);
  // The token itself never reaches the log.
  EXPECT_EQ(cursord->err().find(*token), std::string::npos);
}

// A client that gets itself refused 400 times writes at most the throttle's
// burst (100 lines) and its rate (20 a second) to the log; the next line
// written says how many were held back.
TEST(CursordProcessTest, LogLinesThatClientsCauseAreBounded) {
  std::unique_ptr<Subprocess> cursord;
  const int port = StartCursord(cursord, {}, {"--threads", "1"});
  ASSERT_GT(port, 0);
  const absl::Time start = absl::Now();
  for (int i = 0; i < 400; ++i) {
    ASSERT_TRUE(RawExchange(port, "GET /rooms/bad!id HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                                  "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
                    .ok());
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  // The marker: refusals go on until one is written with the held-back count.
  bool noted = false;
  for (int i = 0; i < 500 && !noted; ++i) {
    (void)RawExchange(port, "GET /rooms/bad!id HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\n\r\n");
    noted = cursord->WaitForStderr("client log lines held back", absl::Milliseconds(10));
  }
  EXPECT_TRUE(noted) << cursord->err();
  size_t lines = 0;
  const std::string& log = cursord->err();
  for (size_t at = log.find("refused upgrade"); at != std::string::npos;
       at = log.find("refused upgrade", at + 1)) {
    ++lines;
  }
  EXPECT_LT(lines, 400u);
  EXPECT_LE(static_cast<double>(lines), 100 + 20 * (seconds + 1) + 2) << seconds << " s";
  cursord->Signal(SIGTERM);
  EXPECT_EQ(cursord->Wait(absl::Seconds(10)), 0);
}

// What grpc.health.v1.Health answers for `service` on the control plane
// at `control_port`.
grpc::health::v1::HealthCheckResponse::ServingStatus GrpcHealth(int control_port,
                                                               const std::string& service) {
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", control_port),
                                     grpc::InsecureChannelCredentials());
  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = health->Check(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.status();
}

// The drain of a rolling restart. On SIGTERM, /readyz fails at once while
// /healthz stays 200 and gRPC health says NOT_SERVING; a new join is
// refused (accepted, then 1001); after --drain-delay the 20 clients are
// closed with 1001 one after another over --drain-spread, not at once;
// and the process exits when the last has gone, long before its deadline.
TEST(CursordProcessTest, SigtermDrainsClientsOverTheSpreadAfterReadinessFails) {
  constexpr int kClients = 20;
  const absl::Duration delay = absl::Seconds(1);
  const absl::Duration spread = absl::Seconds(1);
  std::unique_ptr<Subprocess> cursord;
  // A grace of 20 s: an exit that came from the deadline would be late.
  const int port = StartCursord(cursord, {},
                                {"--threads", "2", "--drain-delay", "1s", "--drain-spread", "1s",
                                 "--shutdown-grace", "20s"});
  ASSERT_GT(port, 0);
  const int control_port = PortAfter(cursord->err(), "control plane (gRPC) on 127.0.0.1:");
  ASSERT_GT(control_port, 0) << cursord->err();
  EXPECT_EQ(GrpcHealth(control_port, ""), grpc::health::v1::HealthCheckResponse::SERVING);
  auto ready = HttpGet(port, "/readyz");
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_EQ(ready->status, 200);

  std::vector<std::unique_ptr<WsTestClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    auto client = WsTestClient::Connect(port, absl::StrCat("/rooms/drain-", i));
    ASSERT_TRUE(client.ok()) << client.status();
    ASSERT_TRUE((*client)->ReadJoin().ok());
    clients.push_back(std::move(*client));
  }
  // Each client waits for its close on a thread of its own, so that every
  // close is timed as it arrives.
  std::vector<absl::Time> closed_at(kClients, absl::InfiniteFuture());
  std::vector<std::thread> waiters;
  // Joined however the test ends (each wait is bounded).
  struct Joiner {
    std::vector<std::thread>& threads;
    ~Joiner() {
      for (std::thread& thread : threads) {
        if (thread.joinable()) thread.join();
      }
    }
  } joiner{waiters};
  for (int i = 0; i < kClients; ++i) {
    waiters.emplace_back([&, i] {
      if (clients[i]->WaitClosed(absl::Seconds(20))) closed_at[i] = absl::Now();
    });
  }

  const absl::Time signalled = absl::Now();
  cursord->Signal(SIGTERM);
  ASSERT_TRUE(Eventually([&] {
    auto answer = HttpGet(port, "/readyz");
    return answer.ok() && answer->status == 503;
  }));
  ready = HttpGet(port, "/readyz");
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_EQ(ready->body, "draining\n");
  auto health = HttpGet(port, "/healthz");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(GrpcHealth(control_port, ""), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(GrpcHealth(control_port, "cursord.v1.ControlService"),
            grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  // A new join is refused: accepted, then 1001 before any 01 id.
  auto late = WsTestClient::Connect(port, "/rooms/late");
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_EQ((*late)->Read(), std::nullopt);
  EXPECT_EQ((*late)->close_code(), 1001);

  for (std::thread& waiter : waiters) waiter.join();
  for (int i = 0; i < kClients; ++i) {
    ASSERT_NE(closed_at[i], absl::InfiniteFuture()) << "client " << i << " was not closed";
    EXPECT_EQ(clients[i]->close_code(), 1001) << i;
    EXPECT_EQ(clients[i]->close_reason(), "server shutting down") << i;
  }
  const absl::Time first = *std::min_element(closed_at.begin(), closed_at.end());
  const absl::Time last = *std::max_element(closed_at.begin(), closed_at.end());
  // Nobody before the delay: load balancers had that long to notice.
  EXPECT_GE(first - signalled, delay);
  // A ramp, not a wall: the closes span most of the spread (19/20 of it
  // in theory; each shard spreads its own share over the whole window)...
  EXPECT_GE(last - first, spread / 2) << "first " << first << " last " << last;
  EXPECT_LE(last - first, spread + absl::Milliseconds(500));
  // ...and come evenly: about half in each half of it.
  const int early = static_cast<int>(std::count_if(
      closed_at.begin(), closed_at.end(), [&](absl::Time t) { return t < first + spread / 2; }));
  EXPECT_GE(early, kClients / 4) << early;
  EXPECT_LE(early, kClients * 3 / 4) << early;
  // Out once the last one has gone, not at the deadline (1 + 1 + 20 s).
  EXPECT_EQ(cursord->Wait(absl::Seconds(20)), 0) << cursord->err();
  EXPECT_LT(absl::Now() - last, absl::Seconds(3));
  EXPECT_NE(cursord->err().find("draining"), std::string::npos) << cursord->err();
}

// A second signal ends a drain early: whatever is left is closed with
// 1001 at once, however long --drain-delay is.
TEST(CursordProcessTest, ASecondSignalEndsTheDrainAtOnce) {
  std::unique_ptr<Subprocess> cursord;
  const int port = StartCursord(cursord, {}, {"--drain-delay", "1h"});
  ASSERT_GT(port, 0);
  auto a = WsTestClient::Connect(port, "/rooms/twice");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE((*a)->ReadJoin().ok());
  cursord->Signal(SIGTERM);
  ASSERT_TRUE(cursord->WaitForStderr("draining", absl::Seconds(5))) << cursord->err();
  cursord->Signal(SIGINT);
  EXPECT_TRUE((*a)->WaitClosed(absl::Seconds(5)));
  EXPECT_EQ((*a)->close_code(), 1001);
  EXPECT_EQ(cursord->Wait(absl::Seconds(5)), 0) << cursord->err();
  EXPECT_NE(cursord->err().find("received SIGINT again"), std::string::npos) << cursord->err();
}

// The deadline holds: a client that never answers the close frame keeps
// its session open until the close handshake's own timeout (3 s), but the
// process exits at the drain's deadline (delay + spread + grace, 300 ms
// here), dropping it.
TEST(CursordProcessTest, TheDrainEndsAtItsDeadlineWhateverTheClientsDo) {
  std::unique_ptr<Subprocess> cursord;
  const int port = StartCursord(cursord, {},
                                {"--drain-delay", "100ms", "--drain-spread", "100ms",
                                 "--shutdown-grace", "100ms"});
  ASSERT_GT(port, 0);
  auto silent = RawWsConnection::Open(port, "/rooms/silent");
  ASSERT_TRUE(silent.ok()) << silent.status();
  // Joined: the room has it (a second member hears of it), and it never
  // reads nor answers anything.
  auto other = WsTestClient::Connect(port, "/rooms/silent");
  ASSERT_TRUE(other.ok()) << other.status();
  ASSERT_TRUE((*other)->ReadJoin().ok());
  const absl::Time signalled = absl::Now();
  cursord->Signal(SIGTERM);
  EXPECT_TRUE((*other)->WaitClosed(absl::Seconds(5)));
  EXPECT_EQ((*other)->close_code(), 1001);
  EXPECT_EQ(cursord->Wait(absl::Seconds(10)), 0) << cursord->err();
  // Out at the deadline (300 ms), not after the close timeout (3 s).
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(2));
  // What the silent client got: its close frame, 1001, then the end.
  absl::StatusOr<std::string> rest = (*silent)->ReadToEnd();
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_NE(rest->find("server shutting down"), std::string::npos);
}

}  // namespace
}  // namespace cursord::testing
