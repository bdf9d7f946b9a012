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
}  // namespace cursord::core
