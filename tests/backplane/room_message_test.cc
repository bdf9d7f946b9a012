// The room channel's messages: round trips, the bytes the scripts build,
// and input that is refused (never read past).
#include "server/backplane/room_message.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace cursord::backplane {
namespace {

MemberRecord Record(uint64_t generation) {
  MemberRecord record;
  record.instance = "host-2";
  record.generation = generation;
  record.user_id = "u";
  record.name = "Ann";
  record.color = "#00ff00";
  record.remote_address = "10.0.0.1:4000";
  record.connected_at_ms = 1700000000000;
  return record;
}

std::string Be64(uint64_t value) {
  std::string out;
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
  return out;
}

// The bytes of any message (the encoders are per type, as their callers are).
std::string Encode(const RoomMessage& message) {
  if (const auto* join = std::get_if<JoinMessage>(&message)) return *EncodeJoin(*join);
  if (const auto* leave = std::get_if<LeaveMessage>(&message)) return EncodeLeave(*leave);
  if (const auto* click = std::get_if<ClickMessage>(&message)) return EncodeClick(*click);
  if (const auto* positions = std::get_if<PositionsMessage>(&message)) {
    return EncodePositions(*positions);
  }
  if (const auto* state = std::get_if<StateMessage>(&message)) return EncodeState(*state);
  if (const auto* states = std::get_if<MemberStatesMessage>(&message)) {
    return EncodeMemberStates(*states);
  }
  if (const auto* watch = std::get_if<WatchMessage>(&message)) return EncodeWatch(*watch);
  return *EncodeKick(std::get<KickMessage>(message));
}

// One of each message, and its bytes.
std::vector<std::string> EncodedSamples() {
  return {
      *EncodeJoin(JoinMessage{9, Record(77)}),
      EncodeLeave(LeaveMessage{9, 77, LeaveReason::kReaped}),
      EncodeClick(ClickMessage{3, 5, true}),
      EncodePositions(PositionsMessage{"host-2", {{1, 2, 3, 4}, {255, ~0ULL, 65535, 0}}}),
      *EncodeKick(KickMessage{4, 6, 4000, "kicked by admin"}),
      EncodeState(StateMessage{"host-1", "host-2", {{1, 2, 3, 4, true, true}, {7, 8, 0, 0, false, false}}}),
      EncodeMemberStates(MemberStatesMessage{"host-1", "", {{1, 2, "sel"}, {9, 10, ""}}}),
      EncodeWatch(WatchMessage{"host-3", true, true, false}),
  };
}

TEST(RoomMessageTest, EveryMessageSurvivesARoundTrip) {
  const std::vector<RoomMessage> messages = {
      JoinMessage{9, Record(77)},
      LeaveMessage{9, 77, LeaveReason::kReaped},
      LeaveMessage{0, 1, LeaveReason::kClosed},
      ClickMessage{3, 5, true},
      ClickMessage{3, 5, false},
      PositionsMessage{"host-2", {{1, 2, 3, 4}, {255, ~0ULL, 65535, 0}}},
      PositionsMessage{"h", {}},
      KickMessage{4, 6, 4001, "room closed"},
      KickMessage{4, 6, 4000, ""},
      StateMessage{"a", "b", {{1, 2, 3, 4, true, false}, {255, ~0ULL, 65535, 0, false, true}}},
      StateMessage{"a", "b", {}},
      MemberStatesMessage{"a", "", {{1, 2, "{\"from\":3}"}, {255, ~0ULL, std::string(300, '\0')}}},
      MemberStatesMessage{"a", "b", {{0, 1, ""}}},
      MemberStatesMessage{"a", "b", {}},
      WatchMessage{"host-3", false, false, false},
      WatchMessage{"host-3", true, true, false},
      WatchMessage{"h", false, false, true},
  };
  for (const RoomMessage& message : messages) {
    absl::StatusOr<RoomMessage> decoded = DecodeRoomMessage(Encode(message));
    ASSERT_TRUE(decoded.ok()) << decoded.status() << " for " << message;
    EXPECT_EQ(*decoded, message);
  }
}

TEST(RoomMessageTest, AJoinIsItsHeaderThenTheRecordAsTheScriptBuildsIt) {
  // The join script publishes version, type, id, the record's generation
  // bytes and the record: these bytes exactly.
  const MemberRecord record = Record(0x0A0B);
  EXPECT_EQ(*EncodeJoin(JoinMessage{200, record}),
            std::string("\x01\x01\xc8", 3) + Be64(0x0A0B) + *EncodeMemberRecord(record));
}

TEST(RoomMessageTest, ALeaveIsItsHeaderAndReasonAsTheScriptsBuildIt) {
  EXPECT_EQ(EncodeLeave(LeaveMessage{7, 300, LeaveReason::kReaped}),
            std::string("\x01\x02\x07", 3) + Be64(300) + "\x03");
}

TEST(RoomMessageTest, AWatchIsItsInstanceAndFlagsAndUnknownFlagsAreRefused) {
  EXPECT_EQ(EncodeWatch(WatchMessage{"w", true, false, true}), std::string("\x01\x08\x01w\x05", 5));
  EXPECT_FALSE(DecodeRoomMessage(std::string("\x01\x08\x01w\x08", 5)).ok());
}

TEST(RoomMessageTest, EveryTruncationIsRefused) {
  for (const std::string& bytes : EncodedSamples()) {
    for (size_t size = 0; size < bytes.size(); ++size) {
      absl::StatusOr<RoomMessage> decoded = DecodeRoomMessage(bytes.substr(0, size));
      // Positions end with whole entries, so the message without its last
      // entry is a valid, shorter one: anything else must be refused.
      if (decoded.ok() && std::holds_alternative<MemberStatesMessage>(*decoded)) {
        // Variable entries: a valid prefix holds fewer of them.
        EXPECT_LT(std::get<MemberStatesMessage>(*decoded).entries.size(), 2u) << size;
        continue;
      }
      if (decoded.ok()) {
        const size_t entry = std::holds_alternative<StateMessage>(*decoded) ? kStateEntrySize
                                                                             : kPositionEntrySize;
        ASSERT_TRUE(std::holds_alternative<PositionsMessage>(*decoded) ||
                    std::holds_alternative<StateMessage>(*decoded))
            << *decoded;
        EXPECT_EQ((bytes.size() - size) % entry, 0u) << size;
        continue;
      }
      EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument) << size;
    }
  }
}

TEST(RoomMessageTest, TrailingBytesAreRefused) {
  for (const std::string& bytes : EncodedSamples()) {
    EXPECT_FALSE(DecodeRoomMessage(bytes + "x").ok()) << bytes.size();
  }
}

TEST(RoomMessageTest, UnknownVersionsAndTypesAreRefused) {
  std::string leave = EncodeLeave(LeaveMessage{1, 1, LeaveReason::kClosed});
  leave[0] = 2;
  EXPECT_FALSE(DecodeRoomMessage(leave).ok());
  leave[0] = 1;
  for (int type : {0, 8, 255}) {
    leave[1] = static_cast<char>(type);
    EXPECT_FALSE(DecodeRoomMessage(leave).ok()) << type;
  }
}

TEST(RoomMessageTest, AJoinWhoseRecordNamesAnotherGenerationIsRefused) {
  std::string join = *EncodeJoin(JoinMessage{1, Record(5)});
  join[10] = 6;  // the header's generation, low byte
  absl::StatusOr<RoomMessage> decoded = DecodeRoomMessage(join);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RoomMessageTest, AClickIsPressedOrReleasedNothingElse) {
  std::string click = EncodeClick(ClickMessage{1, 1, true});
  click.back() = 2;
  EXPECT_FALSE(DecodeRoomMessage(click).ok());
}

TEST(RoomMessageTest, MemberStatesAreLengthPrefixedEntries) {
  EXPECT_EQ(EncodeMemberStates(MemberStatesMessage{"h", "", {{7, 300, "ab"}}}),
            std::string("\x01\x07\x01h\x00\x07", 6) + Be64(300) + std::string("\x00\x02" "ab", 4));
}

TEST(RoomMessageTest, AStateEntryWithUnknownFlagsIsRefused) {
  std::string state = EncodeState(StateMessage{"a", "b", {{1, 2, 3, 4, true, true}}});
  EXPECT_TRUE(DecodeRoomMessage(state).ok());
  state.back() = 4;
  EXPECT_FALSE(DecodeRoomMessage(state).ok());
}

TEST(RoomMessageTest, AnUnknownLeaveReasonIsKeptAsItsNumber) {
  std::string leave = EncodeLeave(LeaveMessage{1, 1, LeaveReason::kClosed});
  leave.back() = 42;
  absl::StatusOr<RoomMessage> decoded = DecodeRoomMessage(leave);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(static_cast<int>(std::get<LeaveMessage>(*decoded).reason), 42);
}

TEST(RoomMessageTest, TooLongFieldsAreRefusedByTheEncoder) {
  MemberRecord record = Record(1);
  record.user_id = std::string(256, 'u');
  EXPECT_EQ(EncodeJoin(JoinMessage{1, record}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeKick(KickMessage{1, 1, 4000, std::string(256, 'r')}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RoomMessageTest, AnyByteChangedDecodesOrIsRefusedWithoutReadingOutside) {
  // Under the sanitizers (tests/sanitize.sh) a read outside fails the test.
  for (const std::string& bytes : EncodedSamples()) {
    for (size_t i = 0; i < bytes.size(); ++i) {
      for (int value = 0; value < 256; ++value) {
        std::string changed = bytes;
        changed[i] = static_cast<char>(value);
        absl::StatusOr<RoomMessage> decoded = DecodeRoomMessage(changed);
        // What decodes is canonical: it encodes back to the same bytes.
        if (decoded.ok()) {
          EXPECT_EQ(Encode(*decoded), changed) << "byte " << i << " = " << value;
        }
      }
    }
  }
}

}  // namespace
}  // namespace cursord::backplane
