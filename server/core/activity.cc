#include "server/core/activity.h"

#include <algorithm>
#include <iterator>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
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

std::optional<EndReason> EndReasonFromName(std::string_view name) {
  for (int i = static_cast<int>(EndReason::kNone); i <= static_cast<int>(EndReason::kInstanceDied);
       ++i) {
    const auto reason = static_cast<EndReason>(i);
    if (EndReasonName(reason) == name) return reason;
  }
  return std::nullopt;
}

std::optional<std::pair<uint64_t, uint64_t>> ParseActivityPosition(std::string_view position) {
  const size_t dash = position.find('-');
  uint64_t a = 0;
  uint64_t b = 0;
  const auto number = [](std::string_view digits, uint64_t* out) {
    return absl::SimpleAtoi(absl::string_view(digits.data(), digits.size()), out);
  };
  if (!number(position.substr(0, dash), &a)) return std::nullopt;
  if (dash != std::string_view::npos && !number(position.substr(dash + 1), &b)) {
    return std::nullopt;
  }
  // SimpleAtoi takes signs and spaces; a position has digits only.
  for (char c : position) {
    if (c != '-' && (c < '0' || c > '9')) return std::nullopt;
  }
  return std::make_pair(a, b);
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

bool ActivityFilter::Matches(const ActivityRecord& record) const {
  if (live_only && !record.live) return false;
  if (record.room.compare(0, room_prefix.size(), room_prefix) != 0) return false;
  auto position = ParseActivityPosition(record.position);
  return !position || *position > after;
}

ActivityRing::ActivityRing(size_t max_records, absl::Duration max_age, uint64_t origin)
    : max_records_(std::max<size_t>(max_records, 1)), max_age_(max_age), origin_(origin) {}

void ActivityRing::Stamp(ActivityRecord& record) {
  if (record.seq != 0) return;
  record.seq = next_seq_++;
  if (record.position.empty()) {
    record.position =
        origin_ == 0 ? absl::StrCat(record.seq) : absl::StrCat(origin_, "-", record.seq);
  }
}

uint64_t ActivityRing::Append(ActivityRecord record, absl::Time now) {
  Stamp(record);
  if (gap_next_) {
    gaps_.insert(record.seq);
    gap_next_ = false;
  }
  records_.push_back(std::move(record));
  while (records_.size() > max_records_) DropFront();
  Trim(now);
  return records_.empty() ? next_seq_ - 1 : records_.back().seq;
}

void ActivityRing::Trim(absl::Time now) {
  while (!records_.empty() && now - records_.front().time > max_age_) DropFront();
}

void ActivityRing::DropFront() {
  if (auto position = ParseActivityPosition(records_.front().position)) {
    dropped_through_ = std::max(dropped_through_, *position);
  }
  gaps_.erase(records_.front().seq);
  records_.pop_front();
}

uint64_t ActivityRing::SeqAfterPosition(std::pair<uint64_t, uint64_t> position,
                                        bool* missed) const {
  *missed = false;
  // The first record past `position` (positions ascend with seq).
  auto past = std::partition_point(records_.begin(), records_.end(),
                                   [&](const ActivityRecord& r) {
                                     auto p = ParseActivityPosition(r.position);
                                     return p && *p <= position;
                                   });
  if (past == records_.begin()) {
    *missed = position != std::make_pair<uint64_t, uint64_t>(0, 0) && position < dropped_through_;
    return records_.empty() ? next_seq_ - 1 : records_.front().seq - 1;
  }
  return std::prev(past)->seq;
}

void ActivityRing::NoteGap(std::pair<uint64_t, uint64_t> position) {
  auto past = std::partition_point(records_.begin(), records_.end(),
                                   [&](const ActivityRecord& r) {
                                     auto p = ParseActivityPosition(r.position);
                                     return p && *p <= position;
                                   });
  if (past == records_.end()) {
    gap_next_ = true;
  } else {
    gaps_.insert(past->seq);
  }
}

std::vector<ActivityRecord> ActivityRing::ReadAfter(uint64_t after, size_t limit,
                                                    bool* missed) const {
  uint64_t next = 0;
  return ReadMatching(after, ActivityFilter{}, limit, &next, missed);
}

std::vector<ActivityRecord> ActivityRing::ReadMatching(uint64_t after,
                                                       const ActivityFilter& filter, size_t limit,
                                                       uint64_t* next, bool* missed) const {
  std::vector<ActivityRecord> out;
  *next = after;
  // The oldest seq still held (everything up to it was dropped, or never was).
  const uint64_t first = records_.empty() ? next_seq_ : records_.front().seq;
  *missed = after + 1 < first;
  if (after >= next_seq_ - 1) return out;
  const size_t start = after < first ? 0 : static_cast<size_t>(after + 1 - first);
  for (size_t i = start; i < records_.size() && out.size() < limit; ++i) {
    *next = records_[i].seq;
    // Reading across a gap (whatever the filter: the lost records may
    // have matched).
    if (gaps_.count(records_[i].seq) != 0) *missed = true;
    if (filter.Matches(records_[i])) out.push_back(records_[i]);
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

}  // namespace cursord::core
