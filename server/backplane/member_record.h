// A member of a room as the backplane stores it (the value of
// cursord:{R}:members) and carries it in join messages: who owns it
// (instance and generation) and who it is. Pure code.
//
// Version 1, big-endian:
//
//   offset  size  field
//   0       1     version (1)
//   1       8     generation
//   9       8     connected-at, ms since the Unix epoch (two's complement)
//   17      1+n   instance        } each a length byte, then that many bytes
//           1+n   user id         }
//           1+n   name            }
//           1+n   color           }
//           1+n   remote address  }
//
// The fixed part comes first because the scripts read it without a
// decoder: the join script writes the generation Redis gives it at
// kGenerationOffset, and the leave, reap and reassert scripts read the
// owner (instance and generation) from kGenerationOffset and
// kInstanceOffset. A later version must keep those two or change the
// scripts with it (room_scripts.cc).
#ifndef CURSORD_BACKPLANE_MEMBER_RECORD_H_
#define CURSORD_BACKPLANE_MEMBER_RECORD_H_

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace cursord::backplane {

inline constexpr uint8_t kMemberRecordVersion = 1;
inline constexpr size_t kGenerationOffset = 1;
inline constexpr size_t kInstanceOffset = 17;
// The longest field: a length byte's worth.
inline constexpr size_t kMaxRecordField = 255;

struct MemberRecord {
  std::string instance;     // the instance whose connection this member is
  uint64_t generation = 0;  // unique per room: the join that created this member
  std::string user_id;      // as given at join time ("" when not given)
  std::string name;
  std::string color;
  std::string remote_address;
  int64_t connected_at_ms = 0;

  friend bool operator==(const MemberRecord& a, const MemberRecord& b);
  friend bool operator!=(const MemberRecord& a, const MemberRecord& b) { return !(a == b); }
};

// For test failures and log lines: every field, strings C-escaped.
std::ostream& operator<<(std::ostream& out, const MemberRecord& record);

// INVALID_ARGUMENT, naming the field, when a string field is longer than
// kMaxRecordField bytes. (Every identity core accepts fits: user ids are at
// most 128 bytes, names 64, instance ids 64.)
absl::Status ValidateMemberRecord(const MemberRecord& record);

// The version 1 bytes of `record`; ValidateMemberRecord's error first.
absl::StatusOr<std::string> EncodeMemberRecord(const MemberRecord& record);

// Decodes bytes made by EncodeMemberRecord. INVALID_ARGUMENT for an unknown
// version, input that ends inside a field, or bytes after the last field.
// Reads only within `bytes`, whatever they hold.
absl::StatusOr<MemberRecord> DecodeMemberRecord(std::string_view bytes);

}  // namespace cursord::backplane

#endif  // CURSORD_BACKPLANE_MEMBER_RECORD_H_
