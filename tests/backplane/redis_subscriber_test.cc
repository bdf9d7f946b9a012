// RedisSubscriber against a real redis-server: delivery as bytes,
// unsubscribing, liveness, and resubscription with the gap reported.
#include "server/backplane/redis_subscriber.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/backplane/backplane_fixture.h"

namespace cursord::testing {
namespace {

class RedisSubscriberTest : public BackplaneTest {
 protected:
  void SetUp() override {
    BackplaneTest::SetUp();
    if (HasFatalFailure()) return;
    publisher_ = Connect(FastOptions(), &publisher_events_);
    ASSERT_TRUE(publisher_events_.WaitFor("connected"));
  }

  // PUBLISH from the command connection; the number of receivers.
  int64_t Publish(const std::string& channel, const std::string& payload) {
    absl::StatusOr<Reply> reply = Call(publisher_, {"PUBLISH", channel, payload});
    EXPECT_TRUE(reply.ok() && reply->is_integer()) << reply.status();
    return reply.ok() ? reply->integer() : -1;
  }

  EventLog publisher_events_;
  RedisConnection* publisher_ = nullptr;
};

TEST_F(RedisSubscriberTest, PublishedMessagesArriveAsBytes) {
  RedisSubscriber* subscriber = Subscriber(FastOptions(), &events_);
  ASSERT_TRUE(events_.WaitFor("connected"));
  io_.Run([&] { subscriber->Subscribe("room:a"); });
  ASSERT_TRUE(events_.WaitFor("subscribed room:a"));

  const std::string binary("x\0y\r\n\xff", 6);
  EXPECT_EQ(Publish("room:a", binary), 1);
  EXPECT_EQ(Publish("room:a", ""), 1);
  ASSERT_TRUE(events_.WaitFor("message room:a", 2));
  EXPECT_EQ(events_.events()[events_.IndexOf("message")],
            "message room:a " + absl::CHexEscape(binary));
  EXPECT_EQ(events_.events()[events_.IndexOf("message", 1)], "message room:a ");
}

TEST_F(RedisSubscriberTest, ChannelsAddedBeforeStartAreSubscribedBeforeConnectedIsReported) {
  Subscriber(FastOptions(), &events_, {"room:a", "room:b"});
  ASSERT_TRUE(events_.WaitFor("connected"));
  const int connected = events_.IndexOf("connected");
  EXPECT_GE(events_.IndexOf("subscribed room:a"), 0);
  EXPECT_LT(events_.IndexOf("subscribed room:a"), connected);
  EXPECT_LT(events_.IndexOf("subscribed room:b"), connected);
  EXPECT_EQ(Publish("room:b", "hello"), 1);
  EXPECT_TRUE(events_.WaitFor("message room:b hello"));
}

TEST_F(RedisSubscriberTest, NothingArrivesFromAChannelAfterUnsubscribe) {
  RedisSubscriber* subscriber = Subscriber(FastOptions(), &events_, {"room:a", "room:b"});
  ASSERT_TRUE(events_.WaitFor("connected"));
  io_.Run([&] {
    subscriber->Unsubscribe("room:a");
    subscriber->Unsubscribe("never-subscribed");  // ignored
  });
  // Published after Unsubscribe returned, before the server may have seen it:
  // the marker on room:b arrives after anything published to room:a here.
  Publish("room:a", "late");
  EXPECT_EQ(Publish("room:b", "marker"), 1);
  ASSERT_TRUE(events_.WaitFor("message room:b marker"));
  EXPECT_EQ(events_.Count("message room:a"), 0);
  // And the server was told.
  EXPECT_TRUE(Eventually([&] {
    return redis_->Query({"PUBSUB", "NUMSUB", "room:a"}).value_or("") == "room:a 0";
  }));
  EXPECT_EQ(io_.Run([&] { return subscriber->IsSubscribed("room:a"); }), false);

  // Subscribing again works as the first time.
  io_.Run([&] { subscriber->Subscribe("room:a"); });
  ASSERT_TRUE(events_.WaitFor("subscribed room:a", 2));
  EXPECT_EQ(Publish("room:a", "again"), 1);
  EXPECT_TRUE(events_.WaitFor("message room:a again"));
}

TEST_F(RedisSubscriberTest, AfterARestartItResubscribesAndReportsTheGap) {
  std::vector<std::string> channels;
  // Three digits: no channel's name is a prefix of another's.
  for (int i = 0; i < 100; ++i) channels.push_back(absl::StrFormat("room:%03d", i));
  Subscriber(FastOptions(), &events_, channels);
  ASSERT_TRUE(events_.WaitFor("connected"));
  EXPECT_EQ(events_.Count("subscribed "), 100);

  redis_->Stop(SIGKILL);
  ASSERT_TRUE(events_.WaitFor("disconnected UNAVAILABLE"));
  ASSERT_TRUE(redis_->Restart().ok());
  ASSERT_TRUE(events_.WaitFor("connected", 2));
  // The gap is reported: disconnected, then every channel subscribed again,
  // then connected.
  const int lost = events_.IndexOf("disconnected");
  const int back = events_.IndexOf("connected", 1);
  EXPECT_LT(lost, events_.IndexOf("subscribed room:007", 1));
  EXPECT_LT(events_.IndexOf("subscribed room:007", 1), back);
  EXPECT_EQ(events_.Count("subscribed "), 200);
  ASSERT_TRUE(Eventually([&] { return publisher_->connected(); }));
  EXPECT_EQ(Publish("room:007", "after"), 1);
  EXPECT_TRUE(events_.WaitFor("message room:007 after"));
}

TEST_F(RedisSubscriberTest, AnIdleSubscriberProbesAndStaysConnected) {
  ConnectionOptions options = FastOptions();
  options.ping_interval = absl::Milliseconds(50);
  RedisSubscriber* subscriber = Subscriber(options, &events_, {"room:a"});
  ASSERT_TRUE(events_.WaitFor("connected"));
  const uint64_t before = io_.Run([&] { return subscriber->stats().replies; });
  ASSERT_TRUE(Eventually([&] { return subscriber->stats().replies >= before + 3; },
                         absl::Milliseconds(600)));
  EXPECT_EQ(events_.Count("disconnected"), 0);
  EXPECT_EQ(events_.Count("subscribed room:a"), 1);  // the probe is not reported
  // Messages published to the liveness channel are not the owner's.
  EXPECT_EQ(Publish(std::string(backplane::kLivenessChannel), "x"), 1);
  EXPECT_EQ(Publish("room:a", "marker"), 1);
  ASSERT_TRUE(events_.WaitFor("message room:a marker"));
  EXPECT_EQ(events_.Count("message"), 1);
}

TEST_F(RedisSubscriberTest, APausedServerIsNoticedByTheProbeAndTheSubscriptionsComeBack) {
  Subscriber(ProbingOptions(), &events_, {"room:a"});
  ASSERT_TRUE(events_.WaitFor("connected"));
  PauseAndExpectTheProbeToNotice(&events_);
  redis_->Resume();
  ASSERT_TRUE(events_.WaitFor("subscribed room:a", 2));
  ASSERT_TRUE(events_.WaitFor("connected", 2));
  ASSERT_TRUE(Eventually([&] { return publisher_->connected(); }));
  EXPECT_TRUE(Eventually([&] {
    return redis_->Query({"PUBSUB", "NUMSUB", "room:a"}).value_or("") == "room:a 1";
  }));
  EXPECT_EQ(Publish("room:a", "back"), 1);
  EXPECT_TRUE(events_.WaitFor("message room:a back"));
}

TEST_F(RedisSubscriberTest, DestroyingASubscriberRunsNoCallback) {
  Subscriber(FastOptions(), &events_, {"room:a"});
  ASSERT_TRUE(events_.WaitFor("connected"));
  io_.Run([&] { subscribers_.clear(); });
  EXPECT_TRUE(Eventually([&] {
    return redis_->Query({"PUBSUB", "NUMSUB", "room:a"}).value_or("") == "room:a 0";
  }));
  EXPECT_EQ(events_.Count("disconnected"), 0);
}

}  // namespace
}  // namespace cursord::testing
