// Connection records: every join and leave, with who, where and why
// (docs/CONTROL_API.md, "Connection records"). Pure code: the records, why
// a session ended as a closed set of reasons, a bounded log of records
// (count and age), and the sessions view the control plane pages through.
//
// Thread ownership: none here; the edge's ActivityLog locks around a ring.
#ifndef CURSORD_CORE_ACTIVITY_H_
#define CURSORD_CORE_ACTIVITY_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace cursord::core {

enum class ActivityKind : uint8_t { kJoined = 1, kLeft = 2 };

// Why a session ended. Stable names (EndReasonName) are the API's.
enum class EndReason : uint8_t {
  kNone = 0,          // a join record; or a session still open
  kLeft,              // the client closed the connection (a close frame)
  kConnectionLost,    // the connection ended without a close frame
  kKicked,            // KickMember / KickUser (4000)
  kRoomClosed,        // CloseRoom (4001)
  kTimedOut,          // a ping went unanswered (1008 ping timeout)
  kSlowConsumer,      // it did not read what it was sent (1008)
  kRateLimited,       // it flooded messages (1008)
  kBadInput,          // a protocol violation, text frame, oversized message (1002/1003/1007/1009)
  kServerShutdown,    // the server drained or stopped (1001)
  kLeaseLost,         // its instance lost its place in the cluster (1012)
  kInstanceDied,      // its instance died; another one freed its id
};

// "left", "connection_lost", "kicked", ... ("" for kNone).
std::string_view EndReasonName(EndReason reason);

// The reason named `name` (EndReasonName's inverse); nullopt for a name
// that is none of them.
std::optional<EndReason> EndReasonFromName(std::string_view name);

// A record's position as two numbers, compared in order: "<a>-<b>" (a
// Redis stream id) or "<a>" (b = 0). nullopt for anything else.
std::optional<std::pair<uint64_t, uint64_t>> ParseActivityPosition(std::string_view position);

// Why a session the server closed with `code` and `reason` ended (the
// close frame the server sent).
EndReason EndReasonForServerClose(uint16_t code, std::string_view reason);

struct ActivityRecord {
  uint64_t seq = 0;  // position in the log, from 1, assigned by ActivityRing
  ActivityKind kind = ActivityKind::kJoined;
  absl::Time time;
  // Unique per connection (this instance's id, or "local", then a number).
  std::string session_id;
  std::string room;
  uint8_t member_id = 0;
  std::string user_id;
  std::string name;
  std::string color;
  std::string instance;  // with --redis: the instance's id; else ""
  std::string remote_address;
  absl::Time connected_at;  // when the session joined (a leave carries it too)
  EndReason reason = EndReason::kNone;  // leaves
  uint16_t close_code = 0;              // leaves: the close code (1006: none)
  // The instance that wrote the record: the session's own, or for
  // kInstanceDied the one that reaped it ("" without --redis).
  std::string recorded_by;
  // Where the record is in the log, for readers that resume (WatchActivity):
  // "<origin>-<seq>" without --redis (origin: the process' start, ms); the
  // Redis stream entry's id "<ms>-<n>" with it.
  std::string position;
  // False for history: a record already in the cluster's stream when this
  // instance started reading it (set by the log that takes it).
  bool live = true;
};

// Which records an activity reader wants: those of rooms starting with
// `room_prefix`, past the position `after`, and with `live_only` none of
// the history (a reader that asked for what comes from now on).
struct ActivityFilter {
  std::string room_prefix;
  std::pair<uint64_t, uint64_t> after{0, 0};
  bool live_only = false;

  bool Matches(const ActivityRecord& record) const;
};

// The most recent records: at most `max_records`, none older than
// `max_age`. Sequence numbers increase by one per record, so a reader
// knows when records it has not seen were dropped.
class ActivityRing {
 public:
  // `origin` is the first part of the positions the ring gives ("<origin>-
  // <seq>"; 0: "<seq>").
  ActivityRing(size_t max_records, absl::Duration max_age, uint64_t origin = 0);

  // Gives `record` the next seq (and, when it has none, a position of that
  // seq), unless it has one already.
  void Stamp(ActivityRecord& record);

  // Appends `record` (stamped first) and drops what is too old or too
  // many. Returns the seq.
  uint64_t Append(ActivityRecord record, absl::Time now);

  // Drops records older than max_age at `now` (Append does it too).
  void Trim(absl::Time now);

  // Records with seq > `after`, ascending, at most `limit`. `*missed` is
  // set when records after `after` were already dropped (a reader resuming
  // from too old a position missed some).
  std::vector<ActivityRecord> ReadAfter(uint64_t after, size_t limit, bool* missed) const;
  // The same, only records that `filter` matches; the others are passed
  // over without a copy. `*next` is the seq to read after next time (past
  // the records passed over too).
  std::vector<ActivityRecord> ReadMatching(uint64_t after, const ActivityFilter& filter,
                                           size_t limit, uint64_t* next, bool* missed) const;

  // Where a reader resuming after `position` (ParseActivityPosition's
  // form) goes on: the seq to read after (ReadAfter). `*missed` when the
  // position is older than every record held and records were dropped
  // since it (the reader may have missed some); "0" is older than every
  // record and never missed.
  uint64_t SeqAfterPosition(std::pair<uint64_t, uint64_t> position, bool* missed) const;

  // Records up to `position` were dropped before this ring held them.
  void NoteDropped(std::pair<uint64_t, uint64_t> position) {
    dropped_through_ = std::max(dropped_through_, position);
  }
  // Records up to `position` that came after those held were lost before
  // this ring held them: a reader reading onto the first record past
  // `position` (held already, or the next appended) is told it missed some.
  void NoteGap(std::pair<uint64_t, uint64_t> position);

  const std::deque<ActivityRecord>& records() const { return records_; }
  uint64_t last_seq() const { return next_seq_ - 1; }
  uint64_t origin() const { return origin_; }

 private:
  size_t max_records_;
  absl::Duration max_age_;
  uint64_t origin_;
  std::deque<ActivityRecord> records_;  // ascending seq (and position)
  uint64_t next_seq_ = 1;
  // The position of the newest record dropped so far (none: {0, 0}).
  std::pair<uint64_t, uint64_t> dropped_through_{0, 0};
  // The seqs of records held that follow a gap (NoteGap), and whether the
  // next one appended does.
  std::set<uint64_t> gaps_;
  bool gap_next_ = false;
  void DropFront();
};

// One session as ListSessions shows it: its join, and its leave if it ended.
struct SessionRecord {
  uint64_t seq = 0;  // the join's
  std::string session_id;
  std::string room;
  uint8_t member_id = 0;
  std::string user_id;
  std::string name;
  std::string color;
  std::string instance;
  std::string remote_address;
  absl::Time started_at;
  std::optional<absl::Time> ended_at;  // unset while it is open
  EndReason reason = EndReason::kNone;
  uint16_t close_code = 0;
};

// Where a page of sessions ends: sessions are ordered by start time, then
// session id, newest first; the next page starts after this one.
struct SessionCursor {
  absl::Time started_at;
  std::string session_id;
};

// Whether session (started_at, session_id) comes after `cursor` in
// newest-first order (it is older, or as old with a smaller id).
bool IsAfter(absl::Time started_at, const std::string& session_id, const SessionCursor& cursor);

struct SessionQuery {
  std::string room;     // "" = any
  std::string user_id;  // "" = any
  size_t limit = 100;
  std::optional<SessionCursor> after;  // unset: from the newest
};

struct SessionPage {
  std::vector<SessionRecord> sessions;  // newest first (by start, then id)
  bool more = false;  // older matching sessions remain: continue after the last one
  std::vector<std::string> unanswered;  // cluster-wide: instances that did not answer
};

// The sessions of `records` (ascending seq, so ascending start time)
// matching `query`, newest first. A session whose join was already dropped
// from the log is not listed.
SessionPage ListSessions(const std::deque<ActivityRecord>& records, const SessionQuery& query);


}  // namespace cursord::core

#endif  // CURSORD_CORE_ACTIVITY_H_
