#include "server/control/watch_session.h"

#include <algorithm>
#include <utility>
#include <variant>

#include "absl/strings/str_format.h"
#include "server/control/convert.h"

namespace cursord::control {

WatchSession::WatchSession(std::string room_id, WatchBuffer::Options options,
                           absl::Duration finish_grace)
    : room_id_(std::move(room_id)),
      finish_grace_(finish_grace),
      buffer_(options) {}

WatchSession::~WatchSession() = default;

void WatchSession::Attach(Reactor* reactor,
                          grpc::CallbackServerContext* context) {
  {
    absl::MutexLock lock(&cancel_mu_);
    context_ = context;
  }
  absl::MutexLock lock(&mu_);
  reactor_ = reactor;
}

void WatchSession::End(const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  EndLocked(status);
}

void WatchSession::EndLocked(const absl::Status& status) {
  if (end_status_.has_value()) return;
  end_status_ = status;
  // What is queued is of no use to a watcher that must start over anyway.
  buffer_.Clear();
  WakeAtLocked(absl::InfinitePast());
}

void WatchSession::OnWriteDone(bool ok) {
  absl::MutexLock lock(&mu_);
  write_in_flight_ = false;
  if (!ok && !end_status_.has_value()) {
    // The stream broke (client gone, call cancelled); OnCancel follows.
    end_status_ = absl::CancelledError("watch stream broken");
    buffer_.Clear();
  }
  PumpLocked(absl::Now());
}

void WatchSession::Detach() {
  {
    // Waits out a TryCancel in progress: the context dies after OnDone.
    absl::MutexLock lock(&cancel_mu_);
    context_ = nullptr;
  }
  absl::MutexLock lock(&mu_);
  reactor_ = nullptr;
  finished_ = true;
  buffer_.Clear();
  // A pending alarm still fires; the new generation makes it a no-op.
  ++alarm_generation_;
  alarm_pending_ = false;
}

void WatchSession::OnSnapshot(const core::RoomSnapshot& snapshot) {
  absl::MutexLock lock(&mu_);
  if (end_status_.has_value()) return;
  const absl::Time now = absl::Now();
  if (!buffer_.PushSnapshot(snapshot, now)) {
    EndLocked(absl::ResourceExhaustedError("watch buffer full at snapshot"));
    return;
  }
  if (!write_in_flight_) WakeAtLocked(absl::InfinitePast());
}

bool WatchSession::OnEvent(const core::RoomEvent& event) {
  absl::MutexLock lock(&mu_);
  if (end_status_.has_value()) return false;
  const absl::Time now = absl::Now();
  if (!buffer_.Push(event, now)) {
    const size_t queued = buffer_.queued();  // EndLocked clears it
    EndLocked(absl::ResourceExhaustedError(absl::StrFormat(
        "watcher too slow: %d events queued for room \"%s\"; watch again",
        queued, room_id_)));
    return false;
  }
  if (!write_in_flight_) WakeAtLocked(buffer_.NextReady());
  return true;
}

void WatchSession::OnDetached(const absl::Status& status) {
  End(status.ok() ? absl::UnavailableError("watch ended by the server")
                  : status);
}

void WatchSession::PumpLocked(absl::Time now) {
  if (reactor_ == nullptr || finished_) return;
  if (end_status_.has_value()) {
    // Finish may be started with a write still in flight; gRPC sends the
    // status after it. That keeps ending prompt even for a stalled stream.
    finished_ = true;
    reactor_->Finish(ToGrpcStatus(*end_status_));
    if (write_in_flight_) CancelAfterGraceLocked();
    return;
  }
  if (write_in_flight_) return;
  std::optional<WatchBuffer::Item> item = buffer_.Pop(now);
  if (!item.has_value()) {
    const absl::Time next = buffer_.NextReady();
    if (next != absl::InfiniteFuture()) WakeAtLocked(next);
    return;
  }
  if (auto* snapshot = std::get_if<WatchBuffer::Snapshot>(&*item)) {
    ToProto(snapshot->room, snapshot->taken, &out_);
  } else {
    ToProto(std::get<core::RoomEvent>(*item), &out_);
  }
  write_in_flight_ = true;
  reactor_->StartWrite(&out_);
}

void WatchSession::WakeAtLocked(absl::Time when) {
  if (reactor_ == nullptr || finished_ || when == absl::InfiniteFuture()) return;
  if (alarm_pending_ && alarm_at_ <= when) return;  // an early enough one is set
  const uint64_t generation = ++alarm_generation_;
  alarm_pending_ = true;
  alarm_at_ = when;
  auto* alarm = new grpc::Alarm();
  alarm->Set(absl::ToChronoTime(std::max(when, absl::Now())),
             [weak = weak_from_this(), generation, alarm](bool /*fired*/) {
               if (auto self = weak.lock()) self->OnAlarm(generation);
               // gRPC keeps its own reference until this callback returns.
               delete alarm;
             });
}

void WatchSession::CancelAfterGraceLocked() {
  auto* alarm = new grpc::Alarm();
  alarm->Set(absl::ToChronoTime(absl::Now() + finish_grace_),
             [weak = weak_from_this(), alarm](bool fired) {
               if (auto self = weak.lock(); self != nullptr && fired) {
                 self->OnFinishGraceOver();
               }
               delete alarm;
             });
}

void WatchSession::OnFinishGraceOver() {
  absl::MutexLock lock(&cancel_mu_);
  // Null once OnDone ran: the stream finished within the grace.
  if (context_ != nullptr) context_->TryCancel();
}

void WatchSession::OnAlarm(uint64_t generation) {
  absl::MutexLock lock(&mu_);
  if (generation != alarm_generation_) return;  // replaced, or detached
  alarm_pending_ = false;
  alarm_at_ = absl::InfiniteFuture();
  PumpLocked(absl::Now());
}

}  // namespace cursord::control
