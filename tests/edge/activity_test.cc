// Connection records end to end (docs/CONTROL_API.md, "Connection
// records"): real clients join and leave in every way a session ends, and
// ListSessions shows each with its reason, filtered and paged.
#include <algorithm>
#include <future>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/edge/edge_fixture.h"
#include "tests/testing/eventually.h"
#include "tests/testing/ws_test_client.h"

namespace cursord::testing {
namespace {

class ActivityTest : public EdgeTest {
 protected:
  absl::StatusOr<core::SessionPage> Sessions(core::SessionQuery query) {
    std::promise<absl::StatusOr<core::SessionPage>> answer;
    server_->control_plane().ListSessions(
        std::move(query),
        [&](absl::StatusOr<core::SessionPage> page) { answer.set_value(std::move(page)); });
    return answer.get_future().get();
  }
  // The sessions of `room`, newest first.
  std::vector<core::SessionRecord> SessionsOf(const std::string& room) {
    core::SessionQuery query;
    query.room = room;
    absl::StatusOr<core::SessionPage> page = Sessions(query);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? page->sessions : std::vector<core::SessionRecord>{};
  }
  // Waits until the session of `room` with `session_id` has ended.
  bool Ended(const std::string& room, const std::string& session_id) {
    return Eventually([&] {
      for (const core::SessionRecord& s : SessionsOf(room)) {
        if (s.session_id == session_id) return s.ended_at.has_value();
      }
      return false;
    });
  }
  void Kick(const std::string& room, uint8_t id) {
    std::promise<absl::Status> done;
    server_->control_plane().KickMember(room, id, "spam",
                                        [&](absl::Status status) { done.set_value(status); });
    ASSERT_TRUE(done.get_future().get().ok());
  }
};

TEST_F(ActivityTest, EveryWayASessionEndsIsRecordedWithItsReason) {
  StartServer();
  uint8_t id;
  // Joins in this order: left, lost, kicked, open.
  auto left = Join("/rooms/rec?user=u-left&name=Lea", &id);
  auto lost = Join("/rooms/rec?user=u-lost", &id);
  uint8_t kicked_id;
  auto kicked = Join("/rooms/rec?user=u-kicked", &kicked_id);
  auto open = Join("/rooms/rec?user=u-open&color=%23102030", &id);
  ASSERT_TRUE(left && lost && kicked && open);

  std::vector<core::SessionRecord> sessions = SessionsOf("rec");
  ASSERT_EQ(sessions.size(), 4u);
  EXPECT_EQ(sessions[0].user_id, "u-open");  // newest first
  EXPECT_EQ(sessions[3].user_id, "u-left");
  EXPECT_EQ(sessions[3].name, "Lea");
  EXPECT_EQ(sessions[0].color, "#102030");
  EXPECT_EQ(sessions[0].room, "rec");
  EXPECT_EQ(sessions[0].remote_address.rfind("127.0.0.1:", 0), 0u);
  for (const core::SessionRecord& s : sessions) EXPECT_FALSE(s.ended_at.has_value());

  left->Close(1000);
  lost.reset();  // no close frame
  Kick("rec", kicked_id);
  ASSERT_TRUE(kicked->WaitClosed());
  for (int i : {1, 2, 3}) ASSERT_TRUE(Ended("rec", sessions[i].session_id)) << i;

  sessions = SessionsOf("rec");
  ASSERT_EQ(sessions.size(), 4u);
  EXPECT_FALSE(sessions[0].ended_at.has_value());  // still open
  EXPECT_EQ(sessions[1].reason, core::EndReason::kKicked);
  EXPECT_EQ(sessions[1].close_code, 4000);
  EXPECT_EQ(sessions[2].reason, core::EndReason::kConnectionLost);
  EXPECT_EQ(sessions[2].close_code, 1006);
  EXPECT_EQ(sessions[3].reason, core::EndReason::kLeft);
  EXPECT_EQ(sessions[3].close_code, 1000);
  EXPECT_GE(*sessions[3].ended_at, sessions[3].started_at);
}

TEST_F(ActivityTest, ARoomCloseAndAFloodAreTheirOwnReasons) {
  edge::ServerOptions options;
  options.max_message_rate = 10;
  options.message_burst = 10;
  StartServer(options);
  uint8_t id;
  auto flooder = Join("/rooms/flood-rec", &id);
  auto stayer = Join("/rooms/closing?user=u-c", &id);
  ASSERT_TRUE(flooder && stayer);
  // Far over twice the limit: closed with 1008 "message rate limit exceeded".
  for (int i = 0; i < 200 && !flooder->closed(); ++i) flooder->SendBinary(CursorMessage(1, 1));
  ASSERT_TRUE(flooder->WaitClosed());
  std::promise<absl::StatusOr<core::CloseResult>> closed;
  server_->control_plane().CloseRoom("closing", "maintenance",
                                     [&](absl::StatusOr<core::CloseResult> r) { closed.set_value(r); });
  ASSERT_TRUE(closed.get_future().get().ok());
  ASSERT_TRUE(Ended("flood-rec", SessionsOf("flood-rec").at(0).session_id));
  ASSERT_TRUE(Ended("closing", SessionsOf("closing").at(0).session_id));
  EXPECT_EQ(SessionsOf("flood-rec").at(0).reason, core::EndReason::kRateLimited);
  EXPECT_EQ(SessionsOf("closing").at(0).reason, core::EndReason::kRoomClosed);
  EXPECT_EQ(SessionsOf("closing").at(0).close_code, 4001);
}

TEST_F(ActivityTest, SessionsAreFilteredByRoomAndUserAndPaged) {
  StartServer();
  std::vector<std::unique_ptr<WsTestClient>> clients;
  uint8_t id;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(Join("/rooms/page-a?user=" + std::string(i % 2 ? "odd" : "even"), &id));
    clients.push_back(Join("/rooms/page-b?user=even", &id));
  }
  core::SessionQuery query;
  query.user_id = "even";
  absl::StatusOr<core::SessionPage> even = Sessions(query);
  ASSERT_TRUE(even.ok());
  EXPECT_EQ(even->sessions.size(), 8u);  // 3 in page-a, 5 in page-b
  query.room = "page-a";
  absl::StatusOr<core::SessionPage> even_a = Sessions(query);
  ASSERT_TRUE(even_a.ok());
  EXPECT_EQ(even_a->sessions.size(), 3u);

  // Pages of 3 over all 10: 3, 3, 3, 1, each newest first, no repeats.
  core::SessionQuery paged;
  paged.limit = 3;
  std::vector<std::string> seen;
  for (int page = 0; page < 10; ++page) {
    absl::StatusOr<core::SessionPage> p = Sessions(paged);
    ASSERT_TRUE(p.ok());
    for (const core::SessionRecord& s : p->sessions) seen.push_back(s.session_id);
    if (!p->more) break;
    paged.after = core::SessionCursor{p->sessions.back().started_at, p->sessions.back().session_id};
  }
  ASSERT_EQ(seen.size(), 10u);
  std::vector<std::string> sorted = seen;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::unique(sorted.begin(), sorted.end()), sorted.end());
  core::SessionQuery everything;
  everything.limit = 100;
  absl::StatusOr<core::SessionPage> whole = Sessions(everything);
  ASSERT_TRUE(whole.ok());
  std::vector<std::string> all;
  for (const core::SessionRecord& s : whole->sessions) all.push_back(s.session_id);
  EXPECT_EQ(seen, all);
}

TEST_F(ActivityTest, TheRecordsAreBounded) {
  edge::ServerOptions options;
  options.activity_records = 4;
  StartServer(options);
  uint8_t id;
  std::vector<std::unique_ptr<WsTestClient>> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(Join("/rooms/bounded", &id));
  // 3 joins; then 2 leaves push the first join out: its session goes.
  clients[1]->Close(1000);
  clients[2]->Close(1000);
  ASSERT_TRUE(Eventually([&] { return SessionsOf("bounded").size() == 2; }));
  std::vector<core::SessionRecord> sessions = SessionsOf("bounded");
  EXPECT_TRUE(sessions[0].ended_at.has_value());
  EXPECT_TRUE(sessions[1].ended_at.has_value());
}

}  // namespace
}  // namespace cursord::testing
