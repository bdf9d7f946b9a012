// One WatchActivity stream: reads the connection records
// (core::ActivitySource) from its position on, one event in flight at a
// time, and is woken when records are added. It holds no queue: a client
// that reads slowly only falls behind in the records, and when the records
// it had not read yet are dropped, its next event says so (`missed`).
//
// Threads: gRPC's (the handler, write completions, cancellation) and the
// record writers' (wake-ups). One mutex orders StartWrite and Finish; the
// stream deletes itself in OnDone, after it stopped being woken.
#ifndef CURSORD_CONTROL_ACTIVITY_FEED_H_
#define CURSORD_CONTROL_ACTIVITY_FEED_H_

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include "absl/status/status.h"
#include "cursord/v1/control.pb.h"
#include "server/core/control_plane.h"

namespace cursord::control {

class ActivityFeed final : public grpc::ServerWriteReactor<v1::ActivityEvent> {
 public:
  // `on_done` runs in OnDone, before the feed deletes itself.
  ActivityFeed(core::ActivitySource& source, std::function<void(ActivityFeed*)> on_done);

  // Starts reading `request` (validated here: INVALID_ARGUMENT for a bad
  // position ends the stream at once).
  void Start(const v1::WatchActivityRequest& request);
  // Ends the stream with `status` (the first call wins). Any thread.
  void End(const absl::Status& status);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  // Writes the next record, if any and none is in flight.
  void Pump();
  void FinishLocked(const grpc::Status& status);

  core::ActivitySource& source_;
  std::function<void(ActivityFeed*)> on_done_;
  // The room prefix; the position resumed after, so that a record at or
  // before it is not sent again (an instance whose records lag behind the
  // stream's may not hold it yet when the feed starts, and reads it
  // afterwards); from now on (`after` empty): no history read later.
  core::ActivityFilter filter_;
  int waker_ = -1;

  std::mutex mu_;
  uint64_t next_ = 0;          // guarded by mu_
  bool missed_ = false;        // guarded by mu_: to tell in the next event
  bool writing_ = false;       // guarded by mu_
  bool finished_ = false;      // guarded by mu_
  v1::ActivityEvent event_;    // guarded by mu_: the one in flight
};

// The event of `record` (its session as of the record).
void ToProto(const core::ActivityRecord& record, v1::ActivityEvent* out);

}  // namespace cursord::control

#endif  // CURSORD_CONTROL_ACTIVITY_FEED_H_
