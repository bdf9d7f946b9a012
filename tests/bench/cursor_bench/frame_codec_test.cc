#include "frame_codec.h"

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace cursord::bench {
namespace {

std::string ServerFrame(uint8_t first_byte, const std::string& payload) {
  std::string f(1, static_cast<char>(first_byte));
  if (payload.size() < 126) {
    f += static_cast<char>(payload.size());
  } else if (payload.size() <= 0xFFFF) {
    f += static_cast<char>(126);
    f += static_cast<char>(payload.size() >> 8);
    f += static_cast<char>(payload.size() & 0xFF);
  } else {
    f += static_cast<char>(127);
    for (int shift = 56; shift >= 0; shift -= 8) {
      f += static_cast<char>((uint64_t{payload.size()} >> shift) & 0xFF);
    }
  }
  return f + payload;
}

std::string Unmask(const std::string& frame, size_t header) {
  const uint8_t* mask = reinterpret_cast<const uint8_t*>(frame.data()) + header - 4;
  std::string out = frame.substr(header);
  for (size_t i = 0; i < out.size(); ++i) out[i] ^= mask[i & 3];
  return out;
}

using Messages = std::vector<std::pair<Opcode, std::string>>;

// Feeds `stream` in chunks of `chunk` bytes the way a socket would, keeping
// unconsumed bytes for the next round.
Messages DecodeInChunks(const std::string& stream, size_t chunk) {
  MessageDecoder decoder;
  Messages out;
  std::string pending;
  for (size_t pos = 0; pos < stream.size(); pos += chunk) {
    pending += stream.substr(pos, chunk);
    absl::StatusOr<size_t> n = decoder.Decode(
        reinterpret_cast<const uint8_t*>(pending.data()), pending.size(),
        [&](Opcode op, const uint8_t* p, size_t len) {
          out.emplace_back(op, std::string(reinterpret_cast<const char*>(p), len));
        });
    EXPECT_TRUE(n.ok());
    pending.erase(0, *n);
  }
  EXPECT_TRUE(pending.empty());
  return out;
}

TEST(EncodeClientFrame, SmallFrameIsMaskedWithTheKey) {
  const uint8_t payload[] = {0x05, 0x00, 0x01, 0x00, 0x02};
  std::string out;
  AppendClientFrame(Opcode::kBinary, payload, sizeof payload, 0x11223344, &out);
  ASSERT_EQ(out.size(), 2u + 4u + sizeof payload);
  EXPECT_EQ(static_cast<uint8_t>(out[0]), 0x82);  // FIN + binary
  EXPECT_EQ(static_cast<uint8_t>(out[1]), 0x80 | 5);
  EXPECT_EQ(static_cast<uint8_t>(out[2]), 0x11);
  EXPECT_EQ(static_cast<uint8_t>(out[5]), 0x44);
  EXPECT_EQ(Unmask(out, 6),
            std::string(reinterpret_cast<const char*>(payload), sizeof payload));
}

TEST(EncodeClientFrame, MediumAndLargeLengths) {
  std::string medium(300, 'a');
  std::string out;
  AppendClientFrame(Opcode::kText, reinterpret_cast<const uint8_t*>(medium.data()),
                    medium.size(), 0xDEADBEEF, &out);
  EXPECT_EQ(static_cast<uint8_t>(out[1]), 0x80 | 126);
  EXPECT_EQ((static_cast<uint8_t>(out[2]) << 8) | static_cast<uint8_t>(out[3]), 300);
  EXPECT_EQ(Unmask(out, 8), medium);

  std::string large(70000, 'b');
  out.clear();
  AppendClientFrame(Opcode::kBinary, reinterpret_cast<const uint8_t*>(large.data()),
                    large.size(), 0x01020304, &out);
  EXPECT_EQ(static_cast<uint8_t>(out[1]), 0x80 | 127);
  EXPECT_EQ(Unmask(out, 14), large);
}

TEST(ParseServerFrame, NeedsMoreUntilComplete) {
  const std::string frame = ServerFrame(0x82, std::string("\x05\x01\x00\x02\x00\x03", 6));
  for (size_t n = 0; n < frame.size(); ++n) {
    FrameView view;
    absl::StatusOr<size_t> r = ParseServerFrame(
        reinterpret_cast<const uint8_t*>(frame.data()), n, 1 << 20, &view);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, 0u) << n;
  }
  FrameView view;
  absl::StatusOr<size_t> r = ParseServerFrame(
      reinterpret_cast<const uint8_t*>(frame.data()), frame.size(), 1 << 20, &view);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, frame.size());
  EXPECT_TRUE(view.fin);
  EXPECT_EQ(view.opcode, Opcode::kBinary);
  EXPECT_EQ(view.size, 6u);
}

TEST(ParseServerFrame, RejectsWhatAClientMustReject) {
  const auto parse = [](const std::string& f) {
    FrameView view;
    return ParseServerFrame(reinterpret_cast<const uint8_t*>(f.data()), f.size(),
                            1000, &view);
  };
  EXPECT_FALSE(parse(std::string("\x82\x81\x00\x00\x00\x00\x05", 7)).ok());  // masked
  EXPECT_FALSE(parse(std::string("\xC2\x00", 2)).ok());  // RSV1
  EXPECT_FALSE(parse(std::string("\x83\x00", 2)).ok());  // opcode 3
  EXPECT_FALSE(parse(std::string("\x09\x00", 2)).ok());  // fragmented ping
  EXPECT_FALSE(parse(ServerFrame(0x89, std::string(126, 'x'))).ok());  // long ping
  EXPECT_FALSE(parse(ServerFrame(0x82, std::string(1001, 'x'))).ok());  // too big
}

TEST(MessageDecoder, CoalescedFramesAtEveryChunkSize) {
  std::string stream;
  stream += ServerFrame(0x82, std::string("\x01\x07", 2));
  stream += ServerFrame(0x89, "hi");  // ping
  stream += ServerFrame(0x82, std::string("\x05\x02\x00\x01\x00\x02", 6));
  stream += ServerFrame(0x82, std::string(200, 'z'));
  const Messages expected = {
      {Opcode::kBinary, std::string("\x01\x07", 2)},
      {Opcode::kPing, "hi"},
      {Opcode::kBinary, std::string("\x05\x02\x00\x01\x00\x02", 6)},
      {Opcode::kBinary, std::string(200, 'z')},
  };
  for (size_t chunk = 1; chunk <= stream.size(); ++chunk) {
    EXPECT_EQ(DecodeInChunks(stream, chunk), expected) << "chunk " << chunk;
  }
}

TEST(MessageDecoder, ReassemblesFragmentsAroundControlFrames) {
  std::string stream;
  stream += ServerFrame(0x02, "abc");  // binary, not final
  stream += ServerFrame(0x89, "p");    // ping between fragments
  stream += ServerFrame(0x00, "def");  // continuation
  stream += ServerFrame(0x80, "g");    // final continuation
  const Messages expected = {{Opcode::kPing, "p"},
                             {Opcode::kBinary, "abcdefg"}};
  for (size_t chunk = 1; chunk <= stream.size(); ++chunk) {
    EXPECT_EQ(DecodeInChunks(stream, chunk), expected) << "chunk " << chunk;
  }
}

TEST(MessageDecoder, RejectsOrphanContinuation) {
  MessageDecoder decoder;
  const std::string f = ServerFrame(0x80, "x");
  EXPECT_FALSE(decoder
                   .Decode(reinterpret_cast<const uint8_t*>(f.data()), f.size(),
                           [](Opcode, const uint8_t*, size_t) {})
                   .ok());
}

}  // namespace
}  // namespace cursord::bench
