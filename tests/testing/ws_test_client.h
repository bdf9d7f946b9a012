// A blocking WebSocket client for tests, on Beast, with a deadline on every
// call. Real sockets, real framing: tests talk to the real server with it.
#ifndef CURSORD_TESTS_TESTING_WS_TEST_CLIENT_H_
#define CURSORD_TESTS_TESTING_WS_TEST_CLIENT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace cursord::testing {

using Bytes = std::vector<uint8_t>;

class WsTestClient {
 public:
  struct Options {
    absl::Duration timeout = absl::Seconds(5);
    // SO_RCVBUF of the client socket; 0 keeps the default. Small values make
    // a client that stops reading stall the server quickly.
    int receive_buffer = 0;
    // Extra handshake headers (Origin, X-Forwarded-For, Sec-WebSocket-Protocol...).
    std::vector<std::pair<std::string, std::string>> headers;
  };

  // Opens ws://127.0.0.1:port + target. On a refused upgrade the status
  // message holds the HTTP status code, e.g. "HTTP 400: ...".
  static absl::StatusOr<std::unique_ptr<WsTestClient>> Connect(int port, const std::string& target,
                                                               Options options);
  static absl::StatusOr<std::unique_ptr<WsTestClient>> Connect(int port,
                                                               const std::string& target) {
    return Connect(port, target, Options{});
  }
  ~WsTestClient();

  void SendBinary(const Bytes& payload);
  void SendText(const std::string& payload);
  // Sends `payload` as two fragments (binary + continuation).
  void SendFragmented(const Bytes& payload, size_t first_part);
  void SendPing();
  // Closes with `code` and `reason` (sent as given, even if not UTF-8) and
  // waits for the server's close frame, which close_code() then holds.
  void Close(uint16_t code = 1000, const std::string& reason = "");

  // The next binary message, or nullopt when none arrives within `timeout`
  // or the connection closed (see closed()).
  std::optional<Bytes> Read(absl::Duration timeout = absl::Seconds(5));
  // Reads and discards messages until the server's close arrives; returns
  // true when it did within `timeout`.
  bool WaitClosed(absl::Duration timeout = absl::Seconds(5));

  bool closed() const { return closed_; }
  // The server's close frame (code 1005 "no status" if it carried none;
  // 1006 if the connection dropped without one).
  uint16_t close_code() const { return close_code_; }
  const std::string& close_reason() const { return close_reason_; }
  int pongs() const { return pongs_; }
  // The subprotocol the server selected in its 101 ("" = none).
  const std::string& subprotocol() const { return subprotocol_; }

  // Joins: reads `01 id` and `02 ...`; returns the id (fails the test
  // through the returned status if the sequence is wrong).
  absl::StatusOr<uint8_t> ReadJoin(std::vector<uint8_t>* members = nullptr);

 private:
  WsTestClient();
  bool RunUntil(const bool& done, absl::Duration timeout);

  boost::asio::io_context ioc_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer buffer_;
  bool read_pending_ = false;
  bool read_done_ = false;
  boost::beast::error_code read_ec_;
  bool closed_ = false;
  uint16_t close_code_ = 0;
  std::string close_reason_;
  int pongs_ = 0;
  std::string subprotocol_;
};

// Message builders (client to server).
Bytes CursorMessage(uint16_t x, uint16_t y);
// Protocol v2's `09 state`.
Bytes SetStateMessage(const std::string& state);

// Protocol v2's server messages, as a client receives them:
// `08 id rr gg bb ulen user nlen name` and `09 id state`.
Bytes MemberInfoMessage(uint8_t id, const Bytes& rgb, const std::string& user,
                        const std::string& name);
Bytes MemberStateMessage(uint8_t id, const std::string& state);

// Sends a raw HTTP/1.1 GET with `headers` (and Host) and returns the
// response.
struct HttpResult {
  int status = 0;
  std::string content_type;
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case
};
absl::StatusOr<HttpResult> HttpGet(
    int port, const std::string& target,
    const std::vector<std::pair<std::string, std::string>>& headers = {});

// A WebSocket connection driven byte by byte, for what Beast's client will
// not do (frames crossing the server's close, never answering a close).
// Blocking, with a 10 s deadline on every call.
class RawWsConnection {
 public:
  // Connects and upgrades to ws://127.0.0.1:port + target, with
  // `extra_headers` ("Name: value\r\n" lines, sent as given, repeats
  // allowed); reads the 101.
  static absl::StatusOr<std::unique_ptr<RawWsConnection>> Open(
      int port, const std::string& target, const std::string& extra_headers = "");
  ~RawWsConnection();
  // Writes `bytes` in one write.
  void Write(const std::string& bytes);
  // Reads until the server ends the connection (EOF or reset); returns
  // every byte after the 101 head, or an error after the deadline.
  absl::StatusOr<std::string> ReadToEnd();

 private:
  RawWsConnection();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A masked client frame (FIN set) with `opcode` and `payload`.
std::string ClientFrame(uint8_t opcode, const std::string& payload);

// Sends `bytes` raw on a new connection, then reads until the server
// closes it, `max_bytes` have arrived, or 5 s pass; returns what arrived.
// For requests that no well-behaved client sends.
absl::StatusOr<std::string> RawExchange(int port, const std::string& bytes,
                                        size_t max_bytes = 64 * 1024);

// The resident set size of this process in bytes (from /proc/self/status).
size_t ResidentBytes();

}  // namespace cursord::testing

#endif  // CURSORD_TESTS_TESTING_WS_TEST_CLIENT_H_
