// The HTTP phase of a connection: reads requests (bounded in size and
// time), serves the demo page, health and metrics, refuses bad upgrades
// with 400, and hands a valid upgrade to the shard that owns its room.
// What a port serves is its HttpSurface's (the one owner of that choice).
#ifndef CURSORD_EDGE_HTTP_SESSION_H_
#define CURSORD_EDGE_HTTP_SESSION_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "server/core/client_address.h"
#include "server/edge/join_gate.h"

namespace cursord::edge {

class Server;
class Shard;

// What a listener serves.
enum class HttpSurface {
  // --listen: WebSocket upgrades, /healthz, /readyz; the demo page and the
  // SDK unless --no-demo; /metrics unless --metrics-listen is set.
  kPublic,
  // --metrics-listen: /metrics, /healthz and /readyz; nothing else (404).
  kMetrics,
};

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  // `socket` belongs to `shard`'s io_context; `peer` is where it comes from.
  HttpSession(Server& server, Shard& shard, boost::asio::ip::tcp::socket socket,
              const boost::asio::ip::tcp::endpoint& peer, HttpSurface surface);
  void Run();

 private:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Response = boost::beast::http::response<boost::beast::http::string_body>;

  void DoRead();
  void OnRead(const boost::beast::error_code& ec, size_t bytes);
  // A plain GET: the demo page, /healthz, /metrics, or 4xx, as surface_
  // allows.
  void Serve(const Request& request);
  // Whether surface_ serves `path` (a plain GET's).
  bool Serves(std::string_view path) const;
  void Upgrade(Request request);
  // Asks the JoinGate whether `join` may go ahead (answering the refusal
  // if not), and as whom.
  std::optional<AdmittedJoin> Admit(const Request& request, core::JoinRequest join);
  // Answers an upgrade request that cannot be accepted, and closes.
  void RefuseUpgrade(unsigned status, std::string_view why, const Request& request);
  // Hands an admitted join to its room's shard (this one or another).
  void HandOver(AdmittedJoin join);
  void Send(Response response);
  void OnWrite(bool keep_alive, const boost::beast::error_code& ec);
  Response MakeResponse(unsigned status, std::string content_type, std::string body,
                        const Request& request) const;

  Server& server_;
  Shard& shard_;
  const HttpSurface surface_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::shared_ptr<Response> response_;  // alive until written
  core::IpAddress peer_ip_;
  std::string remote_address_;  // the peer's "address:port", for logs
};

// Accepts connections on shard 0's thread and spreads their HTTP phase
// over the shards.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(Server& server, Shard& home, HttpSurface surface = HttpSurface::kPublic);
  // Binds and listens on "host:port".
  boost::system::error_code Open(const std::string& host, unsigned short port);
  void Run();
  // Stops accepting. Any thread.
  void Close();
  boost::asio::ip::tcp::endpoint local_endpoint() const;

 private:
  void DoAccept();

  Server& server_;
  Shard& home_;
  const HttpSurface surface_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  boost::asio::ip::tcp::endpoint peer_;  // of the accept in progress
};

}  // namespace cursord::edge

#endif  // CURSORD_EDGE_HTTP_SESSION_H_
