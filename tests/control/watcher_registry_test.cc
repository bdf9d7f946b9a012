#include "server/control/watcher_registry.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace cursord::control {
namespace {

std::shared_ptr<WatchSession> Watcher(const std::string& room_id) {
  return std::make_shared<WatchSession>(room_id, WatchBuffer::Options());
}

TEST(WatcherRegistryTest, RoomLimitRefusesTheNextWatcherOfThatRoomOnly) {
  WatcherRegistry registry({/*max_watchers=*/10, /*max_watchers_per_room=*/2});
  auto a1 = Watcher("a"), a2 = Watcher("a"), a3 = Watcher("a"), b1 = Watcher("b");
  EXPECT_TRUE(registry.Add(a1).ok());
  EXPECT_TRUE(registry.Add(a2).ok());
  const absl::Status refused = registry.Add(a3);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.message(),
            "room \"a\" already has 2 watchers, the limit per room "
            "(--control-max-watchers-per-room); end a watch and try again");
  EXPECT_TRUE(registry.Add(b1).ok());
  EXPECT_EQ(registry.size(), 3u);
  EXPECT_EQ(registry.RoomWatchers("a"), 2u);
  EXPECT_EQ(registry.RoomWatchers("b"), 1u);
  EXPECT_EQ(registry.refused_room_limit(), 1u);
  EXPECT_EQ(registry.refused_server_limit(), 0u);
}

TEST(WatcherRegistryTest, ServerLimitRefusesAnyRoom) {
  WatcherRegistry registry({/*max_watchers=*/2, /*max_watchers_per_room=*/2});
  EXPECT_TRUE(registry.Add(Watcher("a")).ok());
  EXPECT_TRUE(registry.Add(Watcher("b")).ok());
  const absl::Status refused = registry.Add(Watcher("c"));
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.message(),
            "the server already has 2 watchers, its limit (--control-max-watchers); "
            "end a watch and try again");
  EXPECT_EQ(registry.refused_server_limit(), 1u);
  EXPECT_EQ(registry.RoomWatchers("c"), 0u);
}

TEST(WatcherRegistryTest, RemovingFreesThePlaceExactlyOnce) {
  WatcherRegistry registry({/*max_watchers=*/1, /*max_watchers_per_room=*/1});
  auto first = Watcher("a");
  auto second = Watcher("a");
  ASSERT_TRUE(registry.Add(first).ok());
  EXPECT_FALSE(registry.Add(second).ok());
  // Of the paths that end a stream (cancel, done), only the first releases.
  EXPECT_TRUE(registry.Remove(first));
  EXPECT_FALSE(registry.Remove(first));
  EXPECT_EQ(registry.size(), 0u);
  EXPECT_EQ(registry.RoomWatchers("a"), 0u);
  EXPECT_TRUE(registry.Add(second).ok());
  EXPECT_FALSE(registry.Remove(first));  // never registered again
  EXPECT_EQ(registry.size(), 1u);
}

TEST(WatcherRegistryTest, AddingTwiceIsNoChange) {
  WatcherRegistry registry({/*max_watchers=*/1, /*max_watchers_per_room=*/1});
  auto watcher = Watcher("a");
  ASSERT_TRUE(registry.Add(watcher).ok());
  EXPECT_TRUE(registry.Add(watcher).ok());
  EXPECT_EQ(registry.size(), 1u);
  EXPECT_EQ(registry.RoomWatchers("a"), 1u);
  EXPECT_EQ(registry.refused_server_limit() + registry.refused_room_limit(), 0u);
}

TEST(WatcherRegistryTest, AllListsEveryRegisteredWatcher) {
  WatcherRegistry registry(WatcherRegistry::Limits{});
  auto a = Watcher("a"), b = Watcher("b");
  ASSERT_TRUE(registry.Add(a).ok());
  ASSERT_TRUE(registry.Add(b).ok());
  auto all = registry.All();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_TRUE((all[0] == a && all[1] == b) || (all[0] == b && all[1] == a));
}

}  // namespace
}  // namespace cursord::control
