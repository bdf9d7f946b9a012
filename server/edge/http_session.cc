#include "server/edge/http_session.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <boost/asio/post.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "server/common/logging.h"
#include "server/core/host_port.h"
#include "server/core/join_request.h"
#include "server/core/ws_handshake.h"
#include "server/edge/metrics.h"
#include "server/edge/server.h"
#include "server/edge/shard.h"
#include "server/web/assets.h"

namespace cursord::edge {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

// Requests are small: a GET or an upgrade. Anything bigger is refused.
constexpr uint32_t kMaxHeaderBytes = 8 * 1024;
constexpr uint64_t kMaxBodyBytes = 4 * 1024;

std::string EndpointText(const tcp::endpoint& endpoint) {
  return core::JoinHostPort(endpoint.address().to_string(), endpoint.port());
}

// The field's value, empty when absent (the first line's, if repeated).
template <typename Name>
std::string_view HeaderValue(const http::request<http::string_body>& request, Name name) {
  const auto value = request[name];
  return std::string_view(value.data(), value.size());
}

// Every line of a list-valued field joined with "," in order (RFC 9110
// 5.3): a proxy may add its own line instead of appending to the client's.
template <typename Name>
std::string HeaderValues(const http::request<http::string_body>& request, Name name) {
  std::string joined;
  const auto lines = request.equal_range(name);
  for (auto it = lines.first; it != lines.second; ++it) {
    if (!joined.empty()) joined.push_back(',');
    joined.append(it->value().data(), it->value().size());
  }
  return joined;
}

unsigned HttpStatusFor(const absl::Status& status) {
  return status.code() == absl::StatusCode::kNotFound ? 404 : 400;
}

}  // namespace

HttpSession::HttpSession(Server& server, Shard& shard, tcp::socket socket,
                         const tcp::endpoint& peer, HttpSurface surface)
    : server_(server),
      shard_(shard),
      surface_(surface),
      stream_(std::move(socket)),
      peer_ip_(core::IpAddress::Parse(peer.address().to_string()).value_or(core::IpAddress{})),
      remote_address_(EndpointText(peer)) {}

void HttpSession::Run() { DoRead(); }

void HttpSession::DoRead() {
  parser_.emplace();
  parser_->header_limit(kMaxHeaderBytes);
  parser_->body_limit(kMaxBodyBytes);
  // Bounds the whole request, so a client that never finishes its
  // handshake is dropped.
  stream_.expires_after(absl::ToChronoNanoseconds(shard_.options().handshake_timeout));
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](const beast::error_code& ec, size_t bytes) {
                     self->OnRead(ec, bytes);
                   });
}

void HttpSession::OnRead(const beast::error_code& ec, size_t bytes) {
  if (ec == http::error::end_of_stream) {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    return;
  }
  if (ec) {
    if (ec == beast::error::timeout) {
      // A connection that never began a request is a browser's speculative
      // preconnect (or a keep-alive connection left idle), not a failure.
      const bool began = buffer_.size() > 0 || parser_->got_some();
      (began ? shard_.counters().handshake_failures : shard_.counters().idle_connections).Add();
      CURSORD_LOG(kDebug) << (began ? "request timeout from " : "idle connection from ")
                          << remote_address_;
      return;
    }
    if (ec != net::error::connection_reset && ec != net::error::eof) {
      shard_.counters().http_rejected.Add();
      // A malformed or oversized request: answer 400 if we still can, then
      // close. The stream cannot be parsed past the error, so keeping the
      // connection would only parse the same bytes again.
      Request empty;
      Response response =
          MakeResponse(400, "text/plain", "bad request: " + ec.message() + "\n", empty);
      response.keep_alive(false);
      Send(std::move(response));
    }
    return;
  }
  Request request = parser_->release();
  if (websocket::is_upgrade(request) && surface_ == HttpSurface::kPublic) {
    Upgrade(std::move(request));
    return;
  }
  Serve(request);
}

void HttpSession::Serve(const Request& request) {
  shard_.counters().http_requests.Add();
  if (request.method() != http::verb::get && request.method() != http::verb::head) {
    Send(MakeResponse(405, "text/plain", "method not allowed\n", request));
    return;
  }
  const std::string_view target(request.target().data(), request.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  if (!Serves(path)) {
    shard_.counters().http_rejected.Add();
    Send(MakeResponse(404, "text/plain", "not found\n", request));
    return;
  }
  if (path == "/healthz") {
    // Alive either way: degraded still serves the rooms among local members.
    Send(MakeResponse(200, "text/plain", server_.Health() + "\n", request));
    return;
  }
  if (path == "/readyz") {
    // Whether to send this instance new clients: not while it drains, nor
    // while the joins it would take are refused for want of Redis.
    const absl::Status ready = server_.Readiness();
    Send(MakeResponse(ready.ok() ? 200 : 503, "text/plain",
                      ready.ok() ? "ready\n" : std::string(ready.message()) + "\n", request));
    return;
  }
  if (path == "/metrics") {
    Send(MakeResponse(200, "text/plain; version=0.0.4", server_.metrics().Scrape(), request));
    return;
  }
  if (path.substr(0, 5) == "/sdk/") {
    // The browser SDK, looked up by exact name (no file system, so no path
    // tricks). Pages on any origin may import it, and browsers fetch module
    // scripts with CORS.
    const web::Asset* asset = web::FindAsset(path.substr(1));
    if (asset == nullptr) {
      shard_.counters().http_rejected.Add();
      Send(MakeResponse(404, "text/plain", "not found\n", request));
      return;
    }
    Response response = MakeResponse(200, std::string(asset->content_type),
                                     std::string(asset->body), request);
    response.set(http::field::access_control_allow_origin, "*");
    Send(std::move(response));
    return;
  }
  if (path == "/examples/editor") {
    // The editor example: a page like the demo (same origin, same headers);
    // its room comes from ?room=.
    const web::Asset* page = web::FindAsset("editor.html");
    Send(MakeResponse(200, std::string(page->content_type), std::string(page->body), request));
    return;
  }
  absl::StatusOr<std::string> room = core::RoomFromPath(path);
  if (!room.ok()) {
    shard_.counters().http_rejected.Add();
    Send(MakeResponse(HttpStatusFor(room.status()), "text/plain",
                      std::string(room.status().message()) + "\n", request));
    return;
  }
  const web::Asset* page = web::FindAsset("index.html");
  Send(MakeResponse(200, std::string(page->content_type), std::string(page->body), request));
}

bool HttpSession::Serves(std::string_view path) const {
  if (path == "/healthz" || path == "/readyz") return true;  // probes, on either port
  const bool metrics_here = surface_ == HttpSurface::kMetrics
                                ? true
                                : server_.options().metrics_listen.empty();
  if (path == "/metrics") return metrics_here;
  // The demo page, the editor example, the SDK and the room pages (and
  // their 4xx).
  return surface_ == HttpSurface::kPublic && server_.options().serve_demo;
}

void HttpSession::Upgrade(Request request) {
  const auto requested_at = std::chrono::steady_clock::now();
  const std::string_view target(request.target().data(), request.target().size());
  absl::StatusOr<core::JoinRequest> join = core::ParseJoinTarget(target);
  if (!join.ok()) {
    RefuseUpgrade(HttpStatusFor(join.status()), std::string(join.status().message()), request);
    return;
  }
  const core::HandshakeVerdict verdict = core::CheckHandshake(
      HeaderValue(request, http::field::host),
      HeaderValue(request, http::field::sec_websocket_key),
      HeaderValue(request, http::field::sec_websocket_version));
  if (verdict.status != 101) {
    RefuseUpgrade(verdict.status, verdict.error, request);
    return;
  }
  std::optional<AdmittedJoin> admitted = Admit(request, std::move(*join));
  if (!admitted) return;
  admitted->accept_key = verdict.accept_key;
  admitted->requested_at = requested_at;
  HandOver(std::move(*admitted));
}

std::optional<AdmittedJoin> HttpSession::Admit(const Request& request, core::JoinRequest join) {
  const std::string_view target(request.target().data(), request.target().size());
  const size_t question = target.find('?');
  JoinGate::Handshake handshake;
  handshake.query = question == std::string_view::npos ? std::string_view()
                                                       : target.substr(question + 1);
  handshake.origin = HeaderValue(request, http::field::origin);
  const std::string subprotocols = HeaderValues(request, http::field::sec_websocket_protocol);
  const std::string forwarded_for = HeaderValues(request, server_.gate().forwarded_header());
  handshake.subprotocols = subprotocols;
  handshake.forwarded_for = forwarded_for;
  JoinGate::Decision decision = server_.gate().Check(handshake, peer_ip_, &join, absl::Now());
  switch (decision.refusal) {
    case JoinGate::Refusal::kNone: break;
    case JoinGate::Refusal::kOrigin: shard_.counters().refused_origin.Add(); break;
    case JoinGate::Refusal::kConnectionLimit:
      shard_.counters().refused_connection_limit.Add();
      break;
    case JoinGate::Refusal::kAddressLimit: shard_.counters().refused_address_limit.Add(); break;
  }
  if (decision.refusal != JoinGate::Refusal::kNone) {
    RefuseUpgrade(decision.http_status, decision.reason, request);
    return std::nullopt;
  }
  // Behind a trusted proxy, the client is who the proxy says it is.
  if (decision.client_address != peer_ip_.ToString()) remote_address_ = decision.client_address;
  AdmittedJoin admitted;
  admitted.request = std::move(join);
  admitted.remote_address = std::move(remote_address_);
  admitted.subprotocol = std::move(decision.subprotocol);
  admitted.slot = std::move(decision.slot);
  admitted.token_refusal = decision.token_refusal;
  admitted.token_verified = decision.token_verified;
  return admitted;
}

void HttpSession::HandOver(AdmittedJoin join) {
  Shard& owner = server_.ShardFor(join.request.room);
  stream_.expires_never();
  tcp::socket socket = stream_.release_socket();
  if (&owner == &shard_) {
    owner.AcceptWebSocket(std::move(socket), std::move(join));
    return;
  }
  // Move the connection to the room's thread: its descriptor leaves this
  // io_context and is adopted by the owner's.
  boost::system::error_code ec;
  const tcp protocol = socket.local_endpoint(ec).protocol();
  const tcp::socket::native_handle_type fd = socket.release(ec);
  if (ec) {
    CURSORD_LOG(kWarning) << "cannot hand over connection from " << join.remote_address << ": "
                          << ec.message();
    return;
  }
  net::post(owner.io_context(),
            [&owner, fd, protocol, join = std::make_shared<AdmittedJoin>(std::move(join))] {
              tcp::socket adopted(owner.io_context());
              boost::system::error_code assign_ec;
              adopted.assign(protocol, fd, assign_ec);
              if (assign_ec) {
                ::close(fd);
                return;
              }
              owner.AcceptWebSocket(std::move(adopted), std::move(*join));
            });
}

void HttpSession::RefuseUpgrade(unsigned status, std::string_view why, const Request& request) {
  shard_.counters().http_rejected.Add();
  const std::string_view target(request.target().data(), request.target().size());
  // The path only: the query may carry a join token.
  const std::string_view path = target.substr(0, target.find('?'));
  CURSORD_CLIENT_LOG(shard_, kInfo) << "refused upgrade from " << remote_address_ << " to \""
                                    << path.substr(0, 200)
                                    << (path.size() < target.size() ? "?…" : "") << "\": "
                                    << status << " " << why;
  Response response = MakeResponse(status, "text/plain", std::string(why) + "\n", request);
  // RFC 6455 section 4.4: name the version the client may retry with.
  if (status == 426) response.set(http::field::sec_websocket_version, "13");
  // A limit: the client may come back later.
  if (status == 503) response.set(http::field::retry_after, "5");
  response.keep_alive(false);
  Send(std::move(response));
}

HttpSession::Response HttpSession::MakeResponse(unsigned status, std::string content_type,
                                                std::string body,
                                                const Request& request) const {
  Response response{static_cast<http::status>(status), request.version() ? request.version() : 11};
  response.set(http::field::server, "cursord");
  response.set(http::field::content_type, content_type);
  response.set(http::field::cache_control, "no-cache");
  response.keep_alive(request.keep_alive());
  const size_t length = body.size();
  if (request.method() != http::verb::head) response.body() = std::move(body);
  response.content_length(length);
  return response;
}

void HttpSession::Send(Response response) {
  response_ = std::make_shared<Response>(std::move(response));
  const bool keep_alive = response_->keep_alive();
  stream_.expires_after(absl::ToChronoNanoseconds(shard_.options().handshake_timeout));
  http::async_write(stream_, *response_,
                    [self = shared_from_this(), keep_alive](const beast::error_code& ec,
                                                            size_t) {
                      self->OnWrite(keep_alive, ec);
                    });
}

void HttpSession::OnWrite(bool keep_alive, const beast::error_code& ec) {
  if (ec) return;
  response_.reset();
  if (!keep_alive) {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    return;
  }
  DoRead();
}

Listener::Listener(Server& server, Shard& home, HttpSurface surface)
    : server_(server),
      home_(home),
      surface_(surface),
      acceptor_(home.io_context()),
      retry_timer_(home.io_context()) {}

boost::system::error_code Listener::Open(const std::string& host, unsigned short port) {
  boost::system::error_code ec;
  const net::ip::address address = net::ip::make_address(host, ec);
  if (ec) return ec;
  const tcp::endpoint endpoint(address, port);
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) return ec;
  acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return ec;
  acceptor_.bind(endpoint, ec);
  if (ec) return ec;
  // Accepted connections inherit these, which saves two system calls per
  // connection. No Nagle: the frames of a flush must leave at once.
  acceptor_.set_option(tcp::no_delay(true), ec);
  if (ec) return ec;
  const int send_buffer = server_.options().socket_send_buffer;
  if (send_buffer > 0) {
    // A small send buffer bounds what the kernel holds for a slow reader;
    // the outbox coalesces the rest.
    acceptor_.set_option(net::socket_base::send_buffer_size(send_buffer), ec);
    if (ec) return ec;
  }
  acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return ec;
  // Accepted connections start in the kernel's delayed-ACK (interactive)
  // mode, which they inherit from here: the ACK of a client's request or
  // close frame rides on our answer instead of leaving as a segment of its
  // own, two segments fewer per connection. (Set after listen(), which
  // resets it.) The kernel still acks on its own timer and rules.
  const int quickack = 0;
  if (::setsockopt(acceptor_.native_handle(), IPPROTO_TCP, TCP_QUICKACK, &quickack,
                   sizeof quickack) != 0) {
    CURSORD_LOG(kDebug) << "TCP_QUICKACK on the listener: " << std::strerror(errno);
  }
  return ec;
}

void Listener::Run() {
  net::post(home_.io_context(), [self = shared_from_this()] { self->DoAccept(); });
}

void Listener::Close() {
  net::post(home_.io_context(), [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor_.close(ec);
    self->retry_timer_.cancel();
  });
}

tcp::endpoint Listener::local_endpoint() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void Listener::DoAccept() {
  Shard& target = server_.NextShard();
  acceptor_.async_accept(
      target.io_context(), peer_,
      [self = shared_from_this(), &target](const boost::system::error_code& ec,
                                           tcp::socket socket) {
        if (ec == net::error::operation_aborted || !self->acceptor_.is_open()) return;
        if (ec) {
          CURSORD_LOG(kWarning) << "accept: " << ec.message();
          // Out of descriptors: back off instead of spinning on the error.
          if (ec == net::error::no_descriptors || ec == net::error::no_buffer_space ||
              ec == net::error::no_memory) {
            self->retry_timer_.expires_after(std::chrono::milliseconds(100));
            self->retry_timer_.async_wait([self](const boost::system::error_code& wait_ec) {
              if (!wait_ec) self->DoAccept();
            });
            return;
          }
          self->DoAccept();
          return;
        }
        auto session =
            std::make_shared<HttpSession>(self->server_, target, std::move(socket), self->peer_,
                                          self->surface_);
        // The HTTP phase runs on the socket's own shard thread.
        net::post(target.io_context(), [session] { session->Run(); });
        self->DoAccept();
      });
}

}  // namespace cursord::edge
