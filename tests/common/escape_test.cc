#include "server/common/escape.h"

#include <string>

#include "gtest/gtest.h"

namespace cursord {
namespace {

TEST(EscapeControlTest, PrintableTextIsUnchanged) {
  EXPECT_EQ(EscapeControl(""), "");
  EXPECT_EQ(EscapeControl("kick room=lobby reason=\"bye now\""),
            "kick room=lobby reason=\"bye now\"");
  // Every printable ASCII character but the backslash.
  std::string ascii;
  for (char c = 0x20; c < 0x7F; ++c) {
    if (c != '\\') ascii.push_back(c);
  }
  EXPECT_EQ(EscapeControl(ascii), ascii);
}

TEST(EscapeControlTest, NonAsciiUtf8IsKept) {
  EXPECT_EQ(EscapeControl("Zoë Ωμέγα Юля 東京 🙂 …"), "Zoë Ωμέγα Юля 東京 🙂 …");
  // U+00A0 (no-break space) is the first code point after the C1 block.
  EXPECT_EQ(EscapeControl("\xC2\xA0"), "\xC2\xA0");
}

TEST(EscapeControlTest, NewlinesCannotStartALine) {
  EXPECT_EQ(EscapeControl("bye\n2024-05-01T12:00:00.000Z INFO server.cc:1] forged"),
            "bye\\n2024-05-01T12:00:00.000Z INFO server.cc:1] forged");
  EXPECT_EQ(EscapeControl("a\r\nb\tc"), "a\\r\\nb\\tc");
}

TEST(EscapeControlTest, BackslashIsEscapedSoEscapesAreUnambiguous) {
  // A literal backslash-n must not read like an escaped newline.
  EXPECT_EQ(EscapeControl("a\\nb"), "a\\\\nb");
  EXPECT_NE(EscapeControl("a\\nb"), EscapeControl("a\nb"));
}

TEST(EscapeControlTest, OtherC0ControlsAndDelAsHexBytes) {
  EXPECT_EQ(EscapeControl("\x1b[2J\x1b[31mred"), "\\x1b[2J\\x1b[31mred");
  EXPECT_EQ(EscapeControl(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(EscapeControl("\x07\x08\x0b\x0c\x1f\x7f"), "\\x07\\x08\\x0b\\x0c\\x1f\\x7f");
}

TEST(EscapeControlTest, C1ControlsAndInvisibleLineBreakersAsCodePoints) {
  EXPECT_EQ(EscapeControl("\xC2\x80"), "\\u0080");
  EXPECT_EQ(EscapeControl("\xC2\x9B" "31m"), "\\u009b31m");  // CSI
  EXPECT_EQ(EscapeControl("\xC2\x85"), "\\u0085");           // NEL
  EXPECT_EQ(EscapeControl("a\xE2\x80\xA8" "b\xE2\x80\xA9"), "a\\u2028b\\u2029");
  // Bidi overrides and isolates reorder what a terminal shows.
  EXPECT_EQ(EscapeControl("\xE2\x80\xAE" "txt.exe"), "\\u202etxt.exe");
  EXPECT_EQ(EscapeControl("\xE2\x81\xA6" "x" "\xE2\x81\xA9"), "\\u2066x\\u2069");
}

TEST(EscapeControlTest, BytesThatAreNotUtf8AsHexBytes) {
  EXPECT_EQ(EscapeControl("\x9B" "2J"), "\\x9b2J");         // a lone C1 byte
  EXPECT_EQ(EscapeControl("\xC3"), "\\xc3");                // truncated
  EXPECT_EQ(EscapeControl("\xC3(x"), "\\xc3(x");            // bad continuation
  EXPECT_EQ(EscapeControl("\xC0\xAF"), "\\xc0\\xaf");       // overlong '/'
  EXPECT_EQ(EscapeControl("\xED\xA0\x80"), "\\xed\\xa0\\x80");  // a surrogate
  EXPECT_EQ(EscapeControl("\xF4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // > U+10FFFF
  EXPECT_EQ(EscapeControl("\xFF ok"), "\\xff ok");
}

TEST(EscapeControlTest, OutputIsOneLineOfPrintableText) {
  // Every byte value, each alone and each after a lead byte.
  for (int b = 0; b < 256; ++b) {
    for (const std::string& input :
         {std::string(1, static_cast<char>(b)), std::string("\xC2") + static_cast<char>(b),
          std::string("\xE2\x80") + static_cast<char>(b)}) {
      const std::string out = EscapeControl(input);
      for (char c : out) {
        const auto u = static_cast<unsigned char>(c);
        EXPECT_FALSE(u < 0x20 || u == 0x7F) << "byte " << b << " gave " << out;
      }
      EXPECT_EQ(out.find("\xC2\x9B"), std::string::npos) << "byte " << b;
    }
  }
}

}  // namespace
}  // namespace cursord
