#include "server/core/input_limiter.h"

#include <algorithm>

namespace cursord::core {

void TokenBucket::Refill(Clock::time_point now) {
  if (now <= last_) return;
  const double seconds = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(burst_, tokens_ + seconds * rate_);
  last_ = now;
}

bool TokenBucket::TryTake(Clock::time_point now) {
  Refill(now);
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

double TokenBucket::Available(Clock::time_point now) {
  Refill(now);
  return tokens_;
}

InputLimiter::InputLimiter(const Options& options, Clock::time_point now)
    : enabled_(options.rate > 0),
      allowance_(options.rate, std::max(1.0, options.burst), now),
      excess_(options.rate, std::max(1.0, options.burst), now) {}

InputLimiter::Verdict InputLimiter::Admit(Clock::time_point now) {
  if (!enabled_ || allowance_.TryTake(now)) return Verdict::kApply;
  return excess_.TryTake(now) ? Verdict::kDeferred : Verdict::kAbuse;
}

InputLimiter::Verdict InputLimiter::OnMove(Clock::time_point now, uint16_t x, uint16_t y) {
  const Verdict verdict = Admit(now);
  const Deferred::Move move{x, y};
  if (verdict == Verdict::kDeferred) {
    // The newest position after the last click change.
    (deferred_.click ? deferred_.move_after : deferred_.move_before) = move;
  } else if (verdict == Verdict::kApply) {
    // This move supersedes the deferred ones: only a click change (and
    // where it happened) is still to be shown first.
    deferred_.move_after.reset();
    if (!deferred_.click) deferred_.move_before.reset();
    if (deferred_.click) applied_down_ = *deferred_.click;  // applied before this move
  }
  return verdict;
}

InputLimiter::Verdict InputLimiter::OnClick(Clock::time_point now, bool down) {
  const Verdict verdict = Admit(now);
  if (verdict == Verdict::kDeferred) {
    // Where the member is now is where this click happened, and with
    // the state it has now.
    if (deferred_.move_after) deferred_.move_before = deferred_.move_after;
    deferred_.move_after.reset();
    if (deferred_.state_after) deferred_.state_before = std::move(deferred_.state_after);
    deferred_.state_after.reset();
    if (down == applied_down_) {
      deferred_.click.reset();  // a press and a release cancel out
    } else {
      deferred_.click = down;
    }
  } else if (verdict == Verdict::kApply) {
    applied_down_ = down;
  }
  return verdict;
}

InputLimiter::Verdict InputLimiter::OnState(Clock::time_point now, std::string_view state) {
  const Verdict verdict = Admit(now);
  if (verdict == Verdict::kDeferred) {
    // The newest state after the last click change.
    (deferred_.click ? deferred_.state_after : deferred_.state_before) = std::string(state);
  } else if (verdict == Verdict::kApply) {
    // This state supersedes the deferred ones: only a click change (and
    // the state it happened with) is still to be shown first.
    deferred_.state_after.reset();
    if (!deferred_.click) deferred_.state_before.reset();
    if (deferred_.click) applied_down_ = *deferred_.click;  // applied before this state
  }
  return verdict;
}

InputLimiter::Verdict InputLimiter::OnOther(Clock::time_point now) { return Admit(now); }

InputLimiter::Deferred InputLimiter::TakeDeferred() {
  Deferred out = std::move(deferred_);
  deferred_ = Deferred{};
  return out;
}

bool InputLimiter::TakeDeferredIfAllowed(Clock::time_point now, Deferred* out) {
  if (deferred_.empty() || !allowance_.TryTake(now)) return false;
  if (deferred_.click) applied_down_ = *deferred_.click;
  *out = TakeDeferred();
  return true;
}

}  // namespace cursord::core
