#include "tests/testing/ws_test_client.h"

#include <fstream>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/error.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace cursord::testing {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

std::chrono::nanoseconds ToChrono(absl::Duration d) { return absl::ToChronoNanoseconds(d); }

}  // namespace

WsTestClient::WsTestClient() : ws_(ioc_) {}

WsTestClient::~WsTestClient() {
  beast::error_code ec;
  beast::get_lowest_layer(ws_).socket().close(ec);
}

bool WsTestClient::RunUntil(const bool& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done) {
    const absl::Duration remaining = deadline - absl::Now();
    if (remaining <= absl::ZeroDuration()) return false;
    if (ioc_.stopped()) ioc_.restart();
    ioc_.run_one_for(ToChrono(remaining));
  }
  return true;
}

absl::StatusOr<std::unique_ptr<WsTestClient>> WsTestClient::Connect(int port,
                                                                    const std::string& target,
                                                                    Options options) {
  std::unique_ptr<WsTestClient> client(new WsTestClient());
  auto& stream = beast::get_lowest_layer(client->ws_);
  beast::error_code ec;
  stream.socket().open(tcp::v4(), ec);
  if (options.receive_buffer > 0) {
    stream.socket().set_option(net::socket_base::receive_buffer_size(options.receive_buffer), ec);
  }
  const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port));
  bool done = false;
  stream.expires_after(ToChrono(options.timeout));
  stream.async_connect(endpoint, [&](beast::error_code e) {
    ec = e;
    done = true;
  });
  if (!client->RunUntil(done, options.timeout + absl::Seconds(1)) || ec) {
    return absl::UnavailableError(absl::StrCat("connect: ", ec.message()));
  }
  websocket::response_type response;
  if (!options.headers.empty()) {
    client->ws_.set_option(websocket::stream_base::decorator(
        [headers = options.headers](websocket::request_type& request) {
          for (const auto& [name, value] : headers) request.set(name, value);
        }));
  }
  done = false;
  client->ws_.async_handshake(response, absl::StrCat("127.0.0.1:", port), target,
                              [&](beast::error_code e) {
                                ec = e;
                                done = true;
                              });
  if (!client->RunUntil(done, options.timeout + absl::Seconds(1))) {
    return absl::DeadlineExceededError("handshake timed out");
  }
  if (ec) {
    if (ec == websocket::error::upgrade_declined) {
      return absl::FailedPreconditionError(
          absl::StrCat("HTTP ", response.result_int(), ": ", response.body()));
    }
    return absl::UnavailableError(absl::StrCat("handshake: ", ec.message()));
  }
  stream.expires_never();
  client->subprotocol_ = std::string(response[http::field::sec_websocket_protocol]);
  client->ws_.binary(true);
  client->ws_.control_callback([c = client.get()](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::pong) ++c->pongs_;
  });
  return client;
}

void WsTestClient::SendBinary(const Bytes& payload) {
  beast::error_code ec;
  ws_.binary(true);
  ws_.write(net::buffer(payload), ec);
}

void WsTestClient::SendText(const std::string& payload) {
  beast::error_code ec;
  ws_.text(true);
  ws_.write(net::buffer(payload), ec);
  ws_.binary(true);
}

void WsTestClient::SendFragmented(const Bytes& payload, size_t first_part) {
  beast::error_code ec;
  ws_.binary(true);
  ws_.write_some(false, net::buffer(payload.data(), first_part), ec);
  ws_.write_some(true, net::buffer(payload.data() + first_part, payload.size() - first_part), ec);
}

void WsTestClient::SendPing() {
  beast::error_code ec;
  ws_.ping({}, ec);
}

void WsTestClient::Close(uint16_t code, const std::string& reason) {
  bool done = false;
  websocket::close_reason close(code);
  close.reason = reason;
  ws_.async_close(close, [&](beast::error_code) { done = true; });
  if (RunUntil(done, absl::Seconds(5))) {
    closed_ = true;
    close_code_ = ws_.reason().code;
    close_reason_ = std::string(ws_.reason().reason.data(), ws_.reason().reason.size());
  }
}

std::optional<Bytes> WsTestClient::Read(absl::Duration timeout) {
  if (closed_) return std::nullopt;
  if (!read_pending_) {
    buffer_.clear();
    read_done_ = false;
    read_pending_ = true;
    ws_.async_read(buffer_, [this](beast::error_code ec, size_t) {
      read_pending_ = false;
      read_done_ = true;
      read_ec_ = ec;
    });
  }
  // A read that times out stays pending; the next Read waits for it.
  if (!RunUntil(read_done_, timeout)) return std::nullopt;
  read_done_ = false;
  if (read_ec_) {
    closed_ = true;
    if (read_ec_ == websocket::error::closed) {
      close_code_ = ws_.reason().code;
      close_reason_ = std::string(ws_.reason().reason.data(), ws_.reason().reason.size());
    } else {
      close_code_ = 1006;
    }
    return std::nullopt;
  }
  const auto data = buffer_.data();
  const auto* bytes = static_cast<const uint8_t*>(data.data());
  return Bytes(bytes, bytes + data.size());
}

bool WsTestClient::WaitClosed(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!closed_) {
    const absl::Duration remaining = deadline - absl::Now();
    if (remaining <= absl::ZeroDuration()) return false;
    Read(remaining);
  }
  return true;
}

absl::StatusOr<uint8_t> WsTestClient::ReadJoin(std::vector<uint8_t>* members) {
  std::optional<Bytes> first = Read();
  if (!first || first->size() != 2 || (*first)[0] != 0x01) {
    return absl::InternalError("expected 01 id");
  }
  std::optional<Bytes> list = Read();
  if (!list || list->empty() || (*list)[0] != 0x02) {
    return absl::InternalError("expected 02 ids");
  }
  if (members) members->assign(list->begin() + 1, list->end());
  return (*first)[1];
}

Bytes CursorMessage(uint16_t x, uint16_t y) {
  return Bytes{0x05, static_cast<uint8_t>(x >> 8), static_cast<uint8_t>(x & 0xff),
               static_cast<uint8_t>(y >> 8), static_cast<uint8_t>(y & 0xff)};
}

Bytes SetStateMessage(const std::string& state) {
  Bytes out = {0x09};
  out.insert(out.end(), state.begin(), state.end());
  return out;
}

Bytes MemberInfoMessage(uint8_t id, const Bytes& rgb, const std::string& user,
                        const std::string& name) {
  Bytes out = {0x08, id, rgb.at(0), rgb.at(1), rgb.at(2), static_cast<uint8_t>(user.size())};
  out.insert(out.end(), user.begin(), user.end());
  out.push_back(static_cast<uint8_t>(name.size()));
  out.insert(out.end(), name.begin(), name.end());
  return out;
}

Bytes MemberStateMessage(uint8_t id, const std::string& state) {
  Bytes out = {0x09, id};
  out.insert(out.end(), state.begin(), state.end());
  return out;
}

namespace {

// Connects `stream` to 127.0.0.1:port, with a 5 s deadline on everything
// that follows.
beast::error_code ConnectLoopback(int port, beast::tcp_stream& stream) {
  beast::error_code ec;
  stream.expires_after(std::chrono::seconds(5));
  stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)),
                 ec);
  return ec;
}

}  // namespace

absl::StatusOr<HttpResult> HttpGet(
    int port, const std::string& target,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code ec = ConnectLoopback(port, stream);
  if (ec) return absl::UnavailableError(ec.message());
  http::request<http::empty_body> request{http::verb::get, target, 11};
  request.set(http::field::host, absl::StrCat("127.0.0.1:", port));
  for (const auto& [name, value] : headers) request.set(name, value);
  http::write(stream, request, ec);
  if (ec) return absl::UnavailableError(ec.message());
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response, ec);
  if (ec) return absl::UnavailableError(ec.message());
  HttpResult result{static_cast<int>(response.result_int()), std::string(response[http::field::content_type]),
                    response.body(), {}};
  for (const auto& field : response) {
    result.headers[absl::AsciiStrToLower(std::string(field.name_string()))] =
        std::string(field.value());
  }
  return result;
}

struct RawWsConnection::Impl {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
};

RawWsConnection::RawWsConnection() : impl_(std::make_unique<Impl>()) {}
RawWsConnection::~RawWsConnection() = default;

absl::StatusOr<std::unique_ptr<RawWsConnection>> RawWsConnection::Open(
    int port, const std::string& target, const std::string& extra_headers) {
  std::unique_ptr<RawWsConnection> connection(new RawWsConnection());
  beast::tcp_stream& stream = connection->impl_->stream;
  beast::error_code ec = ConnectLoopback(port, stream);
  if (ec) return absl::UnavailableError(ec.message());
  stream.expires_after(std::chrono::seconds(10));
  const std::string request = absl::StrCat(
      "GET ", target, " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n",
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
      "Sec-WebSocket-Version: 13\r\n", extra_headers, "\r\n");
  net::write(stream, net::buffer(request), ec);
  if (ec) return absl::UnavailableError(ec.message());
  // Byte by byte up to the blank line, so that no frame is read with it.
  std::string head;
  char c;
  while (head.size() < 4096 && !absl::EndsWith(head, "\r\n\r\n")) {
    stream.read_some(net::buffer(&c, 1), ec);
    if (ec) return absl::UnavailableError(ec.message());
    head.push_back(c);
  }
  if (head.rfind("HTTP/1.1 101 ", 0) != 0) return absl::FailedPreconditionError(head);
  return connection;
}

void RawWsConnection::Write(const std::string& bytes) {
  beast::error_code ec;
  net::write(impl_->stream, net::buffer(bytes), ec);
}

absl::StatusOr<std::string> RawWsConnection::ReadToEnd() {
  beast::tcp_stream& stream = impl_->stream;
  stream.expires_after(std::chrono::seconds(10));
  std::string received;
  char chunk[4096];
  beast::error_code ec;
  while (true) {
    const size_t n = stream.read_some(net::buffer(chunk), ec);
    received.append(chunk, n);
    if (ec == net::error::eof || ec == net::error::connection_reset) return received;
    if (ec) return absl::DeadlineExceededError(ec.message());
  }
}

std::string ClientFrame(uint8_t opcode, const std::string& payload) {
  std::string frame;
  frame.push_back(static_cast<char>(0x80 | opcode));
  frame.push_back(static_cast<char>(0x80 | payload.size()));  // short frames only
  const char mask[4] = {0x11, 0x22, 0x33, 0x44};
  frame.append(mask, 4);
  for (size_t i = 0; i < payload.size(); ++i) frame.push_back(payload[i] ^ mask[i & 3]);
  return frame;
}

absl::StatusOr<std::string> RawExchange(int port, const std::string& bytes,
                                        size_t max_bytes) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code ec = ConnectLoopback(port, stream);
  if (ec) return absl::UnavailableError(ec.message());
  net::write(stream, net::buffer(bytes), ec);
  if (ec) return absl::UnavailableError(ec.message());
  std::string received;
  char chunk[4096];
  while (received.size() < max_bytes) {
    const size_t n = stream.read_some(net::buffer(chunk), ec);
    received.append(chunk, n);
    if (ec == net::error::eof || ec == net::error::connection_reset) return received;
    if (ec) return absl::DeadlineExceededError(ec.message() + " after " +
                                                std::to_string(received.size()) + " bytes");
  }
  return absl::ResourceExhaustedError("the server kept sending: " +
                                      std::to_string(received.size()) + " bytes");
}

size_t ResidentBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

}  // namespace cursord::testing
