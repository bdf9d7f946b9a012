#include "server/edge/ws_session.h"

#include <sys/socket.h>

#include <cerrno>

#include <boost/asio/write.hpp>

#include "server/common/logging.h"
#include "server/core/wire.h"
#include "server/core/ws_handshake.h"
#include "server/edge/cluster_relay.h"
#include "server/edge/shard.h"

namespace cursord::edge {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

// A busy connection keeps its write buffer between writes, up to this size.
constexpr size_t kMaxBusyWriteBuffer = 16 * 1024;

std::chrono::nanoseconds ToChrono(absl::Duration d) { return absl::ToChronoNanoseconds(d); }

// A duration as the histograms count it (microseconds, milliseconds).
uint64_t Micros(WsSession::Clock::duration d) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}
uint64_t Millis(WsSession::Clock::duration d) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

}  // namespace

WsSession::WsSession(Shard& shard, tcp::socket socket, AdmittedJoin join)
    : shard_(shard),
      counters_(shard.counters()),
      socket_(std::move(socket)),
      request_(std::move(join.request)),
      remote_address_(std::move(join.remote_address)),
      slot_(std::move(join.slot)),
      parser_(shard.options().max_frame_bytes),
      limiter_(core::InputLimiter::Options{shard.options().max_message_rate,
                                           shard.options().message_burst},
               Clock::now()),
      last_read_(Clock::now()),
      requested_at_(join.requested_at),
      protocol_(join.subprotocol == core::kSubprotocolV2 ? core::ProtocolVersion::kV2
                                                         : core::ProtocolVersion::kV1) {
  set_protocol(protocol_);
}

WsSession::~WsSession() = default;

void WsSession::Start(std::string_view response_head,
                      std::optional<core::JoinTokenRefusal> token_refusal) {
  shard_.AddSession(this);
  counters_.sessions.Add();
  counters_.connections_accepted.Add();
  // The 101 goes first, in the same write as the join frames behind it.
  outbox.PushRaw(response_head);
  Wake();
  if (shard_.stopping()) {
    DoRead();
    Close(core::kCloseGoingAway, "server shutting down", counters_.closes_shutdown);
    return;
  }
  if (token_refusal) {
    // The upgrade was accepted so that a browser can read why it may not
    // join (an HTTP refusal reaches a page only as 1006).
    CURSORD_CLIENT_LOG(shard_, kInfo)
        << "join token refused: " << core::JoinTokenCloseReason(*token_refusal)
        << " room=" << request_.room << " peer=" << remote_address_;
    DoRead();
    Close(static_cast<uint16_t>(core::JoinTokenCloseCode(*token_refusal)),
          core::JoinTokenCloseReason(*token_refusal), counters_.TokenRefused(*token_refusal));
    return;
  }
  core::Room* room = shard_.FindOrCreateRoom(request_.room);
  if (room == nullptr) {
    DoRead();
    Close(core::kCloseTryAgainLater, "too many rooms on this server", counters_.closes_room_limit);
    return;
  }
  core::MemberIdentity identity{request_.user_id, request_.name, request_.color, remote_address_};
  if (ClusterRelay* relay = shard_.relay()) {
    // The id comes from Redis. Reading starts once it is known, so that
    // the client's first messages find it a member (they wait in the
    // socket meanwhile).
    joining_ = true;
    relay->BeginJoin(shared_from_this(), *room, std::move(identity));
    return;
  }
  DoRead();
  std::optional<uint8_t> id = room->Join(this, std::move(identity), absl::Now());
  if (!id) {
    CURSORD_CLIENT_LOG(shard_, kInfo) << "room full: room=" << request_.room
                                      << " peer=" << remote_address_;
    Close(core::kCloseTryAgainLater, "room full (" + std::to_string(room->member_count()) + " members)",
          counters_.closes_full);
    // Nobody joined: a room created for this join goes again.
    shard_.ReleaseRoomIfEmpty(*room);
    return;
  }
  room_ = room;
  member_id_ = *id;
  joined_at_ = Clock::now();
  RecordActivity(core::ActivityKind::kJoined);
  CURSORD_LOG(kDebug) << "join room=" << request_.room << " id="
                      << int{member_id_} << " peer=" << remote_address_;
}

void WsSession::JoinedCluster(core::Room& room, core::ClusterRoom& cluster, uint8_t id) {
  joining_ = false;
  room_ = &room;
  cluster_ = &cluster;
  member_id_ = id;
  joined_at_ = Clock::now();
  RecordActivity(core::ActivityKind::kJoined);
  CURSORD_LOG(kDebug) << "join room=" << request_.room << " id=" << int{member_id_}
                      << " peer=" << remote_address_ << " (cluster)";
  DoRead();
}

void WsSession::JoinRefused(uint16_t code, std::string_view reason, core::Counter& counter) {
  Close(code, reason, counter);
}

void WsSession::DoRead() {
  // Wait for readability rather than reading into a per-session buffer:
  // the bytes go into the shard's shared buffer, so an idle connection
  // holds none.
  socket_.async_wait(tcp::socket::wait_read,
                     [self = shared_from_this()](const boost::system::error_code& ec) {
                       self->OnReadable(ec);
                     });
}

void WsSession::OnReadable(const boost::system::error_code& ec) {
  if (close_.terminated()) return;
  ssize_t n = -1;
  if (!ec) {
    // MSG_DONTWAIT: never block, without telling the socket object it is
    // non-blocking (which costs an ioctl per connection). The descriptor
    // is non-blocking anyway since the HTTP phase's async read.
    n = ::recv(socket_.native_handle(), shard_.read_buffer(), shard_.read_buffer_size(),
               MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      DoRead();
      return;
    }
  }
  if (n <= 0) {  // an error, or EOF
    if (close_.open()) counters_.closes_lost.Add();
    Terminate();
    return;
  }
  if (!Consume(shard_.read_buffer(), static_cast<size_t>(n))) return;
  // After the client's close frame nothing more may come (RFC 6455 5.5.1):
  // what is left is our side of the close, bounded by Tick.
  if (!close_.peer_closed()) DoRead();
}

bool WsSession::Consume(uint8_t* data, size_t n) {
  counters_.bytes_in.Add(n);
  last_read_ = Clock::now();
  ping_outstanding_ = false;  // any traffic proves the peer alive
  if (discard_input_) return true;
  const core::FrameParser::Result result = parser_.Consume(data, n, *this);
  if (close_.terminated()) return false;
  if (!result.ok && close_.open()) {
    core::Counter& counter = result.close_code == core::kCloseTooBig ? counters_.closes_too_big
                             : result.close_code == core::kCloseInvalidPayload
                                 ? counters_.closes_invalid_payload
                                 : counters_.closes_protocol;
    CURSORD_CLIENT_LOG(shard_, kInfo) << "closing " << remote_address_ << " room=" << request_.room << ": "
                       << result.close_code << " " << result.reason;
    // The stream can no longer be parsed: ignore what follows and drop
    // the connection once our close frame is out.
    discard_input_ = true;
    Close(result.close_code, result.reason, counter);
  } else if (!result.ok) {
    discard_input_ = true;  // garbage after our close frame: wait for EOF
  }
  return !close_.terminated();
}

void WsSession::OnMessage(core::Opcode opcode, const uint8_t* data, size_t size) {
  // Once closing, messages are ignored but parsing goes on, so that the
  // client's close frame behind them is seen.
  if (!close_.open()) return;
  if (opcode == core::Opcode::kText) {
    CURSORD_CLIENT_LOG(shard_, kInfo) << "closing " << remote_address_ << " room=" << request_.room
                       << ": 1003 text frame";
    Close(core::kCloseUnsupportedData, "text frames are not accepted; the protocol is binary",
          counters_.closes_text);
    return;
  }
  counters_.messages_in.Add();
  core::ClientMessage message;
  core::DecodeError error = core::DecodeError::kNone;
  const bool decoded = core::DecodeClientMessage(data, size, &message, &error, protocol_);
  if (!decoded) {
    switch (error) {
      case core::DecodeError::kEmpty: counters_.ignored_empty.Add(); break;
      case core::DecodeError::kTooShort: counters_.ignored_short.Add(); break;
      default: counters_.ignored_unknown.Add(); break;
    }
    CURSORD_LOG(kDebug) << "ignored message from " << remote_address_ << " type="
                        << (size ? int{data[0]} : -1) << " size=" << size;
  } else if (message.kind == core::ClientMessage::Kind::kState &&
             message.state.size() > shard_.options().max_state_bytes) {
    CURSORD_CLIENT_LOG(shard_, kInfo) << "closing " << remote_address_ << " room=" << request_.room
                       << ": 1009 state too large (" << message.state.size() << " bytes, limit "
                       << shard_.options().max_state_bytes << ")";
    Close(core::kCloseTooBig, "state too large", counters_.closes_too_big);
    return;
  }
  HandleMessage(message, decoded);
}

void WsSession::HandleMessage(const core::ClientMessage& message, bool decoded) {
  using Verdict = core::InputLimiter::Verdict;
  const Clock::time_point now = last_read_;  // when these bytes were read
  Verdict verdict;
  if (!decoded) {
    verdict = limiter_.OnOther(now);
  } else if (message.kind == core::ClientMessage::Kind::kCursor) {
    verdict = limiter_.OnMove(now, message.x, message.y);
  } else if (message.kind == core::ClientMessage::Kind::kState) {
    verdict = limiter_.OnState(now, message.state);
  } else {
    verdict = limiter_.OnClick(now, message.kind == core::ClientMessage::Kind::kClickStart);
  }
  switch (verdict) {
    case Verdict::kDeferred:
      counters_.messages_rate_limited.Add();
      return;
    case Verdict::kAbuse:
      counters_.messages_rate_limited.Add();
      CURSORD_CLIENT_LOG(shard_, kInfo) << "closing " << remote_address_ << " room=" << request_.room
                         << ": 1008 message rate limit exceeded";
      Close(core::kClosePolicyViolation, "message rate limit exceeded",
            counters_.closes_rate_limited);
      return;
    case Verdict::kApply:
      break;
  }
  if (!decoded) return;
  if (limiter_.has_deferred()) ApplyDeferred(limiter_.TakeDeferred());
  const absl::Time time = absl::Now();
  switch (message.kind) {
    case core::ClientMessage::Kind::kCursor:
      MoveTo(message.x, message.y, time);
      break;
    case core::ClientMessage::Kind::kClickStart:
      SetClick(true, time);
      break;
    case core::ClientMessage::Kind::kClickStop:
      SetClick(false, time);
      break;
    case core::ClientMessage::Kind::kState:
      SetState(message.state, time);
      break;
  }
}

void WsSession::ApplyDeferred(const core::InputLimiter::Deferred& deferred) {
  // In the order they happened: where the click was, the click, where the
  // member is now.
  const absl::Time time = absl::Now();
  if (deferred.move_before) MoveTo(deferred.move_before->x, deferred.move_before->y, time);
  if (deferred.state_before) SetState(*deferred.state_before, time);
  if (deferred.click && room_->clicking(member_id_) != *deferred.click) {
    SetClick(*deferred.click, time);
  }
  if (deferred.move_after) MoveTo(deferred.move_after->x, deferred.move_after->y, time);
  if (deferred.state_after) SetState(*deferred.state_after, time);
}

void WsSession::MoveTo(uint16_t x, uint16_t y, absl::Time time) {
  room_->Cursor(member_id_, x, y, time);
  if (cluster_ != nullptr) shard_.relay()->OnLocalMove(*cluster_, request_.room, member_id_);
}

void WsSession::SetState(std::string_view state, absl::Time time) {
  room_->SetState(member_id_, state, time);
  if (cluster_ != nullptr) shard_.relay()->OnLocalState(*cluster_, request_.room, member_id_);
}

void WsSession::SetClick(bool down, absl::Time time) {
  room_->Click(member_id_, down, time);
  if (cluster_ != nullptr) shard_.relay()->OnLocalClick(*cluster_, request_.room, member_id_, down);
}

void WsSession::OnPing(const uint8_t* data, size_t size) {
  if (!close_.open()) return;
  std::string pong;
  core::AppendFrame(pong, core::Opcode::kPong,
                    std::string_view(reinterpret_cast<const char*>(data), size));
  outbox.PushEvent(pong);
  Wake();
}

void WsSession::OnPong() { ping_outstanding_ = false; }

void WsSession::OnClose(uint16_t code, std::string_view reason) {
  switch (close_.OnPeerClose()) {
    case core::CloseHandshake::PeerCloseStep::kEcho:
      counters_.closes_client.Add();
      end_decided_ = true;
      end_reason_ = core::EndReason::kLeft;
      end_code_ = code;
      // Echo the status code, as RFC 6455 5.5.1 suggests.
      Close(code == core::kCloseNoStatus ? core::kCloseNormal : code, "",
            counters_.closes_client, /*count=*/false);
      break;
    case core::CloseHandshake::PeerCloseStep::kWaitForOurs:
      // Theirs crossed ours, which is still to be written: the flush that
      // writes it ends the connection.
      break;
    case core::CloseHandshake::PeerCloseStep::kTerminate:
      Terminate();  // the answer to our close frame
      break;
  }
}

void WsSession::Close(uint16_t code, std::string_view reason, core::Counter& counter,
                      bool count) {
  // A session whose join waits for Redis is not reading yet: it starts
  // now, so that the client's close frame answers ours.
  const bool was_waiting = awaiting_join();
  if (!close_.Begin(Clock::now())) return;
  if (!end_decided_) {
    end_decided_ = true;
    end_reason_ = core::EndReasonForServerClose(code, reason);
    end_code_ = code;
  }
  if (was_waiting) {
    joining_ = false;
    DoRead();
  }
  if (count) counter.Add();
  LeaveRoom();
  std::string frame;
  core::AppendCloseFrame(frame, code, reason);
  outbox.PushEvent(frame);
  Wake();
}

void WsSession::ScheduleFlush() {
  // Called once per flush cycle (Wake), so one clock read per write.
  if (pending_since_ == Clock::time_point{}) pending_since_ = Clock::now();
  shard_.ScheduleFlush(shared_from_this());
}

void WsSession::Kick(uint16_t code, std::string_view reason) {
  kicked_ = true;
  Close(code, reason,
        code == core::kCloseRoomClosed ? counters_.closes_room_closed : counters_.closes_kicked);
}

void WsSession::ScheduleBatchedFlush() {
  if (pending_since_ == Clock::time_point{}) pending_since_ = Clock::now();
  shard_.ScheduleBatchedFlush(shared_from_this());
}

void WsSession::Flush() {
  if (close_.terminated()) return;
  if (writing_) {
    // The socket has not taken the previous write yet. Positions coalesce
    // for free; events pile up, so they are bounded.
    if (close_.open() && outbox.pending_event_bytes() > shard_.options().max_pending_bytes) {
      CloseSlowConsumer("slow consumer: too many undelivered events");
    }
    return;
  }
  inflight_.clear();
  const size_t frames = outbox.Drain(inflight_, room_ ? room_->tables() : core::RoomTables{});
  const Clock::time_point queued_at = pending_since_;
  pending_since_ = {};  // everything queued is in inflight_ now
  if (inflight_.empty()) return;
  const Clock::time_point now = Clock::now();
  counters_.messages_out.Add(frames);
  counters_.writes.Add();
  counters_.bytes_out.Add(inflight_.size());
  counters_.write_bytes.Observe(inflight_.size());
  if (queued_at != Clock::time_point{}) counters_.delivery_lag.Observe(Micros(now - queued_at));
  // The first write after the join carries the join sequence (the room's
  // members, after the 101 or, with --redis, after Redis answered).
  if (room_ != nullptr && requested_at_ != Clock::time_point{}) {
    counters_.join_latency.Observe(Micros(now - requested_at_));
    requested_at_ = {};
  }
  if (close_.last_bytes_known() && WriteLast()) return;
  writing_ = true;
  write_started_ = now;
  net::async_write(socket_, net::buffer(inflight_),
                   [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
                     self->OnWrite(ec, n);
                   });
}

bool WsSession::WriteLast() {
  // Both close frames are known: these are the connection's last bytes.
  // MSG_MORE holds them back so that close() sends them in one segment
  // with the FIN, instead of two.
  const ssize_t r = ::send(socket_.native_handle(), inflight_.data(), inflight_.size(),
                           MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE);
  if (r == static_cast<ssize_t>(inflight_.size())) {
    close_.OnOursWritten();  // theirs is in: the connection ends here
    Terminate();
    return true;
  }
  if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    Terminate();
    return true;
  }
  // The socket took part or none of it: the rest goes the usual way.
  if (r > 0) inflight_.erase(0, static_cast<size_t>(r));
  return false;
}

void WsSession::OnWrite(const boost::system::error_code& ec, size_t bytes) {
  writing_ = false;
  if (close_.terminated()) return;
  if (ec) {
    if (close_.open()) counters_.closes_lost.Add();
    Terminate();
    return;
  }
  if (!outbox.empty()) {
    // Whatever arrived during the write goes out in the next round, as the
    // newest state (through the round, so that the shard's pacing holds).
    // The buffer is kept for it, unless a burst made it large.
    if (inflight_.capacity() > kMaxBusyWriteBuffer) std::string().swap(inflight_);
    Wake();
    return;
  }
  // Nothing more to send: an idle connection keeps no write buffer (one
  // allocation per busy spell is nothing next to the system call).
  std::string().swap(inflight_);
  // Nothing is queued after our close frame: once the outbox is empty, it
  // is out.
  if (close_.state() == core::CloseHandshake::State::kClosing) {
    switch (close_.OnOursWritten()) {
      case core::CloseHandshake::WrittenStep::kTerminate:
        Terminate();
        return;
      case core::CloseHandshake::WrittenStep::kShutdownSend: {
        // No more data from us. Closing the socket now would make the
        // kernel answer the client's close frame with a reset, which can
        // destroy our close frame unread; so send FIN and wait (bounded by
        // Tick) for the client's close frame or EOF.
        boost::system::error_code shutdown_ec;
        socket_.shutdown(tcp::socket::shutdown_send, shutdown_ec);
        return;
      }
    }
  }
}

void WsSession::CloseSlowConsumer(std::string_view reason) {
  CURSORD_CLIENT_LOG(shard_, kWarning) << "closing slow consumer " << remote_address_
                        << " room=" << request_.room << ": " << reason;
  // What it has not taken is of no use to it any more.
  outbox.Clear();
  Close(core::kClosePolicyViolation, reason, counters_.closes_slow);
}

void WsSession::Tick(Clock::time_point now) {
  if (close_.terminated()) return;
  const ServerOptions& options = shard_.options();
  if (!close_.open()) {
    if (close_.Expired(now)) {
      counters_.close_timeouts.Add();
      Terminate();
    }
    return;
  }
  if (writing_ && now - write_started_ >= ToChrono(options.send_timeout)) {
    CloseSlowConsumer("slow consumer: a write was not taken in time");
    return;
  }
  // What the rate limit kept aside reaches the room within a tick of the
  // flood's end.
  core::InputLimiter::Deferred deferred;
  if (room_ != nullptr && limiter_.TakeDeferredIfAllowed(now, &deferred)) {
    ApplyDeferred(deferred);
  }
  const auto ping_interval = ToChrono(options.ping_interval);
  if (ping_outstanding_) {
    if (now - ping_sent_ >= ping_interval) {
      Close(core::kClosePolicyViolation, "ping timeout", counters_.closes_ping);
    }
    return;
  }
  if (now - last_read_ >= ping_interval) {
    std::string ping;
    core::AppendFrame(ping, core::Opcode::kPing, "");
    outbox.PushEvent(ping);
    ping_outstanding_ = true;
    ping_sent_ = now;
    Wake();
  }
}

void WsSession::RecordActivity(core::ActivityKind kind) {
  ActivityLog& log = shard_.activity();
  core::ActivityRecord record;
  record.kind = kind;
  record.time = absl::Now();
  if (kind == core::ActivityKind::kJoined) {
    session_id_ = log.NewSessionId();
    joined_time_ = record.time;
  } else {
    record.reason = end_reason_;
    record.close_code = end_code_;
  }
  record.session_id = session_id_;
  record.room = request_.room;
  record.member_id = member_id_;
  record.user_id = request_.user_id;
  record.name = request_.name;
  record.color = request_.color;
  record.instance = log.instance();
  record.remote_address = remote_address_;
  record.connected_at = joined_time_;
  log.Record(std::move(record));
}

void WsSession::LeaveRoom() {
  if (room_ == nullptr) return;
  RecordActivity(core::ActivityKind::kLeft);
  core::Room* room = room_;
  room_ = nullptr;
  room->Leave(member_id_, absl::Now());
  if (cluster_ != nullptr) {
    shard_.relay()->OnLocalLeave(
        *cluster_, request_.room, member_id_,
        kicked_ ? backplane::LeaveReason::kKicked : backplane::LeaveReason::kClosed);
    cluster_ = nullptr;
  }
  shard_.ReleaseRoomIfEmpty(*room);
}

void WsSession::Terminate() {
  if (close_.terminated()) return;
  close_.Terminate();
  if (joined_at_ != Clock::time_point{}) {
    counters_.session_duration.Observe(Millis(Clock::now() - joined_at_));
  }
  LeaveRoom();
  outbox.Clear();
  // No shutdown first: close() sends the FIN (or, with bytes left unread,
  // a reset, as a shutdown would too).
  boost::system::error_code ec;
  socket_.close(ec);
  shard_.RemoveSession(this);
  counters_.sessions.Sub();
}

}  // namespace cursord::edge
