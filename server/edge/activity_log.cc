#include "server/edge/activity_log.h"

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
      ring_(max_records, max_age) {}

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

bool ActivityLog::AcceptLocked(core::ActivityRecord record, bool live, absl::Time now) {
  const std::string key = MemberKey(record.instance, record.room, record.member_id);
  if (record.kind == core::ActivityKind::kJoined) {
    if (open_.contains(record.session_id)) return false;
    // A member id is reused after its leave: a leave that never came (a
    // record lost) is superseded by the next join under the same id.
    auto previous = open_by_member_.find(key);
    if (previous != open_by_member_.end()) open_.erase(previous->second);
    open_by_member_[key] = record.session_id;
    open_.emplace(record.session_id, record);
  } else {
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
  if (!parsed) {
    return absl::InvalidArgumentError(
        absl::StrCat("position \"", std::string(position), "\" is not one this server gave"));
  }
  return ring_.SeqAfterPosition(*parsed, missed);
}

std::vector<core::ActivityRecord> ActivityLog::Read(uint64_t after, std::string_view room_prefix,
                                                    size_t limit, uint64_t* next, bool* missed) {
  std::lock_guard<std::mutex> lock(mu_);
  *next = after;
  std::vector<core::ActivityRecord> out;
  // Reads on past records of other rooms, a batch at a time.
  constexpr size_t kBatch = 256;
  *missed = false;
  while (out.size() < limit) {
    bool gap = false;
    std::vector<core::ActivityRecord> batch = ring_.ReadAfter(*next, kBatch, &gap);
    *missed |= gap;
    if (batch.empty()) break;
    for (core::ActivityRecord& record : batch) {
      if (out.size() == limit) break;
      *next = record.seq;
      if (absl::StartsWith(record.room, absl::string_view(room_prefix.data(), room_prefix.size()))) {
        out.push_back(std::move(record));
      }
    }
  }
  return out;
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
