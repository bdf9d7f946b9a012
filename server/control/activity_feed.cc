#include "server/control/activity_feed.h"

#include <utility>

#include "server/control/convert.h"

namespace cursord::control {

void ToProto(const core::ActivityRecord& record, v1::ActivityEvent* out) {
  out->set_position(record.position);
  out->set_kind(record.kind == core::ActivityKind::kJoined ? v1::ActivityEvent::JOINED
                                                           : v1::ActivityEvent::LEFT);
  ToProto(record.time, out->mutable_time());
  core::SessionRecord session;
  session.session_id = record.session_id;
  session.room = record.room;
  session.member_id = record.member_id;
  session.user_id = record.user_id;
  session.name = record.name;
  session.color = record.color;
  session.instance = record.instance;
  session.remote_address = record.remote_address;
  session.started_at = record.connected_at;
  if (record.kind == core::ActivityKind::kLeft) {
    session.ended_at = record.time;
    session.reason = record.reason;
    session.close_code = record.close_code;
  }
  ToProto(session, record.time, out->mutable_session());
}

ActivityFeed::ActivityFeed(core::ActivitySource& source,
                           std::function<void(ActivityFeed*)> on_done)
    : source_(source), on_done_(std::move(on_done)) {}

void ActivityFeed::Start(const v1::WatchActivityRequest& request) {
  filter_.room_prefix = request.room_prefix();
  filter_.after = core::ParseActivityPosition(request.after()).value_or(std::make_pair(0, 0));
  filter_.live_only = request.after().empty();
  bool missed = false;
  absl::StatusOr<uint64_t> start = source_.SeqAfter(request.after(), &missed);
  if (!start.ok()) return End(start.status());
  {
    std::lock_guard<std::mutex> lock(mu_);
    next_ = *start;
    missed_ = missed;
  }
  waker_ = source_.AddWaker([this] { Pump(); });
  Pump();
}

void ActivityFeed::Pump() {
  std::lock_guard<std::mutex> lock(mu_);
  if (writing_ || finished_) return;
  bool missed = false;
  std::vector<core::ActivityRecord> records = source_.Read(next_, filter_, 1, &next_, &missed);
  missed_ = missed_ || missed;
  if (records.empty()) return;
  event_.Clear();
  ToProto(records.front(), &event_);
  event_.set_missed(missed_);
  missed_ = false;
  writing_ = true;
  StartWrite(&event_);
}

void ActivityFeed::OnWriteDone(bool ok) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
      return;
    }
  }
  Pump();
}

void ActivityFeed::End(const absl::Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  FinishLocked(ToGrpcStatus(status));
}

void ActivityFeed::OnCancel() {
  std::lock_guard<std::mutex> lock(mu_);
  FinishLocked(grpc::Status::CANCELLED);
}

void ActivityFeed::FinishLocked(const grpc::Status& status) {
  if (finished_) return;
  finished_ = true;
  Finish(status);
}

void ActivityFeed::OnDone() {
  // After RemoveWaker no Pump runs or will: nothing else refers to us.
  if (waker_ >= 0) source_.RemoveWaker(waker_);
  if (on_done_) on_done_(this);
  delete this;
}

}  // namespace cursord::control
