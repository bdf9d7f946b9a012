#include "server/core/member_color.h"

#include "gtest/gtest.h"

namespace cursord::core {
namespace {

// Expected values computed independently (Python's colorsys.hls_to_rgb on
// the documented rule: FNV-1a-32 mod 360, 70 % saturation, 45 % lightness).
TEST(MemberColorTest, AGivenColourWins) {
  EXPECT_EQ(MemberColor("#1E88e5", "ada", "Ada", 3), (Rgb{0x1e, 0x88, 0xe5}));
}

TEST(MemberColorTest, DerivedFromTheUserIdThenTheName) {
  // fnv1a32("ada") = 943263163, hue 163.
  EXPECT_EQ(MemberColor("", "ada", "Someone", 0), (Rgb{0x22, 0xc3, 0x96}));
  // Same user, another name, another id: the same colour.
  EXPECT_EQ(MemberColor("", "ada", "Ada", 200), (Rgb{0x22, 0xc3, 0x96}));
  // No user id: the name (fnv1a32("Bob") = 3955990900, hue 220).
  EXPECT_EQ(MemberColor("", "", "Bob", 5), (Rgb{0x22, 0x58, 0xc3}));
}

TEST(MemberColorTest, AnonymousMembersGetTheGoldenAngleOfTheirId) {
  EXPECT_EQ(MemberColor("", "", "", 0), (Rgb{0xc3, 0x22, 0x22}));  // hue 0
  EXPECT_EQ(MemberColor("", "", "", 1), (Rgb{0x22, 0xc3, 0x51}));  // hue 137.508
  EXPECT_EQ(MemberColor("", "", "", 3), (Rgb{0xc3, 0xaf, 0x22}));  // hue 52.524
}

TEST(MemberColorTest, ParsesOnlyHashAndSixHexDigits) {
  EXPECT_EQ(ParseHexColor("#000000"), (Rgb{0, 0, 0}));
  EXPECT_EQ(ParseHexColor("#FfFfFf"), (Rgb{255, 255, 255}));
  EXPECT_FALSE(ParseHexColor(""));
  EXPECT_FALSE(ParseHexColor("red"));
  EXPECT_FALSE(ParseHexColor("#12345"));
  EXPECT_FALSE(ParseHexColor("#1234567"));
  EXPECT_FALSE(ParseHexColor("#12345g"));
  EXPECT_FALSE(ParseHexColor("123456#"));
}

TEST(MemberColorTest, HslCorners) {
  EXPECT_EQ(HslToRgb(0, 1, 0.5), (Rgb{255, 0, 0}));
  EXPECT_EQ(HslToRgb(120, 1, 0.5), (Rgb{0, 255, 0}));
  EXPECT_EQ(HslToRgb(240, 1, 0.5), (Rgb{0, 0, 255}));
  EXPECT_EQ(HslToRgb(77, 0, 1), (Rgb{255, 255, 255}));
  EXPECT_EQ(HslToRgb(300, 0.5, 0), (Rgb{0, 0, 0}));
}

}  // namespace
}  // namespace cursord::core
