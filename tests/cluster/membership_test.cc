// A room spread over cursord instances looks to its clients exactly like a
// room on one instance (docs/BACKPLANE.md, "What it must keep"): one join
// sequence with every member, joins and leaves, moves and clicks across
// instances, ids lowest-free and unique cluster-wide, one capacity, and
// nothing of a member after its leave.
#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/cluster/cluster_fixture.h"

namespace cursord::testing {
namespace {

// The index in `member`'s log of the first message equal to `message`
// (the log's size if none).
size_t IndexOf(const Member& member, const Bytes& message) {
  const auto& log = member.log();
  for (size_t i = 0; i < log.size(); ++i) {
    if (log[i].bytes == message) return i;
  }
  return log.size();
}

using ClusterMembershipTest = ClusterTest;

TEST_F(ClusterMembershipTest, AJoinOnAnyInstanceListsTheMembersOfEveryInstance) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(3));
  JOIN(a, 0, "doc");
  EXPECT_EQ(a->id(), 0);
  EXPECT_EQ(Ids(a->roster()), Ids({0}));
  JOIN(b, 1, "doc");
  EXPECT_EQ(b->id(), 1);
  EXPECT_EQ(Ids(b->roster()), Ids({0, 1}));
  EXPECT_TRUE(a->WaitForMessage(Joined(1))) << a->Describe();
  JOIN(c, 2, "doc");
  EXPECT_EQ(c->id(), 2);
  EXPECT_EQ(Ids(c->roster()), Ids({0, 1, 2}));
  EXPECT_TRUE(a->WaitForMessage(Joined(2))) << a->Describe();
  EXPECT_TRUE(b->WaitForMessage(Joined(2))) << b->Describe();
  // A fourth on the first instance again: its 02 has the remote ones too.
  JOIN(d, 0, "doc");
  EXPECT_EQ(d->id(), 3);
  EXPECT_EQ(Ids(d->roster()), Ids({0, 1, 2, 3}));
  for (Member* m : {a, b, c}) EXPECT_TRUE(SeesExactly(*m, Ids({0, 1, 2, 3})));
  // Another room on the same instances is another room.
  JOIN(other, 1, "other");
  EXPECT_EQ(other->id(), 0);
  EXPECT_EQ(Ids(other->roster()), Ids({0}));
  // The marker: a click in "doc" reaches everyone there; "other" heard
  // nothing of "doc" before its own member's join.
  d->Press();
  for (Member* m : {a, b, c}) EXPECT_TRUE(m->WaitForMessage(Pressed(3))) << m->Describe();
  JOIN(other2, 2, "other");
  EXPECT_TRUE(other->WaitForMessage(Joined(1))) << other->Describe();
  EXPECT_EQ(other->log().size(), 3u) << other->Describe();
}

// A late joiner's sequence carries the positions and presses of members
// whose state its instance knows (it follows the room through a local
// member); across instances they may come in a later write, in order.
TEST_F(ClusterMembershipTest, ALateJoinerSeesPositionsAndPressesOfRemoteMembers) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(3));
  JOIN(a, 0, "board");
  JOIN(b, 1, "board");
  a->Move(100, 200);
  a->Press();
  b->Move(300, 400);
  // Both instances have the state: each side saw the other's.
  ASSERT_TRUE(b->WaitFor([&] { return b->Pressing(0); })) << b->Describe();
  EXPECT_EQ(b->Position(0), std::make_pair(uint16_t{100}, uint16_t{200})) << b->Describe();
  ASSERT_TRUE(a->WaitFor([&] { return a->Position(1).has_value(); })) << a->Describe();

  // On the instances that follow the room, then on one that did not (it
  // learns the state when the others hear of its first member).
  std::vector<Member*> late_joiners;
  for (int i : {1, 0, 2}) {
    Member* late = nullptr;
    ASSERT_NO_FATAL_FAILURE(Join(i, "board", absl::StrCat("late", i), &late));
    std::set<uint8_t> expected;
    for (int id = 0; id <= 2 + static_cast<int>(late_joiners.size()); ++id) expected.insert(id);
    EXPECT_EQ(Ids(late->roster()), expected);
    EXPECT_TRUE(late->WaitFor([&] {
      return late->Pressing(0) && late->Position(0).has_value() && late->Position(1).has_value();
    })) << late->Describe();
    EXPECT_EQ(late->Position(0), std::make_pair(uint16_t{100}, uint16_t{200})) << late->Describe();
    EXPECT_EQ(late->Position(1), std::make_pair(uint16_t{300}, uint16_t{400})) << late->Describe();
    // Per member, the position before the press.
    EXPECT_LT(IndexOf(*late, PositionOf(0, 100, 200)), IndexOf(*late, Pressed(0)))
        << late->Describe();
    late_joiners.push_back(late);
  }
  // The release that follows reaches them after the press (Member flags a
  // release without its press).
  a->Release();
  for (Member* m : {b, late_joiners[0], late_joiners[1], late_joiners[2]}) {
    EXPECT_TRUE(m->WaitForMessage(Released(0))) << m->Describe();
  }
}

// A joiner on an instance that did not follow the room learns the others'
// state from them (after its 02), while they go on moving and clicking:
// per member the order holds all the same, the position before the click
// that followed it, a press before its release. Each round the joiner's
// instance is new to the room again (its last member left), and d clicks
// as soon as the joiner has its 02.
TEST_F(ClusterMembershipTest, AJoinerOnANewInstanceGetsEachMembersStateBeforeItsNextClick) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2));
  JOIN(d, 0, "fresh");
  d->Move(1234, 4321);
  for (int round = 0; round < 10; ++round) {
    Member* f = nullptr;
    ASSERT_NO_FATAL_FAILURE(Join(1, "fresh", absl::StrCat("f", round), &f));
    ASSERT_EQ(f->id(), 1);
    const Bytes click = round % 2 == 0 ? Pressed(0) : Released(0);
    if (round % 2 == 0) {
      d->Press();
    } else {
      d->Release();
    }
    ASSERT_TRUE(f->WaitForMessage(click)) << f->Describe();
    EXPECT_LT(IndexOf(*f, PositionOf(0, 1234, 4321)), IndexOf(*f, click))
        << "round " << round << ": d's position after its click: " << f->Describe();
    f->Leave();
    ASSERT_TRUE(d->WaitForMessage(Left(1))) << d->Describe();
  }
}

// Moves are latest-wins (coalescing allowed, never an older one after a
// newer one); clicks are events, every one delivered in order; a member's
// position sent before its click arrives before that click; and nothing
// comes back to its sender. On the sender's instance and on the others.
TEST_F(ClusterMembershipTest, MovesAndClicksReachEveryInstanceInOrder) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(3));
  JOIN(a, 0, "r");
  JOIN(local, 0, "r");
  JOIN(b, 1, "r");
  JOIN(c, 2, "r");
  for (Member* m : {a, local, b}) ASSERT_TRUE(SeesExactly(*m, Ids({0, 1, 2, 3})));

  constexpr int kRounds = 40;  // 40 x 6 messages: within the rate limit's burst
  for (int round = 0; round < kRounds; ++round) {
    for (int step = 1; step <= 5; ++step) {
      a->Move(static_cast<uint16_t>(round * 10 + step), static_cast<uint16_t>(round));
    }
    if (round % 2 == 0) {
      a->Press();
    } else {
      a->Release();
    }
  }
  a->Move(60000, 60000);  // the marker: the newest position
  for (Member* m : {local, b, c}) {
    ASSERT_TRUE(m->WaitFor([&] {
      return m->Position(0) == std::make_pair(uint16_t{60000}, uint16_t{60000});
    })) << m->Describe();
    int clicks = 0;
    int last_x = -1;
    for (const Member::Received& r : m->About(0)) {
      if (r.bytes[0] == 0x05) {
        const int x = r.bytes[2] << 8 | r.bytes[3];
        EXPECT_GT(x, last_x) << "an older position after a newer one: " << m->Describe(400);
        if (HasFailure()) break;
        last_x = x;
      } else {
        // Click k (0-based) follows the 5 moves of round k, the last of
        // them x = 10k + 5: that one (coalesced or not) was delivered first.
        const uint8_t expected = clicks % 2 == 0 ? 0x06 : 0x07;
        EXPECT_EQ(r.bytes[0], expected) << "click " << clicks << ": " << m->Describe(400);
        EXPECT_EQ(last_x, clicks * 10 + 5) << "click " << clicks << ": " << m->Describe(400);
        if (HasFailure()) break;  // one account of the first breach is enough
        ++clicks;
      }
    }
    EXPECT_EQ(clicks, kRounds) << m->Describe(400);
  }
  // Nothing of a's own came back to it (Member records it as a violation);
  // the marker is a click from b that a receives after everything a sent.
  b->Press();
  EXPECT_TRUE(a->WaitForMessage(Pressed(2))) << a->Describe();
}

TEST_F(ClusterMembershipTest, IdsAreTheLowestFreeAcrossInstancesAndReusedAfterALeave) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(3));
  JOIN(a, 0, "ids");
  JOIN(b, 1, "ids");
  JOIN(c, 2, "ids");
  JOIN(d, 0, "ids");
  EXPECT_EQ(std::vector<int>({a->id(), b->id(), c->id(), d->id()}), std::vector<int>({0, 1, 2, 3}));

  // b leaves on instance 1; once a (instance 0) has its 04 the id is free
  // in Redis, and a join on instance 2 takes it.
  b->Leave();
  for (Member* m : {a, c, d}) ASSERT_TRUE(m->WaitForMessage(Left(1))) << m->Describe();
  JOIN(e, 2, "ids");
  EXPECT_EQ(e->id(), 1);
  EXPECT_EQ(Ids(e->roster()), Ids({0, 1, 2, 3}));

  // A dropped connection frees its id too; the lowest of two free ids is
  // handed out first, whichever instance asks.
  c->Drop();
  ASSERT_TRUE(d->WaitForMessage(Left(2))) << d->Describe();
  a->Leave();
  ASSERT_TRUE(d->WaitForMessage(Left(0))) << d->Describe();
  JOIN(f, 1, "ids");
  EXPECT_EQ(f->id(), 0);
  JOIN(g, 1, "ids");
  EXPECT_EQ(g->id(), 2);
  JOIN(h, 2, "ids");
  EXPECT_EQ(h->id(), 4);
  EXPECT_EQ(Ids(h->roster()), Ids({0, 1, 2, 3, 4}));
  for (Member* m : {d, e, f, g}) EXPECT_TRUE(SeesExactly(*m, Ids({0, 1, 2, 3, 4})));
}

TEST_F(ClusterMembershipTest, ConcurrentJoinsOnEveryInstanceGetDistinctLowestIds) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(3));
  constexpr int kMembers = 30;
  std::vector<absl::StatusOr<std::unique_ptr<Member>>> joined(kMembers);
  std::vector<std::thread> threads;
  for (int n = 0; n < kMembers; ++n) {
    threads.emplace_back([&, n] {
      joined[n] = Member::Join(instance(n % 3).port(), "rush", absl::StrCat("m", n, "@", n % 3));
    });
  }
  for (std::thread& t : threads) t.join();
  std::vector<Member*> members;
  std::set<uint8_t> ids;
  for (auto& m : joined) {
    ASSERT_TRUE(m.ok()) << m.status();
    members.push_back(Adopt(*std::move(m)));
    EXPECT_TRUE(ids.insert(members.back()->id()).second)
        << "id " << int{members.back()->id()} << " handed out twice";
  }
  std::set<uint8_t> all;
  for (int id = 0; id < kMembers; ++id) all.insert(static_cast<uint8_t>(id));
  EXPECT_EQ(ids, all);
  // Everyone ends up seeing everyone: their 02 and the 03s after it.
  for (Member* m : members) EXPECT_TRUE(SeesExactly(*m, all));
}

TEST_F(ClusterMembershipTest, ARoomIsFullAt256MembersAcrossInstances) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2));
  std::vector<Member*> members;
  for (int n = 0; n < 256; ++n) {
    Member* m = nullptr;
    ASSERT_NO_FATAL_FAILURE(Join(n % 2, "big", absl::StrCat("m", n), &m));
    ASSERT_EQ(m->id(), n);
    members.push_back(m);
  }
  EXPECT_EQ(members.back()->roster().size(), 256u);
  ASSERT_NO_FATAL_FAILURE(ExpectRefused(0, "big", 1013, "room full"));
  ASSERT_NO_FATAL_FAILURE(ExpectRefused(1, "big", 1013, "room full"));
  // One leaves on instance 0; its id goes to a joiner on instance 1, and
  // the room is full again.
  members[100]->Leave();
  ASSERT_TRUE(members[1]->WaitForMessage(Left(100), absl::Seconds(10))) << members[1]->Describe();
  JOIN(late, 1, "big");
  EXPECT_EQ(late->id(), 100);
  EXPECT_EQ(late->roster().size(), 256u);
  ASSERT_NO_FATAL_FAILURE(ExpectRefused(0, "big", 1013, "room full"));
}

TEST_F(ClusterMembershipTest, MaxRoomMembersIsCountedAcrossInstances) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2, {"--max-room-members", "3"}));
  JOIN(a, 0, "small");
  JOIN(b, 1, "small");
  JOIN(c, 0, "small");
  ASSERT_NO_FATAL_FAILURE(ExpectRefused(1, "small", 1013, "room full"));
  ASSERT_NO_FATAL_FAILURE(ExpectRefused(0, "small", 1013, "room full"));
  b->Leave();
  ASSERT_TRUE(a->WaitForMessage(Left(1))) << a->Describe();
  JOIN(d, 0, "small");
  EXPECT_EQ(d->id(), 1);
  ASSERT_NO_FATAL_FAILURE(ExpectRefused(1, "small", 1013, "room full"));
  EXPECT_TRUE(SeesExactly(*c, Ids({0, 1, 2})));
}

// Member x moves and clicks up to its leave (a close or a dropped
// connection, while pressed); its id is taken at once by a joiner on
// another instance, who moves and clicks too. Every observer, on every
// instance, must see nothing of x after `04 x` (Member flags anything of
// an absent member, and a stale release as "07 without its 06"), and after
// the new `03 x` only the new owner's positions: x's are x >= 10000, the
// new owner's 50000 + round.
TEST_F(ClusterMembershipTest, NothingFromAMemberFollowsItsLeaveEvenWhenItsIdIsReusedAtOnce) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(3));
  JOIN(o0, 0, "reuse");
  JOIN(o1, 1, "reuse");
  JOIN(o2, 2, "reuse");
  std::vector<Member*> observers = {o0, o1, o2};
  constexpr uint8_t kX = 3;
  constexpr int kRounds = 6;
  for (int round = 0; round < kRounds; ++round) {
    const int x_on = round % 3;
    const int y_on = (round + 1) % 3;
    Member* x = nullptr;
    ASSERT_NO_FATAL_FAILURE(Join(x_on, "reuse", absl::StrCat("x", round), &x));
    ASSERT_EQ(x->id(), kX);
    for (Member* o : observers) ASSERT_TRUE(o->WaitForMessage(Joined(kX))) << o->Describe();
    for (int i = 0; i < 40; ++i) {
      x->Move(static_cast<uint16_t>(10000 + round * 100 + i), 1);
      if (i == 10 || i == 30) x->Press();
      if (i == 20) x->Release();
    }
    if (round % 2 == 0) {
      x->Leave();
    } else {
      x->Drop();
    }
    // The id is free once the joiner's own instance heard the leave; the
    // others may still have x's last traffic on its way.
    ASSERT_TRUE(observers[y_on]->WaitForMessage(Left(kX))) << observers[y_on]->Describe();
    Member* y = nullptr;
    ASSERT_NO_FATAL_FAILURE(Join(y_on, "reuse", absl::StrCat("y", round), &y));
    ASSERT_EQ(y->id(), kX) << "the freed id was not reused";
    y->Move(static_cast<uint16_t>(50000 + round), 2);
    y->Press();
    for (Member* o : observers) {
      if (o != observers[y_on]) {
        ASSERT_TRUE(o->WaitForMessage(Left(kX))) << o->Describe();
      }
      ASSERT_TRUE(o->WaitForMessage(Joined(kX))) << o->Describe();
      ASSERT_TRUE(o->WaitForMessage(Pressed(kX))) << o->Describe();
    }
    y->Leave();
    for (Member* o : observers) ASSERT_TRUE(o->WaitForMessage(Left(kX))) << o->Describe();
  }
  // The marker: a click from o0 after everything, at o1 and o2.
  o0->Press();
  for (Member* o : {o1, o2}) ASSERT_TRUE(o->WaitForMessage(Pressed(0))) << o->Describe();
  for (Member* o : observers) {
    for (const Member::Received& r : o->About(kX)) {
      if (r.bytes[0] != 0x05) continue;
      const int x = r.bytes[2] << 8 | r.bytes[3];
      // Epoch 2r+1 is round r's x, 2r+2 its y.
      const int round = (r.epoch - 1) / 2;
      if (r.epoch % 2 == 1) {
        EXPECT_TRUE(x >= 10000 + round * 100 && x < 10000 + round * 100 + 40)
            << "position " << x << " in x" << round << "'s time: " << o->Describe(2000);
      } else {
        EXPECT_EQ(x, 50000 + round) << "a position of x" << round << " after y" << round
                                    << " took its id: " << o->Describe(2000);
      }
    }
  }
}

}  // namespace
}  // namespace cursord::testing
