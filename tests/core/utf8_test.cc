#include "server/core/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace cursord::core {
namespace {

TEST(Utf8Test, WellFormedTextIsValid) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("\xC3\xA9t\xC3\xA9"));          // été
  EXPECT_TRUE(IsValidUtf8("\xE2\x82\xAC"));                // €
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));           // U+10FFFF
  EXPECT_TRUE(IsValidUtf8(std::string("a\0b\n", 4)));     // controls are UTF-8
}

TEST(Utf8Test, IllFormedTextIsNot) {
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_FALSE(IsValidUtf8("\x80"));                   // a lone continuation
  EXPECT_FALSE(IsValidUtf8("\xC3"));                   // truncated at the end
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));
  EXPECT_FALSE(IsValidUtf8("\xC3("));                  // not a continuation
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));               // overlong
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));           // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));           // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));       // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xF8\x88\x80\x80\x80"));   // five bytes
}

TEST(Utf8Test, PrintableRefusesControlCharacters) {
  EXPECT_TRUE(IsPrintableUtf8("Ada \xC3\xA9"));
  EXPECT_FALSE(IsPrintableUtf8("a\nb"));
  EXPECT_FALSE(IsPrintableUtf8("\x1B[31m"));
  EXPECT_FALSE(IsPrintableUtf8("\x7F"));
  EXPECT_FALSE(IsPrintableUtf8("\xC2\x85"));  // NEL, a C1 control
  EXPECT_FALSE(IsPrintableUtf8("\xFF"));
}

TEST(Utf8Test, PrefixNeverSplitsACharacter) {
  EXPECT_EQ(Utf8Prefix("abc", 5), 3u);
  EXPECT_EQ(Utf8Prefix("ab\xC3\xA9", 3), 2u);
  EXPECT_EQ(Utf8Prefix("ab\xC3\xA9", 4), 4u);
  EXPECT_EQ(Utf8Prefix("\xE2\x82\xAC", 2), 0u);
}

}  // namespace
}  // namespace cursord::core
