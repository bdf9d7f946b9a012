#include "server/core/admission.h"

#include <optional>
#include <vector>

#include "gtest/gtest.h"

namespace cursord::core {
namespace {

TEST(AdmissionTest, WithoutLimitsEveryoneIsAdmittedAndNothingIsCounted) {
  Admission admission({});
  std::vector<Admission::Slot> slots;
  for (int i = 0; i < 1000; ++i) {
    absl::StatusOr<Admission::Slot> slot = admission.AcquireConnection("192.0.2.1");
    ASSERT_TRUE(slot.ok());
    slots.push_back(std::move(*slot));
  }
  EXPECT_EQ(admission.connections(), 0);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(admission.AcquireRoom());
}

TEST(AdmissionTest, TheServerLimitRefusesTheNextAndASlotReleasesOnDestruction) {
  Admission admission({/*max_connections=*/2, 0, 0});
  std::optional<Admission::Slot> a(*admission.AcquireConnection("192.0.2.1"));
  absl::StatusOr<Admission::Slot> b = admission.AcquireConnection("192.0.2.2");
  ASSERT_TRUE(b.ok());
  Admission::Limit hit = Admission::Limit::kAddress;
  absl::StatusOr<Admission::Slot> c = admission.AcquireConnection("192.0.2.3", &hit);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(hit, Admission::Limit::kServer);
  EXPECT_EQ(c.status().message(), "server at its connection limit");
  a.reset();
  EXPECT_EQ(admission.connections(), 1);
  EXPECT_TRUE(admission.AcquireConnection("192.0.2.3").ok());
  // That slot was a temporary: released at once.
  EXPECT_EQ(admission.connections(), 1);
}

TEST(AdmissionTest, ThePerAddressLimitCountsEachAddressApart) {
  Admission admission({0, /*max_connections_per_ip=*/2, 0});
  Admission::Slot a1 = *admission.AcquireConnection("192.0.2.1");
  Admission::Slot a2 = *admission.AcquireConnection("192.0.2.1");
  Admission::Limit hit = Admission::Limit::kServer;
  absl::StatusOr<Admission::Slot> a3 = admission.AcquireConnection("192.0.2.1", &hit);
  EXPECT_EQ(a3.status().message(), "too many connections from this address");
  EXPECT_EQ(hit, Admission::Limit::kAddress);
  EXPECT_TRUE(admission.AcquireConnection("192.0.2.2").ok());
  // A moved slot is released once, by its new owner.
  Admission::Slot moved = std::move(a1);
  EXPECT_FALSE(a1.held());
  EXPECT_EQ(admission.connections_from("192.0.2.1"), 2);
  moved.Release();
  moved.Release();
  EXPECT_EQ(admission.connections_from("192.0.2.1"), 1);
  EXPECT_TRUE(admission.AcquireConnection("192.0.2.1").ok());
}

TEST(AdmissionTest, TheRoomLimitCountsUntilARoomIsReleased) {
  Admission admission({0, 0, /*max_rooms=*/2});
  EXPECT_TRUE(admission.AcquireRoom());
  EXPECT_TRUE(admission.AcquireRoom());
  EXPECT_FALSE(admission.AcquireRoom());
  admission.ReleaseRoom();
  EXPECT_TRUE(admission.AcquireRoom());
  EXPECT_EQ(admission.rooms(), 2);
}

}  // namespace
}  // namespace cursord::core
