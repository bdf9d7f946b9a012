// This instance's connection records (docs/CONTROL_API.md, "Connection
// records"): every join and leave of its sessions, in a bounded ring
// (--activity-records, --activity-max-age). Sessions write from their
// shards' threads, the control plane reads from its own: one mutex.
#ifndef CURSORD_EDGE_ACTIVITY_LOG_H_
#define CURSORD_EDGE_ACTIVITY_LOG_H_

#include <atomic>
#include <functional>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "server/core/activity.h"

namespace cursord::edge {

class ActivityLog {
 public:
  ActivityLog(size_t max_records, absl::Duration max_age);

  // A session id unique across this process' sessions and its restarts:
  // this process' start (ms, hex) and a counter.
  std::string NewSessionId();

  // With --redis: the instance's id, set before sessions start; records
  // carry it.
  void set_instance(std::string instance) { instance_ = std::move(instance); }
  const std::string& instance() const { return instance_; }

  // Appends `record` at `record.time`.
  void Record(core::ActivityRecord record);

  // Called for every record the log takes, in the log's order, under its
  // lock: it must be quick and must not call back into the log. `live` is
  // false for history: the records already in the cluster's stream when
  // this instance started. Add observers before the shards start.
  using Observer = std::function<void(const core::ActivityRecord& record, bool live)>;
  void AddObserver(Observer observer) { observers_.push_back(std::move(observer)); }

  core::SessionPage Sessions(const core::SessionQuery& query);

 private:
  const std::string prefix_;
  std::string instance_;  // written before the shards start, then read only
  std::atomic<uint64_t> next_session_{1};
  std::vector<Observer> observers_;  // written before the shards start
  std::mutex mu_;
  core::ActivityRing ring_;  // guarded by mu_
};

}  // namespace cursord::edge

#endif  // CURSORD_EDGE_ACTIVITY_LOG_H_
