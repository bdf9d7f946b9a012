#include "server/core/activity.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "server/core/ws_frame.h"

namespace cursord::core {

std::string_view EndReasonName(EndReason reason) {
  switch (reason) {
    case EndReason::kNone: return "";
    case EndReason::kLeft: return "left";
    case EndReason::kConnectionLost: return "connection_lost";
    case EndReason::kKicked: return "kicked";
    case EndReason::kRoomClosed: return "room_closed";
    case EndReason::kTimedOut: return "timed_out";
    case EndReason::kSlowConsumer: return "slow_consumer";
    case EndReason::kRateLimited: return "rate_limited";
    case EndReason::kBadInput: return "bad_input";
    case EndReason::kServerShutdown: return "server_shutdown";
    case EndReason::kLeaseLost: return "lease_lost";
    case EndReason::kInstanceDied: return "instance_died";
  }
  return "";
}

EndReason EndReasonForServerClose(uint16_t code, std::string_view reason) {
  const auto starts = [reason](std::string_view prefix) {
    return reason.substr(0, prefix.size()) == prefix;
  };
  switch (code) {
    case kCloseKicked: return EndReason::kKicked;
    case kCloseRoomClosed: return EndReason::kRoomClosed;
    case kCloseGoingAway: return EndReason::kServerShutdown;
    case kCloseServiceRestart: return EndReason::kLeaseLost;
    case kClosePolicyViolation:
      if (starts("slow consumer")) return EndReason::kSlowConsumer;
      if (starts("message rate limit")) return EndReason::kRateLimited;
      if (starts("ping timeout")) return EndReason::kTimedOut;
      return EndReason::kBadInput;
    default:
      // 1002, 1003, 1007, 1009: what the client sent could not be taken.
      return EndReason::kBadInput;
  }
}

ActivityRing::ActivityRing(size_t max_records, absl::Duration max_age)
    : max_records_(std::max<size_t>(max_records, 1)), max_age_(max_age) {}

void ActivityRing::Stamp(ActivityRecord& record) {
  if (record.seq != 0) return;
  record.seq = next_seq_++;
  if (record.position.empty()) record.position = absl::StrCat(record.seq);
}

uint64_t ActivityRing::Append(ActivityRecord record, absl::Time now) {
  Stamp(record);
  records_.push_back(std::move(record));
  while (records_.size() > max_records_) records_.pop_front();
  Trim(now);
  return records_.empty() ? next_seq_ - 1 : records_.back().seq;
}

void ActivityRing::Trim(absl::Time now) {
  while (!records_.empty() && now - records_.front().time > max_age_) records_.pop_front();
}

std::vector<ActivityRecord> ActivityRing::ReadAfter(uint64_t after, size_t limit,
                                                    bool* missed) const {
  std::vector<ActivityRecord> out;
  // The oldest seq still held (everything up to it was dropped, or never was).
  const uint64_t first = records_.empty() ? next_seq_ : records_.front().seq;
  *missed = after + 1 < first;
  if (after >= next_seq_ - 1) return out;
  const size_t start = after < first ? 0 : static_cast<size_t>(after + 1 - first);
  for (size_t i = start; i < records_.size() && out.size() < limit; ++i) {
    out.push_back(records_[i]);
  }
  return out;
}

bool IsAfter(absl::Time started_at, const std::string& session_id, const SessionCursor& cursor) {
  if (started_at != cursor.started_at) return started_at < cursor.started_at;
  return session_id < cursor.session_id;
}

namespace {

// Newest first: later start, then larger id.
bool Newer(const SessionRecord& a, const SessionRecord& b) {
  if (a.started_at != b.started_at) return a.started_at > b.started_at;
  return a.session_id > b.session_id;
}

}  // namespace

SessionPage ListSessions(const std::deque<ActivityRecord>& records, const SessionQuery& query) {
  SessionPage page;
  // Newest first: each leave is seen before its join.
  absl::flat_hash_map<std::string, const ActivityRecord*> leaves;
  for (auto it = records.rbegin(); it != records.rend(); ++it) {
    const ActivityRecord& r = *it;
    if (!query.room.empty() && r.room != query.room) continue;
    if (!query.user_id.empty() && r.user_id != query.user_id) continue;
    if (r.kind == ActivityKind::kLeft) {
      leaves.emplace(r.session_id, &r);
      continue;
    }
    if (query.after && !IsAfter(r.connected_at, r.session_id, *query.after)) continue;
    if (page.sessions.size() == query.limit) {
      page.more = true;
      break;
    }
    SessionRecord s;
    s.seq = r.seq;
    s.session_id = r.session_id;
    s.room = r.room;
    s.member_id = r.member_id;
    s.user_id = r.user_id;
    s.name = r.name;
    s.color = r.color;
    s.instance = r.instance;
    s.remote_address = r.remote_address;
    s.started_at = r.connected_at;
    if (auto leave = leaves.find(r.session_id); leave != leaves.end()) {
      s.ended_at = leave->second->time;
      s.reason = leave->second->reason;
      s.close_code = leave->second->close_code;
    }
    page.sessions.push_back(std::move(s));
  }
  // The log is in join order; a clock step could put a start out of it.
  std::stable_sort(page.sessions.begin(), page.sessions.end(), Newer);
  return page;
}

SessionPage MergeSessionPages(std::vector<SessionPage> pages, size_t limit) {
  SessionPage merged;
  for (SessionPage& page : pages) {
    merged.more = merged.more || page.more;
    for (SessionRecord& s : page.sessions) merged.sessions.push_back(std::move(s));
    for (std::string& u : page.unanswered) merged.unanswered.push_back(std::move(u));
  }
  std::stable_sort(merged.sessions.begin(), merged.sessions.end(), Newer);
  if (merged.sessions.size() > limit) {
    merged.sessions.resize(limit);
    merged.more = true;
  }
  return merged;
}

}  // namespace cursord::core
