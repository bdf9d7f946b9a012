#include "server/backplane/control_message.h"

#include <string>

#include "gtest/gtest.h"

namespace cursord::backplane {
namespace {

TEST(ControlMessageTest, ARequestRoundTrips) {
  ControlMessage request;
  request.kind = ControlMessage::Kind::kRequest;
  request.id = "i0-1/7";
  request.from = "i0-1";
  request.to = {"i0-1", "i1-2"};
  request.op = "get_room";
  request.body = {{"room", "doc-42"}};
  const std::string text = EncodeControlMessage(request);
  absl::StatusOr<ControlMessage> decoded = DecodeControlMessage(text);
  ASSERT_TRUE(decoded.ok()) << decoded.status() << " " << text;
  EXPECT_EQ(decoded->kind, ControlMessage::Kind::kRequest);
  EXPECT_EQ(decoded->id, "i0-1/7");
  EXPECT_EQ(decoded->from, "i0-1");
  EXPECT_EQ(decoded->to, request.to);
  EXPECT_EQ(decoded->op, "get_room");
  EXPECT_EQ(decoded->body, request.body);
  EXPECT_TRUE(decoded->addressed_to("i1-2"));
  EXPECT_FALSE(decoded->addressed_to("i1"));
}

TEST(ControlMessageTest, RepliesCarryAResultOrAnError) {
  ControlMessage reply;
  reply.kind = ControlMessage::Kind::kReply;
  reply.id = "i0-1/7";
  reply.from = "i1-2";
  reply.to = {"i0-1"};
  reply.body = {{"closed", 2}};
  absl::StatusOr<ControlMessage> ok = DecodeControlMessage(EncodeControlMessage(reply));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(ok->status.ok());
  EXPECT_EQ(ok->body["closed"], 2);

  reply.status = absl::InvalidArgumentError("bad room id");
  absl::StatusOr<ControlMessage> error = DecodeControlMessage(EncodeControlMessage(reply));
  ASSERT_TRUE(error.ok()) << error.status();
  EXPECT_EQ(error->status, absl::InvalidArgumentError("bad room id"));
}

TEST(ControlMessageTest, WhatIsNotAVersion1MessageIsRefused) {
  for (const char* text : {
           "", "not json", "[]", "{}",
           R"({"v":2,"kind":"request","id":"x","from":"a","to":[],"op":"info","args":{}})",
           R"({"v":1,"kind":"request","id":"x","from":"a","to":"b","op":"info","args":{}})",
           R"({"v":1,"kind":"request","id":"x","from":"a","to":[1],"op":"info","args":{}})",
           R"({"v":1,"kind":"request","id":"x","from":"a","to":[],"args":{}})",
           R"({"v":1,"kind":"request","id":"x","from":"a","to":[],"op":"info","args":[]})",
           R"({"v":1,"kind":"reply","id":"x","from":"a","to":[]})",
           R"({"v":1,"kind":"reply","id":"x","from":"a","to":[],"error":{"code":"3"}})",
           R"({"v":1,"kind":"shout","id":"x","from":"a","to":[]})",
       }) {
    EXPECT_TRUE(absl::IsInvalidArgument(DecodeControlMessage(text).status())) << text;
  }
}

TEST(ControlMessageTest, AnUnknownErrorCodeIsUnknownAndZeroIsNotOk) {
  for (const char* text : {
           R"({"v":1,"kind":"reply","id":"x","from":"a","to":[],"error":{"code":99,"message":"m"}})",
           R"({"v":1,"kind":"reply","id":"x","from":"a","to":[],"error":{"code":0,"message":"m"}})",
       }) {
    absl::StatusOr<ControlMessage> m = DecodeControlMessage(text);
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_EQ(m->status.code(), absl::StatusCode::kUnknown) << text;
  }
}

// A message from anyone who can publish to Redis: nested a hundred
// thousand deep (copying it would overflow the stack), or over 1 MiB, it
// is refused unparsed.
TEST(ControlMessageTest, ADeepOrHugeMessageIsRefusedUnparsed) {
  const std::string head = R"({"v":1,"kind":"reply","id":"x","from":"a","to":[],"result":{"a":)";
  const std::string deep = head + std::string(100000, '[') + std::string(100000, ']') + "}}";
  EXPECT_TRUE(absl::IsInvalidArgument(DecodeControlMessage(deep).status()));
  // Brackets inside strings do not count.
  const std::string quoted = head + "\"" + std::string(100, '[') + "\\\"\"}}";
  absl::StatusOr<ControlMessage> ok = DecodeControlMessage(quoted);
  ASSERT_TRUE(ok.ok()) << ok.status();
  const std::string nested = head + std::string(13, '[') + std::string(13, ']') + "}}";
  EXPECT_TRUE(DecodeControlMessage(nested).ok());
  const std::string huge = head + "\"" + std::string(kMaxControlMessageBytes, 'x') + "\"}}";
  EXPECT_TRUE(absl::IsInvalidArgument(DecodeControlMessage(huge).status()));
}

}  // namespace
}  // namespace cursord::backplane
