// This instance's connection records (docs/CONTROL_API.md, "Connection
// records"): every join and leave of its sessions, in a bounded ring
// (--activity-records, --activity-max-age). Sessions write from their
// shards' threads, the control plane reads from its own: one mutex.
#ifndef CURSORD_EDGE_ACTIVITY_LOG_H_
#define CURSORD_EDGE_ACTIVITY_LOG_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

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

  core::SessionPage Sessions(const core::SessionQuery& query);

 private:
  const std::string prefix_;
  std::string instance_;  // written before the shards start, then read only
  std::atomic<uint64_t> next_session_{1};
  std::mutex mu_;
  core::ActivityRing ring_;  // guarded by mu_
};

}  // namespace cursord::edge

#endif  // CURSORD_EDGE_ACTIVITY_LOG_H_
