#include "server/core/wire.h"

#include "gtest/gtest.h"

namespace cursord::core {
namespace {

std::string Bytes(std::initializer_list<uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

TEST(WireTest, DecodesCursorBigEndian) {
  const uint8_t data[] = {0x05, 0x12, 0x34, 0xFF, 0x01};
  ClientMessage m;
  DecodeError e;
  ASSERT_TRUE(DecodeClientMessage(data, sizeof(data), &m, &e));
  EXPECT_EQ(m.kind, ClientMessage::Kind::kCursor);
  EXPECT_EQ(m.x, 0x1234);
  EXPECT_EQ(m.y, 0xFF01);
}

TEST(WireTest, CursorWithTrailingBytesIsAccepted) {
  const uint8_t data[] = {0x05, 0, 1, 0, 2, 9, 9};
  ClientMessage m;
  DecodeError e;
  ASSERT_TRUE(DecodeClientMessage(data, sizeof(data), &m, &e));
  EXPECT_EQ(m.x, 1);
  EXPECT_EQ(m.y, 2);
}

TEST(WireTest, ClicksIgnoreTrailingBytes) {
  ClientMessage m;
  DecodeError e;
  const uint8_t start[] = {0x06};
  ASSERT_TRUE(DecodeClientMessage(start, 1, &m, &e));
  EXPECT_EQ(m.kind, ClientMessage::Kind::kClickStart);
  const uint8_t stop2[] = {0x07, 0x00};  // the seed browser client's form
  ASSERT_TRUE(DecodeClientMessage(stop2, 2, &m, &e));
  EXPECT_EQ(m.kind, ClientMessage::Kind::kClickStop);
}

TEST(WireTest, MalformedMessagesAreRejectedWithAReason) {
  ClientMessage m;
  DecodeError e = DecodeError::kNone;
  EXPECT_FALSE(DecodeClientMessage(nullptr, 0, &m, &e));
  EXPECT_EQ(e, DecodeError::kEmpty);
  const uint8_t short_cursor[] = {0x05, 0, 1, 0};
  EXPECT_FALSE(DecodeClientMessage(short_cursor, sizeof(short_cursor), &m, &e));
  EXPECT_EQ(e, DecodeError::kTooShort);
  for (uint8_t type : {0x00, 0x01, 0x02, 0x03, 0x04, 0x08, 0xFF}) {
    const uint8_t data[] = {type, 0, 0, 0, 0};
    e = DecodeError::kNone;
    EXPECT_FALSE(DecodeClientMessage(data, sizeof(data), &m, &e)) << int{type};
    EXPECT_EQ(e, DecodeError::kUnknownType);
  }
}

TEST(WireTest, EncodesEveryServerMessageAsABinaryFrame) {
  std::string out;
  AppendIdFrame(out, MessageType::kInitialConnection, 7);
  EXPECT_EQ(out, Bytes({0x82, 2, 0x01, 7}));
  out.clear();
  AppendIdFrame(out, MessageType::kUserJoined, 8);
  AppendIdFrame(out, MessageType::kUserLeft, 9);
  AppendIdFrame(out, MessageType::kStartedClicking, 10);
  AppendIdFrame(out, MessageType::kStoppedClicking, 11);
  EXPECT_EQ(out, Bytes({0x82, 2, 0x03, 8, 0x82, 2, 0x04, 9, 0x82, 2, 0x06, 10, 0x82, 2, 0x07, 11}));
  out.clear();
  AppendCursorFrame(out, 3, 0xABCD, 0x0102);
  EXPECT_EQ(out, Bytes({0x82, 6, 0x05, 3, 0xAB, 0xCD, 0x01, 0x02}));
  out.clear();
  const uint8_t ids[] = {0, 1, 5};
  AppendUserListFrame(out, ids, 3);
  EXPECT_EQ(out, Bytes({0x82, 4, 0x02, 0, 1, 5}));
}

TEST(WireTest, FullUserListUsesExtendedLength) {
  uint8_t ids[256];
  for (int i = 0; i < 256; ++i) ids[i] = static_cast<uint8_t>(i);
  std::string out;
  AppendUserListFrame(out, ids, 256);
  ASSERT_EQ(out.size(), 4u + 257u);
  EXPECT_EQ(static_cast<uint8_t>(out[1]), 126);
  EXPECT_EQ((static_cast<uint8_t>(out[2]) << 8) | static_cast<uint8_t>(out[3]), 257);
  EXPECT_EQ(out[4], 0x02);
  EXPECT_EQ(static_cast<uint8_t>(out.back()), 255);
}

}  // namespace
// ---- protocol v2 ----

TEST(WireV2Test, StateIsAV2MessageOnly) {
  const uint8_t data[] = {0x09, 'h', 'i'};
  ClientMessage m;
  DecodeError e = DecodeError::kNone;
  EXPECT_FALSE(DecodeClientMessage(data, sizeof(data), &m, &e, ProtocolVersion::kV1));
  EXPECT_EQ(e, DecodeError::kUnknownType);
  ASSERT_TRUE(DecodeClientMessage(data, sizeof(data), &m, &e, ProtocolVersion::kV2));
  EXPECT_EQ(m.kind, ClientMessage::Kind::kState);
  EXPECT_EQ(m.state, "hi");
  // An empty state clears it.
  const uint8_t clear[] = {0x09};
  ASSERT_TRUE(DecodeClientMessage(clear, 1, &m, &e, ProtocolVersion::kV2));
  EXPECT_EQ(m.kind, ClientMessage::Kind::kState);
  EXPECT_TRUE(m.state.empty());
}

TEST(WireV2Test, ServerOnlyTypesStayUnknownInV2) {
  ClientMessage m;
  DecodeError e = DecodeError::kNone;
  for (uint8_t type : {0x01, 0x02, 0x03, 0x04, 0x08, 0x0a, 0xff}) {
    const uint8_t data[] = {type, 0, 0, 0, 0, 0, 0, 0};
    EXPECT_FALSE(DecodeClientMessage(data, sizeof(data), &m, &e, ProtocolVersion::kV2))
        << int{type};
    EXPECT_EQ(e, DecodeError::kUnknownType);
  }
  // v1 messages mean the same in v2.
  const uint8_t move[] = {0x05, 0, 7, 0, 9};
  ASSERT_TRUE(DecodeClientMessage(move, sizeof(move), &m, &e, ProtocolVersion::kV2));
  EXPECT_EQ(m.kind, ClientMessage::Kind::kCursor);
  EXPECT_EQ(m.y, 9);
}

TEST(WireV2Test, MemberInfoBytesAsDocumented) {
  // docs/PROTOCOL.md's example: user "ada", name "Ada", #1e88e5, id 3.
  std::string out;
  AppendMemberInfoFrame(out, 3, Rgb{0x1e, 0x88, 0xe5}, "ada", "Ada");
  EXPECT_EQ(out, Bytes({0x82, 13, 0x08, 0x03, 0x1e, 0x88, 0xe5, 0x03, 'a', 'd', 'a', 0x03, 'A',
                        'd', 'a'}));
  // No user, no name: two zero lengths.
  out.clear();
  AppendMemberInfoFrame(out, 0, Rgb{1, 2, 3}, "", "");
  EXPECT_EQ(out, Bytes({0x82, 7, 0x08, 0, 1, 2, 3, 0, 0}));
}

TEST(WireV2Test, MemberStateFramesUseTheExtendedLengthPastPayload125) {
  std::string out;
  AppendMemberStateFrame(out, 7, "xy");
  EXPECT_EQ(out, Bytes({0x82, 4, 0x09, 7, 'x', 'y'}));
  out.clear();
  const std::string big(200, 's');
  AppendMemberStateFrame(out, 1, big);
  ASSERT_EQ(out.size(), 4u + 2 + 200);
  EXPECT_EQ(out.substr(0, 6), Bytes({0x82, 126, 0, 202, 0x09, 1}));
  EXPECT_EQ(out.substr(6), big);
}

}  // namespace cursord::core
