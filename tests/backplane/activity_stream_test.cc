// The connection records' stream entries (server/backplane/activity_stream.h):
// a record survives its fields, and an entry no cursord wrote is refused.
#include "server/backplane/activity_stream.h"

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "server/backplane/room_keys.h"

namespace cursord::backplane {
namespace {

std::vector<std::pair<std::string, std::string>> Pairs(const std::vector<std::string>& flat) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (size_t i = 0; i + 1 < flat.size(); i += 2) pairs.emplace_back(flat[i], flat[i + 1]);
  return pairs;
}

core::ActivityRecord Leave() {
  core::ActivityRecord r;
  r.kind = core::ActivityKind::kLeft;
  r.time = absl::FromUnixMillis(1733180000123);
  r.session_id = "18c1f4e2a10-00000042";
  r.room = "doc/42 ü";
  r.member_id = 255;
  r.user_id = "u-1";
  r.name = "Ann";
  r.color = "#ff8800";
  r.instance = "web-1-0a1b2c3d";
  r.remote_address = "[::1]:4431";
  r.connected_at = absl::FromUnixMillis(1733179000000);
  r.reason = core::EndReason::kInstanceDied;
  r.close_code = 1006;
  r.recorded_by = "web-2-99999999";
  return r;
}

TEST(ActivityStreamTest, ARecordSurvivesItsStreamEntry) {
  const core::ActivityRecord leave = Leave();
  absl::StatusOr<core::ActivityRecord> back =
      ActivityFromEntry("1733180000124-7", Pairs(ActivityEntryFields(leave)));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->position, "1733180000124-7");
  EXPECT_EQ(back->kind, core::ActivityKind::kLeft);
  EXPECT_EQ(back->time, leave.time);
  EXPECT_EQ(back->session_id, leave.session_id);
  EXPECT_EQ(back->room, leave.room);
  EXPECT_EQ(back->member_id, 255);
  EXPECT_EQ(back->user_id, leave.user_id);
  EXPECT_EQ(back->name, leave.name);
  EXPECT_EQ(back->color, leave.color);
  EXPECT_EQ(back->instance, leave.instance);
  EXPECT_EQ(back->remote_address, leave.remote_address);
  EXPECT_EQ(back->connected_at, leave.connected_at);
  EXPECT_EQ(back->reason, core::EndReason::kInstanceDied);
  EXPECT_EQ(back->close_code, 1006);
  EXPECT_EQ(back->recorded_by, leave.recorded_by);

  core::ActivityRecord join = leave;
  join.kind = core::ActivityKind::kJoined;
  join.reason = core::EndReason::kNone;
  join.close_code = 0;
  back = ActivityFromEntry("5-0", Pairs(ActivityEntryFields(join)));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->kind, core::ActivityKind::kJoined);
  EXPECT_EQ(back->reason, core::EndReason::kNone);
}

TEST(ActivityStreamTest, AnEntryNoCursordWroteIsRefused) {
  const auto fields = Pairs(ActivityEntryFields(Leave()));
  auto with = [&](const std::string& name, const std::string& value) {
    auto changed = fields;
    for (auto& [n, v] : changed) {
      if (n == name) v = value;
    }
    return changed;
  };
  EXPECT_FALSE(ActivityFromEntry("x", fields).ok());
  EXPECT_FALSE(ActivityFromEntry("1-1", with("kind", "joined")).ok());
  EXPECT_FALSE(ActivityFromEntry("1-1", with("member", "256")).ok());
  EXPECT_FALSE(ActivityFromEntry("1-1", with("time", "soon")).ok());
  EXPECT_FALSE(ActivityFromEntry("1-1", with("reason", "vanished")).ok());
  EXPECT_FALSE(ActivityFromEntry("1-1", with("code", "70000")).ok());
  EXPECT_FALSE(ActivityFromEntry("1-1", with("session", "")).ok());
  EXPECT_FALSE(ActivityFromEntry("1-1", {}).ok());
  // A field of a later version is skipped.
  auto later = fields;
  later.emplace_back("mood", "calm");
  EXPECT_TRUE(ActivityFromEntry("1-1", later).ok());
}

TEST(ActivityStreamTest, IndexEntriesParseBack) {
  std::string room;
  uint8_t id = 0;
  uint64_t generation = 0;
  ASSERT_TRUE(ParseIndexEntry(IndexEntry("a-b", 7, 123456789), &room, &id, &generation));
  EXPECT_EQ(room, "a-b");
  EXPECT_EQ(id, 7);
  EXPECT_EQ(generation, 123456789u);
  ASSERT_TRUE(ParseIndexEntry(IndexEntry("doc-1", 255, 1), &room, &id, &generation));
  EXPECT_EQ(room, "doc-1");
  EXPECT_EQ(id, 255);
  EXPECT_EQ(generation, 1u);
  EXPECT_FALSE(ParseIndexEntry("doc-1", &room, &id, &generation));
  EXPECT_FALSE(ParseIndexEntry(std::string("doc\0" "256\0" "1", 10), &room, &id, &generation));
  EXPECT_FALSE(ParseIndexEntry(std::string("doc\0" "1\0" "x", 8), &room, &id, &generation));
}

}  // namespace
}  // namespace cursord::backplane
