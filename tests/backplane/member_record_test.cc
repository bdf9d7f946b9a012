// The member record's bytes: a round trip of every field, the fixed layout
// the scripts read, and input that is refused (never read past).
#include "server/backplane/member_record.h"

#include <string>

#include "gtest/gtest.h"

namespace cursord::backplane {
namespace {

MemberRecord Sample() {
  MemberRecord record;
  record.instance = "host-1";
  record.generation = 0x0102030405060708ULL;
  record.user_id = "u-17";
  record.name = "Zoë \xf0\x9f\x90\x88";
  record.color = "#a1b2c3";
  record.remote_address = "[2001:db8::1]:54321";
  record.connected_at_ms = 1700000000123;
  return record;
}

TEST(MemberRecordTest, EveryFieldSurvivesARoundTrip) {
  const MemberRecord record = Sample();
  absl::StatusOr<std::string> bytes = EncodeMemberRecord(record);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  absl::StatusOr<MemberRecord> decoded = DecodeMemberRecord(*bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, record);
}

TEST(MemberRecordTest, EmptyFieldsExtremeNumbersAndBinaryBytesSurvive) {
  MemberRecord record;
  record.generation = ~0ULL;
  record.connected_at_ms = -1;
  record.name = std::string("\0\xff\r\n", 4);
  record.remote_address = std::string(kMaxRecordField, 'x');
  absl::StatusOr<std::string> bytes = EncodeMemberRecord(record);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  absl::StatusOr<MemberRecord> decoded = DecodeMemberRecord(*bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, record);
}

TEST(MemberRecordTest, TheScriptsFindVersionGenerationAndInstanceAtFixedOffsets) {
  const std::string bytes = *EncodeMemberRecord(Sample());
  EXPECT_EQ(bytes[0], static_cast<char>(kMemberRecordVersion));
  EXPECT_EQ(bytes.substr(kGenerationOffset, 8), std::string("\x01\x02\x03\x04\x05\x06\x07\x08"));
  EXPECT_EQ(bytes[kInstanceOffset], 6);
  EXPECT_EQ(bytes.substr(kInstanceOffset + 1, 6), "host-1");
}

TEST(MemberRecordTest, AFieldLongerThanALengthByteIsRefusedNamingIt) {
  MemberRecord record = Sample();
  record.name = std::string(kMaxRecordField + 1, 'n');
  absl::StatusOr<std::string> bytes = EncodeMemberRecord(record);
  EXPECT_EQ(bytes.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bytes.status().message().find("name"), std::string::npos) << bytes.status();
  EXPECT_EQ(ValidateMemberRecord(record).code(), absl::StatusCode::kInvalidArgument);
}

TEST(MemberRecordTest, EveryTruncationIsRefused) {
  const std::string bytes = *EncodeMemberRecord(Sample());
  for (size_t size = 0; size < bytes.size(); ++size) {
    absl::StatusOr<MemberRecord> decoded = DecodeMemberRecord(bytes.substr(0, size));
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument) << size << " bytes";
  }
}

TEST(MemberRecordTest, TrailingBytesAndUnknownVersionsAreRefused) {
  const std::string bytes = *EncodeMemberRecord(Sample());
  EXPECT_FALSE(DecodeMemberRecord(bytes + "x").ok());
  std::string version2 = bytes;
  version2[0] = 2;
  absl::StatusOr<MemberRecord> decoded = DecodeMemberRecord(version2);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(decoded.status().message().find("version 2"), std::string::npos) << decoded.status();
}

TEST(MemberRecordTest, AnyByteChangedDecodesOrIsRefusedWithoutReadingOutside) {
  // A length byte changed points past the end or short of it; run under
  // the sanitizers (tests/sanitize.sh) a read outside would fail the test.
  const std::string bytes = *EncodeMemberRecord(Sample());
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int value = 0; value < 256; ++value) {
      std::string changed = bytes;
      changed[i] = static_cast<char>(value);
      absl::StatusOr<MemberRecord> decoded = DecodeMemberRecord(changed);
      if (decoded.ok()) {
        // What decodes encodes back to the same bytes.
        EXPECT_EQ(*EncodeMemberRecord(*decoded), changed) << "byte " << i << " = " << value;
      }
    }
  }
}

}  // namespace
}  // namespace cursord::backplane
