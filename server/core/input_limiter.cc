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
  // Admitted or not, this is the newest position: an older deferred one is
  // of no use any more.
  deferred_.has_move = verdict == Verdict::kDeferred;
  if (verdict == Verdict::kDeferred) {
    deferred_.x = x;
    deferred_.y = y;
  }
  return verdict;
}

InputLimiter::Verdict InputLimiter::OnClick(Clock::time_point now, bool down) {
  const Verdict verdict = Admit(now);
  deferred_.has_click = verdict == Verdict::kDeferred;
  if (verdict == Verdict::kDeferred) deferred_.down = down;
  return verdict;
}

InputLimiter::Verdict InputLimiter::OnOther(Clock::time_point now) { return Admit(now); }

InputLimiter::Deferred InputLimiter::TakeDeferred() {
  Deferred out = deferred_;
  deferred_ = Deferred{};
  return out;
}

bool InputLimiter::TakeDeferredIfAllowed(Clock::time_point now, Deferred* out) {
  if (deferred_.empty() || !allowance_.TryTake(now)) return false;
  *out = TakeDeferred();
  return true;
}

}  // namespace cursord::core
