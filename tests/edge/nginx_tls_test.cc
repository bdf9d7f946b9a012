// wss:// through nginx, end to end: deploy/nginx/cursord.conf (the file
// operators install, with only its port, upstream and certificate paths
// substituted) in front of the real server in-process, and real TLS
// WebSocket clients that verify nginx's certificate.
//
// The clients connect from 127.0.0.2 while nginx reaches cursord from
// 127.0.0.1, the one trusted proxy (as the documented
// --trusted-proxies 127.0.0.1), so the address cursord shows can only have
// come from nginx's X-Forwarded-For.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/edge/edge_fixture.h"
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
using TlsStream = ssl::stream<beast::tcp_stream>;

// The name in the test certificate, which clients verify.
constexpr char kHostName[] = "localhost";
// Clients connect from here; nginx connects to cursord from 127.0.0.1.
constexpr char kClientAddress[] = "127.0.0.2";

// A program on PATH or in the sbin folders (nginx is in /usr/sbin), or "".
std::string FindProgram(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::vector<std::string> folders = absl::StrSplit(path ? path : "", ':', absl::SkipEmpty());
  for (const char* sbin : {"/usr/local/sbin", "/usr/sbin", "/sbin"}) folders.push_back(sbin);
  for (const std::string& folder : folders) {
    const std::string candidate = absl::StrCat(folder, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::string();
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  return static_cast<bool>(out);
}

// deploy/nginx/cursord.conf with each production value replaced by the
// test's. Every value must be there exactly once: a config edited so that
// the test would no longer run what operators install fails here.
absl::StatusOr<std::string> RenderConfig(
    std::string config, const std::vector<std::pair<std::string, std::string>>& substitutions) {
  for (const auto& [production, test] : substitutions) {
    const size_t at = config.find(production);
    if (at == std::string::npos || config.find(production, at + 1) != std::string::npos) {
      return absl::FailedPreconditionError(absl::StrCat(
          CURSORD_NGINX_CONF, " must contain \"", production, "\" exactly once"));
    }
    config.replace(at, production.size(), test);
  }
  return config;
}

// A loopback port that was free a moment ago (nginx cannot be given port 0
// and tell us what it got; the caller retries if it is taken meanwhile).
int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

// Whether `path` exists and is not empty.
bool HasContent(const std::string& path) {
  std::error_code ec;
  return std::filesystem::file_size(path, ec) > 0 && !ec;
}

// Runs `ioc` until `done` is set or `timeout` passes.
bool RunUntil(net::io_context& ioc, const bool& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done) {
    const absl::Duration remaining = deadline - absl::Now();
    if (remaining <= absl::ZeroDuration()) return false;
    if (ioc.stopped()) ioc.restart();
    ioc.run_one_for(absl::ToChronoNanoseconds(remaining));
  }
  return true;
}

// A client TLS context that trusts `ca_file` only ("": trusts nothing) and
// offers ALPN http/1.1, as browsers do for a WebSocket.
ssl::context ClientContext(const std::string& ca_file) {
  ssl::context context(ssl::context::tls_client);
  context.set_verify_mode(ssl::verify_peer);
  if (!ca_file.empty()) context.load_verify_file(ca_file);
  static const unsigned char kAlpn[] = "\x08http/1.1";
  SSL_CTX_set_alpn_protos(context.native_handle(), kAlpn, sizeof(kAlpn) - 1);
  return context;
}

// Connects `stream` from kClientAddress to 127.0.0.1:port and completes the
// TLS handshake, the certificate checked against the context's CA and
// kHostName.
beast::error_code ConnectTls(net::io_context& ioc, TlsStream& stream, int port) {
  beast::error_code ec;
  tcp::socket& socket = beast::get_lowest_layer(stream).socket();
  socket.open(tcp::v4(), ec);
  if (!ec) socket.bind(tcp::endpoint(net::ip::make_address(kClientAddress), 0), ec);
  if (ec) return ec;
  bool done = false;
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
  beast::get_lowest_layer(stream).async_connect(
      tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)),
      [&](beast::error_code e) {
        ec = e;
        done = true;
      });
  if (!RunUntil(ioc, done, absl::Seconds(6))) return net::error::timed_out;
  if (ec) return ec;
  SSL_set_tlsext_host_name(stream.native_handle(), kHostName);  // SNI
  stream.set_verify_callback(ssl::host_name_verification(kHostName));
  done = false;
  stream.async_handshake(ssl::stream_base::client, [&](beast::error_code e) {
    ec = e;
    done = true;
  });
  if (!RunUntil(ioc, done, absl::Seconds(6))) return net::error::timed_out;
  beast::get_lowest_layer(stream).expires_never();
  return ec;
}

// A wss:// client: a Beast WebSocket over TLS from kClientAddress, every
// call bounded.
class WssClient {
 public:
  struct Options {
    std::string ca_file;
    std::vector<std::pair<std::string, std::string>> headers;
  };

  static absl::StatusOr<std::unique_ptr<WssClient>> Connect(int port, const std::string& target,
                                                            const Options& options) {
    std::unique_ptr<WssClient> client(new WssClient(options.ca_file));
    beast::error_code ec = ConnectTls(client->ioc_, client->ws_.next_layer(), port);
    if (ec) return absl::UnavailableError(absl::StrCat("TLS: ", ec.message()));
    client->ws_.set_option(websocket::stream_base::decorator(
        [headers = options.headers](websocket::request_type& request) {
          for (const auto& [name, value] : headers) request.set(name, value);
        }));
    websocket::response_type response;
    bool done = false;
    client->ws_.async_handshake(response, kHostName, target, [&](beast::error_code e) {
      ec = e;
      done = true;
    });
    if (!RunUntil(client->ioc_, done, absl::Seconds(5))) {
      return absl::DeadlineExceededError("WebSocket handshake timed out");
    }
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("WebSocket handshake: ", ec.message(), " (HTTP ", response.result_int(), ")"));
    }
    client->subprotocol_ = std::string(response[http::field::sec_websocket_protocol]);
    client->ws_.binary(true);
    return client;
  }

  void Send(const Bytes& payload) {
    beast::error_code ec;
    ws_.write(net::buffer(payload), ec);
  }

  // The next message, or nullopt on timeout or close. A read that times out
  // stays pending and the next call waits for it.
  std::optional<Bytes> Read(absl::Duration timeout = absl::Seconds(5)) {
    if (!read_pending_) {
      buffer_.clear();
      read_pending_ = true;
      read_done_ = false;
      ws_.async_read(buffer_, [this](beast::error_code ec, size_t) {
        read_pending_ = false;
        read_done_ = true;
        read_ec_ = ec;
      });
    }
    if (!RunUntil(ioc_, read_done_, timeout) || read_ec_) return std::nullopt;
    const auto* bytes = static_cast<const uint8_t*>(buffer_.data().data());
    return Bytes(bytes, bytes + buffer_.size());
  }

  // Closes with 1000 and waits for cursord's close frame, through nginx.
  bool Close() {
    bool done = false;
    beast::error_code ec;
    ws_.async_close(websocket::close_code::normal, [&](beast::error_code e) {
      ec = e;
      done = true;
    });
    return RunUntil(ioc_, done, absl::Seconds(5)) && !ec;
  }

  const std::string& subprotocol() const { return subprotocol_; }

 private:
  explicit WssClient(const std::string& ca_file)
      : context_(ClientContext(ca_file)), ws_(ioc_, context_) {}

  net::io_context ioc_;
  ssl::context context_;
  websocket::stream<TlsStream> ws_;
  beast::flat_buffer buffer_;
  bool read_pending_ = false;
  bool read_done_ = false;
  beast::error_code read_ec_;
  std::string subprotocol_;
};

// GET https://localhost:port + target through nginx: the status and body.
absl::StatusOr<std::pair<int, std::string>> HttpsGet(int port, const std::string& target,
                                                     const std::string& ca_file) {
  net::io_context ioc;
  ssl::context context = ClientContext(ca_file);
  TlsStream stream(ioc, context);
  beast::error_code ec = ConnectTls(ioc, stream, port);
  if (ec) return absl::UnavailableError(absl::StrCat("TLS: ", ec.message()));
  http::request<http::empty_body> request{http::verb::get, target, 11};
  request.set(http::field::host, kHostName);
  http::response<http::string_body> response;
  beast::flat_buffer buffer;
  bool done = false;
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
  http::async_write(stream, request, [&](beast::error_code e, size_t) {
    if (e) {
      ec = e;
      done = true;
      return;
    }
    http::async_read(stream, buffer, response, [&](beast::error_code e2, size_t) {
      ec = e2;
      done = true;
    });
  });
  if (!RunUntil(ioc, done, absl::Seconds(6))) return absl::DeadlineExceededError("GET timed out");
  if (ec) return absl::UnavailableError(ec.message());
  return std::make_pair(static_cast<int>(response.result_int()), response.body());
}

// The real server behind nginx running deploy/nginx/cursord.conf, with a
// fresh self-signed certificate for kHostName.
class NginxTlsTest : public EdgeTest {
 protected:
  void SetUp() override {
    const std::string nginx = FindProgram("nginx");
    const std::string openssl = FindProgram("openssl");
    if (nginx.empty() || openssl.empty()) {
      GTEST_SKIP() << "needs nginx and openssl (deploy/setup.sh installs them as test packages)";
    }
    std::string pattern = std::filesystem::temp_directory_path() / "cursord-nginx-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << std::strerror(errno);
    dir_ = pattern;
    cert_ = dir_ + "/cert.pem";
    key_ = dir_ + "/key.pem";
    const RunResult made = RunProcess(
        {openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", key_, "-out", cert_, "-days", "2", "-subj",
         absl::StrCat("/CN=", kHostName), "-addext",
         absl::StrCat("subjectAltName=DNS:", kHostName)});
    ASSERT_EQ(made.exit_code, 0) << made.err;

    edge::ServerOptions options;
    options.trusted_proxies = "127.0.0.1";  // nginx, and not the clients on 127.0.0.2
    StartServer(options);
    ASSERT_FALSE(HasFatalFailure());

    std::ifstream in(CURSORD_NGINX_CONF, std::ios::binary);
    ASSERT_TRUE(in) << "cannot read " << CURSORD_NGINX_CONF;
    const std::string production{std::istreambuf_iterator<char>(in), {}};
    // A port taken between FreeLoopbackPort and nginx's bind gets another try.
    for (int attempt = 0; attempt < 5 && nginx_port_ == 0; ++attempt) {
      StartNginx(nginx, production, FreeLoopbackPort());
      ASSERT_FALSE(HasFatalFailure());
    }
    ASSERT_NE(nginx_port_, 0) << "no free port for nginx after 5 tries";
  }

  // Starts nginx on 127.0.0.1:port with deploy/nginx/cursord.conf rendered
  // for this test; sets nginx_port_ once it listens, leaves it 0 if the port
  // was taken, fails the test on any other error.
  void StartNginx(const std::string& nginx, const std::string& production, int port) {
    absl::StatusOr<std::string> rendered = RenderConfig(
        production,
        {{"listen 443 ssl http2;", absl::StrCat("listen 127.0.0.1:", port, " ssl http2;")},
         {"server 127.0.0.1:8080;", absl::StrCat("server 127.0.0.1:", port_, ";")},
         {"/etc/letsencrypt/live/cursor.example.com/fullchain.pem", cert_},
         {"/etc/letsencrypt/live/cursor.example.com/privkey.pem", key_}});
    ASSERT_TRUE(rendered.ok()) << rendered.status();
    ASSERT_TRUE(WriteFile(dir_ + "/cursord.conf", *rendered));
    // What Debian's /etc/nginx/nginx.conf is around conf.d/: the http
    // context, here with every path nginx writes inside the temp dir.
    const std::string pid_file = dir_ + "/nginx.pid";
    ASSERT_TRUE(WriteFile(dir_ + "/nginx.conf",
                          absl::StrCat("pid ", pid_file, ";\n",
                                       "events { worker_connections 64; }\n",
                                       "http {\n",
                                       "  access_log ", dir_, "/access.log;\n",
                                       "  client_body_temp_path ", dir_, "/body;\n",
                                       "  proxy_temp_path ", dir_, "/proxy;\n",
                                       "  fastcgi_temp_path ", dir_, "/fastcgi;\n",
                                       "  uwsgi_temp_path ", dir_, "/uwsgi;\n",
                                       "  scgi_temp_path ", dir_, "/scgi;\n",
                                       "  include ", dir_, "/cursord.conf;\n",
                                       "}\n")));
    std::filesystem::remove(pid_file);  // a killed attempt's
    // One process in the foreground, so the pid we started is all of nginx;
    // and if this test process dies before it can stop nginx, the kernel
    // kills nginx too (setpriv, from util-linux, sets that up and execs it).
    std::vector<std::string> argv;
    const std::string setpriv = FindProgram("setpriv");
    if (!setpriv.empty()) argv = {setpriv, "--pdeathsig", "KILL", "--"};
    argv.insert(argv.end(), {nginx, "-p", dir_, "-c", dir_ + "/nginx.conf", "-e", "stderr",
                             "-g", "daemon off; master_process off;"});
    auto started = Subprocess::Start(argv);
    ASSERT_TRUE(started.ok()) << started.status();
    nginx_ = std::move(*started);
    // nginx writes its pid file once its listening socket is bound (a
    // connect would not tell: whoever took the port meanwhile accepts too);
    // if it cannot start, it says why with [emerg] and exits.
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    bool failed = false;
    while (absl::Now() < deadline && !failed) {
      if (HasContent(pid_file)) {
        nginx_port_ = port;
        return;
      }
      failed = nginx_->WaitForStderr("[emerg]", absl::Milliseconds(20));
    }
    const std::string err = nginx_->err();
    nginx_.reset();  // SIGKILL: it would retry the bind for 2.5 s before giving up
    ASSERT_TRUE(failed && absl::StrContains(err, "Address already in use"))
        << "nginx did not start:\n" << err;
  }

  void TearDown() override {
    if (nginx_) {
      // The nginx this test started, by its pid; SIGKILL if it lingers.
      nginx_->Signal(SIGTERM);
      nginx_->Wait(absl::Seconds(5));
    }
    EdgeTest::TearDown();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  absl::StatusOr<std::unique_ptr<WssClient>> Wss(
      const std::string& target, std::vector<std::pair<std::string, std::string>> headers = {}) {
    return WssClient::Connect(nginx_port_, target, {cert_, std::move(headers)});
  }

  std::string dir_;
  std::string cert_;
  std::string key_;
  std::unique_ptr<Subprocess> nginx_;
  int nginx_port_ = 0;
};

TEST_F(NginxTlsTest, TwoMembersOverWssSeeTheJoinsTheMoveAndTheLeave) {
  auto a = Wss("/rooms/tls");
  ASSERT_TRUE(a.ok()) << a.status();
  // 01 id, then 02 with every member.
  ASSERT_EQ((*a)->Read(), B({0x01, 0}));
  ASSERT_EQ((*a)->Read(), B({0x02, 0}));
  auto b = Wss("/rooms/tls");
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ((*b)->Read(), B({0x01, 1}));
  ASSERT_EQ((*b)->Read(), B({0x02, 0, 1}));
  EXPECT_EQ((*a)->Read(), B({0x03, 1}));

  (*a)->Send(CursorMessage(0x1234, 0xABCD));
  EXPECT_EQ((*b)->Read(), B({0x05, 0, 0x12, 0x34, 0xAB, 0xCD}));

  EXPECT_TRUE((*b)->Close());
  EXPECT_EQ((*a)->Read(), B({0x04, 1}));
}

// nginx appends the address it saw to whatever X-Forwarded-For the client
// sent; cursord trusts only nginx's entry.
TEST_F(NginxTlsTest, TheServerSeesTheAddressNginxSawNotOneTheClientClaims) {
  auto honest = Wss("/rooms/addr");
  ASSERT_TRUE(honest.ok()) << honest.status();
  ASSERT_TRUE((*honest)->Read() && (*honest)->Read());  // 01, 02
  auto claiming = Wss("/rooms/addr", {{"X-Forwarded-For", "198.51.100.66"}});
  ASSERT_TRUE(claiming.ok()) << claiming.status();
  ASSERT_TRUE((*claiming)->Read() && (*claiming)->Read());
  absl::StatusOr<core::RoomSnapshot> room = Snapshot("addr");
  ASSERT_TRUE(room.ok()) << room.status();
  ASSERT_EQ(room->members.size(), 2u);
  EXPECT_EQ(room->members[0].remote_address, kClientAddress);
  EXPECT_EQ(room->members[1].remote_address, kClientAddress);
}

TEST_F(NginxTlsTest, TheSubprotocolOfferedPassesThroughNginxBothWays) {
  auto client = Wss("/rooms/proto", {{"Sec-WebSocket-Protocol", "cursord.v1"}});
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ((*client)->subprotocol(), "cursord.v1");
  EXPECT_EQ((*client)->Read(), B({0x01, 0}));
}

// The clients above verify the certificate; this shows the check is real.
TEST_F(NginxTlsTest, AClientThatDoesNotTrustTheCertificateIsNotConnected) {
  auto client = WssClient::Connect(nginx_port_, "/rooms/untrusted", {"", {}});
  ASSERT_FALSE(client.ok());
  EXPECT_TRUE(absl::StrContains(client.status().message(), "certificate verify failed"))
      << client.status();
  EXPECT_EQ(server_->GetServerInfo().connections, 0u);
}

TEST_F(NginxTlsTest, HealthzPassesThroughAndMetricsStayOffThePublicName) {
  auto health = HttpsGet(nginx_port_, "/healthz", cert_);
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->first, 200);
  EXPECT_TRUE(absl::StartsWith(health->second, "ok")) << health->second;
  auto metrics = HttpsGet(nginx_port_, "/metrics", cert_);
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_EQ(metrics->first, 404);
}

}  // namespace
}  // namespace cursord::testing
