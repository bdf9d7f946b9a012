// The compose topology (deploy/docker-compose.yml) as real processes, no
// container runtime: redis-server, two cursord with --redis, and Debian's
// nginx running deploy/nginx/cursord.conf with the substitutions the
// compose file makes (both instances as upstreams, round-robin; a
// throwaway self-signed certificate) on a free loopback port. Clients are
// Beast WebSockets over TLS that verify nginx's certificate, connect from
// 127.0.0.2 (cursord trusts nginx on 127.0.0.1 for X-Forwarded-For) and
// reconnect on 1001 with the browser SDK's full-jitter backoff.
//
// Which instance a client reached is what nginx says: the test's http{}
// wrapper (not cursord.conf) adds the header X-Cursord-Upstream
// ($upstream_addr) to every response, the 101 of an upgrade included.
//
// The probes are asked where the Kubernetes manifest points them
// (deploy/k8s/deployment.yaml: the path of each probe; the port is the
// container's listener, which tests/deploy/check_deploy.py holds against
// cursord's --listen).
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/backplane/redis_server.h"
#include "tests/cluster/cursord_instance.h"
#include "tests/testing/nginx_process.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/ws_test_client.h"

namespace cursord::testing {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using Wss = websocket::stream<ssl::stream<beast::tcp_stream>>;

constexpr char kHostName[] = "localhost";     // in the certificate, verified
constexpr char kClientAddress[] = "127.0.0.2";  // nginx reaches cursord from 127.0.0.1
constexpr char kUpstreamHeader[] = "X-Cursord-Upstream";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The `path:` of the httpGet of probe `probe` ("readinessProbe") in the
// Kubernetes manifest, or "" (a line scan: the manifest's layout is
// check_deploy.py's to check, with a real YAML parser).
std::string ManifestProbePath(const std::string& manifest, const std::string& probe) {
  bool in_probe = false;
  for (absl::string_view line : absl::StrSplit(manifest, '\n')) {
    absl::string_view trimmed = absl::StripAsciiWhitespace(line);
    if (trimmed == probe + ":") {
      in_probe = true;
    } else if (in_probe) {
      if (absl::ConsumePrefix(&trimmed, "path:")) {
        return std::string(absl::StripAsciiWhitespace(trimmed));
      }
      if (absl::EndsWith(trimmed, "Probe:")) in_probe = false;  // the next probe
    }
  }
  return "";
}

// One member of a room through nginx over wss://, asynchronous on the
// test's io_context: it keeps the room as the protocol lets a client know
// it (its id, the ids present, their positions) and, when told to, comes
// back after a close as the browser SDK does (server/web/sdk/cursord.js:
// full-jitter backoff, uniform in [0, min(cap, base * 2^attempt)); 1000
// and 4xxx are final, everything else is retried, a failed connect too).
class WssMember {
 public:
  struct Options {
    int port = 0;  // nginx
    std::string room;
    std::string ca_file;
    bool reconnect = true;
    // The SDK waits 500 ms doubling to 15 s; a tenth keeps the test short
    // with the same shape.
    absl::Duration backoff_base = absl::Milliseconds(50);
    absl::Duration backoff_cap = absl::Milliseconds(1500);
  };

  WssMember(net::io_context& ioc, std::string label, Options options)
      : ioc_(ioc), label_(std::move(label)), options_(std::move(options)),
        tls_(ssl::context::tls_client), timer_(ioc), rng_(std::random_device{}()) {
    tls_.set_verify_mode(ssl::verify_peer);
    tls_.load_verify_file(options_.ca_file);
    static const unsigned char kAlpn[] = "\x08http/1.1";  // as browsers offer it
    SSL_CTX_set_alpn_protos(tls_.native_handle(), kAlpn, sizeof(kAlpn) - 1);
  }

  void Start() { Open(); }

  // Leaves for good: a 1000 close, no reconnect.
  void Leave() {
    options_.reconnect = false;
    timer_.cancel();
    if (ws_ && open_) ws_->async_close(websocket::close_code::normal, [](beast::error_code) {});
  }

  void Move(uint16_t x, uint16_t y) {
    if (!ws_ || !open_) return;
    outbox_.push_back(CursorMessage(x, y));
    if (outbox_.size() == 1) DoWrite();
  }

  const std::string& label() const { return label_; }
  // Has its id and the roster of the current session.
  bool joined() const { return open_ && id_.has_value() && rostered_; }
  uint8_t id() const { return id_.value_or(0xff); }
  // Sessions that got their 01 so far.
  int sessions() const { return sessions_; }
  // The instance (host:port) that serves the current session.
  const std::string& upstream() const { return upstream_; }
  const std::set<uint8_t>& present() const { return present_; }
  std::optional<std::pair<uint16_t, uint16_t>> PositionOf(uint8_t id) const {
    auto it = positions_.find(id);
    if (it == positions_.end()) return std::nullopt;
    return it->second;
  }
  // Close codes received, in order (0: the connection failed or dropped).
  const std::vector<int>& closes() const { return closes_; }

  std::string Describe() const {
    return absl::StrCat(label_, ": ", joined() ? absl::StrCat("#", id()) : "not joined",
                        " via ", upstream_.empty() ? "?" : upstream_, ", sessions ", sessions_,
                        ", present {", absl::StrJoin(present_, ","), "}, closes [",
                        absl::StrJoin(closes_, ","), "]", last_error_.empty() ? "" : ", last error ",
                        last_error_);
  }

 private:
  void Open() {
    ++generation_;
    open_ = false;
    id_.reset();
    rostered_ = false;
    present_.clear();
    positions_.clear();
    outbox_.clear();
    upstream_.clear();
    ws_ = std::make_unique<Wss>(ioc_, tls_);
    beast::error_code ec;
    tcp::socket& socket = beast::get_lowest_layer(*ws_).socket();
    socket.open(tcp::v4(), ec);
    if (!ec) socket.bind(tcp::endpoint(net::ip::make_address(kClientAddress), 0), ec);
    if (ec) return Failed(generation_, ec, "bind");
    beast::get_lowest_layer(*ws_).expires_after(std::chrono::seconds(5));
    beast::get_lowest_layer(*ws_).async_connect(
        tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(options_.port)),
        [this, g = generation_](beast::error_code e) { OnConnect(g, e); });
  }

  void OnConnect(uint64_t g, beast::error_code ec) {
    if (g != generation_) return;
    if (ec) return Failed(g, ec, "connect");
    SSL_set_tlsext_host_name(ws_->next_layer().native_handle(), kHostName);  // SNI
    ws_->next_layer().set_verify_callback(ssl::host_name_verification(kHostName));
    ws_->next_layer().async_handshake(ssl::stream_base::client,
                                      [this, g](beast::error_code e) { OnTls(g, e); });
  }

  void OnTls(uint64_t g, beast::error_code ec) {
    if (g != generation_) return;
    if (ec) return Failed(g, ec, "TLS");
    beast::get_lowest_layer(*ws_).expires_never();
    websocket::stream_base::timeout timeouts =
        websocket::stream_base::timeout::suggested(beast::role_type::client);
    timeouts.handshake_timeout = std::chrono::seconds(5);
    ws_->set_option(timeouts);
    ws_->set_option(websocket::stream_base::decorator([](websocket::request_type& request) {
      request.set(http::field::sec_websocket_protocol, "cursord.v1");
    }));
    ws_->async_handshake(response_, kHostName, "/rooms/" + options_.room,
                         [this, g](beast::error_code e) { OnHandshake(g, e); });
  }

  void OnHandshake(uint64_t g, beast::error_code ec) {
    if (g != generation_) return;
    // "A, B" when nginx tried A first (refused: a stopped instance) and
    // passed the upgrade to B: the last one served it.
    const std::vector<std::string> tried =
        absl::StrSplit(std::string(response_[kUpstreamHeader]), ", ");
    upstream_ = tried.back();
    if (ec) return Failed(g, ec, absl::StrCat("handshake (HTTP ", response_.result_int(), ")"));
    open_ = true;
    ws_->binary(true);
    DoRead(g);
  }

  void DoRead(uint64_t g) {
    buffer_.clear();
    ws_->async_read(buffer_, [this, g](beast::error_code e, size_t) { OnRead(g, e); });
  }

  void OnRead(uint64_t g, beast::error_code ec) {
    if (g != generation_) return;
    if (ec) {
      open_ = false;
      // The close frame's code, also when the TLS teardown after it failed
      // (nginx may drop the TCP connection before its close_notify).
      const int code = ws_->reason().code;
      closes_.push_back(code);
      last_error_ = ec.message();
      const bool final = code == 1000 || (code >= 4000 && code <= 4999);
      if (options_.reconnect && !final) Retry();
      return;
    }
    const auto* data = static_cast<const uint8_t*>(buffer_.data().data());
    const Bytes message(data, data + buffer_.size());
    OnMessage(message);
    DoRead(g);
  }

  void OnMessage(const Bytes& m) {
    if (m.empty()) return;
    switch (m[0]) {
      case 0x01:
        if (m.size() == 2) id_ = m[1];
        break;
      case 0x02:
        // The roster completes the join: the reconnect policy starts over.
        present_ = std::set<uint8_t>(m.begin() + 1, m.end());
        rostered_ = true;
        ++sessions_;
        attempt_ = 0;
        break;
      case 0x03:
        if (m.size() == 2) present_.insert(m[1]);
        break;
      case 0x04:
        if (m.size() == 2) {
          present_.erase(m[1]);
          positions_.erase(m[1]);
        }
        break;
      case 0x05:
        if (m.size() == 6) {
          positions_[m[1]] = {static_cast<uint16_t>(m[2] << 8 | m[3]),
                              static_cast<uint16_t>(m[4] << 8 | m[5])};
        }
        break;
      default:
        break;
    }
  }

  void DoWrite() {
    ws_->async_write(net::buffer(outbox_.front()),
                     [this, g = generation_](beast::error_code e, size_t) {
                       if (g != generation_ || e) return;
                       outbox_.pop_front();
                       if (!outbox_.empty()) DoWrite();
                     });
  }

  void Failed(uint64_t g, beast::error_code ec, const std::string& what) {
    if (g != generation_) return;
    open_ = false;
    closes_.push_back(0);
    last_error_ = absl::StrCat(what, ": ", ec.message());
    if (options_.reconnect) Retry();
  }

  void Retry() {
    const int64_t cap_ms = std::min<int64_t>(
        absl::ToInt64Milliseconds(options_.backoff_cap),
        absl::ToInt64Milliseconds(options_.backoff_base) << std::min(attempt_, 20));
    ++attempt_;
    const int64_t delay_ms = std::uniform_int_distribution<int64_t>(0, cap_ms - 1)(rng_);
    // The old stream may still be finishing its TLS shutdown: it is kept
    // until the next session replaces it, and its callbacks are ignored
    // by generation.
    ++generation_;
    timer_.expires_after(std::chrono::milliseconds(delay_ms));
    timer_.async_wait([this](beast::error_code e) {
      if (!e && options_.reconnect) Open();
    });
  }

  net::io_context& ioc_;
  std::string label_;
  Options options_;
  ssl::context tls_;
  net::steady_timer timer_;
  std::mt19937 rng_;
  std::unique_ptr<Wss> ws_;
  websocket::response_type response_;
  beast::flat_buffer buffer_;
  std::deque<Bytes> outbox_;
  uint64_t generation_ = 0;  // callbacks of an older session are ignored
  bool open_ = false;
  std::optional<uint8_t> id_;
  bool rostered_ = false;  // the 02 of the current session came
  std::set<uint8_t> present_;
  std::map<uint8_t, std::pair<uint16_t, uint16_t>> positions_;
  std::string upstream_;
  std::vector<int> closes_;
  std::string last_error_;
  int sessions_ = 0;
  int attempt_ = 0;
};

class TopologyTest : public ::testing::Test {
 protected:
  // The drain of these instances: short, so that the test is, but with a
  // delay and a spread, as in production.
  static constexpr char kDrainDelay[] = "300ms";
  static constexpr char kDrainSpread[] = "1s";

  void SetUp() override {
    const std::string nginx = FindProgram("nginx");
    const std::string openssl = FindProgram("openssl");
    if (nginx.empty() || openssl.empty()) {
      GTEST_SKIP() << "needs nginx and openssl (deploy/setup.sh installs them as test packages)";
    }
    std::string pattern = std::filesystem::temp_directory_path() / "cursord-topology-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << std::strerror(errno);
    dir_ = pattern;
    // The certificate deploy/docker-compose.yml tells operators to make.
    absl::StatusOr<TestCertificate> certificate = MakeTestCertificate(openssl, dir_, kHostName);
    ASSERT_TRUE(certificate.ok()) << certificate.status();
    cert_ = certificate->cert_file;

    auto redis = RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = std::move(*redis);
    for (const char* name : {"cursord-1", "cursord-2"}) {
      CursordInstance::Options options;
      options.instance_id = name;
      options.redis = absl::StrCat("redis://127.0.0.1:", redis_->port());
      options.log_path = absl::StrCat(dir_, "/", name, ".log");
      // As the compose file sets them: nginx's X-Forwarded-For believed
      // from nginx only.
      options.flags = {"--trusted-proxies", "127.0.0.1", "--drain-delay", kDrainDelay,
                       "--drain-spread", kDrainSpread};
      auto instance = CursordInstance::Start(options);
      ASSERT_TRUE(instance.ok()) << instance.status();
      instances_.push_back(std::move(*instance));
    }
    for (auto& instance : instances_) {
      const absl::Time deadline = absl::Now() + absl::Seconds(10);
      while (!instance->HealthStartsWith("ok") && absl::Now() < deadline) {
        absl::SleepFor(absl::Milliseconds(10));
      }
      ASSERT_TRUE(instance->HealthStartsWith("ok")) << instance->LogTail(20);
    }

    // deploy/nginx/cursord.conf rendered as deploy/docker-compose.yml
    // renders it: both instances as upstreams, and round-robin instead of
    // the room hash (over Redis a room spans instances; see the comment in
    // cursord.conf). The test's window on the balancing: which upstream
    // answered, as a response header, the 101 of an upgrade included.
    NginxProcess::Options nginx_options;
    nginx_options.nginx = nginx;
    nginx_options.config_path = CURSORD_NGINX_CONF;
    nginx_options.dir = dir_;
    nginx_options.certificate = *certificate;
    nginx_options.upstream_ports = {instances_[0]->port(), instances_[1]->port()};
    nginx_options.round_robin = true;
    nginx_options.http_directives = {
        absl::StrCat("add_header ", kUpstreamHeader, " $upstream_addr always;")};
    auto started = NginxProcess::Start(nginx_options);
    ASSERT_TRUE(started.ok()) << started.status();
    nginx_ = std::move(*started);
    nginx_port_ = nginx_->port();
  }

  void TearDown() override {
    members_.clear();
    nginx_.reset();  // the nginx this test started, by its pid
    for (auto& instance : instances_) {
      const std::string unexpected = instance->UnexpectedExit();
      EXPECT_TRUE(unexpected.empty()) << unexpected << "\n" << instance->LogTail(30);
    }
    instances_.clear();
    redis_.reset();
    if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_);
    if (HasFailure() && !dir_.empty()) std::cerr << "logs kept in " << dir_ << "\n";
  }

  // "127.0.0.1:PORT", as nginx names instance `i` in $upstream_addr.
  std::string Upstream(int i) const { return absl::StrCat("127.0.0.1:", instances_[i]->port()); }

  WssMember* AddMember(const std::string& room, const std::string& label) {
    WssMember::Options options;
    options.port = nginx_port_;
    options.room = room;
    options.ca_file = cert_;
    members_.push_back(std::make_unique<WssMember>(ioc_, label, options));
    members_.back()->Start();
    return members_.back().get();
  }

  // Runs the clients until `done` holds; false if it does not within
  // `timeout` (an event wait: every client callback re-checks it).
  bool RunUntil(const std::function<bool()>& done, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (!done()) {
      const absl::Duration remaining = deadline - absl::Now();
      if (remaining <= absl::ZeroDuration()) return false;
      if (ioc_.stopped()) ioc_.restart();
      ioc_.run_one_for(std::min(absl::ToChronoMilliseconds(remaining),
                                std::chrono::milliseconds(50)));
    }
    return true;
  }

  std::string DescribeAll() const {
    std::string out;
    for (const auto& m : members_) absl::StrAppend(&out, "\n  ", m->Describe());
    return out;
  }

  // Every member joined, and each sees exactly the ids of all of them.
  bool RoomWhole() const {
    std::set<uint8_t> ids;
    for (const auto& m : members_) {
      if (!m->joined()) return false;
      ids.insert(m->id());
    }
    if (ids.size() != members_.size()) return false;
    for (const auto& m : members_) {
      if (m->present() != ids) return false;
    }
    return true;
  }

  // GET /path on instance `i` directly, as the kubelet probes a pod.
  std::pair<int, std::string> Probe(int i, const std::string& path) {
    absl::StatusOr<HttpResult> result = HttpGet(instances_[i]->port(), path);
    if (!result.ok()) return {0, std::string(result.status().message())};
    return {result->status, std::string(absl::StripSuffix(result->body, "\n"))};
  }

  std::string dir_;
  std::string cert_;
  std::unique_ptr<RedisServer> redis_;
  std::vector<std::unique_ptr<CursordInstance>> instances_;
  std::unique_ptr<NginxProcess> nginx_;
  int nginx_port_ = 0;
  net::io_context ioc_;
  std::vector<std::unique_ptr<WssMember>> members_;  // destroyed before ioc_
};

// Two clients of one room through nginx, passed to different instances,
// see each other: ids, the roster, the join, positions both ways, and
// cursord knows each by the address nginx saw.
TEST_F(TopologyTest, ClientsOnDifferentInstancesThroughNginxSeeEachOther) {
  WssMember* a = AddMember("topology", "a");
  ASSERT_TRUE(RunUntil([&] { return a->joined(); }, absl::Seconds(10))) << DescribeAll();
  WssMember* b = AddMember("topology", "b");
  ASSERT_TRUE(RunUntil([&] { return b->joined(); }, absl::Seconds(10))) << DescribeAll();
  // Round-robin: one upgrade to each instance.
  ASSERT_TRUE(a->upstream() == Upstream(0) || a->upstream() == Upstream(1)) << a->Describe();
  ASSERT_TRUE(b->upstream() == Upstream(0) || b->upstream() == Upstream(1)) << b->Describe();
  ASSERT_NE(a->upstream(), b->upstream()) << DescribeAll();

  EXPECT_NE(a->id(), b->id());
  EXPECT_EQ(b->present(), (std::set<uint8_t>{a->id(), b->id()})) << b->Describe();
  ASSERT_TRUE(RunUntil([&] { return a->present().count(b->id()) > 0; }, absl::Seconds(5)))
      << "a never saw b's 03: " << a->Describe();

  a->Move(0x1234, 0xABCD);
  ASSERT_TRUE(RunUntil([&] { return b->PositionOf(a->id()).has_value(); }, absl::Seconds(5)))
      << b->Describe();
  EXPECT_EQ(*b->PositionOf(a->id()), (std::pair<uint16_t, uint16_t>{0x1234, 0xABCD}));
  b->Move(0x0102, 0x0304);
  ASSERT_TRUE(RunUntil([&] { return a->PositionOf(b->id()).has_value(); }, absl::Seconds(5)))
      << a->Describe();
  EXPECT_EQ(*a->PositionOf(b->id()), (std::pair<uint16_t, uint16_t>{0x0102, 0x0304}));

  // The instance each is on lists it with the client's address (what nginx
  // appended to X-Forwarded-For), not nginx's own.
  for (WssMember* m : {a, b}) {
    const int i = m->upstream() == Upstream(0) ? 0 : 1;
    absl::StatusOr<std::string> control = instances_[i]->ControlAddress();
    ASSERT_TRUE(control.ok()) << control.status();
    const RunResult shown = RunProcess(
        {CURSORCTL_PATH, "--server", *control, "--timeout", "5", "rooms", "show", "topology"});
    ASSERT_EQ(shown.exit_code, 0) << shown.err;
    EXPECT_TRUE(absl::StrContains(shown.out, kClientAddress)) << shown.out;
  }

  b->Leave();
  ASSERT_TRUE(RunUntil([&] { return a->present().count(b->id()) == 0; }, absl::Seconds(5)))
      << "a never saw b's 04: " << a->Describe();
}

// SIGTERM to one instance: its readiness fails at once where the manifest's
// readinessProbe looks (liveness stays 200), its clients are closed with
// 1001 and come back through nginx, every one of them on the other
// instance, and the room is whole again; the drained instance exits 0.
TEST_F(TopologyTest, DrainingAnInstanceMovesEveryClientToTheOtherAndTheRoomIsWholeAgain) {
  const std::string manifest = ReadFile(CURSORD_K8S_DEPLOYMENT);
  const std::string readiness = ManifestProbePath(manifest, "readinessProbe");
  const std::string liveness = ManifestProbePath(manifest, "livenessProbe");
  ASSERT_EQ(readiness, "/readyz") << CURSORD_K8S_DEPLOYMENT;
  ASSERT_EQ(liveness, "/healthz") << CURSORD_K8S_DEPLOYMENT;
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(Probe(i, readiness), (std::pair<int, std::string>{200, "ready"}));
    EXPECT_EQ(Probe(i, liveness), (std::pair<int, std::string>{200, "ok"}));
  }

  // Eight members of one room, spread by nginx.
  constexpr int kMembers = 8;
  for (int n = 0; n < kMembers; ++n) {
    WssMember* m = AddMember("drain", absl::StrCat("m", n));
    // One at a time, so that round-robin alternates.
    ASSERT_TRUE(RunUntil([&] { return m->joined(); }, absl::Seconds(10))) << DescribeAll();
  }
  ASSERT_TRUE(RunUntil([&] { return RoomWhole(); }, absl::Seconds(10))) << DescribeAll();
  std::vector<WssMember*> on_a;
  for (const auto& m : members_) {
    if (m->upstream() == Upstream(0)) on_a.push_back(m.get());
  }
  ASSERT_GE(on_a.size(), 2u) << "round-robin put too few on " << Upstream(0) << DescribeAll();
  ASSERT_LE(on_a.size(), kMembers - 2u) << DescribeAll();

  instances_[0]->Terminate();
  // Readiness fails at once, within the drain delay (before any session is
  // closed); liveness does not.
  const absl::Time terminated = absl::Now();
  std::pair<int, std::string> ready;
  while (absl::Now() < terminated + absl::Seconds(5)) {
    ready = Probe(0, readiness);
    if (ready.first == 503) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(ready, (std::pair<int, std::string>{503, "draining"}));
  EXPECT_EQ(Probe(0, liveness), (std::pair<int, std::string>{200, "ok"}));
  EXPECT_EQ(Probe(1, readiness), (std::pair<int, std::string>{200, "ready"}));

  // Every client of the drained instance closed with 1001 and back on the
  // other, everyone seeing everyone.
  const bool moved = RunUntil(
      [&] {
        for (WssMember* m : on_a) {
          if (m->sessions() < 2 || m->upstream() != Upstream(1)) return false;
        }
        return RoomWhole();
      },
      absl::Seconds(20));
  ASSERT_TRUE(moved) << "after " << absl::FormatDuration(absl::Now() - terminated) << ":"
                     << DescribeAll();
  for (WssMember* m : on_a) {
    ASSERT_FALSE(m->closes().empty());
    EXPECT_EQ(m->closes().front(), 1001) << m->Describe();
  }
  for (const auto& m : members_) {
    EXPECT_EQ(m->upstream(), Upstream(1)) << m->Describe();
  }
  EXPECT_EQ(instances_[0]->WaitExit(absl::Seconds(15)), 0) << instances_[0]->LogTail(20);

  // The moved room works: a position from a moved member reaches the others.
  on_a.front()->Move(0x4242, 0x2424);
  const uint8_t mover = on_a.front()->id();
  ASSERT_TRUE(RunUntil(
      [&] {
        for (const auto& m : members_) {
          if (m.get() != on_a.front() && !m->PositionOf(mover).has_value()) return false;
        }
        return true;
      },
      absl::Seconds(5)))
      << DescribeAll();
}

}  // namespace
}  // namespace cursord::testing
