// This instance's connection records (docs/CONTROL_API.md, "Connection
// records"): every join and leave, in a bounded ring (--activity-records,
// --activity-max-age).
//
// Without --redis the ring holds this instance's sessions, written as they
// join and leave. With --redis it is a copy of the cluster's stream
// (backplane/activity_stream.h): this instance's records go to the stream
// (the cluster writer) and come back, with every other instance's, through
// OnActivity, so every instance's ring holds the same records in the same
// order. Members of dead instances freed by this instance's reaper get
// their leave here (OnReaped: reason instance_died).
//
// Sessions write from their shards' threads, the backplane from its own,
// the control plane reads from its own: one mutex. Observers (webhooks)
// are called under it; wakers (activity feeds) after it.
#ifndef CURSORD_EDGE_ACTIVITY_LOG_H_
#define CURSORD_EDGE_ACTIVITY_LOG_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/backplane/activity_stream.h"
#include "server/core/activity.h"
#include "server/core/control_plane.h"

namespace cursord::edge {

class ActivityLog final : public backplane::ActivityListener, public core::ActivitySource {
 public:
  ActivityLog(size_t max_records, absl::Duration max_age);

  // A session id unique across this process' sessions and its restarts:
  // this process' start (ms, hex) and a counter.
  std::string NewSessionId();

  // With --redis: the instance's id, set before sessions start; records
  // carry it.
  void set_instance(std::string instance) { instance_ = std::move(instance); }
  const std::string& instance() const { return instance_; }

  // With --redis: where this instance's records go (the cluster's stream)
  // instead of the ring; they come back through OnActivity. Set before the
  // shards start.
  using Writer = std::function<void(core::ActivityRecord)>;
  void SetClusterWriter(Writer writer) { writer_ = std::move(writer); }

  // Takes a record of this instance's: a join or leave at `record.time`.
  void Record(core::ActivityRecord record);

  // Called for every record the log takes, in the log's order, under its
  // lock: it must be quick and must not call back into the log. `live` is
  // false for history: the records already in the cluster's stream when
  // this instance started. Add observers before the shards start.
  using Observer = std::function<void(const core::ActivityRecord& record, bool live)>;
  void AddObserver(Observer observer) { observers_.push_back(std::move(observer)); }

  // backplane::ActivityListener (the backplane's thread).
  void OnActivity(std::vector<core::ActivityRecord> records, bool live) override;
  void OnReaped(std::vector<backplane::ReapedMember> members) override;
  void OnDroppedThrough(std::string position, bool skipped) override;

  core::SessionPage Sessions(const core::SessionQuery& query);

  // For activity feeds (WatchActivity). Where a reader resuming after
  // `position` goes on, as a seq for Read: "" is the newest record (only
  // what comes next); "0" is before the oldest. `*missed` as
  // core::ActivityRing::SeqAfterPosition. INVALID_ARGUMENT for a position
  // no record could have.
  absl::StatusOr<uint64_t> SeqAfter(std::string_view position, bool* missed) override;
  // Records after seq `after` that `filter` matches, at most `limit`;
  // `*next` is the seq to read after next time (past the records the
  // filter passed over too), `*missed` as ReadAfter.
  std::vector<core::ActivityRecord> Read(uint64_t after, const core::ActivityFilter& filter,
                                         size_t limit, uint64_t* next, bool* missed) override;
  // `wake` runs (on the writer's thread, outside the lock) after records
  // were added. Returns an id for RemoveWaker.
  int AddWaker(std::function<void()> wake) override;
  void RemoveWaker(int id) override;

 private:
  // Under mu_: drops a second copy (a join of a session already open, a
  // leave of one not open), else appends and tells the observers.
  bool AcceptLocked(core::ActivityRecord record, bool live, absl::Time now);
  // Under mu_: remembers that `session_id` ended (the newest max_closed_).
  void RememberClosedLocked(const std::string& session_id);
  void Wake();

  const std::string prefix_;
  std::string instance_;  // written before the shards start, then read only
  Writer writer_;         // the same
  std::atomic<uint64_t> next_session_{1};
  std::vector<Observer> observers_;  // written before the shards start
  std::mutex mu_;
  core::ActivityRing ring_;  // guarded by mu_
  // Open sessions: session id -> its join; and "instance\0room\0id" ->
  // session id, for the reaper's leaves. Guarded by mu_.
  absl::flat_hash_map<std::string, core::ActivityRecord> open_;
  absl::flat_hash_map<std::string, std::string> open_by_member_;
  // Sessions that ended, newest last, as many as records are kept: a join
  // of one of them is a copy. Guarded by mu_.
  const size_t max_closed_;
  absl::flat_hash_set<std::string> closed_;
  std::deque<std::string> closed_order_;
  std::mutex wakers_mu_;
  std::map<int, std::function<void()>> wakers_;  // guarded by wakers_mu_
  int next_waker_ = 0;                            // guarded by wakers_mu_
};

}  // namespace cursord::edge

#endif  // CURSORD_EDGE_ACTIVITY_LOG_H_
