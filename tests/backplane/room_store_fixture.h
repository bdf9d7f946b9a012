// The fixture of the room store's tests: the backplane fixture's real
// redis-server, instances (a command connection and a RoomStore each, as a
// cursord instance has), blocking forms of the store's calls, and a watcher
// that decodes a room channel's messages into an event log.
#ifndef CURSORD_TESTS_BACKPLANE_ROOM_STORE_FIXTURE_H_
#define CURSORD_TESTS_BACKPLANE_ROOM_STORE_FIXTURE_H_

#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/backplane/member_record.h"
#include "server/backplane/room_keys.h"
#include "server/backplane/room_message.h"
#include "server/backplane/room_store.h"
#include "tests/backplane/backplane_fixture.h"

namespace cursord::testing {

class RoomStoreTest : public BackplaneTest {
 protected:
  using Joined = backplane::RoomStore::Joined;
  using LeaveReason = backplane::LeaveReason;
  using MemberRecord = backplane::MemberRecord;
  using Members = backplane::RoomStore::Members;
  using RoomStore = backplane::RoomStore;

  // A cursord instance as the room store sees it.
  struct Instance {
    std::string id;
    RedisConnection* connection = nullptr;
    RoomStore* store = nullptr;
    EventLog events;  // the connection's
  };

  void TearDown() override {
    io_.Run([this] { stores_.clear(); });
    BackplaneTest::TearDown();
  }

  // An instance with its own connected command connection and store.
  Instance* NewInstance(const std::string& id) {
    instances_.push_back(std::make_unique<Instance>());
    Instance* instance = instances_.back().get();
    instance->id = id;
    instance->connection = Connect(FastOptions(), &instance->events);
    EXPECT_TRUE(instance->events.WaitFor("connected"));
    instance->store = io_.Run([&] {
      stores_.push_back(std::make_unique<RoomStore>(io_.io(), instance->connection));
      return stores_.back().get();
    });
    return instance;
  }

  // A registered instance (lease 60 s unless said otherwise).
  Instance* LiveInstance(const std::string& id, absl::Duration lease = absl::Seconds(60)) {
    Instance* instance = NewInstance(id);
    absl::StatusOr<bool> created = Register(instance, lease);
    EXPECT_TRUE(created.ok() && *created) << created.status();
    return instance;
  }

  // Starts `start(done)` on the io thread and waits (bounded) for `done`.
  template <typename T, typename Start>
  absl::StatusOr<T> Await(Start start, absl::Duration timeout = absl::Seconds(5)) {
    auto answer = std::make_shared<std::promise<absl::StatusOr<T>>>();
    std::future<absl::StatusOr<T>> future = answer->get_future();
    io_.Post([start, answer]() mutable {
      start([answer](absl::StatusOr<T> result) { answer->set_value(std::move(result)); });
    });
    if (future.wait_for(absl::ToChronoNanoseconds(timeout)) != std::future_status::ready) {
      return absl::DeadlineExceededError("test: the store's done never ran");
    }
    return future.get();
  }

  // A member record as an edge would fill it (Join sets instance and
  // generation).
  static MemberRecord Person(const std::string& name) {
    MemberRecord record;
    record.user_id = "u-" + name;
    record.name = name;
    record.color = "#123abc";
    record.remote_address = "127.0.0.1:40000";
    record.connected_at_ms = 1700000000000;
    return record;
  }

  absl::StatusOr<bool> Register(Instance* instance, absl::Duration lease) {
    return Await<bool>([instance, lease](RoomStore::Done<bool> done) {
      instance->store->Register(instance->id, lease, std::move(done));
    });
  }
  absl::StatusOr<bool> Heartbeat(Instance* instance, absl::Duration lease) {
    return Await<bool>([instance, lease](RoomStore::Done<bool> done) {
      instance->store->Heartbeat(instance->id, lease, std::move(done));
    });
  }
  absl::StatusOr<Joined> Join(Instance* instance, const std::string& room,
                              const std::string& name = "ann", int max_members = 256) {
    return Await<Joined>([instance, room, name, max_members](RoomStore::Done<Joined> done) {
      instance->store->Join(room, instance->id, max_members, Person(name), std::move(done));
    });
  }
  absl::StatusOr<bool> Leave(Instance* instance, const std::string& room, uint8_t id,
                             uint64_t generation) {
    return Await<bool>([instance, room, id, generation](RoomStore::Done<bool> done) {
      instance->store->Leave(room, instance->id, id, generation, LeaveReason::kClosed,
                             std::move(done));
    });
  }
  absl::StatusOr<Members> Roster(Instance* instance, const std::string& room) {
    return Await<Members>([instance, room](RoomStore::Done<Members> done) {
      instance->store->Roster(room, std::move(done));
    });
  }
  // The members freed: each named by its instance, room, id and generation.
  absl::StatusOr<std::vector<backplane::ReapedMember>> ReapDeadMembers(Instance* instance) {
    return Await<std::vector<backplane::ReapedMember>>(
        [instance](RoomStore::Done<std::vector<backplane::ReapedMember>> done) {
          instance->store->ReapDead(std::move(done));
        });
  }
  absl::StatusOr<int> ReapDead(Instance* instance) {
    absl::StatusOr<std::vector<backplane::ReapedMember>> freed = ReapDeadMembers(instance);
    if (!freed.ok()) return freed.status();
    return static_cast<int>(freed->size());
  }
  absl::StatusOr<bool> Reassert(Instance* instance, const std::string& room, uint8_t id,
                                uint64_t generation, const std::string& name = "ann") {
    return Await<bool>([instance, room, id, generation, name](RoomStore::Done<bool> done) {
      instance->store->Reassert(room, instance->id, id, generation, Person(name), std::move(done));
    });
  }

  // What Join stored for a member of `instance` named `name`.
  static MemberRecord Stored(const Instance* instance, const std::string& name,
                             uint64_t generation) {
    MemberRecord record = Person(name);
    record.instance = instance->id;
    record.generation = generation;
    return record;
  }

  // A subscriber to the channels of `rooms` whose messages go to `log`
  // decoded: "join ROOM ID/GEN INSTANCE NAME", "leave ROOM ID/GEN REASON",
  // or "raw ROOM PAYLOAD" for what does not decode (the tests' markers).
  void Watch(const std::vector<std::string>& rooms, EventLog* log) {
    std::vector<std::string> channels;
    for (const std::string& room : rooms) channels.push_back(backplane::RoomChannel(room));
    backplane::SubscriberCallbacks callbacks;
    callbacks.on_subscribed = [log](std::string_view channel) {
      log->Add("subscribed " + std::string(channel));
    };
    callbacks.on_message = [log](std::string_view channel, std::string_view payload) {
      log->Add(DescribeMessage(channel, payload));
    };
    io_.Run([&] {
      subscribers_.push_back(std::make_unique<RedisSubscriber>(io_.io(), redis_->endpoint(),
                                                               FastOptions(), callbacks));
      for (const std::string& channel : channels) subscribers_.back()->Subscribe(channel);
      subscribers_.back()->Start();
    });
    ASSERT_TRUE(log->WaitFor("subscribed ", static_cast<int>(rooms.size())));
  }

  static std::string DescribeMessage(std::string_view channel, std::string_view payload) {
    std::string room(channel.substr(backplane::kRoomKeyPrefix.size()));
    room.pop_back();  // the closing brace
    absl::StatusOr<backplane::RoomMessage> message = backplane::DecodeRoomMessage(payload);
    if (!message.ok()) return absl::StrCat("raw ", room, " ", std::string(payload));
    if (const auto* join = std::get_if<backplane::JoinMessage>(&*message)) {
      return absl::StrCat("join ", room, " ", int{join->id}, "/", join->record.generation, " ",
                          join->record.instance, " ", join->record.name);
    }
    if (const auto* leave = std::get_if<backplane::LeaveMessage>(&*message)) {
      const char* reason = leave->reason == LeaveReason::kClosed   ? "closed"
                           : leave->reason == LeaveReason::kReaped ? "reaped"
                                                                   : "other";
      return absl::StrCat("leave ", room, " ", int{leave->id}, "/", leave->generation, " ", reason);
    }
    return absl::StrCat("other ", room);
  }

  // Publishes a marker on `room`'s channel and waits until `log` has it:
  // everything published to the room before it has arrived.
  void Mark(const std::string& room, const std::string& marker, EventLog* log) {
    ASSERT_TRUE(redis_->Query({"PUBLISH", backplane::RoomChannel(room), marker}).ok());
    ASSERT_TRUE(log->WaitFor(absl::StrCat("raw ", room, " ", marker)));
  }

  // The events of `log` starting with `prefix`, in order.
  static std::vector<std::string> Matching(EventLog* log, std::string_view prefix) {
    std::vector<std::string> matching;
    for (const std::string& event : log->events()) {
      if (event.compare(0, prefix.size(), prefix) == 0) matching.push_back(event);
    }
    return matching;
  }

  // Waits (bounded) until Redis no longer has `key`: a lease has expired.
  bool WaitUntilGone(const std::string& key, absl::Duration timeout = absl::Seconds(5)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (redis_->Query({"EXISTS", key}).value_or("") != "0") {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return true;
  }

  // A field of INFO commandstats ("calls" of "script"), or -1 when Redis
  // has not counted that command.
  int64_t CommandCalls(const std::string& command) {
    const std::string info = redis_->Query({"INFO", "commandstats"}).value_or("");
    const std::string label = absl::StrCat("cmdstat_", command, ":calls=");
    const size_t at = info.find(label);
    if (at == std::string::npos) return -1;
    return std::stoll(info.substr(at + label.size()));
  }

  std::vector<std::unique_ptr<Instance>> instances_;
  std::vector<std::unique_ptr<RoomStore>> stores_;  // destroyed on the io thread
};

}  // namespace cursord::testing

#endif  // CURSORD_TESTS_BACKPLANE_ROOM_STORE_FIXTURE_H_
