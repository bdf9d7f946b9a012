// RoomStore's failure handling against a real redis-server: leases expire
// on Redis' clock and bar an expired instance from adding members; the
// reaper frees a dead instance's members (publishing their leaves) and no
// one else's, once, however many reap at once; after Redis lost everything
// the instances re-assert their members, and an id another instance took
// meanwhile is refused.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/backplane/room_store.h"
#include "server/backplane/room_scripts.h"
#include "tests/backplane/room_store_fixture.h"

namespace cursord::testing {
namespace {

using backplane::KeysOfInstance;

class RoomStoreFailureTest : public RoomStoreTest {
 protected:
  // Lets `instance`'s lease lapse as if it stopped heartbeating: a last
  // heartbeat of 100 ms, then waits until Redis expired it.
  void LetLeaseExpire(Instance* instance) {
    absl::StatusOr<bool> alive = Heartbeat(instance, absl::Milliseconds(100));
    ASSERT_TRUE(alive.ok() && *alive) << alive.status();
    ASSERT_TRUE(WaitUntilGone(KeysOfInstance(instance->id).lease));
  }

  std::string InstancesSet() {
    return redis_->Query({"SORT", std::string(backplane::kInstancesKey), "ALPHA"}).value_or("?");
  }
};

TEST_F(RoomStoreFailureTest, AnExpiredLeaseIsReportedByHeartbeatAndBarsJoins) {
  Instance* alpha = NewInstance("alpha");
  const std::string lease = KeysOfInstance("alpha").lease;
  absl::StatusOr<bool> created = Register(alpha, absl::Milliseconds(200));
  ASSERT_TRUE(created.ok() && *created) << created.status();
  // Redis' clock runs it: the TTL is set there.
  const std::string ttl = redis_->Query({"PTTL", lease}).value_or("-2");
  EXPECT_GT(std::stoll(ttl), 0);
  EXPECT_LE(std::stoll(ttl), 200);
  // A second registration of a live id changes nothing.
  EXPECT_FALSE(*Register(alpha, absl::Seconds(60)));
  EXPECT_LE(std::stoll(redis_->Query({"PTTL", lease}).value_or("-2")), 200);

  EXPECT_TRUE(*Heartbeat(alpha, absl::Milliseconds(200)));
  ASSERT_TRUE(Join(alpha, "r").ok());
  ASSERT_TRUE(WaitUntilGone(lease));  // no more heartbeats

  EXPECT_FALSE(*Heartbeat(alpha, absl::Seconds(60)));
  EXPECT_EQ(redis_->Query({"EXISTS", lease}).value_or(""), "0");  // not brought back
  absl::StatusOr<Joined> joined = Join(alpha, "r");
  EXPECT_EQ(joined.status().code(), absl::StatusCode::kFailedPrecondition) << joined.status();
  EXPECT_EQ(Roster(alpha, "r")->size(), 1u);  // the refused join left nothing
}

// The cluster bus' live list: the ids of the set whose lease exists,
// sorted; a dead one leaves the set as it is read.
TEST_F(RoomStoreFailureTest, TheLiveInstancesAreThoseWithALeaseAndTheDeadLeaveTheSet) {
  Instance* alpha = LiveInstance("alpha");
  Instance* beta = LiveInstance("beta");
  LiveInstance("gamma");
  for (const char* id : {"gamma", "alpha", "beta", "never-registered"}) {
    ASSERT_EQ(redis_->Query({"SADD", std::string(backplane::kLiveKey), id}).value_or(""), "1");
  }
  auto live = [&] {
    return Await<std::vector<std::string>>([alpha](RoomStore::Done<std::vector<std::string>> done) {
      alpha->store->LiveInstances(std::move(done));
    });
  };
  absl::StatusOr<std::vector<std::string>> ids = live();
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(*ids, (std::vector<std::string>{"alpha", "beta", "gamma"}));
  EXPECT_EQ(redis_->Query({"SCARD", std::string(backplane::kLiveKey)}).value_or(""), "3");

  ASSERT_NO_FATAL_FAILURE(LetLeaseExpire(beta));
  ids = live();
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(*ids, (std::vector<std::string>{"alpha", "gamma"}));
  EXPECT_EQ(redis_->Query({"SISMEMBER", std::string(backplane::kLiveKey), "beta"}).value_or(""),
            "0");
}

TEST_F(RoomStoreFailureTest, TheReaperFreesADeadInstancesMembersAndLeavesTheLivingAlone) {
  Instance* alpha = LiveInstance("alpha");
  Instance* beta = LiveInstance("beta");
  Watch({"r1", "r2"}, &events_);
  // alpha: r1 ids 0 and 2, r2 id 0; beta: r1 id 1, r2 id 1.
  ASSERT_EQ(Join(alpha, "r1", "a1")->id, 0);
  ASSERT_EQ(Join(beta, "r1", "b1")->id, 1);
  ASSERT_EQ(Join(alpha, "r1", "a2")->id, 2);
  ASSERT_EQ(Join(alpha, "r2", "a3")->id, 0);
  ASSERT_EQ(Join(beta, "r2", "b2")->id, 1);
  EXPECT_EQ(ReapDead(beta).value_or(-1), 0);  // everyone alive: nothing to do

  LetLeaseExpire(alpha);
  absl::StatusOr<std::vector<backplane::ReapedMember>> freed = ReapDeadMembers(beta);
  ASSERT_TRUE(freed.ok()) << freed.status();
  std::vector<std::string> named;
  for (const backplane::ReapedMember& m : *freed) {
    named.push_back(absl::StrCat(m.instance == alpha->id ? "alpha " : m.instance, m.room, " ",
                                 m.id, "/", m.generation));
  }
  std::sort(named.begin(), named.end());
  EXPECT_EQ(named, (std::vector<std::string>{"alpha r1 0/1", "alpha r1 2/3", "alpha r2 0/1"}));
  Mark("r1", "after-reap", &events_);
  Mark("r2", "after-reap", &events_);
  EXPECT_EQ(Matching(&events_, "leave"),
            (std::vector<std::string>{"leave r1 0/1 reaped", "leave r1 2/3 reaped",
                                      "leave r2 0/1 reaped"}));

  const Members r1 = {{1, Stored(beta, "b1", 2)}};
  const Members r2 = {{1, Stored(beta, "b2", 2)}};
  EXPECT_EQ(*Roster(beta, "r1"), r1);
  EXPECT_EQ(*Roster(beta, "r2"), r2);
  EXPECT_EQ(InstancesSet(), "beta");
  EXPECT_EQ(redis_->Query({"EXISTS", KeysOfInstance("alpha").members}).value_or(""), "0");

  // Again: nothing more is freed or published.
  EXPECT_EQ(ReapDead(beta).value_or(-1), 0);
  Mark("r1", "after-second-reap", &events_);
  EXPECT_EQ(Matching(&events_, "leave").size(), 3u);

  // The freed ids are the lowest free again.
  EXPECT_EQ(Join(beta, "r1")->id, 0);
  EXPECT_EQ(Join(beta, "r1")->id, 2);
}

TEST_F(RoomStoreFailureTest, TwoReapersAtOnceFreeEachMemberOnce) {
  Instance* alpha = LiveInstance("alpha");
  Instance* beta = LiveInstance("beta");
  Instance* gamma = LiveInstance("gamma");
  Watch({"r"}, &events_);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Join(gamma, "r").ok());
  LetLeaseExpire(gamma);

  // Both reapers' scripts in flight together, on two connections.
  struct Outcome {
    std::vector<int> freed;  // io thread
    std::promise<void> both;
  };
  auto outcome = std::make_shared<Outcome>();
  std::future<void> both = outcome->both.get_future();
  io_.Run([&] {
    for (Instance* reaper : {alpha, beta}) {
      reaper->store->ReapDead([outcome](absl::StatusOr<std::vector<backplane::ReapedMember>> freed) {
        EXPECT_TRUE(freed.ok()) << freed.status();
        outcome->freed.push_back(freed.ok() ? static_cast<int>(freed->size()) : -100);
        if (outcome->freed.size() == 2) outcome->both.set_value();
      });
    }
  });
  ASSERT_EQ(both.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(io_.Run([&] { return outcome->freed[0] + outcome->freed[1]; }), 20);
  Mark("r", "end", &events_);
  EXPECT_EQ(Matching(&events_, "leave").size(), 20u);
  EXPECT_TRUE(Roster(alpha, "r")->empty());
  EXPECT_EQ(InstancesSet(), "");  // alpha and beta have no members here
}

TEST_F(RoomStoreFailureTest, AMemberThatLeftBeforeTheReaperCameIsNotLeftAgain) {
  Instance* alpha = LiveInstance("alpha");
  Instance* beta = LiveInstance("beta");
  Watch({"r"}, &events_);
  absl::StatusOr<Joined> gone = Join(alpha, "r", "gone");
  ASSERT_TRUE(gone.ok());
  ASSERT_TRUE(Join(alpha, "r", "stays").ok());
  ASSERT_TRUE(*Leave(alpha, "r", gone->id, gone->generation));
  // Its id is taken by beta before alpha dies.
  ASSERT_EQ(Join(beta, "r")->id, gone->id);
  LetLeaseExpire(alpha);
  EXPECT_EQ(ReapDead(beta).value_or(-1), 1);
  Mark("r", "end", &events_);
  EXPECT_EQ(Matching(&events_, "leave"),
            (std::vector<std::string>{"leave r 0/1 closed", "leave r 1/2 reaped"}));
  EXPECT_EQ(Roster(beta, "r")->size(), 1u);
}

TEST_F(RoomStoreFailureTest, AfterRedisRestartedEmptyReassertRestoresTheRoom) {
  Instance* alpha = LiveInstance("alpha");
  Instance* beta = LiveInstance("beta");
  ASSERT_TRUE(Join(alpha, "r", "a1").ok());
  ASSERT_TRUE(Join(alpha, "r", "a2").ok());
  ASSERT_TRUE(Join(beta, "r", "b1").ok());
  const Members before = *Roster(alpha, "r");
  ASSERT_EQ(before.size(), 3u);

  redis_->Stop(SIGKILL);
  ASSERT_TRUE(redis_->Restart().ok());
  for (Instance* instance : {alpha, beta}) {
    ASSERT_TRUE(instance->events.WaitFor("connected", 2));
  }
  Watch({"r"}, &events_);
  EXPECT_TRUE(Roster(alpha, "r")->empty());

  // The lease went with the data: members cannot be re-asserted before
  // the instance registers again (and a heartbeat says so, too).
  EXPECT_EQ(Reassert(alpha, "r", 0, 1, "a1").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(*Heartbeat(alpha, absl::Seconds(60)));
  for (Instance* instance : {alpha, beta}) {
    absl::StatusOr<bool> created = Register(instance, absl::Seconds(60));
    ASSERT_TRUE(created.ok() && *created) << created.status();
  }
  EXPECT_TRUE(*Reassert(alpha, "r", 0, 1, "a1"));
  EXPECT_TRUE(*Reassert(beta, "r", 2, 3, "b1"));
  EXPECT_TRUE(*Reassert(alpha, "r", 1, 2, "a2"));

  EXPECT_EQ(*Roster(beta, "r"), before);
  Mark("r", "end", &events_);
  EXPECT_EQ(Matching(&events_, "join"),
            (std::vector<std::string>{"join r 0/1 alpha a1", "join r 2/3 beta b1",
                                      "join r 1/2 alpha a2"}));
  // The next join continues above every re-asserted generation, at the
  // lowest free id; and the reaper knows the re-asserted members' owners.
  absl::StatusOr<Joined> next = Join(beta, "r");
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->id, 3);
  EXPECT_EQ(next->generation, 4u);
  EXPECT_EQ(InstancesSet(), "alpha beta");
  LetLeaseExpire(alpha);
  EXPECT_EQ(ReapDead(beta).value_or(-1), 2);

  // The new connections were given the scripts once each; no fallback.
  EXPECT_EQ(CommandCalls("script|load"),
            2 * static_cast<int>(backplane::internal::AllScripts().size()));
  EXPECT_EQ(CommandCalls("eval"), -1);
}

TEST_F(RoomStoreFailureTest, ReassertRefusesAnIdAnotherInstanceTookMeanwhile) {
  Instance* alpha = LiveInstance("alpha");
  Instance* beta = LiveInstance("beta");
  ASSERT_TRUE(Join(alpha, "r", "a1").ok());
  ASSERT_EQ(redis_->Query({"FLUSHALL"}).value_or(""), "OK");
  ASSERT_TRUE(*Register(alpha, absl::Seconds(60)));
  ASSERT_TRUE(*Register(beta, absl::Seconds(60)));
  // beta's newcomer was quicker than alpha's re-assertion.
  ASSERT_EQ(Join(beta, "r", "b1")->id, 0);

  EXPECT_FALSE(*Reassert(alpha, "r", 0, 1, "a1"));
  const Members kept = {{0, Stored(beta, "b1", 1)}};
  EXPECT_EQ(*Roster(alpha, "r"), kept);
  EXPECT_EQ(redis_->Query({"SCARD", KeysOfInstance("alpha").members}).value_or(""), "0");
}

TEST_F(RoomStoreFailureTest, ReassertOfWhatRedisStillHoldsChangesAndPublishesNothing) {
  Instance* alpha = LiveInstance("alpha");
  ASSERT_TRUE(Join(alpha, "r", "a1").ok());
  Watch({"r"}, &events_);
  EXPECT_TRUE(*Reassert(alpha, "r", 0, 1, "a1"));
  Mark("r", "end", &events_);
  EXPECT_EQ(Matching(&events_, "join").size(), 0u);
  const Members same = {{0, Stored(alpha, "a1", 1)}};
  EXPECT_EQ(*Roster(alpha, "r"), same);
  EXPECT_EQ(redis_->Query({"GET", backplane::KeysOfRoom("r").generation}).value_or(""), "1");
}

TEST_F(RoomStoreFailureTest, ReassertReplacesTheInstancesOwnStaleGeneration) {
  Instance* alpha = LiveInstance("alpha");
  ASSERT_TRUE(Join(alpha, "r", "a1").ok());  // 0/1
  Watch({"r"}, &events_);
  // alpha's member of id 0 is, as alpha knows it, of generation 5.
  EXPECT_TRUE(*Reassert(alpha, "r", 0, 5, "a1"));
  Mark("r", "end", &events_);
  EXPECT_EQ(Matching(&events_, "leave"), std::vector<std::string>{"leave r 0/1 closed"});
  EXPECT_EQ(Matching(&events_, "join"), std::vector<std::string>{"join r 0/5 alpha a1"});
  EXPECT_EQ(redis_->Query({"SMEMBERS", KeysOfInstance("alpha").members}).value_or(""),
            backplane::IndexEntry("r", 0, 5));
  EXPECT_EQ(Join(alpha, "r")->generation, 6u);
}

}  // namespace
}  // namespace cursord::testing
