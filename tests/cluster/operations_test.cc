// Operating one instance of a cluster (docs/OPERATIONS.md, "Running several
// instances" and "Signals and shutdown"): a graceful stop frees its members
// at once, the control plane through the real cursorctl shows the cluster
// and kicks members wherever they are, and /metrics counts the backplane's
// traffic.
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "server/backplane/room_keys.h"
#include "tests/cluster/cluster_fixture.h"
#include "tests/testing/eventually.h"
#include "tests/testing/subprocess.h"

namespace cursord::testing {
namespace {

using ClusterOperationsTest = ClusterTest;

// SIGTERM: the instance closes its sessions with 1001 and, on the way out,
// its backplane sends their leaves, deletes its lease and reaps itself
// (Backplane::Stop). So the others see its members go at once, not when
// its lease would have expired. b answers its close handshake (its leave
// is the session's); c never reads, so its session outlives the grace and
// only the stop frees it. The drain closes every session at once here
// (no delay, no spread) and the grace is 500 ms, not the default 3 s, so
// that the whole stop fits well inside the bound below.
TEST_F(ClusterOperationsTest, AGracefullyStoppedInstancesMembersLeaveAtOnceAndFreeTheirIds) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(
      2, {"--drain-delay", "0s", "--drain-spread", "0s", "--shutdown-grace", "500ms"}));
  JOIN(a, 0, "stop");
  JOIN(b, 1, "stop");
  JOIN(c, 1, "stop");
  ASSERT_TRUE(SeesExactly(*a, Ids({0, 1, 2})));

  const absl::Time terminated = absl::Now();
  instance(1).Terminate();
  ASSERT_TRUE(b->WaitClosed()) << b->Describe();
  EXPECT_EQ(b->close_code(), 1001) << b->Describe();
  // Without the stop's leaves and self-reap, the others would free b and c
  // only once the lease expired (3 s after the last heartbeat) and their
  // reaper ran (every second): more than 3 s after the SIGTERM. 2.5 s is
  // the grace plus room for a loaded machine, and still below that.
  EXPECT_TRUE(a->WaitUntil([&] { return !a->Sees(1) && !a->Sees(2); },
                           terminated + absl::Milliseconds(2500)))
      << "04 1 and 04 2 not within 2.5 s of SIGTERM ("
      << absl::FormatDuration(absl::Now() - terminated) << "): " << a->Describe();
  EXPECT_EQ(instance(1).WaitExit(absl::Seconds(5)), 0) << instance(1).LogTail(20);
  // c's 1001 went out with the drain, but c reads only now, after the
  // process gave up on its handshake and exited: the kernel may have reset
  // the connection, and a reset drops what c had not read (1006).
  ASSERT_TRUE(c->WaitClosed()) << c->Describe();
  EXPECT_TRUE(c->close_code() == 1001 || c->close_code() == 1006) << c->Describe();

  // Their ids are free: the lowest first.
  JOIN(d, 0, "stop");
  EXPECT_EQ(d->id(), 1);
  EXPECT_EQ(Ids(d->roster()), Ids({0, 1}));
  JOIN(e, 0, "stop");
  EXPECT_EQ(e->id(), 2);
  EXPECT_EQ(Ids(e->roster()), Ids({0, 1, 2}));
  // The stopped instance is gone from Redis, lease and index.
  const backplane::InstanceKeys stopped = backplane::KeysOfInstance(instance(1).instance_id());
  EXPECT_EQ(redis().Query({"EXISTS", stopped.lease, stopped.members}).value_or("?"), "0");
}

// cursorctl against one instance of a cluster: its status names the
// instance and the backplane; a kick of another instance's member goes to
// that instance (the cluster bus), a kick of a local one is done here, and
// each leave reaches the other instance.
TEST_F(ClusterOperationsTest, CursorctlShowsTheClusterAndKicksMembersOfEveryInstance) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2));
  JOIN(a, 0, "ops");
  JOIN(b, 1, "ops");
  JOIN(c, 0, "ops");
  for (Member* m : {a, b, c}) ASSERT_TRUE(SeesExactly(*m, Ids({0, 1, 2})));

  // gRPC health follows readiness by a poll in cursord's main thread
  // (every 200 ms): just after /healthz says ok, status may still exit 1
  // "not serving". So wait for it, bounded.
  RunResult status;
  ASSERT_TRUE(Eventually([&] {
    status = Ctl(0, {"status"});
    return status.exit_code == 0;
  }, absl::Seconds(2))) << status.out << status.err;
  const std::string cluster = LineStartingWith(status.out, "Cluster:");
  EXPECT_TRUE(absl::StrContains(cluster, "instance i0")) << status.out;
  EXPECT_TRUE(absl::StrContains(cluster, "backplane connected")) << status.out;

  const RunResult local = Ctl(0, {"kick", "ops", "2", "--reason", "bye"});
  ASSERT_EQ(local.exit_code, 0) << local.err;
  EXPECT_EQ(local.out, "kicked member 2 from room \"ops\"\n");
  ASSERT_TRUE(c->WaitClosed()) << c->Describe();
  EXPECT_EQ(c->close_code(), 4000) << c->Describe();
  for (Member* m : {a, b}) EXPECT_TRUE(m->WaitForMessage(Left(2))) << m->Describe();

  const RunResult remote = Ctl(0, {"kick", "ops", "1", "--reason", "from i0"});
  ASSERT_EQ(remote.exit_code, 0) << remote.out << remote.err;
  ASSERT_TRUE(b->WaitClosed()) << b->Describe();
  EXPECT_EQ(b->close_code(), 4000) << b->Describe();
  EXPECT_EQ(b->close_reason(), "from i0") << b->Describe();
  EXPECT_TRUE(a->WaitForMessage(Left(1))) << a->Describe();
  EXPECT_TRUE(SeesExactly(*a, Ids({0})));
  // Nobody left to kick: NOT_FOUND after every instance answered.
  const RunResult gone = Ctl(1, {"kick", "ops", "1"});
  EXPECT_EQ(gone.exit_code, 1) << gone.out << gone.err;
  EXPECT_TRUE(absl::StrContains(gone.err, "NOT_FOUND")) << gone.err;
}

// `cursorctl rooms show` on one instance lists the members of every
// instance, each with its instance's id in the INSTANCE column.
TEST_F(ClusterOperationsTest, CursorctlRoomsShowNamesEachMembersInstance) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2));
  JOIN(a, 0, "ops");
  JOIN(b, 1, "ops");
  JOIN(c, 0, "ops");
  for (Member* m : {a, b, c}) ASSERT_TRUE(SeesExactly(*m, Ids({0, 1, 2})));

  const RunResult show = Ctl(0, {"rooms", "show", "ops"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_TRUE(absl::StrContains(LineStartingWith(show.out, "Members:"), "3")) << show.out;
  EXPECT_TRUE(absl::StrContains(LineStartingWith(show.out, "1"), instance(1).instance_id()))
      << show.out;
  for (const std::string id : {"0", "2"}) {
    const std::string row = LineStartingWith(show.out, id);
    EXPECT_FALSE(row.empty()) << "no row for member " << id << ": " << show.out;
    EXPECT_TRUE(absl::StrContains(row, instance(0).instance_id())) << show.out;
  }
  // The server's side of it: exactly one member, 1, flagged remote.
  const RunResult json = Ctl(0, {"-o", "json", "rooms", "show", "ops"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const size_t remote = json.out.find("\"remote\":true");
  EXPECT_NE(remote, std::string::npos) << json.out;
  EXPECT_EQ(json.out.find("\"remote\":true", remote + 1), std::string::npos) << json.out;
  EXPECT_NE(json.out.rfind("\"id\":1,", remote), std::string::npos) << json.out;
}

// /metrics of each instance: the backplane connected, and a move and a
// click that cross instances counted as publishes on the sender's instance
// and as messages received on the other.
TEST_F(ClusterOperationsTest, MetricsCountTheBackplanesTrafficOnBothSides) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2));
  for (int i : {0, 1}) {
    EXPECT_EQ(instance(i).Metric("cursord_backplane_connected"), 1) << instance(i).instance_id();
  }
  JOIN(a, 0, "metrics");
  JOIN(b, 1, "metrics");
  ASSERT_TRUE(a->WaitForMessage(Joined(1))) << a->Describe();
  const double published = instance(0).Metric("cursord_backplane_publishes_total").value_or(-1);
  const double received =
      instance(1).Metric("cursord_backplane_messages_received_total").value_or(-1);
  ASSERT_GE(published, 0) << "no cursord_backplane_publishes_total on i0";
  ASSERT_GE(received, 0) << "no cursord_backplane_messages_received_total on i1";

  a->Move(10, 20);
  a->Press();
  ASSERT_TRUE(b->WaitForMessage(Pressed(0))) << b->Describe();
  EXPECT_EQ(b->Position(0), std::make_pair(uint16_t{10}, uint16_t{20})) << b->Describe();
  // At least the positions message and the click, each one PUBLISH on i0
  // and one message on i1's subscription. The counters may trail the
  // delivery by a moment.
  EXPECT_TRUE(Eventually([&] {
    return instance(0).Metric("cursord_backplane_publishes_total") >= published + 2;
  })) << "publishes on i0: " << published << " before, "
      << instance(0).Metric("cursord_backplane_publishes_total").value_or(-1) << " after";
  EXPECT_TRUE(Eventually([&] {
    return instance(1).Metric("cursord_backplane_messages_received_total") >= received + 2;
  })) << "received on i1: " << received << " before, "
      << instance(1).Metric("cursord_backplane_messages_received_total").value_or(-1)
      << " after";
  EXPECT_GT(instance(0).Metric("cursord_backplane_publishes_total").value_or(0), 0);
  EXPECT_GT(instance(1).Metric("cursord_backplane_messages_received_total").value_or(0), 0);
  // Each answered PUBLISH is one observation of the latency histogram
  // (the counter and the histogram are updated by the same answer).
  EXPECT_TRUE(Eventually([&] {
    return instance(0).Metric("cursord_backplane_publish_latency_seconds_count") ==
           instance(0).Metric("cursord_backplane_publishes_total");
  })) << instance(0).Metric("cursord_backplane_publish_latency_seconds_count").value_or(-1);
  EXPECT_GE(instance(0).Metric("cursord_backplane_publish_latency_seconds_count").value_or(0),
            published + 2);
  for (int i : {0, 1}) {
    EXPECT_EQ(instance(i).Metric("cursord_backplane_connected"), 1) << instance(i).instance_id();
  }
}

}  // namespace
}  // namespace cursord::testing
