// One WatchRoom stream's state, shared by the room (which feeds it as a
// core::WatchSink) and the gRPC reactor (which drains it).
//
// Threads: OnSnapshot/OnEvent/OnDetached come on the room's thread and only
// queue and, when the stream is idle, arm a gRPC alarm; every StartWrite and
// Finish happens on gRPC threads (alarm callbacks and write completions). So
// the room never converts, serializes or writes for a watcher, and a watcher
// that stops reading costs the room one bounded queue push per event until
// its buffer fills, when OnEvent returns false and the core drops it.
//
// Ending: a stream the server ends (too slow, room gone, shutdown) is
// finished with its status at once, behind any write still in flight. A
// client that takes that write within `finish_grace` reads the status; one
// that does not (it stopped reading, or vanished without a word) has its
// call cancelled then, so that the stream and its memory are released
// instead of living as long as the client's connection.
#ifndef CURSORD_CONTROL_WATCH_SESSION_H_
#define CURSORD_CONTROL_WATCH_SESSION_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <grpcpp/alarm.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cursord/v1/control.pb.h"
#include "server/control/watch_buffer.h"
#include "server/core/presence.h"

namespace cursord::control {

class WatchSession final : public core::WatchSink,
                           public std::enable_shared_from_this<WatchSession> {
 public:
  using Reactor = grpc::ServerWriteReactor<v1::WatchRoomResponse>;

  WatchSession(std::string room_id, WatchBuffer::Options options,
               absl::Duration finish_grace = absl::Seconds(10));
  ~WatchSession() override;

  const std::string& room_id() const { return room_id_; }

  // Binds the stream to write to, and the call to cancel if it does not
  // finish in time. Called once, by the reactor, before the session is
  // handed to the core. Both stay valid until Detach.
  void Attach(Reactor* reactor, grpc::CallbackServerContext* context);

  // Ends the stream with `status` as soon as possible, dropping whatever is
  // still queued. The first call wins; later calls do nothing. Any thread.
  void End(const absl::Status& status);

  // The reactor's OnWriteDone.
  void OnWriteDone(bool ok);

  // The reactor is done (OnDone): nothing reaches it from now on.
  void Detach();

  // core::WatchSink, on the room's thread.
  void OnSnapshot(const core::RoomSnapshot& snapshot) override;
  bool OnEvent(const core::RoomEvent& event) override;
  void OnDetached(const absl::Status& status) override;

 private:
  // Starts the next write, or the Finish, if the stream is free for it;
  // otherwise arms the alarm for the next rate-limited cursor move.
  void PumpLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs PumpLocked on a gRPC thread at `when` (or at once if earlier).
  void WakeAtLocked(absl::Time when) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EndLocked(const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnAlarm(uint64_t generation);
  // Arms the cancellation of a finished stream whose last write is stuck.
  void CancelAfterGraceLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnFinishGraceOver();

  const std::string room_id_;
  const absl::Duration finish_grace_;

  // The call, for TryCancel; null before Attach and after Detach. A mutex
  // of its own, never held with mu_: TryCancel completes the stream's
  // operations, and the reactions to that (OnWriteDone) take mu_. gRPC runs
  // a non-inlineable reactor's reactions, OnDone included, on its own
  // threads, never inside TryCancel, so Detach (from OnDone) merely waits
  // for a TryCancel in progress.
  absl::Mutex cancel_mu_;
  grpc::CallbackServerContext* context_ ABSL_GUARDED_BY(cancel_mu_) = nullptr;

  absl::Mutex mu_;
  WatchBuffer buffer_ ABSL_GUARDED_BY(mu_);
  // Null before Attach and after Detach.
  Reactor* reactor_ ABSL_GUARDED_BY(mu_) = nullptr;
  // The message being written; gRPC reads it until OnWriteDone, so it is
  // only touched while no write is in flight.
  v1::WatchRoomResponse out_ ABSL_GUARDED_BY(mu_);
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  // Set by End: the status the stream finishes with.
  std::optional<absl::Status> end_status_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  // Wake-ups. Each alarm owns itself and deletes itself in its callback,
  // so no alarm is ever destroyed under mu_ (its destructor may run the
  // callback when gRPC is shutting down). Re-arming earlier bumps the
  // generation; the replaced alarm still fires and is ignored. The callback
  // holds only a weak_ptr, so an alarm never keeps the session alive.
  uint64_t alarm_generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool alarm_pending_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time alarm_at_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
};

}  // namespace cursord::control

#endif  // CURSORD_CONTROL_WATCH_SESSION_H_
