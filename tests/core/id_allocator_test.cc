#include "server/core/id_allocator.h"

#include "gtest/gtest.h"

namespace cursord::core {
namespace {

TEST(IdAllocatorTest, AClaimedIdIsInUseAndSkippedByAllocate) {
  IdAllocator ids(3);
  EXPECT_TRUE(ids.Claim(1));
  EXPECT_FALSE(ids.Claim(1));  // already in use
  EXPECT_EQ(ids.Allocate(), 0);
  EXPECT_EQ(ids.Allocate(), 2);
  EXPECT_FALSE(ids.Claim(7));  // at capacity
  ids.Release(1);
  EXPECT_TRUE(ids.Claim(7));
}

TEST(IdAllocatorTest, HandsOutTheLowestFreeIdAndReusesIt) {
  IdAllocator ids(256);
  EXPECT_EQ(ids.Allocate(), 0);
  EXPECT_EQ(ids.Allocate(), 1);
  EXPECT_EQ(ids.Allocate(), 2);
  ids.Release(1);
  EXPECT_FALSE(ids.InUse(1));
  EXPECT_EQ(ids.Allocate(), 1);
  ids.Release(0);
  ids.Release(2);
  EXPECT_EQ(ids.Allocate(), 0);
  EXPECT_EQ(ids.Allocate(), 2);
  EXPECT_EQ(ids.size(), 3);
}

TEST(IdAllocatorTest, AllTwoHundredFiftySixThenFull) {
  IdAllocator ids(256);
  for (int i = 0; i < 256; ++i) ASSERT_EQ(ids.Allocate(), i);
  EXPECT_EQ(ids.Allocate(), std::nullopt);
  ids.Release(200);
  EXPECT_EQ(ids.Allocate(), 200);  // across the 64-bit word boundary
  ids.Release(63);
  ids.Release(64);
  EXPECT_EQ(ids.Allocate(), 63);
  EXPECT_EQ(ids.Allocate(), 64);
}

TEST(IdAllocatorTest, CapacityBelowTheIdSpace) {
  IdAllocator ids(2);
  EXPECT_EQ(ids.Allocate(), 0);
  EXPECT_EQ(ids.Allocate(), 1);
  EXPECT_EQ(ids.Allocate(), std::nullopt);
  ids.Release(0);
  ids.Release(0);  // double release is harmless
  EXPECT_EQ(ids.size(), 1);
  EXPECT_EQ(ids.Allocate(), 0);
}

}  // namespace
}  // namespace cursord::core
