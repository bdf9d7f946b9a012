// The fixture of the backplane's I/O tests: a real redis-server of the
// test's own, an io_context thread, and connections whose callbacks write
// to event logs that the test waits on (bounded).
#ifndef CURSORD_TESTS_BACKPLANE_BACKPLANE_FIXTURE_H_
#define CURSORD_TESTS_BACKPLANE_BACKPLANE_FIXTURE_H_

#include <signal.h>

#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/backplane/redis_connection.h"
#include "server/backplane/redis_subscriber.h"
#include "tests/backplane/io_thread.h"
#include "tests/backplane/redis_server.h"
#include "tests/testing/eventually.h"

namespace cursord::testing {

class BackplaneTest : public ::testing::Test {
 protected:
  using ConnectionOptions = backplane::ConnectionOptions;
  using RedisConnection = backplane::RedisConnection;
  using RedisSubscriber = backplane::RedisSubscriber;
  using Reply = backplane::Reply;

  // hiredis writes with write(2); cursord's main ignores SIGPIPE, and so
  // must every process that uses the backplane.
  static void SetUpTestSuite() { signal(SIGPIPE, SIG_IGN); }

  void SetUp() override {
    absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    redis_ = *std::move(server);
  }

  void TearDown() override {
    // Connections are destroyed on their io_context's thread.
    io_.Run([this] {
      connections_.clear();
      subscribers_.clear();
    });
  }

  // Quick to notice and quick to retry, so that the tests are short.
  static ConnectionOptions FastOptions() {
    ConnectionOptions options;
    options.connect_timeout = absl::Seconds(1);
    options.command_timeout = absl::Milliseconds(500);
    options.ping_interval = absl::Seconds(1);
    options.backoff.initial = absl::Milliseconds(20);
    options.backoff.max = absl::Milliseconds(200);
    return options;
  }

  // Probes an idle link every 200 ms, each answer due within 300 ms.
  static ConnectionOptions ProbingOptions() {
    ConnectionOptions options = FastOptions();
    options.ping_interval = absl::Milliseconds(200);
    options.command_timeout = absl::Milliseconds(300);
    return options;
  }

  // Pauses the server and expects `log` to report the loss for a missing
  // probe answer within one ping interval plus one timeout (+200 ms of
  // scheduling slack) of ProbingOptions().
  void PauseAndExpectTheProbeToNotice(EventLog* log) {
    const absl::Time paused = absl::Now();
    redis_->Pause();
    ASSERT_TRUE(log->WaitFor("disconnected DEADLINE_EXCEEDED", 1, absl::Seconds(2)));
    EXPECT_LT(absl::Now() - paused, absl::Milliseconds(200 + 300 + 200));
  }

  static std::string Describe(const absl::Status& status) {
    return absl::StatusCodeToString(status.code());
  }

  // A started command connection; its events go to `log` ("connected",
  // "disconnected <CODE>").
  RedisConnection* Connect(ConnectionOptions options, EventLog* log,
                           std::optional<backplane::RedisEndpoint> endpoint = std::nullopt) {
    backplane::ConnectionCallbacks callbacks;
    callbacks.on_connected = [log] { log->Add("connected"); };
    callbacks.on_disconnected = [log](const absl::Status& reason) {
      log->Add(absl::StrCat("disconnected ", Describe(reason), " ", reason.message()));
    };
    const backplane::RedisEndpoint target = endpoint.value_or(redis_->endpoint());
    return io_.Run([&] {
      connections_.push_back(
          std::make_unique<RedisConnection>(io_.io(), target, options, std::move(callbacks)));
      connections_.back()->Start();
      return connections_.back().get();
    });
  }

  // A started subscriber; events to `log`: "connected", "disconnected
  // <CODE>", "subscribed <channel>", "message <channel> <C-escaped payload>".
  RedisSubscriber* Subscriber(ConnectionOptions options, EventLog* log,
                              const std::vector<std::string>& channels = {}) {
    backplane::SubscriberCallbacks callbacks;
    callbacks.on_connected = [log] { log->Add("connected"); };
    callbacks.on_disconnected = [log](const absl::Status& reason) {
      log->Add(absl::StrCat("disconnected ", Describe(reason), " ", reason.message()));
    };
    callbacks.on_subscribed = [log](std::string_view channel) {
      log->Add("subscribed " + std::string(channel));
    };
    callbacks.on_message = [log](std::string_view channel, std::string_view payload) {
      log->Add("message " + std::string(channel) + " " +
               absl::CHexEscape(absl::string_view(payload.data(), payload.size())));
    };
    return io_.Run([&] {
      subscribers_.push_back(std::make_unique<RedisSubscriber>(io_.io(), redis_->endpoint(),
                                                               options, std::move(callbacks)));
      for (const std::string& channel : channels) subscribers_.back()->Subscribe(channel);
      subscribers_.back()->Start();
      return subscribers_.back().get();
    });
  }

  // Sends one command from the io thread and waits (bounded) for its done.
  absl::StatusOr<Reply> Call(RedisConnection* connection, std::vector<std::string> args,
                             absl::Duration timeout = absl::Seconds(5)) {
    auto answer = std::make_shared<std::promise<absl::StatusOr<Reply>>>();
    std::future<absl::StatusOr<Reply>> future = answer->get_future();
    io_.Post([connection, args = std::move(args), answer]() mutable {
      connection->Command(std::move(args),
                          [answer](absl::StatusOr<Reply> reply) { answer->set_value(reply); });
    });
    if (future.wait_for(absl::ToChronoNanoseconds(timeout)) != std::future_status::ready) {
      return absl::DeadlineExceededError("test: the command's done never ran");
    }
    return future.get();
  }

  // Polls `predicate` on the io thread until it holds (bounded).
  bool Eventually(const std::function<bool()>& predicate,
                  absl::Duration timeout = absl::Seconds(5)) {
    return testing::Eventually([&] { return io_.Run(predicate); }, timeout);
  }

  std::unique_ptr<RedisServer> redis_;
  IoThread io_;
  EventLog events_;
  std::vector<std::unique_ptr<RedisConnection>> connections_;
  std::vector<std::unique_ptr<RedisSubscriber>> subscribers_;
};

}  // namespace cursord::testing

#endif  // CURSORD_TESTS_BACKPLANE_BACKPLANE_FIXTURE_H_
