#include "server/core/presence_events.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace cursord::core {
namespace {

ActivityRecord Join(const std::string& session, const std::string& room,
                    const std::string& user) {
  ActivityRecord r;
  r.kind = ActivityKind::kJoined;
  r.session_id = session;
  // Each session its own member id (one reused is a test of its own).
  static std::map<std::string, uint8_t> ids;
  r.member_id = ids.emplace(session, static_cast<uint8_t>(ids.size())).first->second;
  r.room = room;
  r.user_id = user;
  r.name = user.empty() ? "" : "Name of " + user;
  r.instance = "i1";
  r.time = absl::FromUnixMillis(1000);
  return r;
}

ActivityRecord Leave(const std::string& session, const std::string& room,
                     const std::string& user) {
  ActivityRecord r = Join(session, room, user);
  r.kind = ActivityKind::kLeft;
  r.reason = EndReason::kLeft;
  r.time = absl::FromUnixMillis(2000);
  return r;
}

// "name room user" per event, for compact expectations.
std::vector<std::string> Feed(PresenceTracker& tracker, const ActivityRecord& record) {
  std::vector<PresenceEvent> events;
  tracker.Apply(record, &events);
  std::vector<std::string> out;
  for (const PresenceEvent& e : events) {
    out.push_back(std::string(PresenceEventName(e.kind)) + " " + e.room +
                  (e.user_id.empty() ? "" : " " + e.user_id));
  }
  return out;
}

using Lines = std::vector<std::string>;

TEST(PresenceTrackerTest, TheFirstSessionOccupiesTheRoomAndEntersItsUser) {
  PresenceTracker t;
  EXPECT_EQ(Feed(t, Join("s1", "r", "u")), (Lines{"room_occupied r", "user_entered r u"}));
  EXPECT_EQ(Feed(t, Leave("s1", "r", "u")), (Lines{"user_left r u", "room_vacated r"}));
  EXPECT_EQ(t.open_sessions(), 0u);
  EXPECT_EQ(t.occupied_rooms(), 0u);
}

TEST(PresenceTrackerTest, TwoTabsOfOneUserAreOneEnterAndOneLeave) {
  PresenceTracker t;
  EXPECT_EQ(Feed(t, Join("s1", "r", "u")).size(), 2u);
  EXPECT_EQ(Feed(t, Join("s2", "r", "u")), Lines{});
  EXPECT_EQ(Feed(t, Leave("s1", "r", "u")), Lines{});
  EXPECT_EQ(Feed(t, Leave("s2", "r", "u")), (Lines{"user_left r u", "room_vacated r"}));
}

TEST(PresenceTrackerTest, AnonymousSessionsOccupyAndVacateButCauseNoUserEvents) {
  PresenceTracker t;
  EXPECT_EQ(Feed(t, Join("a1", "r", "")), Lines{"room_occupied r"});
  EXPECT_EQ(Feed(t, Join("s1", "r", "u")), Lines{"user_entered r u"});
  EXPECT_EQ(Feed(t, Leave("s1", "r", "u")), Lines{"user_left r u"});
  EXPECT_EQ(Feed(t, Leave("a1", "r", "")), Lines{"room_vacated r"});
}

TEST(PresenceTrackerTest, RoomsAndUsersAreCountedPerRoom) {
  PresenceTracker t;
  Feed(t, Join("s1", "a", "u"));
  EXPECT_EQ(Feed(t, Join("s2", "b", "u")), (Lines{"room_occupied b", "user_entered b u"}));
  EXPECT_EQ(Feed(t, Leave("s1", "a", "u")), (Lines{"user_left a u", "room_vacated a"}));
  EXPECT_EQ(t.occupied_rooms(), 1u);
}

TEST(PresenceTrackerTest, DuplicateJoinsAndLeavesCauseNothing) {
  PresenceTracker t;
  Feed(t, Join("s1", "r", "u"));
  EXPECT_EQ(Feed(t, Join("s1", "r", "u")), Lines{});
  ActivityRecord reaped = Leave("s1", "r", "u");
  reaped.reason = EndReason::kInstanceDied;
  reaped.recorded_by = "reaper";
  EXPECT_EQ(Feed(t, reaped), (Lines{"user_left r u", "room_vacated r"}));
  // The session's own leave, late: already closed.
  EXPECT_EQ(Feed(t, Leave("s1", "r", "u")), Lines{});
  // A leave whose join came before the tracker started.
  EXPECT_EQ(Feed(t, Leave("old", "r", "u")), Lines{});
  EXPECT_EQ(t.open_sessions(), 0u);
}

ActivityRecord Member(ActivityRecord record, uint8_t id) {
  record.member_id = id;
  return record;
}

TEST(PresenceTrackerTest, AJoinUnderTheIdOfAnOpenSessionSupersedesIt) {
  // As the activity log does: the first session's leave was lost.
  PresenceTracker t;
  Feed(t, Member(Join("s1", "r", "u"), 3));
  EXPECT_EQ(Feed(t, Member(Join("s2", "r", "u"), 3)), Lines{});  // the same user: silent
  EXPECT_EQ(t.open_sessions(), 1u);
  EXPECT_EQ(Feed(t, Member(Join("s3", "r", "v"), 3)), (Lines{"user_left r u", "user_entered r v"}));
  EXPECT_EQ(t.open_sessions(), 1u);
  EXPECT_EQ(Feed(t, Member(Leave("s2", "r", "u"), 3)), Lines{});  // superseded already
  EXPECT_EQ(Feed(t, Member(Leave("s3", "r", "v"), 3)), (Lines{"user_left r v", "room_vacated r"}));
  // The same id on another instance is another member.
  Feed(t, Member(Join("s4", "r", "u"), 3));
  ActivityRecord elsewhere = Member(Join("s5", "r", "u"), 3);
  elsewhere.instance = "i2";
  EXPECT_EQ(Feed(t, elsewhere), Lines{});
  EXPECT_EQ(t.open_sessions(), 2u);
}

// The user_left of a superseded session is that session's (its id, name
// and instance), so that the id of the real leave of the session that took
// its place is still unique.
TEST(PresenceTrackerTest, ASupersededSessionsUserLeftIsItsOwn) {
  PresenceTracker t;
  std::vector<PresenceEvent> events;
  t.Apply(Member(Join("s1", "r", "u"), 7), &events);
  events.clear();
  ActivityRecord other = Member(Join("s2", "r", "v"), 7);
  other.time = absl::FromUnixMillis(5000);
  t.Apply(other, &events);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(PresenceEventName(events[0].kind), "user_left");
  EXPECT_EQ(events[0].user_id, "u");
  EXPECT_EQ(events[0].name, "Name of u");
  EXPECT_EQ(PresenceEventId(events[0]), "s1.user_left");
  EXPECT_EQ(events[0].time, absl::FromUnixMillis(5000));  // when it was superseded
  EXPECT_EQ(PresenceEventId(events[1]), "s2.user_entered");
  events.clear();
  t.Apply(Member(Leave("s2", "r", "v"), 7), &events);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(PresenceEventId(events[0]), "s2.user_left");
}

TEST(PresenceTrackerTest, EventsCarryTheirCauseAndAStableId) {
  PresenceTracker t;
  std::vector<PresenceEvent> events;
  t.Apply(Join("s1", "r", "u"), &events);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].name, "Name of u");
  EXPECT_EQ(events[1].instance, "i1");
  EXPECT_EQ(events[1].time, absl::FromUnixMillis(1000));
  EXPECT_EQ(events[0].user_id, "");  // a room event names no user
  EXPECT_EQ(events[0].name, "");
  EXPECT_EQ(PresenceEventId(events[0]), "s1.room_occupied");
  EXPECT_EQ(PresenceEventId(events[1]), "s1.user_entered");
}

TEST(PresenceTrackerTest, OnlyLiveRecordsWrittenByThisInstanceAreAnnounced) {
  ActivityRecord r = Join("s1", "r", "u");
  r.recorded_by = "i1";
  EXPECT_TRUE(ShouldAnnounce(r, true, "i1"));
  EXPECT_FALSE(ShouldAnnounce(r, false, "i1"));  // history
  EXPECT_FALSE(ShouldAnnounce(r, true, "i2"));   // another instance's
  r.recorded_by = "";
  EXPECT_TRUE(ShouldAnnounce(r, true, ""));  // alone, without --redis
}

}  // namespace
}  // namespace cursord::core
