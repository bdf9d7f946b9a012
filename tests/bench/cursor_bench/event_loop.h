// A single-threaded epoll loop driving many client WebSockets. Everything a
// connection owns is touched only by the thread running its loop, so there
// are no locks anywhere on the data path.
#ifndef CURSORD_BENCH_EVENT_LOOP_H_
#define CURSORD_BENCH_EVENT_LOOP_H_

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "frame_codec.h"

namespace cursord::bench {

int64_t NowNs();

// Where to connect: "ws://host:port" parsed and resolved once.
struct Target {
  sockaddr_in address{};
  std::string host_header;  // "host:port" as the Host header wants it
  std::string path_prefix;  // path of the URL without a trailing '/'
};

// Parses "ws://HOST[:PORT][/PREFIX]"; HOST may be a name or an IPv4 address.
absl::StatusOr<Target> ParseTarget(const std::string& url);

// Source addresses to spread connections over. "auto" picks `count`
// addresses 127.0.0.1.. for a loopback target (each address has its own
// ~28k ephemeral ports) and none otherwise; else a comma-separated list.
absl::StatusOr<std::vector<in_addr>> ParseSources(const std::string& spec,
                                                  const Target& target,
                                                  int count);

class Connection;

// Callbacks from the loop; all run on the loop's thread.
class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // The upgrade finished; messages may follow at once.
  virtual void OnOpen(Connection* c, int64_t now_ns) = 0;
  // One complete binary message.
  virtual void OnBinary(Connection* c, const uint8_t* data, size_t size,
                        int64_t now_ns) = 0;
  // The socket is closed and released. `clean` is true after a completed
  // closing handshake that this side started. The connection may be
  // reopened from here.
  virtual void OnClosed(Connection* c, bool clean, int64_t now_ns) = 0;
};

class Connection {
 public:
  enum class State { kIdle, kQueued, kConnecting, kHandshaking, kOpen, kClosing };

  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  State state() const { return state_; }
  bool open() const { return state_ == State::kOpen; }
  size_t pending_out() const { return out_.size() - out_offset_; }

  // Owner's fields, untouched by the loop.
  ConnectionHandler* handler = nullptr;
  std::string path;
  uint64_t tag = 0;
  // The server to connect to; null means the loop's Options::target. Lets
  // one loop spread a room's members over several servers (the cluster
  // scenarios). Must outlive the connection.
  const Target* target = nullptr;

 private:
  friend class EventLoop;
  State state_ = State::kIdle;
  int fd_ = -1;
  // A disconnected socket kept for this connection's next session (see
  // Options::recycle_sockets); still registered with epoll.
  int spare_fd_ = -1;
  bool want_write_ = false;  // EPOLLOUT registered
  bool close_sent_ = false;
  bool close_received_ = false;
  int64_t deadline_ns_ = 0;  // handshake or closing-handshake deadline
  std::string accept_;
  std::string in_;  // bytes not yet parsed (response head or partial frame)
  std::string out_;
  size_t out_offset_ = 0;
  MessageDecoder decoder_;
};

class EventLoop {
 public:
  struct Options {
    Target target;
    std::vector<in_addr> sources;
    // Handshakes in flight at once; more would overflow the server's
    // accept backlog and stall on SYN retransmits.
    size_t max_pending = 256;
    int64_t handshake_timeout_ns = 10'000'000'000;
    int64_t close_timeout_ns = 5'000'000'000;
    // A sender whose unsent bytes exceed this is blocked; its updates are
    // counted as skipped rather than queued without bound.
    size_t max_out_bytes = 256 * 1024;
    // Poll without ever sleeping. On virtual machines a sleeping vCPU can
    // take milliseconds to wake, which would show up as send lateness and
    // latency that belong to neither the server nor the generator's work.
    bool busy_poll = false;
    // After a complete closing handshake (both close frames, then the
    // server's FIN), end the connection with shutdown() and, once the
    // server's ACK has closed it, keep the socket for the connection's next
    // session instead of closing it. The server sees the same segments as
    // after close(); the generator saves creating, registering and freeing a
    // socket per session.
    bool recycle_sockets = false;
  };

  struct Counters {
    uint64_t connect_errors = 0;     // socket/bind/connect failed
    uint64_t handshake_errors = 0;   // refused, bad response, reset
    uint64_t handshake_timeouts = 0;
    uint64_t protocol_errors = 0;    // bad frames from the server
    uint64_t unexpected_closes = 0;  // server closed while we were open
    uint64_t close_timeouts = 0;
    uint64_t pings = 0;
    uint64_t text_messages = 0;
    uint64_t bytes_read = 0;
    uint64_t reads = 0;
    uint64_t writes = 0;
    uint64_t recycled = 0;  // sessions started on a recycled socket
    // Time spent in polls that found nothing to do (busy-poll mode only):
    // wall time minus this is the generator's real work.
    int64_t idle_ns = 0;
  };

  explicit EventLoop(Options options);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Starts opening `c` (its handler and path must be set); queued while
  // max_pending handshakes are in flight.
  void Open(Connection* c);
  // Sends one binary message; false (and nothing sent) if the connection
  // is not open or its unsent bytes are over the limit.
  bool SendBinary(Connection* c, const uint8_t* data, size_t size);
  // Queues a binary message without writing; Flush() writes all queued
  // messages with one syscall. Same false cases as SendBinary.
  bool QueueBinary(Connection* c, const uint8_t* data, size_t size);
  void Flush(Connection* c);
  // Starts the closing handshake (code 1000); OnClosed follows when the
  // server has closed too, or after close_timeout.
  void Close(Connection* c);
  // Closes the socket at once, without a handshake; OnClosed(clean=false)
  // is not called.
  void Abort(Connection* c);

  // Runs until `tick` returns a negative value or `deadline_ns` passes.
  // `tick(now)` does the caller's timed work and returns when it next wants
  // to be called (it is also called after every batch of events).
  void Run(int64_t deadline_ns, absl::FunctionRef<int64_t(int64_t)> tick);

  const Counters& counters() const { return counters_; }
  size_t live() const { return live_; }

 private:
  void Loop(int64_t deadline_ns, absl::FunctionRef<int64_t(int64_t)> tick);
  void StartConnect(Connection* c, int64_t now);
  // Whether the TCP connection of `fd` has reached the closed state.
  static bool IsClosed(int fd);
  // A fresh socket, set up and bound to the next source address; -1 if
  // that failed.
  int NewSocket();
  // Closes the spare sockets no session took up in this pass: a
  // disconnected socket reports EPOLLHUP until it connects again.
  void DropSpares();
  // Builds the upgrade request into c->out_.
  void PrepareRequest(Connection* c, int64_t now);
  void OnEvent(Connection* c, uint32_t events, int64_t now);
  void OnReadable(Connection* c, uint32_t events, int64_t now);
  // Returns false if the connection was released while processing.
  bool Process(Connection* c, const uint8_t* data, size_t size, int64_t now);
  bool DecodeFrames(Connection* c, const uint8_t* data, size_t size,
                    int64_t now, size_t* consumed);
  void WriteOut(Connection* c);
  void SetWantWrite(Connection* c, bool want);
  bool AppendFrame(Connection* c, Opcode op, const uint8_t* data, size_t size,
                   bool force);
  // Closes the socket and tells the handler (unless `notify` is false).
  void Release(Connection* c, bool clean, bool notify, int64_t now);
  void CheckDeadlines(int64_t now);
  void StartQueued(int64_t now);
  uint32_t NextMask();

  Options options_;
  int epoll_fd_ = -1;
  Counters counters_;
  size_t live_ = 0;       // sockets open
  size_t in_flight_ = 0;  // connecting or handshaking
  size_t next_source_ = 0;
  std::deque<Connection*> queued_;
  std::vector<Connection*> spares_;  // connections holding a spare socket
  // Connections with a deadline (handshaking or closing); swept lazily.
  std::vector<Connection*> watched_;
  int64_t next_sweep_ns_ = 0;
  uint64_t rng_;
  std::vector<uint8_t> read_buf_;
};

}  // namespace cursord::bench

#endif  // CURSORD_BENCH_EVENT_LOOP_H_
