// Webhooks across a cluster (docs/CONTROL_API.md, "Webhooks"): three
// cursord processes on one real redis-server POST to one small real HTTP
// receiver in the test (which checks every signature itself). Presence
// events are computed cluster-wide from the cluster's connection records:
// a user with a tab on each of two instances enters once and leaves once,
// and each event is sent once, by the instance that wrote the record that
// caused it (for a killed instance's members, the reaper's).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/cluster/cluster_fixture.h"
#include "tests/testing/eventually.h"
#include "tests/testing/webhook_receiver.h"

namespace cursord::testing {
namespace {

constexpr char kSecret[] = "cluster-webhook-secret";

class ClusterWebhookTest : public ClusterTest {
 protected:
  // Outlives the cluster (whose instances send the leaves of their
  // sessions when they stop).
  WebhookReceiver receiver_{kSecret};

  bool Delivered(const std::string& line) {
    return Eventually([&] {
      for (const std::string& l : Lines(receiver_.delivered())) {
        if (l == line) return true;
      }
      return false;
    });
  }
};

TEST_F(ClusterWebhookTest, AUserOnTwoInstancesEntersOnceAndLeavesOnceAndTheReaperSendsTheDeads) {
  ASSERT_NO_FATAL_FAILURE(
      StartCluster(3, {"--webhook-url", receiver_.url(), "--webhook-secret", kSecret}));
  JOIN(tab1, 0, "hook?user=ann");
  JOIN(tab2, 1, "hook?user=ann");
  JOIN(bob, 2, "hook?user=bob");
  ASSERT_TRUE(Delivered("user_entered hook bob"));
  const uint8_t first_tab = tab1->id();
  tab1->Leave();
  ASSERT_TRUE(tab2->WaitForMessage(Left(first_tab))) << tab2->Describe();
  tab2->Leave();
  ASSERT_TRUE(Delivered("user_left hook ann"));

  // bob's instance dies: the instance whose reaper frees him writes his
  // leave, and sends its events.
  const std::string dead = instance(2).instance_id();
  instance(2).Kill();
  ASSERT_TRUE(Delivered("room_vacated hook"));

  // Markers on both live instances: each sends in order, so once both
  // markers are in, everything they sent before is too.
  JOIN(m0, 0, "hook-marker-0");
  JOIN(m1, 1, "hook-marker-1");
  ASSERT_TRUE(Delivered("room_occupied hook-marker-0"));
  ASSERT_TRUE(Delivered("room_occupied hook-marker-1"));

  std::map<std::string, int> counts;
  std::string bob_left_instance;
  for (const HookEvent& event : receiver_.delivered()) {
    if (event.room != "hook") continue;
    ++counts[absl::StrCat(event.name, " ", event.user_id)];
    if (event.name == "user_left" && event.user_id == "bob") bob_left_instance = event.instance;
  }
  EXPECT_EQ(counts, (std::map<std::string, int>{{"room_occupied ", 1},
                                                {"user_entered ann", 1},
                                                {"user_entered bob", 1},
                                                {"user_left ann", 1},
                                                {"user_left bob", 1},
                                                {"room_vacated ", 1}}))
      << ::testing::PrintToString(Lines(receiver_.delivered()));
  // The session's instance, though another one sent it.
  EXPECT_EQ(bob_left_instance, dead);
  for (const HookRequest& request : receiver_.requests()) {
    EXPECT_TRUE(request.signature_ok) << request.body;
    EXPECT_TRUE(request.body_ok) << request.body;
  }
}

// An instance stopped with SIGTERM closes its sessions (1001) and, before
// it exits, reads its own last records back from the cluster's stream, so
// that it announces the leaves it wrote (no other instance announces them).
TEST_F(ClusterWebhookTest, AnInstanceStoppedGracefullyAnnouncesItsSessionsLeaves) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2, {"--webhook-url", receiver_.url(), "--webhook-secret",
                                           kSecret, "--drain-delay", "0s", "--drain-spread", "0s"}));
  JOIN(ann, 1, "bye?user=ann");
  ASSERT_TRUE(Delivered("user_entered bye ann"));
  instance(1).Terminate();
  ASSERT_TRUE(ann->WaitClosed()) << ann->Describe();
  EXPECT_EQ(ann->close_code(), 1001);
  ASSERT_EQ(instance(1).WaitExit(absl::Seconds(20)), 0) << instance(1).LogTail(20);
  // Sent before it exited: nobody else would.
  std::vector<std::string> bye;
  for (const std::string& line : Lines(receiver_.delivered())) {
    if (line.find(" bye") != std::string::npos) bye.push_back(line);
  }
  EXPECT_EQ(bye, (std::vector<std::string>{"room_occupied bye", "user_entered bye ann",
                                           "user_left bye ann", "room_vacated bye"}));
}

}  // namespace
}  // namespace cursord::testing
