// RoomStore against a real redis-server: ids are the lowest free ones,
// unique across instances however their joins interleave, a room is full at
// its maximum, only the owner of an id's current generation frees it, the
// roster is what the scripts stored, and the room's channel carries every
// join and leave in the order Redis ran them. The scripts are loaded once
// per connection and survive SCRIPT FLUSH.
#include "server/backplane/room_store.h"

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/backplane/room_scripts.h"
#include "tests/backplane/room_store_fixture.h"

namespace cursord::testing {
namespace {

TEST_F(RoomStoreTest, ConcurrentJoinsFromTwoInstancesGetIdsZeroTo255AndThe257thIsRefused) {
  Instance* alpha = LiveInstance("alpha");
  Instance* beta = LiveInstance("beta");
  static constexpr int kJoins = 257;

  struct Outcome {
    std::vector<std::pair<Instance*, absl::StatusOr<Joined>>> results;  // io thread
    std::promise<void> all_answered;
  };
  auto outcome = std::make_shared<Outcome>();
  std::future<void> all_answered = outcome->all_answered.get_future();
  io_.Run([&] {
    // All sent from one handler, alternating between the two instances'
    // connections: Redis interleaves the two pipelines as they arrive.
    for (int i = 0; i < kJoins; ++i) {
      Instance* instance = i % 2 == 0 ? alpha : beta;
      instance->store->Join("crowded", instance->id, 256, Person(absl::StrCat("p", i)),
                            [outcome, instance](absl::StatusOr<Joined> joined) {
                              outcome->results.emplace_back(instance, std::move(joined));
                              if (outcome->results.size() == kJoins) {
                                outcome->all_answered.set_value();
                              }
                            });
    }
  });
  ASSERT_EQ(all_answered.wait_for(std::chrono::seconds(10)), std::future_status::ready);

  std::set<int> ids;
  std::set<uint64_t> generations;
  std::map<uint8_t, std::pair<Instance*, uint64_t>> owners;
  int refused = 0;
  for (const auto& [instance, joined] : outcome->results) {
    if (!joined.ok()) {
      EXPECT_EQ(joined.status(), absl::ResourceExhaustedError("room full"));
      ++refused;
      continue;
    }
    ids.insert(joined->id);
    generations.insert(joined->generation);
    owners[joined->id] = {instance, joined->generation};
  }
  EXPECT_EQ(refused, 1);
  ASSERT_EQ(ids.size(), 256u);
  EXPECT_EQ(*ids.begin(), 0);
  EXPECT_EQ(*ids.rbegin(), 255);
  EXPECT_EQ(generations.size(), 256u);
  EXPECT_EQ(*generations.rbegin(), 256u);

  // The roster names, for each id, the instance and generation that got it.
  absl::StatusOr<Members> roster = Roster(alpha, "crowded");
  ASSERT_TRUE(roster.ok()) << roster.status();
  ASSERT_EQ(roster->size(), 256u);
  for (const auto& [id, record] : *roster) {
    EXPECT_EQ(record.instance, owners[id].first->id) << "id " << int{id};
    EXPECT_EQ(record.generation, owners[id].second) << "id " << int{id};
  }

  // Still full for either instance; a leave makes room for exactly one.
  EXPECT_EQ(Join(beta, "crowded").status().code(), absl::StatusCode::kResourceExhausted);
  const auto& [owner, generation] = owners[17];
  ASSERT_TRUE(*Leave(owner, "crowded", 17, generation));
  absl::StatusOr<Joined> again = Join(beta, "crowded");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->id, 17);
  EXPECT_EQ(Join(alpha, "crowded").status().code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(RoomStoreTest, ARoomIsFullAtItsMaxMembers) {
  Instance* alpha = LiveInstance("alpha");
  for (int expected = 0; expected < 3; ++expected) {
    absl::StatusOr<Joined> joined = Join(alpha, "small", "ann", 3);
    ASSERT_TRUE(joined.ok()) << joined.status();
    EXPECT_EQ(joined->id, expected);
  }
  EXPECT_EQ(Join(alpha, "small", "ann", 3).status(), absl::ResourceExhaustedError("room full"));
  // The maximum is the caller's (a flag): with 4, there is room for one more.
  absl::StatusOr<Joined> fourth = Join(alpha, "small", "ann", 4);
  ASSERT_TRUE(fourth.ok()) << fourth.status();
  EXPECT_EQ(fourth->id, 3);
  EXPECT_EQ(Join(alpha, "small", "ann", 1).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(RoomStoreTest, AfterALeaveTheLowestFreeIdIsReusedWithAHigherGeneration) {
  Instance* alpha = LiveInstance("alpha");
  Instance* beta = LiveInstance("beta");
  std::vector<Joined> members;
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<Joined> joined = Join(i % 2 == 0 ? alpha : beta, "r");
    ASSERT_TRUE(joined.ok()) << joined.status();
    members.push_back(*joined);
  }
  // ids 0..3, generations 1..4; 1 and 3 are beta's.
  ASSERT_TRUE(*Leave(beta, "r", 3, members[3].generation));
  ASSERT_TRUE(*Leave(beta, "r", 1, members[1].generation));

  absl::StatusOr<Joined> reused = Join(alpha, "r");
  ASSERT_TRUE(reused.ok()) << reused.status();
  EXPECT_EQ(reused->id, 1);  // the lowest free, not the last freed
  EXPECT_EQ(reused->generation, 5u);
  absl::StatusOr<Joined> next = Join(beta, "r");
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->id, 3);
  EXPECT_EQ(next->generation, 6u);
  EXPECT_EQ(Join(beta, "r")->id, 4);
}

TEST_F(RoomStoreTest, OnlyTheOwnerOfAnIdsCurrentGenerationFreesIt) {
  Instance* alpha = LiveInstance("alpha");
  Instance* beta = LiveInstance("beta");
  absl::StatusOr<Joined> joined = Join(alpha, "r");
  ASSERT_TRUE(joined.ok()) << joined.status();

  EXPECT_FALSE(*Leave(beta, "r", joined->id, joined->generation));       // not beta's
  EXPECT_FALSE(*Leave(alpha, "r", joined->id, joined->generation + 1));  // not that generation
  EXPECT_FALSE(*Leave(alpha, "r", joined->id + 1, joined->generation));  // no such member
  EXPECT_FALSE(*Leave(alpha, "other-room", joined->id, joined->generation));
  EXPECT_EQ(Roster(alpha, "r")->size(), 1u);

  EXPECT_TRUE(*Leave(alpha, "r", joined->id, joined->generation));
  EXPECT_FALSE(*Leave(alpha, "r", joined->id, joined->generation));  // a repeat frees nothing
  EXPECT_TRUE(Roster(alpha, "r")->empty());
  EXPECT_EQ(redis_->Query({"SCARD", backplane::KeysOfInstance("alpha").members}).value_or(""), "0");

  // An old generation's late leave does not free the id's next owner.
  absl::StatusOr<Joined> next = Join(beta, "r");
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->id, joined->id);
  EXPECT_FALSE(*Leave(alpha, "r", joined->id, joined->generation));
  EXPECT_EQ(Roster(alpha, "r")->size(), 1u);
}

TEST_F(RoomStoreTest, TheRosterHoldsEveryMemberWithTheRecordItJoinedWith) {
  Instance* alpha = LiveInstance("alpha");
  Instance* beta = LiveInstance("beta");
  EXPECT_TRUE(Roster(alpha, "r")->empty());
  ASSERT_TRUE(Join(alpha, "r", "ann").ok());
  ASSERT_TRUE(Join(beta, "r", "bob").ok());
  ASSERT_TRUE(Join(alpha, "elsewhere", "cyd").ok());

  absl::StatusOr<Members> roster = Roster(beta, "r");
  ASSERT_TRUE(roster.ok()) << roster.status();
  const Members expected = {{0, Stored(alpha, "ann", 1)}, {1, Stored(beta, "bob", 2)}};
  EXPECT_EQ(*roster, expected);
  // The instances' index and set, as the reaper will read them.
  EXPECT_EQ(redis_->Query({"SMEMBERS", backplane::KeysOfInstance("beta").members}).value_or(""),
            backplane::IndexEntry("r", 1, 2));
  EXPECT_EQ(redis_->Query({"SCARD", std::string(backplane::kInstancesKey)}).value_or(""), "2");
}

TEST_F(RoomStoreTest, TheChannelCarriesEachJoinAndLeaveAsTheScriptsRanThem) {
  Instance* alpha = LiveInstance("alpha");
  Watch({"r"}, &events_);

  // Pipelined on one connection: Redis runs them in this order.
  struct Answers {
    std::vector<std::string> got;  // io thread
    std::promise<void> done;
  };
  auto answers = std::make_shared<Answers>();
  std::future<void> done = answers->done.get_future();
  io_.Run([&] {
    auto joined = [answers](absl::StatusOr<Joined> joined) {
      answers->got.push_back(joined.ok()
                                 ? absl::StrCat("joined ", int{joined->id}, "/", joined->generation)
                                 : std::string(joined.status().message()));
    };
    auto left = [answers](absl::StatusOr<bool> freed) {
      answers->got.push_back(freed.ok() && *freed ? "left" : "not left");
      if (answers->got.size() == 6) answers->done.set_value();
    };
    RoomStore* store = alpha->store;
    store->Join("r", "alpha", 256, Person("a"), joined);
    store->Join("r", "alpha", 256, Person("b"), joined);
    store->Join("r", "alpha", 256, Person("c"), joined);
    store->Leave("r", "alpha", 1, 2, LeaveReason::kClosed, left);
    store->Join("r", "alpha", 256, Person("d"), joined);
    store->Leave("r", "alpha", 0, 1, LeaveReason::kClosed, left);
  });
  ASSERT_EQ(done.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(io_.Run([&] { return answers->got; }),
            (std::vector<std::string>{"joined 0/1", "joined 1/2", "joined 2/3", "left",
                                      "joined 1/4", "left"}));
  Mark("r", "end", &events_);
  EXPECT_EQ(Matching(&events_, "join"),
            (std::vector<std::string>{"join r 0/1 alpha a", "join r 1/2 alpha b",
                                      "join r 2/3 alpha c", "join r 1/4 alpha d"}));
  std::vector<std::string> room_events;
  for (const std::string& event : events_.events()) {
    if (absl::StartsWith(event, "join") || absl::StartsWith(event, "leave")) {
      room_events.push_back(event.substr(0, event.find(" alpha")));
    }
  }
  EXPECT_EQ(room_events,
            (std::vector<std::string>{"join r 0/1", "join r 1/2", "join r 2/3",
                                      "leave r 1/2 closed", "join r 1/4", "leave r 0/1 closed"}));
}

TEST_F(RoomStoreTest, AJoinMessageDecodesToTheIdGenerationAndRecordTheScriptReturned) {
  Instance* beta = LiveInstance("beta");
  EventLog raw;
  Subscriber(FastOptions(), &raw, {backplane::RoomChannel("r")});
  ASSERT_TRUE(raw.WaitFor("subscribed"));
  ASSERT_TRUE(Join(beta, "r").ok());  // id 0
  absl::StatusOr<Joined> joined = Join(beta, "r", "zoe");
  ASSERT_TRUE(joined.ok()) << joined.status();
  ASSERT_TRUE(raw.WaitFor("message", 2));

  // The payload as published, byte for byte: the codec's join.
  const std::string published = raw.events()[raw.IndexOf("message", 1)];
  const std::string expected =
      *backplane::EncodeJoin(backplane::JoinMessage{joined->id, Stored(beta, "zoe", 2)});
  EXPECT_EQ(published,
            absl::StrCat("message ", backplane::RoomChannel("r"), " ", absl::CHexEscape(expected)));
  EXPECT_EQ(joined->id, 1);
  EXPECT_EQ(joined->generation, 2u);
}

// The channel, replayed, predicts every id: whatever the interleaving of two
// instances' joins and leaves, each join took the lowest id free at its
// place in the channel's order, and generations only grow.
TEST_F(RoomStoreTest, TheChannelOrderIsTheOrderIdsWereGivenOut) {
  Instance* alpha = LiveInstance("alpha");
  Instance* beta = LiveInstance("beta");
  Watch({"busy"}, &events_);
  static constexpr int kSteps = 80;

  // Each instance, step by step on its own connection: join, and every
  // third step leave its oldest member.
  struct Driver {
    Instance* instance = nullptr;
    std::vector<Joined> mine;  // io thread
    int step = 0;
    int joins = 0;
    int leaves = 0;
    std::promise<void> finished;
    std::function<void()> next;
  };
  std::vector<std::shared_ptr<Driver>> drivers;
  std::vector<std::future<void>> finished;
  for (Instance* instance : {alpha, beta}) {
    auto driver = std::make_shared<Driver>();
    driver->instance = instance;
    finished.push_back(driver->finished.get_future());
    Driver* d = driver.get();
    d->next = [d] {
      if (d->step++ == kSteps) return d->finished.set_value();
      if (d->step % 3 == 0 && !d->mine.empty()) {
        const Joined oldest = d->mine.front();
        d->mine.erase(d->mine.begin());
        d->instance->store->Leave("busy", d->instance->id, oldest.id, oldest.generation,
                                  LeaveReason::kClosed, [d](absl::StatusOr<bool> freed) {
                                    EXPECT_TRUE(freed.ok() && *freed) << freed.status();
                                    ++d->leaves;
                                    d->next();
                                  });
        return;
      }
      d->instance->store->Join("busy", d->instance->id, 256, Person("x"),
                               [d](absl::StatusOr<Joined> joined) {
                                 EXPECT_TRUE(joined.ok()) << joined.status();
                                 if (joined.ok()) d->mine.push_back(*joined);
                                 ++d->joins;
                                 d->next();
                               });
    };
    drivers.push_back(driver);
  }
  io_.Run([&] {
    for (auto& driver : drivers) driver->next();
  });
  for (std::future<void>& one : finished) {
    ASSERT_EQ(one.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  }
  Mark("busy", "end", &events_);

  std::set<int> used;
  uint64_t last_generation = 0;
  int joins = 0;
  int leaves = 0;
  for (const std::string& event : events_.events()) {
    const std::vector<std::string> parts = absl::StrSplit(event, ' ');
    if (parts[0] != "join" && parts[0] != "leave") continue;
    const std::vector<std::string> id_gen = absl::StrSplit(parts[2], '/');
    const int id = std::stoi(id_gen[0]);
    const uint64_t generation = std::stoull(id_gen[1]);
    if (parts[0] == "join") {
      int lowest_free = 0;
      while (used.count(lowest_free)) ++lowest_free;
      EXPECT_EQ(id, lowest_free) << event;
      EXPECT_GT(generation, last_generation) << event;
      last_generation = generation;
      used.insert(id);
      ++joins;
    } else {
      EXPECT_EQ(used.erase(id), 1u) << event;
      ++leaves;
    }
  }
  EXPECT_EQ(joins, drivers[0]->joins + drivers[1]->joins);
  EXPECT_EQ(leaves, drivers[0]->leaves + drivers[1]->leaves);
  EXPECT_EQ(static_cast<size_t>(used.size()), Roster(alpha, "busy")->size());
}

TEST_F(RoomStoreTest, TheScriptsAreLoadedOncePerConnectionUnderTheShaRedisGivesThem) {
  Instance* alpha = LiveInstance("alpha");
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Join(alpha, "r").ok());
  EXPECT_EQ(CommandCalls("script|load"),
            static_cast<int>(backplane::internal::AllScripts().size()));
  EXPECT_EQ(CommandCalls("evalsha"), 10);
  EXPECT_EQ(CommandCalls("eval"), -1);  // never needed the fallback
  for (const backplane::internal::LuaScript* script : backplane::internal::AllScripts()) {
    EXPECT_EQ(redis_->Query({"SCRIPT", "EXISTS", script->sha1}).value_or(""), "1") << script->name;
  }
}

TEST_F(RoomStoreTest, AfterScriptFlushCallsStillWorkThroughEval) {
  Instance* alpha = LiveInstance("alpha");
  ASSERT_TRUE(Join(alpha, "r").ok());
  ASSERT_EQ(redis_->Query({"SCRIPT", "FLUSH"}).value_or(""), "OK");

  absl::StatusOr<Joined> joined = Join(alpha, "r");
  ASSERT_TRUE(joined.ok()) << joined.status();
  EXPECT_EQ(joined->id, 1);
  EXPECT_TRUE(*Leave(alpha, "r", 1, joined->generation));
  EXPECT_EQ(CommandCalls("eval"), 2);  // the join and the leave, once each
  // EVAL cached the join again: the next one runs by its SHA.
  ASSERT_TRUE(Join(alpha, "r").ok());
  EXPECT_EQ(CommandCalls("eval"), 2);
}

TEST_F(RoomStoreTest, BadArgumentsAreRefusedAfterTheCallReturnsWithNothingSent) {
  Instance* alpha = LiveInstance("alpha");
  MemberRecord long_name = Person(std::string(300, 'n'));
  struct Outcome {
    std::vector<absl::Status> statuses;
    bool returned = false;
    bool inside = false;
  };
  auto outcome = std::make_shared<Outcome>();
  auto status_of = [outcome](auto result) {
    outcome->inside |= !outcome->returned;
    outcome->statuses.push_back(result.status());
  };
  io_.Run([&] {
    RoomStore* store = alpha->store;
    store->Join("no spaces", "alpha", 256, Person("a"), status_of);
    store->Join("r", "al}pha", 256, Person("a"), status_of);
    store->Join("r", "alpha", 0, Person("a"), status_of);
    store->Join("r", "alpha", 257, Person("a"), status_of);
    store->Join("r", "alpha", 256, long_name, status_of);
    store->Leave("", "alpha", 0, 1, LeaveReason::kClosed, status_of);
    store->Roster(std::string(129, 'r'), status_of);
    store->Reassert("r", "alpha", 0, 0, Person("a"), status_of);
    store->Register("", absl::Seconds(1), status_of);
    store->Heartbeat("alpha", absl::Microseconds(999), status_of);
    outcome->returned = true;
  });
  ASSERT_TRUE(Eventually([&] { return outcome->statuses.size() == 10; }));
  io_.Run([&] {
    EXPECT_FALSE(outcome->inside);
    for (const absl::Status& status : outcome->statuses) {
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    }
  });
  EXPECT_EQ(CommandCalls("evalsha"), -1);
  EXPECT_TRUE(Roster(alpha, "r")->empty());
}

}  // namespace
}  // namespace cursord::testing
