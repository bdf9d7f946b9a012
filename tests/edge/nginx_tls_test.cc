// wss:// through nginx, end to end: deploy/nginx/cursord.conf (the file
// operators install, with only its port, upstream and certificate paths
// substituted) in front of the real server in-process, and real TLS
// WebSocket clients that verify nginx's certificate.
//
// The clients connect from 127.0.0.2 while nginx reaches cursord from
// 127.0.0.1, the one trusted proxy (as the documented
// --trusted-proxies 127.0.0.1), so the address cursord shows can only have
// come from nginx's X-Forwarded-For.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
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
#include "gtest/gtest.h"
#include "tests/edge/edge_fixture.h"
#include "tests/testing/nginx_process.h"
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
    absl::StatusOr<TestCertificate> certificate = MakeTestCertificate(openssl, dir_, kHostName);
    ASSERT_TRUE(certificate.ok()) << certificate.status();
    cert_ = certificate->cert_file;

    edge::ServerOptions options;
    options.trusted_proxies = "127.0.0.1";  // nginx, and not the clients on 127.0.0.2
    StartServer(options);
    ASSERT_FALSE(HasFatalFailure());

    // The config with its port, upstream and certificate paths substituted.
    NginxProcess::Options nginx_options;
    nginx_options.nginx = nginx;
    nginx_options.config_path = CURSORD_NGINX_CONF;
    nginx_options.dir = dir_;
    nginx_options.certificate = *certificate;
    nginx_options.upstream_ports = {port_};
    auto started = NginxProcess::Start(nginx_options);
    ASSERT_TRUE(started.ok()) << started.status();
    nginx_ = std::move(*started);
  }

  void TearDown() override {
    nginx_.reset();  // the nginx this test started, by its pid
    EdgeTest::TearDown();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  absl::StatusOr<std::unique_ptr<WssClient>> Wss(
      const std::string& target, std::vector<std::pair<std::string, std::string>> headers = {}) {
    return WssClient::Connect(nginx_->port(), target, {cert_, std::move(headers)});
  }

  std::string dir_;
  std::string cert_;
  std::unique_ptr<NginxProcess> nginx_;
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
  auto client = WssClient::Connect(nginx_->port(), "/rooms/untrusted", {"", {}});
  ASSERT_FALSE(client.ok());
  EXPECT_TRUE(absl::StrContains(client.status().message(), "certificate verify failed"))
      << client.status();
  EXPECT_EQ(server_->GetServerInfo().connections, 0u);
}

TEST_F(NginxTlsTest, HealthzPassesThroughAndMetricsStayOffThePublicName) {
  auto health = HttpsGet(nginx_->port(), "/healthz", cert_);
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->first, 200);
  EXPECT_TRUE(absl::StartsWith(health->second, "ok")) << health->second;
  auto metrics = HttpsGet(nginx_->port(), "/metrics", cert_);
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_EQ(metrics->first, 404);
}

}  // namespace
}  // namespace cursord::testing
