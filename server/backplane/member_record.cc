#include "server/backplane/member_record.h"

#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/backplane/byte_codec.h"

namespace cursord::backplane {

bool operator==(const MemberRecord& a, const MemberRecord& b) {
  return a.instance == b.instance && a.generation == b.generation && a.user_id == b.user_id &&
         a.name == b.name && a.color == b.color && a.remote_address == b.remote_address &&
         a.connected_at_ms == b.connected_at_ms;
}

std::ostream& operator<<(std::ostream& out, const MemberRecord& record) {
  return out << "{instance \"" << absl::CHexEscape(record.instance) << "\" generation "
             << record.generation << " user \"" << absl::CHexEscape(record.user_id) << "\" name \""
             << absl::CHexEscape(record.name) << "\" color \"" << absl::CHexEscape(record.color)
             << "\" from \"" << absl::CHexEscape(record.remote_address) << "\" at "
             << record.connected_at_ms << "}";
}

absl::Status ValidateMemberRecord(const MemberRecord& record) {
  const std::pair<const char*, const std::string*> fields[] = {
      {"instance", &record.instance},
      {"user", &record.user_id},
      {"name", &record.name},
      {"color", &record.color},
      {"remote address", &record.remote_address}};
  for (const auto& [field, value] : fields) {
    if (value->size() > kMaxRecordField) {
      return absl::InvalidArgumentError(absl::StrCat("member record: ", field, " is ",
                                                     value->size(), " bytes, at most ",
                                                     kMaxRecordField, " fit"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> EncodeMemberRecord(const MemberRecord& record) {
  if (absl::Status valid = ValidateMemberRecord(record); !valid.ok()) return valid;
  std::string out;
  out.reserve(kInstanceOffset + 5 + record.instance.size() + record.user_id.size() +
              record.name.size() + record.color.size() + record.remote_address.size());
  internal::ByteWriter writer(&out);
  writer.U8(kMemberRecordVersion);
  writer.U64(record.generation);
  writer.U64(static_cast<uint64_t>(record.connected_at_ms));
  writer.ShortString(record.instance);
  writer.ShortString(record.user_id);
  writer.ShortString(record.name);
  writer.ShortString(record.color);
  writer.ShortString(record.remote_address);
  return out;
}

absl::StatusOr<MemberRecord> DecodeMemberRecord(std::string_view bytes) {
  internal::ByteReader reader(bytes);
  uint8_t version = 0;
  if (reader.U8(&version) && version != kMemberRecordVersion) {
    return absl::InvalidArgumentError(absl::StrCat("member record: version ", version, ", only ",
                                                   kMemberRecordVersion, " is known"));
  }
  MemberRecord record;
  uint64_t connected_at = 0;
  reader.U64(&record.generation);
  reader.U64(&connected_at);
  reader.ShortString(&record.instance);
  reader.ShortString(&record.user_id);
  reader.ShortString(&record.name);
  reader.ShortString(&record.color);
  reader.ShortString(&record.remote_address);
  if (reader.failed()) {
    return absl::InvalidArgumentError(
        absl::StrCat("member record: truncated (", bytes.size(), " bytes)"));
  }
  if (!reader.done()) {
    return absl::InvalidArgumentError(
        absl::StrCat("member record: ", reader.remaining(), " bytes after the last field"));
  }
  record.connected_at_ms = static_cast<int64_t>(connected_at);
  return record;
}

}  // namespace cursord::backplane
