// The per-connection message rate limit: a member that floods pays for it,
// never the room it floods.
//
// Every data message a client sends takes a token from a bucket that fills
// at `rate` per second and holds at most `burst`. Within the limit a
// message is applied as it comes. Over it, nothing is lost that matters to
// the others: a cursor move or a click is kept aside as the member's newest
// state (a later move supersedes an earlier one; a press and a release
// cancel out) and applied with the next message that is admitted, or by
// the next tick that finds a token. So a flood costs every receiver at most
// `rate` messages a second from that member, and when the flood stops the
// room sees where the member really is.
//
// A client whose messages keep arriving at more than twice the limit (the
// excess drains a second bucket of the same size and rate) is abusive and
// is closed (1008).
//
// Pure logic: the clock is an argument. One instance per connection, owned
// by its session's thread.
#ifndef CURSORD_CORE_INPUT_LIMITER_H_
#define CURSORD_CORE_INPUT_LIMITER_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cursord::core {

// A token bucket: `rate` tokens a second, at most `burst` saved; starts full.
class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  TokenBucket(double rate, double burst, Clock::time_point now)
      : rate_(rate), burst_(burst), tokens_(burst), last_(now) {}

  // Takes a token if one is available at `now`.
  bool TryTake(Clock::time_point now);
  // Tokens available at `now` (for tests).
  double Available(Clock::time_point now);

 private:
  void Refill(Clock::time_point now);

  double rate_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

class InputLimiter {
 public:
  using Clock = TokenBucket::Clock;

  struct Options {
    // Messages a second; 0 turns the limit off.
    double rate = 300;
    // Messages that may arrive at once above the rate.
    double burst = 600;
  };

  enum class Verdict {
    kApply,     // within the limit: apply Deferred() first, then the message
    kDeferred,  // over the limit: kept as the newest state
    kAbuse,     // far over the limit for too long: close the connection
  };

  // What was kept aside, in the order it happened, compressed: the member's
  // position and state when its click state last changed (`move_before`,
  // `state_before`), that net click change (`click`, absent when presses
  // and releases cancelled out), and its newest position and state since
  // (`move_after`, `state_after`). Applied in this order, it shows the room
  // the press where (and with what state) it happened and the member as it
  // is now.
  struct Deferred {
    struct Move {
      uint16_t x = 0;
      uint16_t y = 0;
    };
    std::optional<Move> move_before;
    // The member's state (protocol v2) when its click state last changed,
    // and its newest state since: like the moves, so that a state set
    // before a click reaches the room before it.
    std::optional<std::string> state_before;
    std::optional<bool> click;  // pressed (true) or released
    std::optional<Move> move_after;
    std::optional<std::string> state_after;
    bool empty() const {
      return !move_before && !state_before && !click && !move_after && !state_after;
    }
  };

  InputLimiter(const Options& options, Clock::time_point now);

  // A cursor move to (x, y). On kApply, TakeDeferred then returns what came
  // before it, minus the moves it supersedes.
  Verdict OnMove(Clock::time_point now, uint16_t x, uint16_t y);
  // A click (`down`: pressed). On kApply, TakeDeferred then returns
  // everything that came before it, in order.
  Verdict OnClick(Clock::time_point now, bool down);
  // A state set (protocol v2). On kApply, TakeDeferred then returns what
  // came before it, minus a state it supersedes.
  Verdict OnState(Clock::time_point now, std::string_view state);
  // A message that changes no state (ignored ones still cost parsing).
  Verdict OnOther(Clock::time_point now);

  // Takes what was kept aside (after kApply, to apply before the message).
  Deferred TakeDeferred();
  // On a tick: takes what was kept aside if a token is free for it now.
  bool TakeDeferredIfAllowed(Clock::time_point now, Deferred* out);

  bool has_deferred() const { return !deferred_.empty(); }
  bool enabled() const { return enabled_; }

 private:
  Verdict Admit(Clock::time_point now);

  bool enabled_;
  TokenBucket allowance_;
  TokenBucket excess_;
  Deferred deferred_;
  // The click state the room has from this member (what was applied).
  bool applied_down_ = false;
};

}  // namespace cursord::core

#endif  // CURSORD_CORE_INPUT_LIMITER_H_
