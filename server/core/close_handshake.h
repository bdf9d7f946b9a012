// How a WebSocket session closes (RFC 6455 7.1): the one owner of the
// closing handshake's state, as pure logic. The session applies the steps
// it returns to its socket.
//
//   kOpen ──Begin (ours, or the echo of theirs)──> kClosing
//   kClosing ──our close frame written──> kCloseSent    (FIN sent; wait)
//            └─ if theirs is already in ─> kTerminated
//   kCloseSent ──their close frame, EOF or the deadline──> kTerminated
//   any state ──connection lost──> kTerminated
//
// Their close frame may arrive in any state before kTerminated: in kOpen we
// echo it (Begin); in kClosing it crossed ours, and the connection ends once
// our frame is out; in kCloseSent it is the answer we waited for.
#ifndef CURSORD_CORE_CLOSE_HANDSHAKE_H_
#define CURSORD_CORE_CLOSE_HANDSHAKE_H_

#include <chrono>

namespace cursord::core {

class CloseHandshake {
 public:
  using Clock = std::chrono::steady_clock;

  enum class State { kOpen, kClosing, kCloseSent, kTerminated };

  // What the session does after their close frame arrived.
  enum class PeerCloseStep {
    kEcho,           // we were open: queue our close frame (Begin)
    kWaitForOurs,    // ours is queued, not yet written: terminate once it is
    kTerminate,      // ours was already written: done
  };

  // What the session does once our close frame has been written.
  enum class WrittenStep {
    kShutdownSend,  // send FIN and wait (bounded) for theirs
    kTerminate,     // theirs is in: done
  };

  // How long the client gets to answer our close frame.
  static constexpr std::chrono::seconds kTimeout{3};

  State state() const { return state_; }
  bool open() const { return state_ == State::kOpen; }
  bool terminated() const { return state_ == State::kTerminated; }
  // Their close frame has arrived: nothing more may be read (RFC 6455 5.5.1).
  bool peer_closed() const { return peer_closed_; }

  // We start closing (our own decision, or the echo of theirs): our close
  // frame is to be queued behind what is pending. Returns false, changing
  // nothing, unless the session was open.
  bool Begin(Clock::time_point now) {
    if (state_ != State::kOpen) return false;
    state_ = State::kClosing;
    deadline_ = now + kTimeout;
    return true;
  }

  // Their close frame arrived.
  PeerCloseStep OnPeerClose() {
    peer_closed_ = true;
    switch (state_) {
      case State::kOpen: return PeerCloseStep::kEcho;
      case State::kClosing: return PeerCloseStep::kWaitForOurs;
      case State::kCloseSent:
      case State::kTerminated: break;
    }
    return PeerCloseStep::kTerminate;
  }

  // Both close frames are known and ours is not written yet: what is left
  // to write are the connection's last bytes, which may leave with the FIN.
  bool last_bytes_known() const { return state_ == State::kClosing && peer_closed_; }

  // Everything up to and including our close frame has been written.
  WrittenStep OnOursWritten() {
    if (peer_closed_) return WrittenStep::kTerminate;
    state_ = State::kCloseSent;
    return WrittenStep::kShutdownSend;
  }

  // Whether the client has had its time to answer our close frame.
  bool Expired(Clock::time_point now) const {
    return (state_ == State::kClosing || state_ == State::kCloseSent) && now >= deadline_;
  }

  // The connection is gone (closed by us, or lost).
  void Terminate() { state_ = State::kTerminated; }

 private:
  State state_ = State::kOpen;
  bool peer_closed_ = false;
  Clock::time_point deadline_{};
};

}  // namespace cursord::core

#endif  // CURSORD_CORE_CLOSE_HANDSHAKE_H_
