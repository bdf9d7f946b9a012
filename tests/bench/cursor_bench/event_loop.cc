#include "event_loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "handshake.h"

namespace cursord::bench {
namespace {

constexpr size_t kReadBufferSize = 256 * 1024;
constexpr int kMaxEvents = 256;
// Timed work (scheduled sends) is checked again after this many events, so
// a long batch of reads cannot make the generator send late.
constexpr int kEventsPerTimerCheck = 16;
constexpr int64_t kSweepIntervalNs = 100'000'000;
// A read that fills the buffer is retried this often before yielding to
// other connections, so one busy socket cannot starve the rest.
constexpr int kMaxReadsPerEvent = 4;

}  // namespace

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

absl::StatusOr<Target> ParseTarget(const std::string& url) {
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "ws://")) {
    return absl::InvalidArgumentError("only ws:// URLs are supported");
  }
  const size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  absl::string_view path =
      slash == absl::string_view::npos ? "" : rest.substr(slash);
  while (absl::ConsumeSuffix(&path, "/")) {
  }
  absl::string_view host = authority;
  uint32_t port = 80;
  const size_t colon = authority.rfind(':');
  if (colon != absl::string_view::npos) {
    host = authority.substr(0, colon);
    if (!absl::SimpleAtoi(authority.substr(colon + 1), &port) || port == 0 ||
        port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("bad port in ", url));
    }
  }
  Target target;
  target.address.sin_family = AF_INET;
  target.address.sin_port = htons(static_cast<uint16_t>(port));
  const std::string host_str(host);
  if (inet_pton(AF_INET, host_str.c_str(), &target.address.sin_addr) != 1) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* result = nullptr;
    if (getaddrinfo(host_str.c_str(), nullptr, &hints, &result) != 0 ||
        result == nullptr) {
      return absl::NotFoundError(absl::StrCat("cannot resolve ", host_str));
    }
    target.address.sin_addr =
        reinterpret_cast<sockaddr_in*>(result->ai_addr)->sin_addr;
    freeaddrinfo(result);
  }
  target.host_header = std::string(authority);
  target.path_prefix = std::string(path);
  return target;
}

absl::StatusOr<std::vector<in_addr>> ParseSources(const std::string& spec,
                                                  const Target& target,
                                                  int count) {
  std::vector<in_addr> sources;
  if (spec == "auto") {
    const uint32_t dst = ntohl(target.address.sin_addr.s_addr);
    if ((dst >> 24) != 127) return sources;
    for (int i = 0; i < std::clamp(count, 1, 250); ++i) {
      in_addr a;
      a.s_addr = htonl((127u << 24) | static_cast<uint32_t>(i + 1));
      sources.push_back(a);
    }
    return sources;
  }
  if (spec.empty() || spec == "none") return sources;
  for (absl::string_view part : absl::StrSplit(spec, ',', absl::SkipEmpty())) {
    in_addr a;
    const std::string s(absl::StripAsciiWhitespace(part));
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("bad source address ", s));
    }
    sources.push_back(a);
  }
  return sources;
}

EventLoop::EventLoop(Options options)
    : options_(std::move(options)),
      epoll_fd_(epoll_create1(EPOLL_CLOEXEC)),
      rng_(static_cast<uint64_t>(NowNs()) * 0x9E3779B97F4A7C15ull | 1),
      read_buf_(kReadBufferSize) {}

EventLoop::~EventLoop() {
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

uint32_t EventLoop::NextMask() {
  // xorshift64*: masks only need to vary, not to be secret, for a benchmark.
  rng_ ^= rng_ >> 12;
  rng_ ^= rng_ << 25;
  rng_ ^= rng_ >> 27;
  return static_cast<uint32_t>((rng_ * 0x2545F4914F6CDD1Dull) >> 32);
}

void EventLoop::Open(Connection* c) {
  // Always deferred to the end of the current batch of events: a handler
  // reopening a connection from OnClosed must not get a fresh socket while
  // events for the old one may still be pending in the same batch.
  c->state_ = Connection::State::kQueued;
  queued_.push_back(c);
}

void EventLoop::StartQueued(int64_t now) {
  // Only those queued before this call: a connect that fails at once is
  // reopened by its handler, and must wait for the next pass instead of
  // spinning here.
  for (size_t n = queued_.size(); n > 0 && in_flight_ < options_.max_pending; --n) {
    Connection* c = queued_.front();
    queued_.pop_front();
    if (c->state_ != Connection::State::kQueued) continue;
    StartConnect(c, now);
  }
}

int EventLoop::NewSocket() {
  const int fd =
      socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return -1;
  const int one = 1;
  // Cursor frames are tiny and latency-bound; browsers disable Nagle too.
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!options_.sources.empty()) {
    // Defers the port choice to connect(), which may then reuse a port for
    // a different destination; bind() alone would reserve it outright.
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr = options_.sources[next_source_++ % options_.sources.size()];
    if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
      close(fd);
      return -1;
    }
  }
  return fd;
}

void EventLoop::StartConnect(Connection* c, int64_t now) {
  c->in_.clear();
  c->out_.clear();
  c->out_offset_ = 0;
  c->close_sent_ = false;
  c->close_received_ = false;
  c->want_write_ = false;
  c->decoder_ = MessageDecoder();
  // A recycled socket keeps its options (but not the delayed-ACK mode), its
  // source address and its epoll registration (without EPOLLOUT: it had
  // nothing left to send); connect() picks a new port.
  const bool recycled = c->spare_fd_ >= 0;
  const int fd = recycled ? c->spare_fd_ : NewSocket();
  c->spare_fd_ = -1;
  auto fail = [&] {
    if (fd >= 0) close(fd);
    ++counters_.connect_errors;
    c->state_ = Connection::State::kIdle;
    c->handler->OnClosed(c, false, now);
  };
  if (fd < 0) return fail();
  // Delayed-ACK mode from the start: an ACK rides on our next frame instead
  // of leaving as a segment of its own. On loopback every segment costs the
  // sending core a pass through both TCP stacks, and the generator must not
  // be the bottleneck. The kernel still acks on its own timer and rules.
  const int zero = 0;
  setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof zero);
  const Target& target = c->target != nullptr ? *c->target : options_.target;
  const int rc = connect(fd, reinterpret_cast<const sockaddr*>(&target.address),
                         sizeof target.address);
  if (rc != 0 && errno != EINPROGRESS) return fail();
  if (recycled) ++counters_.recycled;
  c->fd_ = fd;
  c->state_ = Connection::State::kConnecting;
  ++live_;
  ++in_flight_;
  c->deadline_ns_ = now + options_.handshake_timeout_ns;
  watched_.push_back(c);
  PrepareRequest(c, now);
  // On loopback the handshake has usually completed inside connect(), so
  // the request goes at once, saving a wake-up and an epoll change per
  // connection. EAGAIN means it has not: EPOLLOUT tells when it has.
  const ssize_t sent = send(fd, c->out_.data(), c->out_.size(), MSG_NOSIGNAL);
  ++counters_.writes;
  if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
    ++counters_.connect_errors;
    Release(c, false, true, now);
    return;
  }
  if (sent > 0) {
    c->out_offset_ = static_cast<size_t>(sent);
    c->state_ = Connection::State::kHandshaking;
  }
  c->want_write_ = c->out_offset_ < c->out_.size();
  if (!c->want_write_) {
    c->out_.clear();
    c->out_offset_ = 0;
  }
  if (recycled && !c->want_write_) return;
  epoll_event ev{};
  ev.data.ptr = c;
  ev.events = EPOLLIN | EPOLLRDHUP | (c->want_write_ ? uint32_t{EPOLLOUT} : 0u);
  epoll_ctl(epoll_fd_, recycled ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
}

bool EventLoop::IsClosed(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  return getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0 &&
         info.tcpi_state == TCP_CLOSE;
}

void EventLoop::DropSpares() {
  for (Connection* c : spares_) {
    if (c->spare_fd_ < 0) continue;
    close(c->spare_fd_);
    c->spare_fd_ = -1;
  }
  spares_.clear();
}

void EventLoop::PrepareRequest(Connection* c, int64_t now) {
  const std::string key = ClientKeyFromNonce(rng_, NextMask() ^ uint64_t(now));
  c->accept_ = core::AcceptKeyFor(key);
  const Target& target = c->target != nullptr ? *c->target : options_.target;
  c->out_ = BuildUpgradeRequest(target.host_header, c->path, key);
  c->out_offset_ = 0;
}

void EventLoop::SetWantWrite(Connection* c, bool want) {
  if (c->want_write_ == want || c->fd_ < 0) return;
  c->want_write_ = want;
  epoll_event ev{};
  ev.data.ptr = c;
  ev.events = EPOLLIN | EPOLLRDHUP | (want ? uint32_t{EPOLLOUT} : 0u);
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd_, &ev);
}

void EventLoop::WriteOut(Connection* c) {
  while (c->out_offset_ < c->out_.size()) {
    const ssize_t n = send(c->fd_, c->out_.data() + c->out_offset_,
                           c->out_.size() - c->out_offset_, MSG_NOSIGNAL);
    ++counters_.writes;
    if (n > 0) {
      c->out_offset_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      SetWantWrite(c, true);
      return;
    }
    // A hard error; the read side will see the reset and release.
    c->out_.clear();
    c->out_offset_ = 0;
    return;
  }
  c->out_.clear();
  c->out_offset_ = 0;
  SetWantWrite(c, false);
}

bool EventLoop::AppendFrame(Connection* c, Opcode op, const uint8_t* data,
                            size_t size, bool force) {
  if (!force && c->pending_out() > options_.max_out_bytes) return false;
  if (c->out_offset_ > 0 && c->out_offset_ == c->out_.size()) {
    c->out_.clear();
    c->out_offset_ = 0;
  }
  AppendClientFrame(op, data, size, NextMask(), &c->out_);
  return true;
}

bool EventLoop::SendBinary(Connection* c, const uint8_t* data, size_t size) {
  if (c->state_ != Connection::State::kOpen) return false;
  if (c->pending_out() == 0 && size <= 125) {
    // The common case: one small frame straight from the stack.
    uint8_t frame[kMaxClientHeader + 125];
    const size_t n = EncodeClientFrame(Opcode::kBinary, data, size, NextMask(), frame);
    const ssize_t sent = send(c->fd_, frame, n, MSG_NOSIGNAL);
    ++counters_.writes;
    if (sent == static_cast<ssize_t>(n)) return true;
    c->out_.assign(reinterpret_cast<const char*>(frame) + (sent > 0 ? sent : 0),
                   n - (sent > 0 ? static_cast<size_t>(sent) : 0));
    c->out_offset_ = 0;
    if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      c->out_.clear();  // reset; the read side releases it
      return true;
    }
    SetWantWrite(c, true);
    return true;
  }
  if (!AppendFrame(c, Opcode::kBinary, data, size, false)) return false;
  if (!c->want_write_) WriteOut(c);
  return true;
}

bool EventLoop::QueueBinary(Connection* c, const uint8_t* data, size_t size) {
  if (c->state_ != Connection::State::kOpen) return false;
  return AppendFrame(c, Opcode::kBinary, data, size, false);
}

void EventLoop::Flush(Connection* c) {
  if (c->fd_ >= 0 && !c->want_write_ && c->pending_out() > 0) WriteOut(c);
}

void EventLoop::Close(Connection* c) {
  if (c->state_ == Connection::State::kQueued) {
    c->state_ = Connection::State::kIdle;
    return;
  }
  if (c->state_ != Connection::State::kOpen) return;
  const uint8_t code[2] = {0x03, 0xE8};  // 1000, normal closure
  AppendFrame(c, Opcode::kClose, code, sizeof code, true);
  c->close_sent_ = true;
  c->state_ = Connection::State::kClosing;
  c->deadline_ns_ = NowNs() + options_.close_timeout_ns;
  watched_.push_back(c);
  if (!c->want_write_) WriteOut(c);
}

void EventLoop::Abort(Connection* c) {
  if (c->state_ == Connection::State::kQueued) {
    c->state_ = Connection::State::kIdle;
    return;
  }
  if (c->fd_ >= 0) Release(c, false, false, 0);
}

void EventLoop::Release(Connection* c, bool clean, bool notify, int64_t now) {
  if (c->state_ == Connection::State::kConnecting ||
      c->state_ == Connection::State::kHandshaking) {
    --in_flight_;
  }
  if (c->fd_ >= 0 && clean && options_.recycle_sockets && !c->want_write_ &&
      shutdown(c->fd_, SHUT_WR) == 0 && IsClosed(c->fd_)) {
    // shutdown() sent the FIN close() would send, and the server's ACK has
    // ended the connection already (on loopback it is processed within the
    // call). connect(AF_UNSPEC) makes the socket ready to connect again.
    // Had the ACK not come yet, close() below lets the kernel finish.
    sockaddr unspec{};
    unspec.sa_family = AF_UNSPEC;
    if (connect(c->fd_, &unspec, sizeof unspec) == 0) {
      c->spare_fd_ = c->fd_;
      spares_.push_back(c);
      c->fd_ = -1;
      --live_;
    }
  }
  if (c->fd_ >= 0) {
    // close() drops the epoll registration with the last reference.
    close(c->fd_);
    c->fd_ = -1;
    --live_;
  }
  c->state_ = Connection::State::kIdle;
  c->in_.clear();
  c->in_.shrink_to_fit();
  c->out_.clear();
  c->out_.shrink_to_fit();
  c->out_offset_ = 0;
  c->want_write_ = false;
  if (notify) c->handler->OnClosed(c, clean, now);
}

void EventLoop::OnEvent(Connection* c, uint32_t events, int64_t now) {
  if (c->fd_ < 0) return;  // released earlier in this batch
  if (c->state_ == Connection::State::kConnecting) {
    // A failed connect reports an error or hang-up; no need to ask for
    // SO_ERROR on every connection.
    if (events & (EPOLLERR | EPOLLHUP)) {
      ++counters_.connect_errors;
      Release(c, false, true, now);
      return;
    }
    if (events & (EPOLLOUT | EPOLLIN)) {
      // Connected: the request prepared in Connect() goes now.
      c->state_ = Connection::State::kHandshaking;
      WriteOut(c);
    }
    return;
  }
  if (events & EPOLLOUT) {
    WriteOut(c);
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    OnReadable(c, events, now);
  }
}

void EventLoop::OnReadable(Connection* c, uint32_t events, int64_t now) {
  for (int i = 0; i < kMaxReadsPerEvent; ++i) {
    const ssize_t n = read(c->fd_, read_buf_.data(), read_buf_.size());
    ++counters_.reads;
    if (n > 0) {
      counters_.bytes_read += static_cast<uint64_t>(n);
      if (!Process(c, read_buf_.data(), static_cast<size_t>(n), now)) return;
      if (static_cast<size_t>(n) == read_buf_.size()) continue;
      // A short read drained the socket. If the server's FIN had come
      // before this event was reported, no byte can follow: that is EOF,
      // known without one more read.
      if ((events & EPOLLRDHUP) == 0) return;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    }
    // EOF or reset.
    if (c->state_ == Connection::State::kConnecting ||
        c->state_ == Connection::State::kHandshaking) {
      ++counters_.handshake_errors;
      Release(c, false, true, now);
    } else if (c->close_sent_) {
      Release(c, c->close_received_, true, now);
    } else {
      ++counters_.unexpected_closes;
      Release(c, false, true, now);
    }
    return;
  }
}

bool EventLoop::Process(Connection* c, const uint8_t* data, size_t size,
                        int64_t now) {
  if (c->state_ == Connection::State::kHandshaking) {
    c->in_.append(reinterpret_cast<const char*>(data), size);
    absl::StatusOr<size_t> head = ParseUpgradeResponse(c->in_, c->accept_);
    if (!head.ok()) {
      ++counters_.handshake_errors;
      Release(c, false, true, now);
      return false;
    }
    if (*head == 0) return true;
    --in_flight_;
    c->state_ = Connection::State::kOpen;
    c->in_.erase(0, *head);
    c->handler->OnOpen(c, now);
    if (c->fd_ < 0) return false;
    if (c->in_.empty()) return true;
    std::string rest;
    rest.swap(c->in_);
    size_t consumed = 0;
    if (!DecodeFrames(c, reinterpret_cast<const uint8_t*>(rest.data()),
                      rest.size(), now, &consumed)) {
      return false;
    }
    c->in_.append(rest, consumed, std::string::npos);
    return true;
  }
  if (c->in_.empty()) {
    // Fast path: frames decoded straight from the read buffer; only a
    // trailing partial frame is copied.
    size_t consumed = 0;
    if (!DecodeFrames(c, data, size, now, &consumed)) return false;
    if (consumed < size) {
      c->in_.assign(reinterpret_cast<const char*>(data) + consumed,
                    size - consumed);
    }
    return true;
  }
  c->in_.append(reinterpret_cast<const char*>(data), size);
  std::string buffered;
  buffered.swap(c->in_);
  size_t consumed = 0;
  if (!DecodeFrames(c, reinterpret_cast<const uint8_t*>(buffered.data()),
                    buffered.size(), now, &consumed)) {
    return false;
  }
  c->in_.append(buffered, consumed, std::string::npos);
  return true;
}

bool EventLoop::DecodeFrames(Connection* c, const uint8_t* data, size_t size,
                             int64_t now, size_t* consumed) {
  bool released = false;
  absl::StatusOr<size_t> n = c->decoder_.Decode(
      data, size, [&](Opcode op, const uint8_t* payload, size_t len) {
        if (released || c->fd_ < 0) {
          released = true;
          return;
        }
        switch (op) {
          case Opcode::kBinary:
            if (c->state_ == Connection::State::kOpen ||
                c->state_ == Connection::State::kClosing) {
              c->handler->OnBinary(c, payload, len, now);
            }
            break;
          case Opcode::kText:
            ++counters_.text_messages;
            break;
          case Opcode::kPing:
            ++counters_.pings;
            if (!c->close_sent_) {
              AppendFrame(c, Opcode::kPong, payload, len, true);
              if (!c->want_write_) WriteOut(c);
            }
            break;
          case Opcode::kClose:
            c->close_received_ = true;
            if (!c->close_sent_) {
              // Echo the code (RFC 6455 5.5.1), then wait for the server to
              // close TCP first so the TIME_WAIT state lands on its side.
              AppendFrame(c, Opcode::kClose, payload, std::min<size_t>(len, 2),
                          true);
              c->close_sent_ = true;
              if (c->state_ == Connection::State::kOpen) {
                ++counters_.unexpected_closes;
              }
              c->state_ = Connection::State::kClosing;
              c->deadline_ns_ = now + options_.close_timeout_ns;
              watched_.push_back(c);
              if (!c->want_write_) WriteOut(c);
            }
            break;
          default:
            break;
        }
        if (c->fd_ < 0) released = true;
      });
  if (released || c->fd_ < 0) return false;
  if (!n.ok()) {
    ++counters_.protocol_errors;
    Release(c, false, true, now);
    return false;
  }
  *consumed = *n;
  return true;
}

void EventLoop::CheckDeadlines(int64_t now) {
  if (now < next_sweep_ns_) return;
  next_sweep_ns_ = now + kSweepIntervalNs;
  size_t keep = 0;
  for (size_t i = 0; i < watched_.size(); ++i) {
    Connection* c = watched_[i];
    const bool handshaking = c->state_ == Connection::State::kConnecting ||
                             c->state_ == Connection::State::kHandshaking;
    const bool closing = c->state_ == Connection::State::kClosing;
    if (c->fd_ < 0 || (!handshaking && !closing)) continue;
    if (now < c->deadline_ns_) {
      watched_[keep++] = c;
      continue;
    }
    if (handshaking) {
      ++counters_.handshake_timeouts;
    } else {
      ++counters_.close_timeouts;
    }
    Release(c, false, true, now);
  }
  watched_.resize(keep);
  // Deduplicate: a connection can be pushed again when it changes state.
  std::sort(watched_.begin(), watched_.end());
  watched_.erase(std::unique(watched_.begin(), watched_.end()), watched_.end());
}

void EventLoop::Run(int64_t deadline_ns,
                    absl::FunctionRef<int64_t(int64_t)> tick) {
  Loop(deadline_ns, tick);
  // The owner may free its connections once Run returns.
  DropSpares();
}

void EventLoop::Loop(int64_t deadline_ns,
                     absl::FunctionRef<int64_t(int64_t)> tick) {
  epoll_event events[kMaxEvents];
  int64_t now = NowNs();
  for (;;) {
    StartQueued(now);
    int64_t wake = tick(now);
    if (wake < 0) return;
    StartQueued(now);
    DropSpares();
    now = NowNs();
    if (now >= deadline_ns) return;
    int64_t until = std::min(wake, deadline_ns);
    if (!watched_.empty()) until = std::min(until, next_sweep_ns_);
    const int64_t wait_ns =
        options_.busy_poll ? 0 : std::max<int64_t>(0, until - now);
    timespec timeout{static_cast<time_t>(wait_ns / 1'000'000'000),
                     static_cast<long>(wait_ns % 1'000'000'000)};
    const int64_t before = now;
    const int n = epoll_pwait2(epoll_fd_, events, kMaxEvents, &timeout, nullptr);
    now = NowNs();
    if (options_.busy_poll && n <= 0 && wake > now) {
      counters_.idle_ns += now - before;
    }
    bool stop = false;
    for (int i = 0; i < n; ++i) {
      // Stamped per event: a receive is timed when it is read, not when the
      // batch it came in started.
      now = NowNs();
      if (!stop && i > 0 && i % kEventsPerTimerCheck == 0 && now >= wake) {
        wake = tick(now);
        stop = wake < 0;
      }
      OnEvent(static_cast<Connection*>(events[i].data.ptr), events[i].events, now);
    }
    if (stop) return;
    CheckDeadlines(now);
  }
}

}  // namespace cursord::bench
