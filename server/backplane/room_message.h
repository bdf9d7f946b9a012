// The messages on a room's channel, cursord:{R} (docs/BACKPLANE.md,
// "Messages"): one binary message per PUBLISH. Pure code.
//
// Every message starts with a version byte (1) and a type byte. Every entry
// names its member's id and generation: a receiver drops an entry whose
// generation is not the one it knows for that id, so a reused id is never
// confused with its previous owner. Version 1, big-endian:
//
//   join       01 01 id:1 generation:8 record (member_record.h, to the end;
//              its generation is the header's)
//   leave      01 02 id:1 generation:8 reason:1
//   click      01 03 id:1 generation:8 pressed:1 (0 or 1)
//   positions  01 04 instance:(1+n) then, to the end, entries of 13 bytes:
//              id:1 generation:8 x:2 y:2
//   kick       01 05 id:1 generation:8 code:2 reason:(1+n)
//   state      01 06 instance:(1+n) to:(1+n) then, to the end, entries of
//              14 bytes: id:1 generation:8 x:2 y:2 flags:1 (bit 0: has a
//              position, bit 1: pressing; other bits 0)
//   member states
//              01 07 instance:(1+n) to:(1+n) then, to the end, entries:
//              id:1 generation:8 length:2 state:length (protocol v2's
//              per-member state; empty: cleared)
//   watch      01 08 instance:(1+n) flags:1 (bit 0: wants cursor moves,
//              bit 1: hello, bit 2: off; other bits 0)
//
// Joins and leaves are published by the room store's scripts, which build
// them in Lua from these constants (room_scripts.cc); clicks, positions,
// kicks, states and member states by the instances. Member states are
// batched like positions (`to` empty), and sent to a newcomer just before
// its state (`to` naming it). A state answers an instance that is
// new in the room (`to`): every member of `instance` there, with its
// position and press, sent when `instance` saw the newcomer's first join,
// so that the newcomer's joiners start from it (docs/BACKPLANE.md). A watch
// says that `instance` has WatchRoom streams on the room (refreshed while
// it has; `off` when the last one ends); `hello` asks the instances with
// members there for a state `to` it, as a newcomer's join does.
#ifndef CURSORD_BACKPLANE_ROOM_MESSAGE_H_
#define CURSORD_BACKPLANE_ROOM_MESSAGE_H_

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "server/backplane/member_record.h"

namespace cursord::backplane {

inline constexpr uint8_t kRoomMessageVersion = 1;

enum class RoomMessageType : uint8_t {
  kJoin = 1,
  kLeave = 2,
  kClick = 3,
  kPositions = 4,
  kKick = 5,
  kState = 6,
  kMemberStates = 7,
  kWatch = 8,
};

// Why a member left. A value this version does not name is kept as its
// number (a newer instance may know more reasons; none changes what a
// receiver does: the member is gone).
enum class LeaveReason : uint8_t {
  kClosed = 1,  // its connection ended or was closed by its instance
  kKicked = 2,  // its instance closed it for the control plane
  kReaped = 3,  // its instance's lease expired; another instance freed it
};

struct JoinMessage {
  uint8_t id = 0;
  MemberRecord record;  // record.generation is the member's generation
  friend bool operator==(const JoinMessage& a, const JoinMessage& b) {
    return a.id == b.id && a.record == b.record;
  }
};

struct LeaveMessage {
  uint8_t id = 0;
  uint64_t generation = 0;
  LeaveReason reason = LeaveReason::kClosed;
  friend bool operator==(const LeaveMessage& a, const LeaveMessage& b) {
    return a.id == b.id && a.generation == b.generation && a.reason == b.reason;
  }
};

struct ClickMessage {
  uint8_t id = 0;
  uint64_t generation = 0;
  bool pressed = false;
  friend bool operator==(const ClickMessage& a, const ClickMessage& b) {
    return a.id == b.id && a.generation == b.generation && a.pressed == b.pressed;
  }
};

struct PositionEntry {
  uint8_t id = 0;
  uint64_t generation = 0;
  uint16_t x = 0;
  uint16_t y = 0;
  friend bool operator==(const PositionEntry& a, const PositionEntry& b) {
    return a.id == b.id && a.generation == b.generation && a.x == b.x && a.y == b.y;
  }
};
inline constexpr size_t kPositionEntrySize = 13;

struct PositionsMessage {
  std::string instance;  // the publisher: every entry is one of its members
  std::vector<PositionEntry> entries;
  friend bool operator==(const PositionsMessage& a, const PositionsMessage& b) {
    return a.instance == b.instance && a.entries == b.entries;
  }
};

struct KickMessage {
  uint8_t id = 0;
  uint64_t generation = 0;
  uint16_t code = 0;   // the close code the owner sends (4000 kicked, 4001 room closed)
  std::string reason;  // the close reason, at most 255 bytes (WebSocket allows 123)
  friend bool operator==(const KickMessage& a, const KickMessage& b) {
    return a.id == b.id && a.generation == b.generation && a.code == b.code && a.reason == b.reason;
  }
};

struct StateEntry {
  uint8_t id = 0;
  uint64_t generation = 0;
  uint16_t x = 0;
  uint16_t y = 0;
  bool has_position = false;
  bool pressed = false;
  friend bool operator==(const StateEntry& a, const StateEntry& b) {
    return a.id == b.id && a.generation == b.generation && a.x == b.x && a.y == b.y &&
           a.has_position == b.has_position && a.pressed == b.pressed;
  }
};
inline constexpr size_t kStateEntrySize = 14;

struct StateMessage {
  std::string instance;  // the publisher: every entry is one of its members
  std::string to;        // the instance new in the room
  std::vector<StateEntry> entries;
  friend bool operator==(const StateMessage& a, const StateMessage& b) {
    return a.instance == b.instance && a.to == b.to && a.entries == b.entries;
  }
};

struct MemberStateEntry {
  uint8_t id = 0;
  uint64_t generation = 0;
  std::string state;  // at most 65535 bytes (cursord's --max-state-bytes caps it lower)
  friend bool operator==(const MemberStateEntry& a, const MemberStateEntry& b) {
    return a.id == b.id && a.generation == b.generation && a.state == b.state;
  }
};

struct MemberStatesMessage {
  std::string instance;  // the publisher: every entry is one of its members
  std::string to;        // empty: for every instance; else the one new in the room
  std::vector<MemberStateEntry> entries;
  friend bool operator==(const MemberStatesMessage& a, const MemberStatesMessage& b) {
    return a.instance == b.instance && a.to == b.to && a.entries == b.entries;
  }
};

struct WatchMessage {
  std::string instance;  // the instance whose control plane watches the room
  bool cursor_moves = false;  // one of its watchers asked for cursor moves
  bool hello = false;         // it needs the members' state (it starts, or resubscribed)
  bool off = false;           // its last watcher of the room ended
  friend bool operator==(const WatchMessage& a, const WatchMessage& b) {
    return a.instance == b.instance && a.cursor_moves == b.cursor_moves && a.hello == b.hello &&
           a.off == b.off;
  }
};

using RoomMessage = std::variant<JoinMessage, LeaveMessage, ClickMessage, PositionsMessage,
                                 KickMessage, StateMessage, MemberStatesMessage, WatchMessage>;

// For test failures and log lines.
std::ostream& operator<<(std::ostream& out, const RoomMessage& message);

// Encoders. The join's record must pass ValidateMemberRecord and the kick's
// reason be at most 255 bytes (INVALID_ARGUMENT otherwise); the positions'
// instance must be a valid instance id (IsValidInstanceId).
absl::StatusOr<std::string> EncodeJoin(const JoinMessage& join);
std::string EncodeLeave(const LeaveMessage& leave);
std::string EncodeClick(const ClickMessage& click);
std::string EncodePositions(const PositionsMessage& positions);
absl::StatusOr<std::string> EncodeKick(const KickMessage& kick);
// Both instances must be valid instance ids.
std::string EncodeState(const StateMessage& state);
// Likewise (`to` may be empty).
std::string EncodeMemberStates(const MemberStatesMessage& states);
// The instance must be a valid instance id.
std::string EncodeWatch(const WatchMessage& watch);

// Decodes one message. INVALID_ARGUMENT for an unknown version or type,
// input that ends inside a field, bytes after the last field, a join whose
// record names another generation than its header, a click's pressed byte
// other than 0 or 1, a watch with unknown flags, or positions whose entries do not fill the message.
// Reads only within `bytes`, whatever they hold.
absl::StatusOr<RoomMessage> DecodeRoomMessage(std::string_view bytes);

}  // namespace cursord::backplane

#endif  // CURSORD_BACKPLANE_ROOM_MESSAGE_H_
