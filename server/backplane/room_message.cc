#include "server/backplane/room_message.h"

#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/backplane/byte_codec.h"

namespace cursord::backplane {
namespace {

using internal::ByteReader;
using internal::ByteWriter;

absl::Status Malformed(std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("room message: ", absl::string_view(what.data(), what.size())));
}

// version, type, and the id and generation every single-member entry
// starts with.
void WriteHeader(ByteWriter& writer, RoomMessageType type, uint8_t id, uint64_t generation) {
  writer.U8(kRoomMessageVersion);
  writer.U8(static_cast<uint8_t>(type));
  writer.U8(id);
  writer.U64(generation);
}

// The end of a decode: a failed read is a truncated message, an unread
// byte a malformed one.
absl::StatusOr<RoomMessage> Finish(const ByteReader& reader, RoomMessage message) {
  if (reader.failed()) return Malformed("truncated");
  if (!reader.done()) return Malformed(absl::StrCat(reader.remaining(), " bytes too many"));
  return message;
}

absl::StatusOr<RoomMessage> DecodeJoin(ByteReader& reader) {
  JoinMessage join;
  uint64_t generation = 0;
  if (!reader.U8(&join.id) || !reader.U64(&generation)) return Malformed("truncated");
  absl::StatusOr<MemberRecord> record = DecodeMemberRecord(reader.Rest());
  if (!record.ok()) return Malformed(absl::StrCat("join: ", record.status().message()));
  if (record->generation != generation) {
    return Malformed(absl::StrCat("join of generation ", generation,
                                  " carries a record of generation ", record->generation));
  }
  join.record = *std::move(record);
  return Finish(reader, std::move(join));
}

absl::StatusOr<RoomMessage> DecodeLeave(ByteReader& reader) {
  LeaveMessage leave;
  uint8_t reason = 0;
  reader.U8(&leave.id);
  reader.U64(&leave.generation);
  reader.U8(&reason);
  leave.reason = static_cast<LeaveReason>(reason);
  return Finish(reader, leave);
}

absl::StatusOr<RoomMessage> DecodeClick(ByteReader& reader) {
  ClickMessage click;
  uint8_t pressed = 0;
  reader.U8(&click.id);
  reader.U64(&click.generation);
  if (reader.U8(&pressed) && pressed > 1) {
    return Malformed(absl::StrCat("click with pressed byte ", pressed));
  }
  click.pressed = pressed == 1;
  return Finish(reader, click);
}

absl::StatusOr<RoomMessage> DecodePositions(ByteReader& reader) {
  PositionsMessage positions;
  if (!reader.ShortString(&positions.instance)) return Malformed("truncated");
  if (reader.remaining() % kPositionEntrySize != 0) {
    return Malformed(absl::StrCat("positions: ", reader.remaining(),
                                  " bytes of entries are not a multiple of ", kPositionEntrySize));
  }
  positions.entries.resize(reader.remaining() / kPositionEntrySize);
  for (PositionEntry& entry : positions.entries) {
    reader.U8(&entry.id);
    reader.U64(&entry.generation);
    reader.U16(&entry.x);
    reader.U16(&entry.y);
  }
  return Finish(reader, std::move(positions));
}

absl::StatusOr<RoomMessage> DecodeState(ByteReader& reader) {
  StateMessage state;
  if (!reader.ShortString(&state.instance) || !reader.ShortString(&state.to)) {
    return Malformed("truncated");
  }
  if (reader.remaining() % kStateEntrySize != 0) {
    return Malformed(absl::StrCat("state: ", reader.remaining(),
                                  " bytes of entries are not a multiple of ", kStateEntrySize));
  }
  state.entries.resize(reader.remaining() / kStateEntrySize);
  for (StateEntry& entry : state.entries) {
    uint8_t flags = 0;
    reader.U8(&entry.id);
    reader.U64(&entry.generation);
    reader.U16(&entry.x);
    reader.U16(&entry.y);
    reader.U8(&flags);
    if (flags > 3) return Malformed(absl::StrCat("state entry with flags ", flags));
    entry.has_position = (flags & 1) != 0;
    entry.pressed = (flags & 2) != 0;
  }
  return Finish(reader, std::move(state));
}

absl::StatusOr<RoomMessage> DecodeMemberStates(ByteReader& reader) {
  MemberStatesMessage states;
  if (!reader.ShortString(&states.instance) || !reader.ShortString(&states.to)) {
    return Malformed("truncated");
  }
  while (reader.remaining() > 0) {
    MemberStateEntry& entry = states.entries.emplace_back();
    if (!reader.U8(&entry.id) || !reader.U64(&entry.generation) ||
        !reader.String16(&entry.state)) {
      return Malformed("truncated");
    }
  }
  return Finish(reader, std::move(states));
}

absl::StatusOr<RoomMessage> DecodeKick(ByteReader& reader) {
  KickMessage kick;
  reader.U8(&kick.id);
  reader.U64(&kick.generation);
  reader.U16(&kick.code);
  reader.ShortString(&kick.reason);
  return Finish(reader, std::move(kick));
}

absl::StatusOr<RoomMessage> DecodeWatch(ByteReader& reader) {
  WatchMessage watch;
  uint8_t flags = 0;
  reader.ShortString(&watch.instance);
  if (reader.U8(&flags) && flags > 7) return Malformed(absl::StrCat("watch with flags ", flags));
  watch.cursor_moves = (flags & 1) != 0;
  watch.hello = (flags & 2) != 0;
  watch.off = (flags & 4) != 0;
  return Finish(reader, std::move(watch));
}

struct Printer {
  std::ostream& out;
  void operator()(const JoinMessage& m) { out << "join " << int{m.id} << " " << m.record; }
  void operator()(const LeaveMessage& m) {
    out << "leave " << int{m.id} << "/" << m.generation << " reason " << static_cast<int>(m.reason);
  }
  void operator()(const ClickMessage& m) {
    out << "click " << int{m.id} << "/" << m.generation << (m.pressed ? " down" : " up");
  }
  void operator()(const PositionsMessage& m) {
    out << "positions from \"" << absl::CHexEscape(m.instance) << "\"";
    for (const PositionEntry& e : m.entries) {
      out << " " << int{e.id} << "/" << e.generation << "@" << e.x << "," << e.y;
    }
  }
  void operator()(const StateMessage& m) {
    out << "state from \"" << absl::CHexEscape(m.instance) << "\" to \""
        << absl::CHexEscape(m.to) << "\"";
    for (const StateEntry& e : m.entries) {
      out << " " << int{e.id} << "/" << e.generation;
      if (e.has_position) out << "@" << e.x << "," << e.y;
      if (e.pressed) out << " down";
    }
  }
  void operator()(const MemberStatesMessage& m) {
    out << "member states from \"" << absl::CHexEscape(m.instance) << "\" to \""
        << absl::CHexEscape(m.to) << "\"";
    for (const MemberStateEntry& e : m.entries) {
      out << " " << int{e.id} << "/" << e.generation << ":" << e.state.size() << "B";
    }
  }
  void operator()(const WatchMessage& m) {
    out << "watch from \"" << absl::CHexEscape(m.instance) << "\"";
    if (m.cursor_moves) out << " cursor moves";
    if (m.hello) out << " hello";
    if (m.off) out << " off";
  }
  void operator()(const KickMessage& m) {
    out << "kick " << int{m.id} << "/" << m.generation << " " << m.code << " \""
        << absl::CHexEscape(m.reason) << "\"";
  }
};

}  // namespace

std::ostream& operator<<(std::ostream& out, const RoomMessage& message) {
  std::visit(Printer{out}, message);
  return out;
}

absl::StatusOr<std::string> EncodeJoin(const JoinMessage& join) {
  absl::StatusOr<std::string> record = EncodeMemberRecord(join.record);
  if (!record.ok()) return record.status();
  std::string out;
  out.reserve(11 + record->size());
  ByteWriter writer(&out);
  WriteHeader(writer, RoomMessageType::kJoin, join.id, join.record.generation);
  writer.Raw(*record);
  return out;
}

std::string EncodeLeave(const LeaveMessage& leave) {
  std::string out;
  ByteWriter writer(&out);
  WriteHeader(writer, RoomMessageType::kLeave, leave.id, leave.generation);
  writer.U8(static_cast<uint8_t>(leave.reason));
  return out;
}

std::string EncodeClick(const ClickMessage& click) {
  std::string out;
  ByteWriter writer(&out);
  WriteHeader(writer, RoomMessageType::kClick, click.id, click.generation);
  writer.U8(click.pressed ? 1 : 0);
  return out;
}

std::string EncodePositions(const PositionsMessage& positions) {
  std::string out;
  out.reserve(3 + positions.instance.size() + kPositionEntrySize * positions.entries.size());
  ByteWriter writer(&out);
  writer.U8(kRoomMessageVersion);
  writer.U8(static_cast<uint8_t>(RoomMessageType::kPositions));
  writer.ShortString(positions.instance);
  for (const PositionEntry& entry : positions.entries) {
    writer.U8(entry.id);
    writer.U64(entry.generation);
    writer.U16(entry.x);
    writer.U16(entry.y);
  }
  return out;
}

absl::StatusOr<std::string> EncodeKick(const KickMessage& kick) {
  if (kick.reason.size() > internal::kMaxShortString) {
    return absl::InvalidArgumentError(absl::StrCat("kick reason of ", kick.reason.size(),
                                                   " bytes, at most ", internal::kMaxShortString,
                                                   " fit"));
  }
  std::string out;
  ByteWriter writer(&out);
  WriteHeader(writer, RoomMessageType::kKick, kick.id, kick.generation);
  writer.U16(kick.code);
  writer.ShortString(kick.reason);
  return out;
}

std::string EncodeState(const StateMessage& state) {
  std::string out;
  out.reserve(4 + state.instance.size() + state.to.size() + kStateEntrySize * state.entries.size());
  ByteWriter writer(&out);
  writer.U8(kRoomMessageVersion);
  writer.U8(static_cast<uint8_t>(RoomMessageType::kState));
  writer.ShortString(state.instance);
  writer.ShortString(state.to);
  for (const StateEntry& entry : state.entries) {
    writer.U8(entry.id);
    writer.U64(entry.generation);
    writer.U16(entry.x);
    writer.U16(entry.y);
    writer.U8(static_cast<uint8_t>((entry.has_position ? 1 : 0) | (entry.pressed ? 2 : 0)));
  }
  return out;
}

std::string EncodeMemberStates(const MemberStatesMessage& states) {
  std::string out;
  ByteWriter writer(&out);
  writer.U8(kRoomMessageVersion);
  writer.U8(static_cast<uint8_t>(RoomMessageType::kMemberStates));
  writer.ShortString(states.instance);
  writer.ShortString(states.to);
  for (const MemberStateEntry& entry : states.entries) {
    writer.U8(entry.id);
    writer.U64(entry.generation);
    writer.String16(entry.state);
  }
  return out;
}

std::string EncodeWatch(const WatchMessage& watch) {
  std::string out;
  ByteWriter writer(&out);
  writer.U8(kRoomMessageVersion);
  writer.U8(static_cast<uint8_t>(RoomMessageType::kWatch));
  writer.ShortString(watch.instance);
  writer.U8(static_cast<uint8_t>((watch.cursor_moves ? 1 : 0) | (watch.hello ? 2 : 0) |
                                 (watch.off ? 4 : 0)));
  return out;
}

absl::StatusOr<RoomMessage> DecodeRoomMessage(std::string_view bytes) {
  ByteReader reader(bytes);
  uint8_t version = 0;
  uint8_t type = 0;
  if (!reader.U8(&version) || !reader.U8(&type)) return Malformed("truncated");
  if (version != kRoomMessageVersion) {
    return Malformed(
        absl::StrCat("version ", version, ", only ", kRoomMessageVersion, " is known"));
  }
  switch (static_cast<RoomMessageType>(type)) {
    case RoomMessageType::kJoin:
      return DecodeJoin(reader);
    case RoomMessageType::kLeave:
      return DecodeLeave(reader);
    case RoomMessageType::kClick:
      return DecodeClick(reader);
    case RoomMessageType::kPositions:
      return DecodePositions(reader);
    case RoomMessageType::kKick:
      return DecodeKick(reader);
    case RoomMessageType::kState:
      return DecodeState(reader);
    case RoomMessageType::kMemberStates:
      return DecodeMemberStates(reader);
    case RoomMessageType::kWatch:
      return DecodeWatch(reader);
  }
  return Malformed(absl::StrCat("unknown type ", type));
}

}  // namespace cursord::backplane
