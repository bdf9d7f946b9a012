#include "server/core/ws_frame.h"

#include <vector>

#include "gtest/gtest.h"

namespace cursord::core {
namespace {

using Bytes = std::vector<uint8_t>;

// A client frame, masked as RFC 6455 requires.
Bytes ClientFrame(uint8_t first_byte, const Bytes& payload, bool masked = true) {
  Bytes frame{first_byte};
  const uint8_t mask_bit = masked ? 0x80 : 0;
  if (payload.size() < 126) {
    frame.push_back(mask_bit | static_cast<uint8_t>(payload.size()));
  } else if (payload.size() <= 0xFFFF) {
    frame.push_back(mask_bit | 126);
    frame.push_back(static_cast<uint8_t>(payload.size() >> 8));
    frame.push_back(static_cast<uint8_t>(payload.size()));
  } else {
    frame.push_back(mask_bit | 127);
    for (int s = 56; s >= 0; s -= 8) frame.push_back(static_cast<uint8_t>(payload.size() >> s));
  }
  const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
  if (masked) frame.insert(frame.end(), mask, mask + 4);
  for (size_t i = 0; i < payload.size(); ++i) {
    frame.push_back(masked ? payload[i] ^ mask[i & 3] : payload[i]);
  }
  return frame;
}

struct Recorder : FrameHandler {
  std::vector<std::pair<Opcode, Bytes>> messages;
  int pings = 0;
  int pongs = 0;
  int closes = 0;
  uint16_t close_code = 0;
  std::string close_reason;
  void OnMessage(Opcode opcode, const uint8_t* data, size_t size) override {
    messages.emplace_back(opcode, Bytes(data, data + size));
  }
  void OnPing(const uint8_t*, size_t) override { ++pings; }
  void OnPong() override { ++pongs; }
  void OnClose(uint16_t code, std::string_view reason) override {
    ++closes;
    close_code = code;
    close_reason = std::string(reason);
  }
};

TEST(FrameParserTest, ParsesCoalescedFrames) {
  Bytes stream;
  for (int i = 0; i < 3; ++i) {
    Bytes f = ClientFrame(0x82, {0x05, 0, static_cast<uint8_t>(i), 0, 1});
    stream.insert(stream.end(), f.begin(), f.end());
  }
  FrameParser parser(1024);
  Recorder r;
  EXPECT_TRUE(parser.Consume(stream.data(), stream.size(), r).ok);
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[2].second, Bytes({0x05, 0, 2, 0, 1}));
  EXPECT_EQ(parser.buffered_bytes(), 0u);
}

TEST(FrameParserTest, ParsesFramesSplitAtEveryByte) {
  Bytes stream = ClientFrame(0x82, {0x05, 1, 2, 3, 4});
  Bytes big(300, 0xAB);
  Bytes f2 = ClientFrame(0x82, big);  // 16-bit extended length
  stream.insert(stream.end(), f2.begin(), f2.end());
  FrameParser parser(1024);
  Recorder r;
  for (uint8_t& byte : stream) ASSERT_TRUE(parser.Consume(&byte, 1, r).ok);
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].second, Bytes({0x05, 1, 2, 3, 4}));
  EXPECT_EQ(r.messages[1].second, big);
}

TEST(FrameParserTest, JoinsFragmentsAndAllowsControlFramesBetween) {
  Bytes stream = ClientFrame(0x02, {0x05, 0});         // binary, not FIN
  Bytes ping = ClientFrame(0x89, {1, 2});               // ping in the middle
  Bytes rest = ClientFrame(0x80, {7, 0, 8});            // continuation, FIN
  stream.insert(stream.end(), ping.begin(), ping.end());
  stream.insert(stream.end(), rest.begin(), rest.end());
  FrameParser parser(1024);
  Recorder r;
  EXPECT_TRUE(parser.Consume(stream.data(), stream.size(), r).ok);
  EXPECT_EQ(r.pings, 1);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].first, Opcode::kBinary);
  EXPECT_EQ(r.messages[0].second, Bytes({0x05, 0, 7, 0, 8}));
}

TEST(FrameParserTest, ReportsTextAsText) {
  Bytes f = ClientFrame(0x81, {'h', 'i'});
  FrameParser parser(1024);
  Recorder r;
  EXPECT_TRUE(parser.Consume(f.data(), f.size(), r).ok);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].first, Opcode::kText);
}

TEST(FrameParserTest, ClosesWith1009AtTheHeaderOfAnOversizedMessage) {
  Bytes f = ClientFrame(0x82, Bytes(2000, 1));
  FrameParser parser(1024);
  Recorder r;
  // Only the header has arrived: the size is already known to be too big.
  auto result = parser.Consume(f.data(), 8, r);
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.close_code, kCloseTooBig);
  EXPECT_EQ(parser.buffered_bytes(), 0u);
}

TEST(FrameParserTest, ClosesWith1009WhenFragmentsAddUpTooBig) {
  Bytes stream = ClientFrame(0x02, Bytes(600, 1));
  Bytes more = ClientFrame(0x80, Bytes(600, 1));
  stream.insert(stream.end(), more.begin(), more.end());
  FrameParser parser(1024);
  Recorder r;
  auto result = parser.Consume(stream.data(), stream.size(), r);
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.close_code, kCloseTooBig);
  EXPECT_TRUE(r.messages.empty());
}

TEST(FrameParserTest, ProtocolErrorsClose1002) {
  const std::vector<Bytes> bad = {
      ClientFrame(0x82, {1}, /*masked=*/false),  // unmasked client frame
      ClientFrame(0xC2, {1}),                    // RSV1 without an extension
      ClientFrame(0x83, {1}),                    // reserved opcode
      ClientFrame(0x80, {1}),                    // continuation with nothing open
      ClientFrame(0x09, {}),                     // fragmented ping
      ClientFrame(0x89, Bytes(126, 0)),          // control frame over 125
      ClientFrame(0x88, {0x03}),                 // close with a 1-byte body
      ClientFrame(0x88, {0x03, 0xED}),           // close code 1005 may not be sent
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    Bytes frame = bad[i];
    FrameParser parser(1024);
    Recorder r;
    auto result = parser.Consume(frame.data(), frame.size(), r);
    EXPECT_FALSE(result.ok) << i;
    EXPECT_EQ(result.close_code, kCloseProtocolError) << i;
  }
  // A new data frame inside a fragmented message.
  Bytes stream = ClientFrame(0x02, {1});
  Bytes second = ClientFrame(0x82, {2});
  stream.insert(stream.end(), second.begin(), second.end());
  FrameParser parser(1024);
  Recorder r;
  EXPECT_EQ(parser.Consume(stream.data(), stream.size(), r).close_code, kCloseProtocolError);
}

TEST(FrameParserTest, CloseFrameStopsParsing) {
  Bytes stream = ClientFrame(0x88, {0x03, 0xE8, 'b', 'y', 'e'});
  Bytes after = ClientFrame(0x82, {0x06});
  stream.insert(stream.end(), after.begin(), after.end());
  FrameParser parser(1024);
  Recorder r;
  EXPECT_TRUE(parser.Consume(stream.data(), stream.size(), r).ok);
  EXPECT_EQ(r.closes, 1);
  EXPECT_EQ(r.close_code, 1000);
  EXPECT_EQ(r.close_reason, "bye");
  EXPECT_TRUE(r.messages.empty());
  // Registered codes a browser echoes back, e.g. our 1013.
  for (uint16_t code : {1012, 1013, 1014, 3000, 4000, 4999}) {
    Bytes echo = ClientFrame(0x88, {static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code)});
    FrameParser p(1024);
    Recorder rec;
    EXPECT_TRUE(p.Consume(echo.data(), echo.size(), rec).ok) << code;
    EXPECT_EQ(rec.close_code, code);
  }
  Bytes empty_close = ClientFrame(0x88, {});
  FrameParser parser2(1024);
  Recorder r2;
  parser2.Consume(empty_close.data(), empty_close.size(), r2);
  EXPECT_EQ(r2.close_code, kCloseNoStatus);
}

TEST(FrameParserTest, ACloseReasonThatIsNotUtf8FailsWith1007) {
  // RFC 6455 8.1: invalid UTF-8 in a close reason fails the connection
  // with 1007, not an echo of the code.
  const Bytes bad_reasons[] = {
      {0x03, 0xE8, 0xFF},              // never valid
      {0x03, 0xE8, 'o', 'k', 0xC3},    // truncated sequence
      {0x03, 0xE8, 0xC0, 0xAF},        // overlong '/'
      {0x03, 0xE8, 0xED, 0xA0, 0x80},  // a surrogate
  };
  for (const Bytes& payload : bad_reasons) {
    Bytes frame = ClientFrame(0x88, payload);
    FrameParser parser(1024);
    Recorder r;
    const FrameParser::Result result = parser.Consume(frame.data(), frame.size(), r);
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(result.close_code, kCloseInvalidPayload);
    EXPECT_EQ(r.closes, 0);
  }
  Bytes good = ClientFrame(0x88, {0x03, 0xE8, 0xC3, 0xA9, 0xF0, 0x9F, 0x91, 0x8B});  // é👋
  FrameParser parser(1024);
  Recorder r;
  EXPECT_TRUE(parser.Consume(good.data(), good.size(), r).ok);
  EXPECT_EQ(r.close_reason, "\xC3\xA9\xF0\x9F\x91\x8B");
}

TEST(FrameEncoderTest, HeadersAndCloseFrames) {
  std::string out;
  AppendFrameHeader(out, Opcode::kBinary, 125);
  EXPECT_EQ(out, std::string("\x82\x7d", 2));
  out.clear();
  AppendFrameHeader(out, Opcode::kBinary, 70000);
  ASSERT_EQ(out.size(), 10u);
  EXPECT_EQ(static_cast<uint8_t>(out[1]), 127);
  out.clear();
  AppendCloseFrame(out, 1013, "room full");
  EXPECT_EQ(out, std::string("\x88\x0b\x03\xf5room full", 13));
  out.clear();
  // The reason is cut to 123 bytes without splitting a UTF-8 character.
  std::string reason(122, 'a');
  reason += "\xC3\xA9";  // é straddles the limit
  AppendCloseFrame(out, 4000, reason);
  EXPECT_EQ(out.size(), 2u + 2u + 122u);
}

}  // namespace
}  // namespace cursord::core
