#include "server/core/cluster_room.h"

#include "gtest/gtest.h"

namespace cursord::core {
namespace {

TEST(ClusterRoomTest, ARelayedEntryAppliesOnlyToTheMemberOfItsGeneration) {
  ClusterRoom room;
  room.AddRemote(3, 10, "b");
  EXPECT_TRUE(room.IsRemote(3, 10));
  EXPECT_FALSE(room.IsRemote(3, 9));   // the id's previous owner
  EXPECT_FALSE(room.IsRemote(4, 10));  // nobody
  EXPECT_FALSE(room.IsRemote(3, 0));
  // The id is reused by a new member: the old generation no longer passes.
  room.AddRemote(3, 11, "c");
  EXPECT_FALSE(room.IsRemote(3, 10));
  EXPECT_TRUE(room.IsRemote(3, 11));
  room.Remove(3);
  EXPECT_FALSE(room.IsRemote(3, 11));
  EXPECT_FALSE(room.known(3));
}

TEST(ClusterRoomTest, LocalMembersAreNeverTakenForRemoteOnes) {
  ClusterRoom room;
  room.AddLocal(1, 5);
  EXPECT_TRUE(room.local(1));
  EXPECT_TRUE(room.IsLocal(1, 5));
  EXPECT_FALSE(room.IsRemote(1, 5));
  EXPECT_EQ(room.remote_count(), 0);
}

TEST(ClusterRoomTest, SaysWhenAnInstanceHasItsFirstMemberInTheRoom) {
  ClusterRoom room;
  EXPECT_TRUE(room.AddRemote(1, 1, "b"));
  EXPECT_FALSE(room.AddRemote(2, 2, "b"));
  EXPECT_TRUE(room.AddRemote(3, 3, "c"));
  EXPECT_EQ(room.remote_count(), 3);
  room.Remove(1);
  room.Remove(2);
  EXPECT_EQ(room.remote_count(), 1);
  EXPECT_TRUE(room.AddRemote(1, 4, "b"));  // b left entirely, then came back
  // Replacing a member moves its count to its new owner.
  EXPECT_FALSE(room.AddRemote(3, 5, "b"));
  EXPECT_TRUE(room.AddRemote(4, 6, "c"));
  EXPECT_EQ(room.RemoteIds(), (std::vector<uint8_t>{1, 3, 4}));
}

TEST(ClusterRoomTest, MovesAreBatchedOncePerMemberUntilTaken) {
  ClusterRoom room;
  room.AddLocal(7, 1);
  room.AddLocal(2, 2);
  room.AddRemote(9, 3, "b");
  EXPECT_TRUE(room.MarkMoved(7));   // first of the batch: arm the timer
  EXPECT_FALSE(room.MarkMoved(7));  // latest wins: still one entry
  EXPECT_FALSE(room.MarkMoved(2));
  EXPECT_FALSE(room.MarkMoved(9));  // not ours to publish
  EXPECT_TRUE(room.has_moved());
  EXPECT_EQ(room.TakeMoved(), (std::vector<uint8_t>{2, 7}));
  EXPECT_FALSE(room.has_moved());
  EXPECT_TRUE(room.TakeMoved().empty());
  EXPECT_TRUE(room.MarkMoved(2));
}

TEST(ClusterRoomTest, AMemberThatLeavesTakesItsUnpublishedMoveAlong) {
  ClusterRoom room;
  room.AddLocal(1, 1);
  room.AddLocal(2, 2);
  room.MarkMoved(1);
  room.MarkMoved(2);
  room.Remove(1);
  EXPECT_EQ(room.TakeMoved(), (std::vector<uint8_t>{2}));
  room.MarkMoved(2);
  room.AddLocal(2, 9);  // replaced: the new member has not moved
  EXPECT_FALSE(room.has_moved());
}

TEST(ClusterRoomTest, AFirstJoinWaitsForTheStateOfEveryInstanceInTheRoom) {
  ClusterRoom room;
  room.AddRemote(0, 1, "x");
  room.AddRemote(1, 2, "y");
  room.AddRemote(2, 3, "y");
  room.OnState("y");  // came before the join's answer
  EXPECT_FALSE(room.had_local());
  room.StartAwaiting();
  EXPECT_TRUE(room.awaiting());
  EXPECT_TRUE(room.HasInstance("x"));
  room.OnState("z");  // not in the room: changes nothing
  EXPECT_TRUE(room.awaiting());
  room.OnState("x");
  EXPECT_FALSE(room.awaiting());
  room.AddLocal(3, 4);
  EXPECT_TRUE(room.had_local());
}

TEST(ClusterRoomTest, AnInstanceThatLeftIsNotWaitedFor) {
  ClusterRoom room;
  room.AddRemote(0, 1, "x");
  room.StartAwaiting();
  room.Remove(0);
  EXPECT_FALSE(room.HasInstance("x"));
  room.StopAwaiting("x");
  EXPECT_FALSE(room.awaiting());
}

TEST(ClusterRoomTest, CountsPendingJoins) {
  ClusterRoom room;
  room.AddPendingJoin();
  room.AddPendingJoin();
  room.RemovePendingJoin();
  EXPECT_EQ(room.pending_joins(), 1);
}

}  // namespace
}  // namespace cursord::core
