#include "server/core/activity.h"

#include "gtest/gtest.h"
#include "server/core/ws_frame.h"

namespace cursord::core {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

ActivityRecord Joined(const std::string& session, const std::string& room,
                      const std::string& user, absl::Time at) {
  ActivityRecord r;
  r.kind = ActivityKind::kJoined;
  r.time = at;
  r.session_id = session;
  r.room = room;
  r.user_id = user;
  r.connected_at = at;
  return r;
}

ActivityRecord Left(const ActivityRecord& joined, absl::Time at, EndReason reason,
                    uint16_t code) {
  ActivityRecord r = joined;
  r.kind = ActivityKind::kLeft;
  r.time = at;
  r.reason = reason;
  r.close_code = code;
  return r;
}

TEST(ActivityTest, EveryServerCloseHasItsReason) {
  EXPECT_EQ(EndReasonForServerClose(kCloseKicked, "spam"), EndReason::kKicked);
  EXPECT_EQ(EndReasonForServerClose(kCloseRoomClosed, "bye"), EndReason::kRoomClosed);
  EXPECT_EQ(EndReasonForServerClose(kCloseGoingAway, "server shutting down"),
            EndReason::kServerShutdown);
  EXPECT_EQ(EndReasonForServerClose(kCloseServiceRestart, "instance lease lost: reconnect"),
            EndReason::kLeaseLost);
  EXPECT_EQ(EndReasonForServerClose(kClosePolicyViolation, "ping timeout"), EndReason::kTimedOut);
  EXPECT_EQ(EndReasonForServerClose(kClosePolicyViolation,
                                    "slow consumer: a write was not taken in time"),
            EndReason::kSlowConsumer);
  EXPECT_EQ(EndReasonForServerClose(kClosePolicyViolation, "message rate limit exceeded"),
            EndReason::kRateLimited);
  EXPECT_EQ(EndReasonForServerClose(kCloseTooBig, "state too large"), EndReason::kBadInput);
  EXPECT_EQ(EndReasonForServerClose(kCloseProtocolError, "unmasked frame"), EndReason::kBadInput);
  EXPECT_EQ(EndReasonName(EndReason::kInstanceDied), "instance_died");
  EXPECT_EQ(EndReasonName(EndReason::kConnectionLost), "connection_lost");
  EXPECT_EQ(EndReasonName(EndReason::kNone), "");
}

TEST(ActivityTest, TheRingKeepsTheNewestByCountAndAge) {
  ActivityRing ring(3, absl::Minutes(10));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(ring.Append(Joined("s" + std::to_string(i), "r", "", kT0), kT0), uint64_t(i + 1));
  }
  ASSERT_EQ(ring.records().size(), 3u);
  EXPECT_EQ(ring.records().front().seq, 3u);
  // Ten minutes on, a new record drops the old ones.
  ring.Append(Joined("late", "r", "", kT0 + absl::Minutes(11)), kT0 + absl::Minutes(11));
  ASSERT_EQ(ring.records().size(), 1u);
  EXPECT_EQ(ring.records().front().session_id, "late");
  EXPECT_EQ(ring.last_seq(), 6u);
}

TEST(ActivityTest, AReaderResumesAfterItsPositionAndLearnsWhatItMissed) {
  ActivityRing ring(4, absl::Hours(1));
  for (int i = 0; i < 6; ++i) ring.Append(Joined("s" + std::to_string(i), "r", "", kT0), kT0);
  // Held: seq 3..6.
  bool missed = false;
  std::vector<ActivityRecord> read = ring.ReadAfter(3, 10, &missed);
  EXPECT_FALSE(missed);
  ASSERT_EQ(read.size(), 3u);
  EXPECT_EQ(read.front().seq, 4u);
  read = ring.ReadAfter(2, 2, &missed);  // 3 is the oldest held: nothing missed
  EXPECT_FALSE(missed);
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(read[0].seq, 3u);
  read = ring.ReadAfter(1, 10, &missed);  // 2 was dropped
  EXPECT_TRUE(missed);
  EXPECT_EQ(read.size(), 4u);
  read = ring.ReadAfter(6, 10, &missed);  // up to date
  EXPECT_FALSE(missed);
  EXPECT_TRUE(read.empty());
  read = ring.ReadAfter(0, 10, &missed);  // from the start: 1 and 2 are gone
  EXPECT_TRUE(missed);
}

TEST(ActivityTest, SessionsAreNewestFirstWithTheirEndFilteredAndPaged) {
  ActivityRing ring(100, absl::Hours(1));
  const ActivityRecord a = Joined("a", "doc-1", "ann", kT0);
  const ActivityRecord b = Joined("b", "doc-1", "bob", kT0 + absl::Seconds(1));
  const ActivityRecord c = Joined("c", "doc-2", "ann", kT0 + absl::Seconds(2));
  ring.Append(a, kT0);
  ring.Append(b, kT0);
  ring.Append(c, kT0);
  ring.Append(Left(a, kT0 + absl::Seconds(30), EndReason::kKicked, 4000), kT0);
  ring.Append(Left(c, kT0 + absl::Seconds(40), EndReason::kLeft, 1000), kT0);

  SessionPage all = ListSessions(ring.records(), SessionQuery{});
  ASSERT_EQ(all.sessions.size(), 3u);
  EXPECT_FALSE(all.more);
  EXPECT_EQ(all.sessions[0].session_id, "c");
  EXPECT_EQ(all.sessions[0].ended_at, kT0 + absl::Seconds(40));
  EXPECT_EQ(all.sessions[1].session_id, "b");
  EXPECT_FALSE(all.sessions[1].ended_at.has_value());  // still open
  EXPECT_EQ(all.sessions[2].session_id, "a");
  EXPECT_EQ(all.sessions[2].reason, EndReason::kKicked);
  EXPECT_EQ(all.sessions[2].close_code, 4000);
  EXPECT_EQ(all.sessions[2].started_at, kT0);

  SessionQuery by_room;
  by_room.room = "doc-1";
  EXPECT_EQ(ListSessions(ring.records(), by_room).sessions.size(), 2u);
  SessionQuery by_user;
  by_user.user_id = "ann";
  SessionPage ann = ListSessions(ring.records(), by_user);
  ASSERT_EQ(ann.sessions.size(), 2u);
  EXPECT_EQ(ann.sessions[0].room, "doc-2");
  SessionQuery both;
  both.room = "doc-1";
  both.user_id = "ann";
  EXPECT_EQ(ListSessions(ring.records(), both).sessions.size(), 1u);

  // Pages of one, continuing after the last one.
  SessionQuery paged;
  paged.limit = 1;
  std::vector<std::string> order;
  for (int page = 0; page < 5; ++page) {
    SessionPage p = ListSessions(ring.records(), paged);
    for (const SessionRecord& s : p.sessions) order.push_back(s.session_id);
    if (!p.more) break;
    paged.after = SessionCursor{p.sessions.back().started_at, p.sessions.back().session_id};
  }
  EXPECT_EQ(order, std::vector<std::string>({"c", "b", "a"}));
}

TEST(ActivityTest, SessionsOfTheSameStartAreOrderedByIdForPaging) {
  // Same start: the larger id first; the next page starts after the last.
  const SessionCursor cursor{kT0 + absl::Seconds(10), "i2-0"};
  EXPECT_TRUE(IsAfter(kT0 + absl::Seconds(10), "i1-1", cursor));
  EXPECT_FALSE(IsAfter(kT0 + absl::Seconds(20), "i2-2", cursor));
  EXPECT_FALSE(IsAfter(kT0 + absl::Seconds(10), "i2-0", cursor));
  EXPECT_TRUE(IsAfter(kT0 + absl::Seconds(9), "i9-9", cursor));
}

std::optional<std::pair<uint64_t, uint64_t>> Position(uint64_t a, uint64_t b) {
  return std::make_pair(a, b);
}

TEST(ActivityTest, PositionsAreSeqsOrStreamIds) {
  EXPECT_EQ(ParseActivityPosition("42"), Position(42, 0));
  EXPECT_EQ(ParseActivityPosition("1733180000000-3"),
            Position(1733180000000, 3));
  EXPECT_EQ(ParseActivityPosition("0"), Position(0, 0));
  for (const char* bad : {"", "-", "1-", "-1", "+1", " 1", "1-2-3", "a", "1-x",
                          "99999999999999999999"}) {
    EXPECT_FALSE(ParseActivityPosition(bad).has_value()) << bad;
  }
  EXPECT_EQ(EndReasonFromName("instance_died"), EndReason::kInstanceDied);
  EXPECT_EQ(EndReasonFromName("left"), EndReason::kLeft);
  EXPECT_FALSE(EndReasonFromName("gone").has_value());
}

// Records stamped by the ring get "<seq>"; records copied from a stream
// keep their id. A reader resumes after the position it last saw.
TEST(ActivityTest, AReaderResumesAfterAStreamPositionAndLearnsWhatWasDropped) {
  ActivityRing ring(3, absl::Hours(1));
  for (int i = 1; i <= 5; ++i) {
    ActivityRecord r = Joined("s" + std::to_string(i), "r", "", kT0);
    r.position = "1000-" + std::to_string(i);
    ring.Append(r, kT0);
  }
  // Held: 1000-3 .. 1000-5 (seq 3..5).
  bool missed = true;
  EXPECT_EQ(ring.SeqAfterPosition({1000, 4}, &missed), 4u);
  EXPECT_FALSE(missed);
  EXPECT_EQ(ring.SeqAfterPosition({1000, 5}, &missed), 5u);  // up to date
  EXPECT_FALSE(missed);
  EXPECT_EQ(ring.SeqAfterPosition({2000, 0}, &missed), 5u);  // newer than all
  EXPECT_FALSE(missed);
  EXPECT_EQ(ring.SeqAfterPosition({1000, 2}, &missed), 2u);  // just before the oldest held
  EXPECT_FALSE(missed);
  EXPECT_EQ(ring.SeqAfterPosition({1000, 1}, &missed), 2u);  // 1000-2 was dropped after it
  EXPECT_TRUE(missed);
  EXPECT_EQ(ring.SeqAfterPosition({0, 0}, &missed), 2u);  // from the oldest held
  EXPECT_FALSE(missed);

  ActivityRing local(10, absl::Hours(1));
  local.Append(Joined("a", "r", "", kT0), kT0);
  local.Append(Joined("b", "r", "", kT0), kT0);
  EXPECT_EQ(local.records().back().position, "2");
  EXPECT_EQ(local.SeqAfterPosition(*ParseActivityPosition("1"), &missed), 1u);

  // A ring with an origin (a process' start) gives "<origin>-<seq>": the
  // positions of an earlier run are older than all of its own.
  ActivityRing run(10, absl::Hours(1), 1700000000123);
  run.Append(Joined("a", "r", "", kT0), kT0);
  EXPECT_EQ(run.records().back().position, "1700000000123-1");
  EXPECT_LT(*ParseActivityPosition("1700000000000-99"),
            *ParseActivityPosition(run.records().back().position));
}

// Records lost after the newest held (an instance cut off from Redis while
// the stream was trimmed past what it had read): a reader reading across
// that point is told, whatever its filter; one already past it is not.
TEST(ActivityTest, AReaderReadingAcrossAGapIsToldItMissedRecords) {
  ActivityRing ring(10, absl::Hours(1));
  const auto add = [&](const std::string& session, const std::string& room, uint64_t n) {
    ActivityRecord r = Joined(session, room, "", kT0);
    r.position = "1000-" + std::to_string(n);
    ring.Append(r, kT0);
  };
  add("a", "doc", 1);
  add("b", "doc", 2);
  ring.NoteGap({1000, 5});  // 3..5 lost, none held past it: the next one follows the gap
  add("c", "sheet", 6);
  add("d", "doc", 7);
  bool missed = true;
  uint64_t next = 0;
  EXPECT_EQ(ring.ReadMatching(0, ActivityFilter{}, 2, &next, &missed).size(), 2u);
  EXPECT_FALSE(missed);  // a and b
  std::vector<ActivityRecord> read =
      ring.ReadMatching(next, ActivityFilter{"doc", {0, 0}, false}, 10, &next, &missed);
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].session_id, "d");
  EXPECT_TRUE(missed);  // across the gap before c, though c is not read
  ring.ReadMatching(3, ActivityFilter{}, 10, &next, &missed);
  EXPECT_FALSE(missed);  // already past it

  // Told late (records past the gap already read): the first one past the
  // lost position is marked, not the next appended.
  add("e", "doc", 9);
  ring.NoteGap({1000, 8});
  add("f", "doc", 10);
  read = ring.ReadMatching(4, ActivityFilter{}, 1, &next, &missed);
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].session_id, "e");
  EXPECT_TRUE(missed);
  ring.ReadMatching(5, ActivityFilter{}, 10, &next, &missed);
  EXPECT_FALSE(missed);  // f follows e: no gap
}

// A reader passes over the records of other rooms, those at or before the
// position it resumed after (a copy lagging behind the stream reads them
// after the reader started), and, from now on, the history.
TEST(ActivityTest, AFilterPassesOverOtherRoomsEarlierPositionsAndHistory) {
  ActivityRing ring(10, absl::Hours(1));
  const auto add = [&](const std::string& session, const std::string& room,
                       const std::string& position, bool live) {
    ActivityRecord r = Joined(session, room, "", kT0);
    r.position = position;
    r.live = live;
    ring.Append(r, kT0);
  };
  add("old", "doc-1", "1000-1", false);
  add("other", "sheet-1", "1000-2", true);
  add("seen", "doc-2", "1000-3", true);
  add("new", "doc-1", "1000-4", true);

  const auto sessions = [&](const ActivityFilter& filter, size_t limit, uint64_t* next) {
    bool missed = true;
    std::vector<std::string> out;
    for (const ActivityRecord& r : ring.ReadMatching(0, filter, limit, next, &missed)) {
      out.push_back(r.session_id);
    }
    EXPECT_FALSE(missed);
    return out;
  };
  uint64_t next = 0;
  EXPECT_EQ(sessions(ActivityFilter{}, 10, &next),
            (std::vector<std::string>{"old", "other", "seen", "new"}));
  EXPECT_EQ(next, 4u);
  EXPECT_EQ(sessions(ActivityFilter{"doc-", {0, 0}, false}, 10, &next),
            (std::vector<std::string>{"old", "seen", "new"}));
  EXPECT_EQ(sessions(ActivityFilter{"doc-", {1000, 3}, false}, 10, &next),
            (std::vector<std::string>{"new"}));
  EXPECT_EQ(sessions(ActivityFilter{"", {0, 0}, true}, 10, &next),
            (std::vector<std::string>{"other", "seen", "new"}));
  // One at a time: `next` is past the records passed over.
  EXPECT_EQ(sessions(ActivityFilter{"doc-2", {0, 0}, false}, 1, &next),
            (std::vector<std::string>{"seen"}));
  EXPECT_EQ(next, 3u);
  EXPECT_EQ(sessions(ActivityFilter{"none", {0, 0}, false}, 1, &next),
            (std::vector<std::string>{}));
  EXPECT_EQ(next, 4u);
}

TEST(ActivityTest, ASessionWhoseJoinWasDroppedIsNotListed) {
  ActivityRing ring(2, absl::Hours(1));
  const ActivityRecord a = Joined("a", "r", "", kT0);
  ring.Append(a, kT0);
  ring.Append(Joined("b", "r", "", kT0), kT0);
  ring.Append(Left(a, kT0, EndReason::kLeft, 1000), kT0);  // drops a's join
  SessionPage page = ListSessions(ring.records(), SessionQuery{});
  ASSERT_EQ(page.sessions.size(), 1u);
  EXPECT_EQ(page.sessions[0].session_id, "b");
}

}  // namespace
}  // namespace cursord::core
