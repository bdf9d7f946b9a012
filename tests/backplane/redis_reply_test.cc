// Reply values: kinds, accessors, equality and their one-line rendering.
#include "server/backplane/redis_reply.h"

#include "gtest/gtest.h"

namespace cursord::backplane {
namespace {

TEST(ReplyTest, EachKindKeepsItsValueAndNothingElse) {
  EXPECT_TRUE(Reply().is_nil());
  EXPECT_EQ(Reply::Integer(-7).integer(), -7);
  EXPECT_TRUE(Reply::Integer(-7).str().empty());
  EXPECT_EQ(Reply::String(std::string("a\0b", 3)).str().size(), 3u);
  EXPECT_TRUE(Reply::Status("OK").is_status());
  EXPECT_TRUE(Reply::Error("ERR x").is_error());
  EXPECT_EQ(Reply::Array({Reply::Nil(), Reply::Integer(1)}).elements().size(), 2u);
  EXPECT_EQ(Reply::String("x").integer(), 0);
}

TEST(ReplyTest, EqualityComparesKindAndValueDeeply) {
  EXPECT_EQ(Reply::Array({Reply::Array({Reply::String("x")})}),
            Reply::Array({Reply::Array({Reply::String("x")})}));
  EXPECT_NE(Reply::Status("OK"), Reply::String("OK"));
  EXPECT_NE(Reply::Error("x"), Reply::Status("x"));
  EXPECT_NE(Reply::Array({}), Reply::Nil());
  EXPECT_NE(Reply::Array({Reply::Integer(1)}), Reply::Array({Reply::Integer(2)}));
}

TEST(ReplyTest, DebugStringIsOneEscapedLine) {
  EXPECT_EQ(Reply::Array({Reply::Nil(), Reply::Integer(42), Reply::String(std::string("a\0\n", 3)),
                          Reply::Status("OK"), Reply::Error("ERR no"),
                          Reply::Array({})})
                .DebugString(),
            "[nil, 42, \"a\\x00\\n\", +OK, -ERR no, []]");
  EXPECT_EQ(TypeName(Reply::Type::kStatus), "status");
}

}  // namespace
}  // namespace cursord::backplane
