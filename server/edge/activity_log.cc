#include "server/edge/activity_log.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace cursord::edge {

ActivityLog::ActivityLog(size_t max_records, absl::Duration max_age)
    : prefix_(absl::StrCat(absl::Hex(absl::ToUnixMillis(absl::Now())), "-")),
      ring_(max_records, max_age) {}

std::string ActivityLog::NewSessionId() {
  // Zero-padded, so that ids of sessions that started in the same
  // nanosecond sort in join order (sessions are ordered by start, then id).
  return absl::StrCat(prefix_,
                      absl::Dec(next_session_.fetch_add(1, std::memory_order_relaxed),
                                absl::kZeroPad8));
}

void ActivityLog::Record(core::ActivityRecord record) {
  const absl::Time now = record.time;
  std::lock_guard<std::mutex> lock(mu_);
  ring_.Stamp(record);
  for (const Observer& observer : observers_) observer(record, /*live=*/true);
  ring_.Append(std::move(record), now);
}

core::SessionPage ActivityLog::Sessions(const core::SessionQuery& query) {
  std::lock_guard<std::mutex> lock(mu_);
  ring_.Trim(absl::Now());
  return core::ListSessions(ring_.records(), query);
}

}  // namespace cursord::edge
