// Failures of a cluster (docs/BACKPLANE.md, "Failures"): an instance killed
// with -9, an instance paused past its lease, Redis down and Redis back
// empty. The bounds are the design's: 04 everywhere within 5 s of a kill,
// full rosters within 5 s of Redis' return.
#include <signal.h>

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/cluster/cluster_fixture.h"
#include "tests/testing/eventually.h"

namespace cursord::testing {
namespace {

class ClusterFailureTest : public ClusterTest {
 protected:
  // Stops Redis for `outage` (at least as long as it takes every instance
  // to say degraded), restarts it empty and checks that the cluster heals.
  void RestartRedisAfter(absl::Duration outage);
};

TEST_F(ClusterFailureTest, AKilledInstancesMembersLeaveEverywhereWithinFiveSeconds) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(3));
  JOIN(a, 0, "k");
  JOIN(b, 1, "k");
  JOIN(c, 1, "k");
  JOIN(d, 2, "k");
  for (Member* m : {a, d}) ASSERT_TRUE(SeesExactly(*m, Ids({0, 1, 2, 3})));
  // b dies pressed: a stale press must not outlive it.
  b->Press();
  for (Member* m : {a, d}) ASSERT_TRUE(m->WaitForMessage(Pressed(1))) << m->Describe();

  const absl::Time killed = absl::Now();
  instance(1).Kill();
  for (Member* m : {a, d}) {
    EXPECT_TRUE(m->WaitUntil([&] { return !m->Sees(1) && !m->Sees(2); }, killed + absl::Seconds(5)))
        << "04 1 and 04 2 not within 5 s of kill -9 (" << absl::FormatDuration(absl::Now() - killed)
        << "): " << m->Describe();
  }
  // One reaper freed each of the two (the reap is idempotent: racing
  // reapers do not count a member twice). The count follows the script's
  // reply, which may come a moment after the 04s.
  EXPECT_TRUE(Eventually([&] { return MetricSum("cursord_backplane_reaped_members_total") == 2; }))
      << MetricSum("cursord_backplane_reaped_members_total");

  // Their ids are free again, lowest first, on any instance.
  JOIN(e, 0, "k");
  EXPECT_EQ(e->id(), 1);
  EXPECT_EQ(Ids(e->roster()), Ids({0, 1, 3}));
  JOIN(f, 2, "k");
  EXPECT_EQ(f->id(), 2);
  EXPECT_EQ(Ids(f->roster()), Ids({0, 1, 2, 3}));
  // The new owner of id 1 presses: the observers take it as a press of a
  // member that is not pressing (Member flags a second 06 without a 07).
  e->Press();
  for (Member* m : {a, d, f}) EXPECT_TRUE(m->WaitForMessage(Pressed(1))) << m->Describe();
  for (Member* m : {a, d, e, f}) EXPECT_TRUE(SeesExactly(*m, Ids({0, 1, 2, 3})));
}

// Paused (SIGSTOP) until the others have reaped it, the instance must not
// come back as if nothing happened: on SIGCONT it closes its sessions with
// 1012, registers anew, and no member of its old life remains anywhere.
// What its clients sent while it was stopped is read after the resume,
// when their ids already belong to members of a third instance: it must
// reach nobody (the others drop it by generation).
TEST_F(ClusterFailureTest, AnInstancePausedPastItsLeaseClosesItsSessionsAndLeavesNoGhosts) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(3));
  JOIN(a, 0, "p");
  JOIN(b, 1, "p");
  JOIN(c, 1, "p");
  ASSERT_TRUE(SeesExactly(*a, Ids({0, 1, 2})));

  const absl::Time paused = absl::Now();
  instance(1).Pause();
  b->Move(777, 777);  // taken by the kernel, read by cursord after SIGCONT
  b->Press();
  c->Move(888, 888);
  // Lease 3 s, reaper every second: gone from a's room within 5 s.
  ASSERT_TRUE(a->WaitUntil([&] { return !a->Sees(1) && !a->Sees(2); }, paused + absl::Seconds(5)))
      << "the paused instance's members were not reaped within 5 s: " << a->Describe();
  // Their ids go to new members of another instance before the resume.
  JOIN(d, 2, "p");
  EXPECT_EQ(d->id(), 1);
  EXPECT_EQ(Ids(d->roster()), Ids({0, 1}));
  JOIN(e, 2, "p");
  EXPECT_EQ(e->id(), 2);
  d->Move(1234, 4321);
  ASSERT_TRUE(a->WaitFor([&] { return a->Position(1).has_value(); })) << a->Describe();
  instance(1).Resume();

  for (Member* m : {b, c}) {
    ASSERT_TRUE(m->WaitClosed()) << m->Describe();
    EXPECT_EQ(m->close_code(), 1012) << m->Describe();
    EXPECT_TRUE(absl::StrContains(m->close_reason(), "lease")) << m->Describe();
  }
  // b and c may be closed by the leaves and joins buffered in the
  // subscription before the instance's heartbeat finds its lease gone: a
  // join sent in between would be closed by that fence. Wait for it.
  ASSERT_TRUE(Eventually(
      [&] { return instance(1).Metric("cursord_backplane_fences_total") == 1.0; },
      absl::Seconds(5)))
      << "the resumed instance did not find its lease gone";
  ASSERT_TRUE(AllHealth("ok")) << "the resumed instance did not register again";
  JOIN(f, 1, "p");
  EXPECT_EQ(f->id(), 3);
  EXPECT_EQ(Ids(f->roster()), Ids({0, 1, 2, 3})) << "a ghost of the paused instance";

  // f's instance learns d's position from d's (tested on its own in
  // AJoinerOnANewInstanceGetsEachMembersStateBeforeItsNextClick).
  ASSERT_TRUE(f->WaitFor([&] { return f->Position(1).has_value(); })) << f->Describe();
  // The marker: d's press reaches a, e and f after whatever b and c sent.
  d->Press();
  for (Member* m : {a, e, f}) {
    ASSERT_TRUE(m->WaitForMessage(Pressed(1))) << m->Describe();
    EXPECT_EQ(m->Position(1), std::make_pair(uint16_t{1234}, uint16_t{4321}))
        << "d's position is not the one before its press: " << m->Describe();
    EXPECT_FALSE(m->Position(2).has_value()) << "c's position under e's id: " << m->Describe();
  }
  // Under id 1's second owner (a's second 03 1), only d's position.
  for (const Member::Received& r : a->About(1)) {
    if (r.bytes[0] == 0x05 && r.epoch == 2) {
      EXPECT_EQ(r.bytes, PositionOf(1, 1234, 4321)) << a->Describe();
    }
  }
  for (Member* m : {a, d, e, f}) EXPECT_TRUE(SeesExactly(*m, Ids({0, 1, 2, 3})));
  // Reaped once each, by whichever live instance got there first.
  EXPECT_EQ(MetricSum("cursord_backplane_reaped_members_total"), 2);
}

TEST_F(ClusterFailureTest, WithRedisDownRoomsGoOnLocallyAndNewJoinsAreRefused) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2));
  for (int i : {0, 1}) {
    EXPECT_EQ(instance(i).Metric("cursord_backplane_connected"), 1) << instance(i).instance_id();
    EXPECT_EQ(instance(i).Metric("cursord_joins_refused_backplane_total"), 0);
  }
  JOIN(a1, 0, "down");
  JOIN(a2, 0, "down");
  JOIN(b, 1, "down");
  for (Member* m : {a1, a2, b}) ASSERT_TRUE(SeesExactly(*m, Ids({0, 1, 2})));

  redis().Stop(SIGKILL);
  ASSERT_TRUE(AllHealth("degraded")) << "/healthz does not say degraded without Redis";
  for (int i : {0, 1}) {
    EXPECT_EQ(instance(i).Metric("cursord_backplane_connected"), 0) << instance(i).instance_id();
  }

  // Members of one instance go on with each other.
  a1->Move(11, 22);
  a1->Press();
  ASSERT_TRUE(a2->WaitForMessage(Pressed(0))) << a2->Describe();
  EXPECT_EQ(a2->Position(0), std::make_pair(uint16_t{11}, uint16_t{22})) << a2->Describe();

  // New joins are refused, in a room with members here and in a new one.
  ASSERT_NO_FATAL_FAILURE(ExpectRefused(0, "down", 1013, "backplane unavailable"));
  ASSERT_NO_FATAL_FAILURE(ExpectRefused(1, "fresh", 1013, "backplane unavailable"));
  EXPECT_EQ(instance(0).Metric("cursord_joins_refused_backplane_total"), 1);
  EXPECT_EQ(instance(1).Metric("cursord_joins_refused_backplane_total"), 1);

  // And the room still works after the refusals.
  a2->Move(33, 44);
  a1->Release();
  ASSERT_TRUE(a2->WaitForMessage(Released(0))) << a2->Describe();
  EXPECT_TRUE(a1->WaitFor([&] {
    return a1->Position(1) == std::make_pair(uint16_t{33}, uint16_t{44});
  })) << a1->Describe();
}

// Redis drops the instances' command connections (a network blip, a
// proxy's idle reset, CLIENT KILL) while their leases are alive: they
// reconnect to the same Redis, find their leases and go on serving: ready,
// joins accepted, leaves sent.
TEST_F(ClusterFailureTest, ACommandConnectionLostWithTheLeaseAliveIsBackAtOnce) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2));
  JOIN(a, 0, "blip");
  JOIN(b, 1, "blip");
  for (Member* m : {a, b}) ASSERT_TRUE(SeesExactly(*m, Ids({0, 1})));

  // Normal clients only: the subscribers stay (type pubsub).
  ASSERT_TRUE(redis().Query({"CLIENT", "KILL", "TYPE", "normal"}).ok());
  for (int i : {0, 1}) {
    ASSERT_TRUE(Eventually([&] {
      return instance(i).Metric("cursord_backplane_reconnects_total").value_or(0) >= 1;
    })) << instance(i).LogTail(20);
  }
  ASSERT_TRUE(AllHealth("ok")) << "an instance stayed degraded after reconnecting";
  for (int i : {0, 1}) {
    EXPECT_EQ(instance(i).Metric("cursord_backplane_connected"), 1) << instance(i).LogTail(20);
    EXPECT_EQ(instance(i).Metric("cursord_backplane_fences_total"), 0) << instance(i).LogTail(20);
  }
  // The leave is sent (the id is free again) and a join is accepted.
  b->Leave();
  ASSERT_TRUE(a->WaitForMessage(Left(1))) << a->Describe();
  JOIN(c, 1, "blip");
  EXPECT_EQ(c->id(), 1);
  ASSERT_TRUE(a->WaitForMessage(Joined(1))) << a->Describe();
}

// An instance that starts while Redis is down serves (health says
// degraded) but refuses joins until it reaches Redis; then it joins its
// members to the rooms of the others.
TEST_F(ClusterFailureTest, AnInstanceStartedWithoutRedisRefusesJoinsUntilItConnects) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(1));
  JOIN(a, 0, "late");
  redis().Stop(SIGKILL);
  ASSERT_NO_FATAL_FAILURE(AddInstance());
  ASSERT_TRUE(AllHealth("degraded")) << "/healthz does not say degraded without Redis";
  EXPECT_EQ(instance(1).Metric("cursord_backplane_connected"), 0);
  ASSERT_NO_FATAL_FAILURE(ExpectRefused(1, "late", 1013, "backplane unavailable"));
  EXPECT_EQ(instance(1).Metric("cursord_joins_refused_backplane_total"), 1);

  ASSERT_TRUE(redis().Restart().ok());
  ASSERT_TRUE(AllHealth("ok")) << "not connected within 5 s of Redis' return";
  JOIN(b, 1, "late");
  EXPECT_EQ(b->id(), 1);
  EXPECT_EQ(Ids(b->roster()), Ids({0, 1}));
  EXPECT_TRUE(a->WaitForMessage(Joined(1))) << a->Describe();
  b->Press();
  EXPECT_TRUE(a->WaitForMessage(Pressed(1))) << a->Describe();
}

// Joins `room` on instance `i`, retrying a join refused with 1013 while
// the backplane recovers, until `deadline`.
absl::StatusOr<std::unique_ptr<Member>> JoinOnceReady(int port, const std::string& room,
                                                      const std::string& label,
                                                      absl::Time deadline) {
  while (true) {
    absl::StatusOr<std::unique_ptr<Member>> member = Member::Join(port, room, label);
    if (member.ok() || absl::Now() >= deadline ||
        !absl::StrContains(member.status().message(), "closed 1013")) {
      return member;
    }
    absl::SleepFor(absl::Milliseconds(20));  // a retry's pace, not a proof
  }
}

// Redis comes back empty (no persistence) after `outage`: each instance
// reasserts its members, so within 5 s everyone sees the whole room again
// and a new joiner on each instance gets a fresh id and a roster of every
// connected member, including none that left while Redis was away. No
// member is closed on the way (as one would be whose id a joiner took
// before its instance reasserted it).
void ClusterFailureTest::RestartRedisAfter(absl::Duration outage) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2));
  JOIN(a1, 0, "back");
  JOIN(a2, 0, "back");
  JOIN(b1, 1, "back");
  JOIN(b2, 1, "back");
  JOIN(b3, 1, "back");
  for (Member* m : {a1, a2, b1, b2, b3}) ASSERT_TRUE(SeesExactly(*m, Ids({0, 1, 2, 3, 4})));

  const absl::Time stopped = absl::Now();
  redis().Stop(SIGKILL);
  ASSERT_TRUE(AllHealth("degraded")) << "/healthz does not say degraded without Redis";
  // b3 leaves while Redis is away; its id must not come back as a ghost.
  b3->Leave();
  ASSERT_TRUE(b2->WaitForMessage(Left(4))) << b2->Describe();
  // The outage's length is the stimulus (reconnect attempts back off
  // meanwhile), not a proof of anything.
  absl::SleepFor(outage - (absl::Now() - stopped));
  ASSERT_TRUE(redis().Restart().ok());
  const absl::Time restarted = absl::Now();
  const absl::Time deadline = restarted + absl::Seconds(5);

  for (Member* m : {a1, a2, b1, b2}) {
    EXPECT_TRUE(m->WaitUntil([&] { return m->view() == Ids({0, 1, 2, 3}); }, deadline))
        << "not the whole room within 5 s of Redis' return: " << m->Describe();
  }
  absl::StatusOr<std::unique_ptr<Member>> n =
      JoinOnceReady(instance(1).port(), "back", "n@1", deadline);
  ASSERT_TRUE(n.ok()) << "no join within 5 s of Redis' return: " << n.status();
  Member* joiner = Adopt(*std::move(n));
  EXPECT_EQ(joiner->id(), 4) << "an id held by a connected member handed out again";
  EXPECT_EQ(Ids(joiner->roster()), Ids({0, 1, 2, 3, 4})) << joiner->Describe();
  absl::StatusOr<std::unique_ptr<Member>> m =
      JoinOnceReady(instance(0).port(), "back", "m@0", deadline);
  ASSERT_TRUE(m.ok()) << "no join within 5 s of Redis' return: " << m.status();
  Member* joiner0 = Adopt(*std::move(m));
  EXPECT_EQ(joiner0->id(), 5);
  EXPECT_EQ(Ids(joiner0->roster()), Ids({0, 1, 2, 3, 4, 5})) << joiner0->Describe();
  EXPECT_LE(absl::Now() - restarted, absl::Seconds(5));

  // Traffic crosses instances again, both ways.
  a1->Press();
  for (Member* x : {b1, b2, joiner}) EXPECT_TRUE(x->WaitForMessage(Pressed(0))) << x->Describe();
  b2->Press();
  for (Member* x : {a1, a2, joiner0}) EXPECT_TRUE(x->WaitForMessage(Pressed(3))) << x->Describe();
  for (Member* x : {a1, a2, b1, b2, joiner, joiner0}) {
    EXPECT_FALSE(x->closed()) << x->Describe();
    EXPECT_TRUE(SeesExactly(*x, Ids({0, 1, 2, 3, 4, 5})));
  }
  for (int i : {0, 1}) {
    EXPECT_EQ(instance(i).Metric("cursord_backplane_connected"), 1) << instance(i).instance_id();
  }
}

// Redis came back empty and one instance (paused here) has not reasserted
// its members yet when another hands out ids: a joiner there may take the
// id of a member of the slow instance. Ids stay unique: that member is
// closed with 1012 when its instance finds its id taken, the others keep
// theirs, and every client ends up with one room without duplicates.
TEST_F(ClusterFailureTest, AnIdTakenWhileRedisWasEmptyClosesItsFormerHolderAndIsNeverShared) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2));
  JOIN(a1, 0, "race");
  JOIN(a2, 0, "race");
  JOIN(b1, 1, "race");
  for (Member* m : {a1, a2, b1}) ASSERT_TRUE(SeesExactly(*m, Ids({0, 1, 2})));

  redis().Stop(SIGKILL);
  ASSERT_TRUE(AllHealth("degraded")) << "/healthz does not say degraded without Redis";
  instance(0).Pause();
  ASSERT_TRUE(redis().Restart().ok());
  ASSERT_TRUE(Eventually([&] { return instance(1).HealthStartsWith("ok"); }))
      << "instance 1 did not reconnect within 5 s";
  // Redis knows only b1 (id 2) now: the lowest free id is 0, a1's.
  JOIN(n, 1, "race");
  EXPECT_EQ(n->id(), 0);
  EXPECT_EQ(Ids(n->roster()), Ids({0, 2}));
  instance(0).Resume();

  ASSERT_TRUE(a1->WaitClosed()) << a1->Describe();
  EXPECT_EQ(a1->close_code(), 1012) << a1->Describe();
  ASSERT_TRUE(AllHealth("ok"));
  for (Member* m : {a2, b1, n}) EXPECT_TRUE(SeesExactly(*m, Ids({0, 1, 2})));
  JOIN(m, 0, "race");
  EXPECT_EQ(m->id(), 3);
  EXPECT_EQ(Ids(m->roster()), Ids({0, 1, 2, 3}));
  // Id 0 is n's everywhere: its press reaches both instances.
  n->Press();
  for (Member* x : {a2, b1, m}) EXPECT_TRUE(x->WaitForMessage(Pressed(0))) << x->Describe();
  EXPECT_FALSE(a2->closed()) << a2->Describe();
}

TEST_F(ClusterFailureTest, AfterRedisRestartsEmptyEveryMemberSeesTheWholeRoomAgain) {
  RestartRedisAfter(absl::ZeroDuration());
}

// Long enough for the reconnect backoff to grow to its cap: the 5 s still
// hold. (With the 5 s cap of the first version, 6.5 s failed one run in
// two: attempts doubling from 100 ms come at about 0.1, 0.3, 0.7, 1.5, 3.1
// and 6.3 s, and the next one up to 6 s after Redis' return.)
TEST_F(ClusterFailureTest, AfterALongRedisOutageEveryMemberSeesTheWholeRoomWithinFiveSeconds) {
  RestartRedisAfter(absl::Milliseconds(6500));
}

}  // namespace
}  // namespace cursord::testing
