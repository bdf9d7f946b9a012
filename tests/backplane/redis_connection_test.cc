// RedisConnection against a real redis-server: replies of every kind,
// pipelining, timeouts, liveness, reconnection, lifetime, fd ownership.
#include "server/backplane/redis_connection.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/backplane/backplane_fixture.h"

namespace cursord::testing {
namespace {

using backplane::ConnectionState;

int OpenFdCount() {
  int count = 0;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (readdir(dir) != nullptr) ++count;
    closedir(dir);
  }
  return count;
}

class RedisConnectionTest : public BackplaneTest {};

TEST_F(RedisConnectionTest, RepliesOfEveryKindArriveAsValues) {
  RedisConnection* redis = Connect(FastOptions(), &events_);
  ASSERT_TRUE(events_.WaitFor("connected"));

  const std::string binary("a\0b\r\n\xff", 6);
  EXPECT_EQ(*Call(redis, {"SET", "key", binary}), Reply::Status("OK"));
  EXPECT_EQ(*Call(redis, {"GET", "key"}), Reply::String(binary));
  EXPECT_EQ(*Call(redis, {"GET", "missing"}), Reply::Nil());
  EXPECT_EQ(*Call(redis, {"INCR", "counter"}), Reply::Integer(1));
  EXPECT_EQ(*Call(redis, {"INCRBY", "counter", "-5"}), Reply::Integer(-4));

  // An error reply is data, not a failed command.
  absl::StatusOr<Reply> error = Call(redis, {"INCR", "key"});
  ASSERT_TRUE(error.ok()) << error.status();
  EXPECT_TRUE(error->is_error());
  EXPECT_TRUE(absl::StartsWith(error->str(), "ERR ")) << error->DebugString();

  // Nested arrays with every kind inside (Lua false is a nil reply).
  absl::StatusOr<Reply> nested = Call(
      redis, {"EVAL",
              "return {1, 'two', {3, ARGV[1]}, false, redis.status_reply('fine'), "
              "redis.error_reply('OOPS bad')}",
              "0", binary});
  ASSERT_TRUE(nested.ok()) << nested.status();
  EXPECT_EQ(*nested, Reply::Array({Reply::Integer(1), Reply::String("two"),
                                   Reply::Array({Reply::Integer(3), Reply::String(binary)}),
                                   Reply::Nil(), Reply::Status("fine"), Reply::Error("OOPS bad")}))
      << nested->DebugString();
  EXPECT_EQ(*Call(redis, {"EVAL", "return {}", "0"}), Reply::Array({}));
}

TEST_F(RedisConnectionTest, AThousandPipelinedCommandsAnswerInOrder) {
  RedisConnection* redis = Connect(FastOptions(), &events_);
  ASSERT_TRUE(events_.WaitFor("connected"));
  static constexpr int kCommands = 1000;

  struct Outcome {
    std::vector<int64_t> values;  // in completion order (io thread only)
    int answered_while_sending = -1;
  };
  auto outcome = std::make_shared<Outcome>();
  std::promise<void> all_answered;
  io_.Run([&] {
    // All sent from one handler: none can be answered before the last is
    // sent, so all 1000 are in flight together.
    for (int i = 0; i < kCommands; ++i) {
      redis->Command({"INCR", "sequence"}, [outcome, &all_answered](absl::StatusOr<Reply> reply) {
        outcome->values.push_back(reply.ok() && reply->is_integer() ? reply->integer() : -1);
        if (outcome->values.size() == kCommands) all_answered.set_value();
      });
    }
    outcome->answered_while_sending = static_cast<int>(outcome->values.size());
  });
  ASSERT_EQ(all_answered.get_future().wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  io_.Run([&] {
    EXPECT_EQ(outcome->answered_while_sending, 0);
    for (int i = 0; i < kCommands; ++i) ASSERT_EQ(outcome->values[i], i + 1) << "reply " << i;
  });
}

TEST_F(RedisConnectionTest, HostNamesAreResolvedWithAsio) {
  // localhost may resolve to ::1 first; redis listens on 127.0.0.1 only, so
  // this also proves the next address is tried.
  RedisConnection* redis =
      Connect(FastOptions(), &events_, backplane::RedisEndpoint{"localhost", redis_->port(), 0});
  ASSERT_TRUE(events_.WaitFor("connected"));
  EXPECT_EQ(*Call(redis, {"PING"}), Reply::Status("PONG"));
}

TEST_F(RedisConnectionTest, AnUnknownHostIsAFailedAttemptNotACrash) {
  RedisConnection* redis = Connect(FastOptions(), &events_,
                                   backplane::RedisEndpoint{"no-such-host.invalid", 1, 0});
  ASSERT_TRUE(Eventually([&] { return redis->stats().failed_attempts >= 1; }));
  const absl::Status error = io_.Run([&] { return redis->last_error(); });
  EXPECT_TRUE(absl::StrContains(error.message(), "resolving no-such-host.invalid")) << error;
  EXPECT_EQ(Call(redis, {"PING"}).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(RedisConnectionTest, TheDatabaseOfTheUrlIsSelected) {
  backplane::RedisEndpoint db2 = redis_->endpoint();
  db2.db = 2;
  RedisConnection* in_db2 = Connect(FastOptions(), &events_, db2);
  EventLog db0_events;
  RedisConnection* in_db0 = Connect(FastOptions(), &db0_events);
  ASSERT_TRUE(events_.WaitFor("connected"));
  ASSERT_TRUE(db0_events.WaitFor("connected"));
  EXPECT_EQ(*Call(in_db2, {"SET", "where", "two"}), Reply::Status("OK"));
  EXPECT_EQ(*Call(in_db2, {"GET", "where"}), Reply::String("two"));
  EXPECT_EQ(*Call(in_db0, {"GET", "where"}), Reply::Nil());
}

TEST_F(RedisConnectionTest, CommandsFailFastAndAfterTheCallWhileDisconnected) {
  redis_->Stop(SIGKILL);
  RedisConnection* redis = Connect(FastOptions(), &events_);
  struct Outcome {
    bool returned = false;  // Command() has returned (io thread only)
    bool done_ran_inside_the_call = false;
  };
  auto outcome = std::make_shared<Outcome>();
  std::promise<absl::Status> failed;
  io_.Run([&] {
    redis->Command({"PING"}, [outcome, &failed](absl::StatusOr<Reply> reply) {
      outcome->done_ran_inside_the_call = !outcome->returned;
      failed.set_value(reply.status());
    });
    outcome->returned = true;
  });
  auto future = failed.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(future.get().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(outcome->done_ran_inside_the_call);
}

TEST_F(RedisConnectionTest, PushModeCommandsAreRefused) {
  RedisConnection* redis = Connect(FastOptions(), &events_);
  ASSERT_TRUE(events_.WaitFor("connected"));
  for (const char* command : {"SUBSCRIBE", "psubscribe", "Monitor", "UNSUBSCRIBE"}) {
    EXPECT_EQ(Call(redis, {command, "x"}).status().code(), absl::StatusCode::kInvalidArgument)
        << command;
  }
  EXPECT_EQ(Call(redis, {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*Call(redis, {"PING"}), Reply::Status("PONG"));
}

TEST_F(RedisConnectionTest, ACommandToAPausedServerTimesOutAndTheConnectionRecovers) {
  ConnectionOptions options = FastOptions();
  options.command_timeout = absl::Milliseconds(300);
  options.ping_interval = absl::Seconds(30);  // only the commands are timed here
  RedisConnection* redis = Connect(options, &events_);
  ASSERT_TRUE(events_.WaitFor("connected"));

  redis_->Pause();
  const absl::Time sent = absl::Now();
  auto second = std::async(std::launch::async, [&] { return Call(redis, {"GET", "b"}); });
  const absl::StatusOr<Reply> first = Call(redis, {"GET", "a"});
  const absl::Duration waited = absl::Now() - sent;
  EXPECT_EQ(first.status().code(), absl::StatusCode::kDeadlineExceeded) << first.status();
  // Every outstanding command fails with the oldest: replies are ordered.
  EXPECT_EQ(second.get().status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_GE(waited, absl::Milliseconds(300));
  EXPECT_LT(waited, absl::Milliseconds(300 + 200));
  ASSERT_TRUE(events_.WaitFor("disconnected DEADLINE_EXCEEDED"));
  EXPECT_EQ(io_.Run([&] { return redis->stats().timeouts; }), 1u);

  // While paused the kernel still accepts connections, but the handshake
  // gets no answer: attempts fail until the server runs again.
  EXPECT_EQ(Call(redis, {"PING"}).status().code(), absl::StatusCode::kUnavailable);
  redis_->Resume();
  ASSERT_TRUE(events_.WaitFor("connected", 2));
  EXPECT_EQ(*Call(redis, {"PING"}), Reply::Status("PONG"));
}

TEST_F(RedisConnectionTest, AnIdleConnectionPingsAndStaysConnected) {
  ConnectionOptions options = FastOptions();
  options.ping_interval = absl::Milliseconds(50);
  RedisConnection* redis = Connect(options, &events_);
  ASSERT_TRUE(events_.WaitFor("connected"));
  const uint64_t before = io_.Run([&] { return redis->stats().replies; });
  // No command is sent: only PINGs can be answered.
  // Three pings 50 ms apart: well within 600 ms (a timer left at the
  // last ping's 500 ms deadline would take over a second).
  ASSERT_TRUE(Eventually([&] { return redis->stats().replies >= before + 3; },
                         absl::Milliseconds(600)));
  EXPECT_EQ(events_.Count("disconnected"), 0);
}

TEST_F(RedisConnectionTest, AnIdleConnectionNoticesAPausedServerByItsPing) {
  Connect(ProbingOptions(), &events_);
  ASSERT_TRUE(events_.WaitFor("connected"));
  // At most one ping interval of silence, then the PING's timeout.
  PauseAndExpectTheProbeToNotice(&events_);
  redis_->Resume();
  EXPECT_TRUE(events_.WaitFor("connected", 2));
}

TEST_F(RedisConnectionTest, ReconnectsByItselfWithBackoffAfterRedisRestarts) {
  ConnectionOptions options = FastOptions();
  options.command_timeout = absl::Seconds(5);  // the kill, not a timeout, fails them
  RedisConnection* redis = Connect(options, &events_);
  ASSERT_TRUE(events_.WaitFor("connected"));
  EXPECT_EQ(*Call(redis, {"SET", "before", "1"}), Reply::Status("OK"));

  // Commands in flight when the server dies fail with UNAVAILABLE.
  redis_->Pause();
  auto codes = std::make_shared<std::vector<absl::StatusCode>>();
  std::promise<void> all_failed;
  io_.Run([&] {
    for (int i = 0; i < 3; ++i) {
      redis->Command({"PING"}, [codes, &all_failed](absl::StatusOr<Reply> reply) {
        codes->push_back(reply.status().code());
        if (codes->size() == 3) all_failed.set_value();
      });
    }
  });
  redis_->Stop(SIGKILL);
  ASSERT_EQ(all_failed.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(*codes, std::vector<absl::StatusCode>(3, absl::StatusCode::kUnavailable));
  ASSERT_TRUE(events_.WaitFor("disconnected UNAVAILABLE"));

  // It keeps trying (with backoff: see backoff_test) while nothing listens.
  ASSERT_TRUE(Eventually([&] { return redis->stats().failed_attempts >= 3; }));
  EXPECT_NE(io_.Run([&] { return redis->state(); }), ConnectionState::kConnected);
  ASSERT_TRUE(redis_->Restart().ok());
  ASSERT_TRUE(events_.WaitFor("connected", 2));
  EXPECT_EQ(*Call(redis, {"GET", "before"}), Reply::Nil());  // no persistence: an empty server
  EXPECT_EQ(*Call(redis, {"SET", "after", "1"}), Reply::Status("OK"));
  const backplane::ConnectionStats stats = io_.Run([&] { return redis->stats(); });
  EXPECT_EQ(stats.connects, 2u);
  EXPECT_EQ(stats.disconnects, 1u);
}

TEST_F(RedisConnectionTest, DestroyingTheConnectionCancelsWhatIsOutstanding) {
  RedisConnection* redis = Connect(FastOptions(), &events_);
  ASSERT_TRUE(events_.WaitFor("connected"));
  redis_->Pause();
  std::vector<absl::StatusCode> codes;
  io_.Run([&] {
    for (int i = 0; i < 5; ++i) {
      redis->Command({"PING"}, [&](absl::StatusOr<Reply> reply) {
        codes.push_back(reply.status().code());
      });
    }
    connections_.clear();  // every done runs before this returns
    EXPECT_EQ(codes, std::vector<absl::StatusCode>(5, absl::StatusCode::kCancelled));
  });
  redis_->Resume();
  EXPECT_EQ(events_.Count("disconnected"), 0);  // no callback from a destroyed connection
}

TEST_F(RedisConnectionTest, TheOwnerMayDestroyTheConnectionFromAReply) {
  RedisConnection* redis = Connect(FastOptions(), &events_);
  ASSERT_TRUE(events_.WaitFor("connected"));
  std::promise<std::vector<std::string>> outcome;
  io_.Post([&] {
    auto seen = std::make_shared<std::vector<std::string>>();
    redis->Command({"PING"}, [this, seen, &outcome](absl::StatusOr<Reply> reply) {
      seen->push_back(reply.ok() ? reply->str() : Describe(reply.status()));
      connections_.clear();  // from inside the first reply's done
      outcome.set_value(*seen);
    });
    for (int i = 0; i < 3; ++i) {
      redis->Command({"PING"}, [seen](absl::StatusOr<Reply> reply) {
        seen->push_back(reply.ok() ? reply->str() : Describe(reply.status()));
      });
    }
  });
  auto future = outcome.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  // The first answered; the three behind it were cancelled by the
  // destruction, before it returned.
  EXPECT_EQ(future.get(),
            (std::vector<std::string>{"PONG", "CANCELLED", "CANCELLED", "CANCELLED"}));
}

TEST_F(RedisConnectionTest, FdsAreClosedOnceAndNotLeakedAcrossReconnects) {
  // hiredis closes its socket; Asio must never close it too. If it did, the
  // second close would hit whatever reused the number: the canary opened
  // right after each loss, which is likely to get exactly that number.
  {
    EventLog warm_up;
    Connect(FastOptions(), &warm_up);
    ASSERT_TRUE(warm_up.WaitFor("connected"));
    io_.Run([&] { connections_.clear(); });
  }
  const int fds_before = OpenFdCount();

  auto canaries = std::make_shared<std::vector<int>>();
  backplane::ConnectionCallbacks callbacks;
  callbacks.on_connected = [this] { events_.Add("connected"); };
  callbacks.on_disconnected = [this, canaries](const absl::Status& reason) {
    canaries->push_back(open("/dev/null", O_RDONLY | O_CLOEXEC));
    events_.Add(absl::StrCat("disconnected ", Describe(reason)));
  };
  io_.Run([&] {
    connections_.push_back(std::make_unique<RedisConnection>(io_.io(), redis_->endpoint(),
                                                             FastOptions(), callbacks));
    connections_.back()->Start();
  });
  EventLog subscriber_events;
  Subscriber(FastOptions(), &subscriber_events, {"room"});
  ASSERT_TRUE(events_.WaitFor("connected"));
  ASSERT_TRUE(subscriber_events.WaitFor("connected"));
  constexpr int kCycles = 3;
  for (int cycle = 1; cycle <= kCycles; ++cycle) {
    redis_->Stop(cycle % 2 == 1 ? SIGKILL : SIGTERM);
    ASSERT_TRUE(events_.WaitFor("disconnected", cycle));
    ASSERT_TRUE(subscriber_events.WaitFor("disconnected", cycle));
    ASSERT_TRUE(redis_->Restart().ok());
    ASSERT_TRUE(events_.WaitFor("connected", cycle + 1));
    ASSERT_TRUE(subscriber_events.WaitFor("connected", cycle + 1));
  }
  io_.Run([&] {
    connections_.clear();
    subscribers_.clear();
  });
  ASSERT_EQ(canaries->size(), static_cast<size_t>(kCycles));
  for (int fd : *canaries) {
    EXPECT_NE(fcntl(fd, F_GETFD), -1) << "canary fd " << fd << " was closed by someone else";
    close(fd);
  }
  EXPECT_EQ(OpenFdCount(), fds_before);
}

}  // namespace
}  // namespace cursord::testing
