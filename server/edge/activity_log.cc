#include "server/edge/activity_log.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/core/ws_frame.h"

namespace cursord::edge {
namespace {

std::string MemberKey(std::string_view instance, std::string_view room, uint8_t id) {
  return absl::StrCat(std::string(instance), std::string(1, '\0'), std::string(room),
                      std::string(1, '\0'), id);
}

}  // namespace

ActivityLog::ActivityLog(size_t max_records, absl::Duration max_age)
    : prefix_(absl::StrCat(absl::Hex(absl::ToUnixMillis(absl::Now())), "-")),
      ring_(max_records, max_age, static_cast<uint64_t>(absl::ToUnixMillis(absl::Now()))),
      max_closed_(std::max<size_t>(max_records, 1)) {}

std::string ActivityLog::NewSessionId() {
  // Zero-padded, so that ids of sessions that started in the same
  // nanosecond sort in join order (sessions are ordered by start, then id).
  return absl::StrCat(prefix_,
                      absl::Dec(next_session_.fetch_add(1, std::memory_order_relaxed),
                                absl::kZeroPad8));
}

void ActivityLog::Record(core::ActivityRecord record) {
  record.recorded_by = instance_;
  if (writer_) return writer_(std::move(record));
  const absl::Time now = record.time;
  bool added;
  {
    std::lock_guard<std::mutex> lock(mu_);
    added = AcceptLocked(std::move(record), /*live=*/true, now);
  }
  if (added) Wake();
}

void ActivityLog::OnActivity(std::vector<core::ActivityRecord> records, bool live) {
  const absl::Time now = absl::Now();
  bool added = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (core::ActivityRecord& record : records) {
      added |= AcceptLocked(std::move(record), live, now);
    }
  }
  if (added) Wake();
}

void ActivityLog::OnReaped(std::vector<backplane::ReapedMember> members) {
  std::vector<core::ActivityRecord> leaves;
  const absl::Time now = absl::Now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const backplane::ReapedMember& member : members) {
      auto key = open_by_member_.find(MemberKey(member.instance, member.room, member.id));
      if (key == open_by_member_.end()) continue;  // its join was never seen here
      auto join = open_.find(key->second);
      if (join == open_.end()) continue;
      core::ActivityRecord leave = join->second;
      leave.kind = core::ActivityKind::kLeft;
      leave.time = now;
      leave.reason = core::EndReason::kInstanceDied;
      leave.close_code = core::kCloseAbnormal;
      leave.position.clear();
      leave.seq = 0;
      leaves.push_back(std::move(leave));
    }
  }
  for (core::ActivityRecord& leave : leaves) Record(std::move(leave));
}

void ActivityLog::OnDroppedThrough(std::string position, bool skipped) {
  auto parsed = core::ParseActivityPosition(position);
  if (!parsed) return;
  std::lock_guard<std::mutex> lock(mu_);
  ring_.NoteDropped(*parsed);
  if (skipped) ring_.NoteGap(*parsed);
}

bool ActivityLog::AcceptLocked(core::ActivityRecord record, bool live, absl::Time now) {
  const std::string key = MemberKey(record.instance, record.room, record.member_id);
  record.live = live;
  if (record.kind == core::ActivityKind::kJoined) {
    // A second copy of a join, also one that comes after the leave (a join
    // and its leave both sent again after a lost connection).
    if (open_.contains(record.session_id) || closed_.contains(record.session_id)) return false;
    // A member id is reused after its leave: a leave that never came (a
    // record lost) is superseded by the next join under the same id.
    auto previous = open_by_member_.find(key);
    if (previous != open_by_member_.end()) open_.erase(previous->second);
    open_by_member_[key] = record.session_id;
    open_.emplace(record.session_id, record);
  } else {
    // A leave closes its session for good, also one whose join was not
    // seen (yet): a join that comes later is a copy sent again.
    RememberClosedLocked(record.session_id);
    auto join = open_.find(record.session_id);
    if (join == open_.end()) return false;
    open_.erase(join);
    auto by_member = open_by_member_.find(key);
    if (by_member != open_by_member_.end() && by_member->second == record.session_id) {
      open_by_member_.erase(by_member);
    }
  }
  ring_.Stamp(record);
  for (const Observer& observer : observers_) observer(record, live);
  ring_.Append(std::move(record), now);
  return true;
}

void ActivityLog::RememberClosedLocked(const std::string& session_id) {
  if (!closed_.insert(session_id).second) return;
  closed_order_.push_back(session_id);
  while (closed_order_.size() > max_closed_) {
    closed_.erase(closed_order_.front());
    closed_order_.pop_front();
  }
}

core::SessionPage ActivityLog::Sessions(const core::SessionQuery& query) {
  std::lock_guard<std::mutex> lock(mu_);
  ring_.Trim(absl::Now());
  return core::ListSessions(ring_.records(), query);
}

absl::StatusOr<uint64_t> ActivityLog::SeqAfter(std::string_view position, bool* missed) {
  std::lock_guard<std::mutex> lock(mu_);
  *missed = false;
  if (position.empty()) return ring_.last_seq();
  auto parsed = core::ParseActivityPosition(position);
  const auto not_given = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("position \"", std::string(position), "\" is not one this server gave"));
  };
  if (!parsed) return not_given();
  if (writer_) {
    // The cluster's stream ids are Redis' times (ms): one from the future
    // was never given (a copy lagging behind the stream may not hold a
    // recent one yet, though).
    const auto soon = static_cast<uint64_t>(absl::ToUnixMillis(absl::Now() + absl::Minutes(1)));
    if (parsed->first > soon) return not_given();
    return ring_.SeqAfterPosition(*parsed, missed);
  }
  // This process' positions are "<its start>-<seq>"; those of an earlier
  // run are older, and its records after them are gone.
  const std::pair<uint64_t, uint64_t> newest{ring_.origin(), ring_.last_seq()};
  if (*parsed > newest) return not_given();
  const uint64_t seq = ring_.SeqAfterPosition(*parsed, missed);
  if (*parsed != std::make_pair<uint64_t, uint64_t>(0, 0) &&
      *parsed < std::make_pair(ring_.origin(), uint64_t{0})) {
    *missed = true;
  }
  return seq;
}

std::vector<core::ActivityRecord> ActivityLog::Read(uint64_t after,
                                                    const core::ActivityFilter& filter,
                                                    size_t limit, uint64_t* next, bool* missed) {
  std::lock_guard<std::mutex> lock(mu_);
  return ring_.ReadMatching(after, filter, limit, next, missed);
}

int ActivityLog::AddWaker(std::function<void()> wake) {
  std::lock_guard<std::mutex> lock(wakers_mu_);
  wakers_.emplace(++next_waker_, std::move(wake));
  return next_waker_;
}

void ActivityLog::RemoveWaker(int id) {
  std::lock_guard<std::mutex> lock(wakers_mu_);
  wakers_.erase(id);
}

void ActivityLog::Wake() {
  std::lock_guard<std::mutex> lock(wakers_mu_);
  for (auto& [id, wake] : wakers_) wake();
}

}  // namespace cursord::edge
