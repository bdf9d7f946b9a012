// One WebSocket connection after its upgrade: reads and parses client
// frames, feeds the room, and writes its outbox in one write per flush.
//
// Thread ownership: created on, and only ever touched by, the thread of
// the shard that owns its room. Every async operation holds a shared_ptr
// to the session (Beast's chat-server shape).
#ifndef CURSORD_EDGE_WS_SESSION_H_
#define CURSORD_EDGE_WS_SESSION_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>

#include "server/core/activity.h"
#include "server/core/admission.h"
#include "server/core/close_handshake.h"
#include "server/core/cluster_room.h"
#include "server/core/input_limiter.h"
#include "server/core/join_request.h"
#include "server/core/room.h"
#include "server/core/wire.h"
#include "server/core/ws_frame.h"
#include "server/edge/join_gate.h"

namespace cursord::edge {

class Shard;
struct ShardCounters;

class WsSession final : public std::enable_shared_from_this<WsSession>,
                        public core::RoomMember,
                        private core::FrameHandler {
 public:
  using Clock = std::chrono::steady_clock;

  WsSession(Shard& shard, boost::asio::ip::tcp::socket socket, AdmittedJoin join);
  ~WsSession() override;

  // Queues `response_head` (the 101 response) as the first bytes out, joins
  // the room (or closes: with the token's 44xx code when `token_refusal` is
  // set, with 1013 when the room is full or no room may be created) and
  // starts reading.
  void Start(std::string_view response_head,
             std::optional<core::JoinTokenRefusal> token_refusal = std::nullopt);

  // Server-initiated close: leaves the room, sends a close frame with
  // `code` and `reason` after what is already queued, then waits (bounded)
  // for the client's close. `counter` counts why. Idempotent.
  void Close(uint16_t code, std::string_view reason, core::Counter& counter,
             bool count = true);

  // Writes what the outbox holds, unless a write is in flight (its
  // completion writes again). Called by the shard's flush round.
  void Flush();

  // Called every second by the shard: pings, ping timeouts, stuck writes,
  // unfinished close handshakes.
  void Tick(Clock::time_point now);

  // The cluster's answer to a join (ClusterRelay): the session is member
  // `id` of `room` and starts reading; or it is refused and closed.
  void JoinedCluster(core::Room& room, core::ClusterRoom& cluster, uint8_t id);
  void JoinRefused(uint16_t code, std::string_view reason, core::Counter& counter);
  // Open, and its join not answered yet.
  bool awaiting_join() const { return joining_ && close_.open(); }

  // core::RoomMember
  void ScheduleFlush() override;
  void ScheduleBatchedFlush() override;
  void Kick(uint16_t code, std::string_view reason) override;

  // When the last write began (the epoch if none did).
  Clock::time_point last_write_started() const { return write_started_; }

  bool in_room() const { return room_ != nullptr; }
  uint8_t member_id() const { return member_id_; }
  const std::string& room_id() const { return request_.room; }
  const std::string& user_id() const { return request_.user_id; }

 private:
  void DoRead();
  void OnReadable(const boost::system::error_code& ec);
  // Parses (and unmasks in place) `n` bytes read. Returns false once the
  // session is terminated.
  bool Consume(uint8_t* data, size_t n);
  // Writes inflight_, the connection's last bytes, so that they leave with
  // the FIN, and terminates. Returns false if the socket did not take them
  // all at once (the rest is left in inflight_ for a normal write).
  bool WriteLast();
  void OnWrite(const boost::system::error_code& ec, size_t bytes);
  // Leaves the room if still in it.
  void LeaveRoom();
  // Ends the connection now: closes the socket, unregisters from the shard.
  void Terminate();
  // Drops what the client has not taken and closes it with 1008.
  void CloseSlowConsumer(std::string_view reason);

  // core::FrameHandler
  void OnMessage(core::Opcode opcode, const uint8_t* data, size_t size) override;
  void OnPing(const uint8_t* data, size_t size) override;
  void OnPong() override;
  void OnClose(uint16_t code, std::string_view reason) override;

  // This member's move and press, into the room and, when the room spans
  // instances, to the relay.
  void MoveTo(uint16_t x, uint16_t y, absl::Time time);
  void SetClick(bool down, absl::Time time);
  // Protocol v2: the member's state, to its room (and the cluster).
  void SetState(std::string_view state, absl::Time time);

  // Connection records: this session's join and its leave.
  void RecordActivity(core::ActivityKind kind);

  // A decoded client message, through the rate limit into the room.
  void HandleMessage(const core::ClientMessage& message, bool decoded);
  // Applies what the rate limit kept aside, in the order it happened.
  void ApplyDeferred(const core::InputLimiter::Deferred& deferred);

  Shard& shard_;
  ShardCounters& counters_;
  boost::asio::ip::tcp::socket socket_;
  core::JoinRequest request_;
  std::string remote_address_;
  // Its place among --max-connections; released with the session.
  core::Admission::Slot slot_;

  core::Room* room_ = nullptr;  // null before joining and after leaving
  // Beside room_ when the room spans instances (--redis); else null.
  core::ClusterRoom* cluster_ = nullptr;
  uint8_t member_id_ = 0;
  bool joining_ = false;  // its join waits for Redis (not reading yet)
  bool kicked_ = false;  // closed by the control plane (the leave's reason)
  // Why the session ended, for its connection record: decided by the
  // first close frame (the client's or ours); a connection that ends
  // without one was lost.
  bool end_decided_ = false;
  core::EndReason end_reason_ = core::EndReason::kConnectionLost;
  uint16_t end_code_ = core::kCloseAbnormal;
  std::string session_id_;  // given when it joins
  absl::Time joined_time_;
  core::FrameParser parser_;
  core::InputLimiter limiter_;
  std::string inflight_;  // the bytes of the write in flight

  bool writing_ = false;
  core::CloseHandshake close_;  // how the session closes: its one owner
  bool ping_outstanding_ = false;
  bool discard_input_ = false;  // after a protocol error: parse nothing more
  Clock::time_point last_read_;
  Clock::time_point write_started_{};
  // For the histograms (ShardCounters): when the upgrade request was read
  // (cleared once the join latency is observed), when the session joined
  // its room (the epoch if it never did), and when the oldest bytes not
  // yet handed to a write were queued (the epoch when none wait).
  Clock::time_point requested_at_;
  // Negotiated by subprotocol (cursord.v2), fixed for the session.
  const core::ProtocolVersion protocol_;
  Clock::time_point joined_at_{};
  Clock::time_point pending_since_{};
  Clock::time_point ping_sent_;
};

}  // namespace cursord::edge

#endif  // CURSORD_EDGE_WS_SESSION_H_
